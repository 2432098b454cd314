/**
 * CPU matrix multiply.
 *
 * - float32 / float64 products of at least `WASM_MIN` multiply-adds and more than 4 outputs run on
 *   the WebAssembly SIMD kernels of `wasm/gemm.ts` (packed panels, register tiles, several threads
 *   for large ones).
 * - Smaller float products run `gemmSmall`, a plain loop with the kernel's order of summation: every
 *   output is summed in order of k, float64 in float64 and float32 in float32 (as BLAS and jax-js do).
 * - int32 products run `gemmSmall`'s int32 loop, whose products and sums wrap mod 2³² as NumPy's int32.
 * - Float products where WebAssembly SIMD is missing or its memory cannot grow (and float16 ones) run
 *   `gemmPacked`: 4-wide panels, a 4×4 register-blocked JS micro-kernel, accumulation in float64.
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import { wasmGemm, wasmGemmBatch } from "./wasm/gemm.ts";

/** Products with fewer multiply-adds (m·n·k) stay in JS. */
const WASM_MIN = 1024;

/**
 * `C (m×n) = op(A) · op(B)` for one matrix pair, where `A` starts at `ao` (stored m×k, or k×m when
 * transA) and `B` at `bo` (k×n, or n×k when transB). Writes C at `co` (row-major m×n).
 * `cache`: A and B are immutable tensor storage (the public `matmul` kernel), whose packed panels the
 * Wasm GEMM may keep for the next product that reads them alike (`wasm/panels.ts`; same bits). Callers
 * that change their arrays in place (the blocked QR) leave it false.
 */
export function gemm(
  A: TypedArray,
  ao: number,
  transA: boolean,
  B: TypedArray,
  bo: number,
  transB: boolean,
  C: TypedArray,
  co: number,
  m: number,
  n: number,
  k: number,
  cache = false,
): void {
  // element (i, p) of op(A) is A[ao + i·ars + p·acs]; (p, j) of op(B) is B[bo + p·brs + j·bcs]
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  const f32 = A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array;
  const f64 = A instanceof Float64Array && B instanceof Float64Array && C instanceof Float64Array;
  if (C instanceof Int32Array) return gemmSmall("int32", A, ao, ars, acs, B, bo, brs, bcs, C, co, m, n, k);
  if (!f32 && !f64) return gemmPacked(A, ao, transA, B, bo, transB, C, co, m, n, k);
  // (a few dot products: the kernel would pad them to whole register tiles)
  if (m * n * k < WASM_MIN || m * n <= 4) {
    return gemmSmall(f32 ? "float32" : "float64", A, ao, ars, acs, B, bo, brs, bcs, C, co, m, n, k);
  }
  let done = false;
  try {
    done = wasmGemm(A, ao, ars, acs, B, bo, brs, bcs, C, co, m, n, k, cache);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e; // RangeError: the Wasm memory could not grow
  }
  if (!done) gemmPacked(A, ao, transA, B, bo, transB, C, co, m, n, k);
}

/**
 * `count` products of one shape (`gemm`'s arguments, item t reading A at `aOffs[t]` and B at
 * `bOffs[t]`, writing C at `co + t·m·n`): small float products go through `wasmGemmBatch` in one
 * call (same bits as one `gemm` per item, without the per-call overhead), the rest one by one.
 */
export function gemmBatch(
  A: TypedArray,
  aOffs: ArrayLike<number>,
  transA: boolean,
  B: TypedArray,
  bOffs: ArrayLike<number>,
  transB: boolean,
  C: TypedArray,
  co: number,
  m: number,
  n: number,
  k: number,
  count: number,
): void {
  const same = (A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array) ||
    (A instanceof Float64Array && B instanceof Float64Array && C instanceof Float64Array);
  if (count > 1 && same && m * n * k >= WASM_MIN && m * n > 4) {
    const ars = transA ? 1 : k, acs = transA ? m : 1;
    const brs = transB ? 1 : n, bcs = transB ? k : 1;
    let done = false;
    try {
      done = wasmGemmBatch(
        A as Float32Array,
        aOffs,
        ars,
        acs,
        B as Float32Array,
        bOffs,
        brs,
        bcs,
        C as Float32Array,
        co,
        m,
        n,
        k,
        count,
      );
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // the Wasm memory could not grow: one by one
    }
    if (done) return;
  }
  for (let t = 0; t < count; t++) gemm(A, aOffs[t], transA, B, bOffs[t], transB, C, co + t * m * n, m, n, k);
}

/**
 * Plain loop for small products: `C[i, j] = (((0 + a_i0·b_0j) + a_i1·b_1j) + …)`. For float32
 * each step `s + a·b` is rounded to float32 once (float64 holds a·b exactly and, for terms of similar
 * size, the sum exactly too: a fused float32 multiply-add, like the kernel's); int32 products and
 * sums wrap mod 2³² (float64 would lose bits past 2⁵³).
 */
function gemmSmall(
  kind: "float32" | "float64" | "int32",
  A: TypedArray,
  ao: number,
  ars: number,
  acs: number,
  B: TypedArray,
  bo: number,
  brs: number,
  bcs: number,
  C: TypedArray,
  co: number,
  m: number,
  n: number,
  k: number,
): void {
  const fr = Math.fround, imul = Math.imul;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let a = ao + i * ars, b = bo + j * bcs;
      if (kind === "float32") { for (let p = 0; p < k; p++, a += acs, b += brs) s = fr(s + A[a] * B[b]); }
      else if (kind === "int32") { for (let p = 0; p < k; p++, a += acs, b += brs) s = (s + imul(A[a], B[b])) | 0; }
      else for (let p = 0; p < k; p++, a += acs, b += brs) s += A[a] * B[b];
      C[co + i * n + j] = s;
    }
  }
}

const KC = 256; // k-block: an A panel (4×KC) and a B panel (KC×4) stay in L1
const MC = 64; // rows of A packed at once

/** The JS packed kernel (float64 accumulation), same arguments as `gemm`. */
function gemmPacked(
  A: TypedArray,
  ao: number,
  transA: boolean,
  B: TypedArray,
  bo: number,
  transB: boolean,
  C: TypedArray,
  co: number,
  m: number,
  n: number,
  k: number,
): void {
  const acc = new Float64Array(m * n);
  const np = Math.ceil(n / 4), mp4 = Math.ceil(Math.min(MC, m) / 4);
  const Bp = new Float64Array(np * 4 * KC);
  const Ap = new Float64Array(mp4 * 4 * KC);
  // element (i, p) of op(A) and (p, j) of op(B)
  const aRow = transA ? 1 : k, aCol = transA ? m : 1;
  const bRow = transB ? 1 : n, bCol = transB ? k : 1;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = Math.min(KC, k - p0);
    // pack B[p0:p0+kc, :] into panels of 4 columns: Bp[panel][p][4]
    Bp.fill(0);
    for (let jp = 0; jp < np; jp++) {
      const base = jp * 4 * kc;
      for (let jj = 0; jj < 4; jj++) {
        const j = jp * 4 + jj;
        if (j >= n) break;
        let src = bo + p0 * bRow + j * bCol;
        for (let p = 0; p < kc; p++, src += bRow) Bp[base + p * 4 + jj] = B[src];
      }
    }
    for (let i0 = 0; i0 < m; i0 += MC) {
      const mc = Math.min(MC, m - i0);
      const mp = Math.ceil(mc / 4);
      Ap.fill(0);
      for (let ip = 0; ip < mp; ip++) {
        const base = ip * 4 * kc;
        for (let ii = 0; ii < 4; ii++) {
          const i = i0 + ip * 4 + ii;
          if (i >= i0 + mc) break;
          let src = ao + i * aRow + p0 * aCol;
          for (let p = 0; p < kc; p++, src += aCol) Ap[base + p * 4 + ii] = A[src];
        }
      }
      for (let ip = 0; ip < mp; ip++) {
        const aBase = ip * 4 * kc;
        const i = i0 + ip * 4;
        const rows = Math.min(4, m - i);
        for (let jp = 0; jp < np; jp++) {
          const bBase = jp * 4 * kc;
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          for (let p = 0, a = aBase, b = bBase; p < kc; p++, a += 4, b += 4) {
            const a0 = Ap[a], a1 = Ap[a + 1], a2 = Ap[a + 2], a3 = Ap[a + 3];
            const b0 = Bp[b], b1 = Bp[b + 1], b2 = Bp[b + 2], b3 = Bp[b + 3];
            c00 += a0 * b0, c01 += a0 * b1, c02 += a0 * b2, c03 += a0 * b3;
            c10 += a1 * b0, c11 += a1 * b1, c12 += a1 * b2, c13 += a1 * b3;
            c20 += a2 * b0, c21 += a2 * b1, c22 += a2 * b2, c23 += a2 * b3;
            c30 += a3 * b0, c31 += a3 * b1, c32 += a3 * b2, c33 += a3 * b3;
          }
          const j = jp * 4;
          const cols = Math.min(4, n - j);
          const cs = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
          for (let r = 0; r < rows; r++) {
            const o = (i + r) * n + j;
            for (let c = 0; c < cols; c++) acc[o + c] += cs[r * 4 + c];
          }
        }
      }
    }
  }
  if (co === 0 && C.length === acc.length) C.set(acc);
  else C.set(acc, co);
}
