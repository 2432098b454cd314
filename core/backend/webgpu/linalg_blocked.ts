/**
 * Blocked Cholesky, LU with partial pivoting and triangular solve for large matrices on WebGPU,
 * right-looking (LAPACK's potrf / getrf / trsm): per block of `nb` columns, a one-workgroup kernel
 * factors the diagonal block (Cholesky) or the tall panel (LU, pivoting over all rows below), a
 * many-workgroup kernel solves the off-diagonal panel, and the trailing update A₂₂ −= L₂₁ U₁₂ is
 * the library's matmul kernel on contiguous copies of the panels, subtracted in place. So the
 * O(n³) work runs at matmul speed and a factorization costs about 5·n/nb dispatches.
 *
 * The working matrix is the output buffer itself; statuses follow the one-workgroup kernels
 * (a non-finite entry, Cholesky's first non-positive pivot as a global column index), and a
 * failed matrix ends as NaN (LU: NaN, identity permutation, sign 1), as on the CPU.
 * @module
 */
import type { Aval, Storage } from "../backend.ts";
import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { stridedCopy } from "./layout.ts";
import type { LinalgTuning } from "./linalg_tuning.ts";
import { entry as perMatrix, groupSize, header, runPerMatrix, scanBad } from "./linalg_wgsl.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, memoCode, WG } from "./wgsl.ts";

const f32 = (shape: readonly number[]): Aval => ({ shape, dtype: "float32" });

/** A one-dimensional kernel over `total` items (bindings in order, `rw` marks read-write ones). */
function run1d(
  gpu: WebGPUBackend,
  code: string,
  inputs: readonly GPUBuffer[],
  outputs: readonly GPUBuffer[],
  uniforms: Uint32Array,
  total: number,
): void {
  if (total <= 0) return;
  gpu.runtime.dispatch({
    code,
    inputs,
    output: outputs[0],
    outputs: outputs.slice(1),
    uniforms,
    groups: grid(Math.ceil(total / WG)),
  });
}

/** Status of each matrix: kind 1 and the first non-finite index, or 0 (bindings A, ST). */
function scanCode(wgs: number): string {
  return memoCode(
    `lb-scan|${wgs}`,
    () =>
      `${header(wgs, [{ name: "A", type: "f32" }, { name: "ST", type: "u32", rw: true }], ["len", "count"])}
${scanBad("A")}
${perMatrix(wgs)}
  let bad = firstBadA(t, b * u.len, u.len);
  if (t == 0u) { ST[4u * b] = select(0u, 1u, bad != NONE); ST[4u * b + 1u] = select(0u, bad, bad != NONE); ST[4u * b + 2u] = 0u; ST[4u * b + 3u] = 0u; }
}`,
  );
}

/** M[b][r0 + i][c0 + j] −= S[b][i][j] for i < rows, j < cols (j ≤ i + diag when `lowerOnly`). */
const SUBTRACT = `struct U { total: u32, rows: u32, cols: u32, n: u32, r0: u32, c0: u32, lowerOnly: u32 }
@group(0) @binding(0) var<storage, read> S: array<f32>;
@group(0) @binding(1) var<storage, read_write> M: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.total")}
  let per = u.rows * u.cols;
  let b = i / per; let e = i % per; let r = e / u.cols; let c = e % u.cols;
  if (u.lowerOnly != 0u && u.c0 + c > u.r0 + r) { return; }
  let at = b * u.n * u.n + (u.r0 + r) * u.n + u.c0 + c;
  M[at] = M[at] - S[i];
}`;

/** M[r0:r0+rows, c0:c0+cols] −= op(X) op(Y) for every matrix of the batch, through the matmul kernel. */
function trailingUpdate(
  gpu: WebGPUBackend,
  m: GPUBuffer,
  n: number,
  count: number,
  x: GPUBuffer,
  xa: Aval,
  y: GPUBuffer,
  ya: Aval,
  transB: boolean,
  at: { r0: number; c0: number; rows: number; cols: number; lowerOnly?: boolean },
): void {
  const matmul = gpu.kernels.get("matmul")!;
  const out = f32([count, at.rows, at.cols]);
  const sx = gpu.wrap(x, xa), sy = y === x ? sx : gpu.wrap(y, ya);
  const [s] = matmul([sx, sy], [xa, ya], { transA: false, transB }, [out]);
  run1d(
    gpu,
    memoCode("lb-sub", () => SUBTRACT),
    [gpu.buf(s)],
    [m],
    new Uniforms().u(count * at.rows * at.cols, at.rows, at.cols, n, at.r0, at.c0, at.lowerOnly ? 1 : 0).u32,
    count * at.rows * at.cols,
  );
  for (const t of new Set([s, sx, sy])) gpu.release(t);
}

/** A contiguous copy of the block M[r0:r0+rows, c0:c0+cols] of every n×n matrix. */
function copyBlock(
  gpu: WebGPUBackend,
  m: GPUBuffer,
  n: number,
  count: number,
  r0: number,
  c0: number,
  rows: number,
  cols: number,
): GPUBuffer {
  const out = gpu.runtime.alloc(Math.max(1, count * rows * cols) * 4);
  stridedCopy(gpu, "float32", m, r0 * n + c0, [n * n, n, 1], out, 0, [rows * cols, cols, 1], [count, rows, cols]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cholesky
// ---------------------------------------------------------------------------------------------

/** In-place Cholesky of the diagonal block at (k, k) of order nb, skipped for failed matrices. */
function potrfCode(wgs: number): string {
  return memoCode(
    `lb-potrf|${wgs}`,
    () =>
      `${
        header(wgs, [{ name: "L", type: "f32", rw: true }, { name: "ST", type: "u32", rw: true }], [
          "n",
          "count",
          "k",
          "nb",
        ])
      }
${perMatrix(wgs)}
  let n = u.n; let nb = u.nb; let base = b * n * n + u.k * n + u.k;
  if (t == 0u) { wu = ST[4u * b]; }
  if (workgroupUniformLoad(&wu) != 0u) { return; }
  for (var j = 0u; j < nb; j++) {
    let jj = base + j * n + j;
    if (t == 0u) {
      let d = L[jj];
      if (d > 0.0) { L[jj] = sqrt(d); wu = NONE; } else { wu = j; }
    }
    let f = workgroupUniformLoad(&wu);
    if (f != NONE) {
      if (t == 0u) { ST[4u * b] = 2u; ST[4u * b + 1u] = u.k + f; }
      return;
    }
    storageBarrier();
    let ljj = L[jj];
    for (var i = j + 1u + t; i < nb; i += WGS) { L[base + i * n + j] = L[base + i * n + j] / ljj; }
    storageBarrier();
    let r = nb - j - 1u;
    for (var e = t; e < r * r; e += WGS) {
      let ii = e / r; let kk = e % r;
      if (kk <= ii) {
        let i = j + 1u + ii; let k = j + 1u + kk;
        L[base + i * n + k] -= L[base + i * n + j] * L[base + k * n + j];
      }
    }
    storageBarrier();
  }
}`,
  );
}

/** Rows below the diagonal block: L₂₁ = A₂₁ L₁₁⁻ᵀ, one thread per (matrix, row). */
const PANEL_SOLVE = `struct U { total: u32, rows: u32, n: u32, k: u32, nb: u32 }
@group(0) @binding(0) var<storage, read_write> L: array<f32>;
@group(0) @binding(1) var<uniform> u: U;
${entry("u.total")}
  let n = u.n; let k = u.k;
  let b = i / u.rows; let row = k + u.nb + i % u.rows;
  let rb = b * n * n + row * n + k; let db = b * n * n + k * n + k;
  for (var j = 0u; j < u.nb; j++) {
    var x = L[rb + j];
    for (var l = 0u; l < j; l++) { x -= L[rb + l] * L[db + j * n + l]; }
    L[rb + j] = x / L[db + j * n + j];
  }
}`;

/** NaN for failed matrices, zeros above the diagonal otherwise (bindings ST, L). */
const CHOL_FINISH = `struct U { total: u32, n: u32 }
@group(0) @binding(0) var<storage, read> ST: array<u32>;
@group(0) @binding(1) var<storage, read_write> L: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
fn nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
${entry("u.total")}
  let nn = u.n * u.n; let b = i / nn; let e = i % nn;
  if (ST[4u * b] != 0u) { L[i] = nan(); } else if (e % u.n > e / u.n) { L[i] = 0.0; }
}`;

/** The lower triangle of A, zeros above (bindings A, L). */
const LOWER = `struct U { total: u32, n: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> L: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.total")}
  let e = i % (u.n * u.n);
  L[i] = select(0.0, A[i], e % u.n <= e / u.n);
}`;

/** Blocked Cholesky of `count` n×n matrices from `a` into `out`; statuses in `region`. */
export function blockedCholesky(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  out: GPUBuffer,
  region: GPUBuffer,
  n: number,
  count: number,
  tune: LinalgTuning,
): void {
  const total = count * n * n, wgs = groupSize(tune.block);
  runPerMatrix(gpu, scanCode(wgs), [a], [region], new Uniforms().u(n * n, count).u32, count);
  run1d(gpu, memoCode("lb-lower", () => LOWER), [a], [out], new Uniforms().u(total, n).u32, total);
  for (let k = 0; k < n; k += tune.block) {
    const nb = Math.min(tune.block, n - k), rows = n - k - nb;
    runPerMatrix(gpu, potrfCode(wgs), [], [out, region], new Uniforms().u(n, count, k, nb).u32, count);
    if (rows === 0) break;
    run1d(
      gpu,
      memoCode("lb-panel", () => PANEL_SOLVE),
      [],
      [out],
      new Uniforms().u(count * rows, rows, n, k, nb).u32,
      count * rows,
    );
    const p = copyBlock(gpu, out, n, count, k + nb, k, rows, nb);
    const pa = f32([count, rows, nb]);
    trailingUpdate(gpu, out, n, count, p, pa, p, pa, true, {
      r0: k + nb,
      c0: k + nb,
      rows,
      cols: rows,
      lowerOnly: true,
    });
  }
  run1d(gpu, memoCode("lb-chol-finish", () => CHOL_FINISH), [region], [out], new Uniforms().u(total, n).u32, total);
}

// ---------------------------------------------------------------------------------------------
// LU
// ---------------------------------------------------------------------------------------------

/**
 * The tall panel of columns [k, k + nb): partial pivoting over rows j … n−1, swaps within the
 * panel, pivots in PIV, the permutation and det P updated (bindings W, PERM, SIGN, PIV).
 */
function panelCode(wgs: number): string {
  return memoCode(`lb-getf2|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "W", type: "f32", rw: true },
        { name: "PERM", type: "i32", rw: true },
        { name: "SIGN", type: "f32", rw: true },
        { name: "PIV", type: "u32", rw: true },
      ], ["n", "count", "k", "nb"])
    }
${perMatrix(wgs)}
  let n = u.n; let base = b * n * n; let ce = u.k + u.nb;
  for (var j = u.k; j < ce; j++) {
    var bv = -1.0; var bi = NONE;
    for (var i = j + t; i < n; i += WGS) {
      let v = abs(W[base + i * n + j]);
      if (v > bv) { bv = v; bi = i; }
    }
    let piv = wargmax(t, bv, bi);
    var mx = 0.0;
    if (piv != NONE) {
      if (t == 0u) { wf = abs(W[base + piv * n + j]); }
      mx = workgroupUniformLoad(&wf);
    }
    // a zero column is skipped (U gets a zero pivot), as the CPU kernel does
    if (mx == 0.0) {
      if (t == 0u) { PIV[b * n + j] = j; }
      continue;
    }
    let p = piv;
    if (t == 0u) { PIV[b * n + j] = p; }
    if (p != j) {
      for (var c = u.k + t; c < ce; c += WGS) {
        let x = W[base + j * n + c]; W[base + j * n + c] = W[base + p * n + c]; W[base + p * n + c] = x;
      }
      if (t == 0u) {
        let q = PERM[b * n + j]; PERM[b * n + j] = PERM[b * n + p]; PERM[b * n + p] = q;
        SIGN[b] = -SIGN[b];
      }
      storageBarrier();
    }
    let pk = W[base + j * n + j];
    for (var i = j + 1u + t; i < n; i += WGS) { W[base + i * n + j] = W[base + i * n + j] / pk; }
    storageBarrier();
    let cols = ce - j - 1u;
    for (var e = t; e < (n - j - 1u) * cols; e += WGS) {
      let i = j + 1u + e / cols; let c = j + 1u + e % cols;
      W[base + i * n + c] -= W[base + i * n + j] * W[base + j * n + c];
    }
    storageBarrier();
  }
}`);
}

/** The panel's row swaps applied to the columns outside it, one thread per (matrix, column). */
const SWAP_ROWS = `struct U { total: u32, n: u32, k: u32, nb: u32 }
@group(0) @binding(0) var<storage, read> PIV: array<u32>;
@group(0) @binding(1) var<storage, read_write> W: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.total")}
  let n = u.n; let b = i / n; let c = i % n;
  if (c >= u.k && c < u.k + u.nb) { return; }
  let base = b * n * n;
  for (var j = u.k; j < u.k + u.nb; j++) {
    let p = PIV[b * n + j];
    if (p != j) { let x = W[base + j * n + c]; W[base + j * n + c] = W[base + p * n + c]; W[base + p * n + c] = x; }
  }
}`;

/** U₁₂ = L₁₁⁻¹ A₁₂ (unit lower), one thread per (matrix, column right of the panel). */
const ROW_SOLVE = `struct U { total: u32, cols: u32, n: u32, k: u32, nb: u32 }
@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<uniform> u: U;
${entry("u.total")}
  let n = u.n; let k = u.k;
  let b = i / u.cols; let c = k + u.nb + i % u.cols;
  let base = b * n * n;
  for (var r = 1u; r < u.nb; r++) {
    var x = W[base + (k + r) * n + c];
    for (var l = 0u; l < r; l++) { x -= W[base + (k + r) * n + k + l] * W[base + (k + l) * n + c]; }
    W[base + (k + r) * n + c] = x;
  }
}`;

/** Start: W = A, identity permutation, sign 1 (bindings A, W, PERM, SIGN). */
const LU_START = `struct U { total: u32, n: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> PERM: array<i32>;
@group(0) @binding(3) var<storage, read_write> SIGN: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
${entry("u.total")}
  W[i] = A[i];
  let nn = u.n * u.n;
  if (i % nn < u.n) { let b = i / nn; PERM[b * u.n + i % nn] = i32(i % nn); }
  if (i % nn == 0u) { SIGN[i / nn] = 1.0; }
}`;

/** A non-finite input: NaN, identity permutation, sign 1, as the CPU kernel leaves it. */
const LU_FINISH = `struct U { total: u32, n: u32 }
@group(0) @binding(0) var<storage, read> ST: array<u32>;
@group(0) @binding(1) var<storage, read_write> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> PERM: array<i32>;
@group(0) @binding(3) var<storage, read_write> SIGN: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
fn nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
${entry("u.total")}
  let nn = u.n * u.n; let b = i / nn; let e = i % nn;
  if (ST[4u * b] == 0u) { return; }
  W[i] = nan();
  if (e < u.n) { PERM[b * u.n + e] = i32(e); }
  if (e == 0u) { SIGN[b] = 1.0; }
}`;

/** Blocked LU of `count` n×n matrices from `a` into [lu, perm, sign]; statuses in `region`. */
export function blockedLu(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  [lu, perm, sign]: readonly GPUBuffer[],
  region: GPUBuffer,
  n: number,
  count: number,
  tune: LinalgTuning,
): void {
  const total = count * n * n, wgs = groupSize(n);
  runPerMatrix(gpu, scanCode(wgs), [a], [region], new Uniforms().u(n * n, count).u32, count);
  run1d(gpu, memoCode("lb-lu-start", () => LU_START), [a], [lu, perm, sign], new Uniforms().u(total, n).u32, total);
  const piv = gpu.runtime.alloc(count * n * 4);
  for (let k = 0; k < n; k += tune.block) {
    const nb = Math.min(tune.block, n - k), rest = n - k - nb;
    runPerMatrix(gpu, panelCode(wgs), [], [lu, perm, sign, piv], new Uniforms().u(n, count, k, nb).u32, count);
    run1d(
      gpu,
      memoCode("lb-swap", () => SWAP_ROWS),
      [piv],
      [lu],
      new Uniforms().u(count * n, n, k, nb).u32,
      count * n,
    );
    if (rest === 0) break;
    run1d(
      gpu,
      memoCode("lb-rowsolve", () => ROW_SOLVE),
      [],
      [lu],
      new Uniforms().u(count * rest, rest, n, k, nb).u32,
      count * rest,
    );
    const l21 = copyBlock(gpu, lu, n, count, k + nb, k, rest, nb);
    const u12 = copyBlock(gpu, lu, n, count, k, k + nb, nb, rest);
    trailingUpdate(gpu, lu, n, count, l21, f32([count, rest, nb]), u12, f32([count, nb, rest]), false, {
      r0: k + nb,
      c0: k + nb,
      rows: rest,
      cols: rest,
    });
  }
  gpu.runtime.free(piv);
  run1d(
    gpu,
    memoCode("lb-lu-finish", () => LU_FINISH),
    [region],
    [lu, perm, sign],
    new Uniforms().u(total, n).u32,
    total,
  );
}

// ---------------------------------------------------------------------------------------------
// Triangular solve
// ---------------------------------------------------------------------------------------------

/**
 * Rows [r0, r0 + nb) of X ← T_dd⁻¹ X for the diagonal block of T = op(A), one thread per
 * (system, column), in solving order (bindings A, X).
 */
const DIAG_SOLVE =
  `struct U { total: u32, k: u32, n: u32, r0: u32, nb: u32, aBatched: u32, lower: u32, trans: u32, unit: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
fn w(base: u32, i: u32, j: u32) -> f32 {
  return select(A[base + i * u.n + j], A[base + j * u.n + i], u.trans != 0u);
}
${entry("u.total")}
  let n = u.n; let k = u.k;
  let bi = i / k; let c = i % k;
  let aBase = select(0u, bi * n * n, u.aBatched != 0u);
  let xBase = bi * n * k + c;
  for (var s = 0u; s < u.nb; s++) {
    let r = u.r0 + select(u.nb - 1u - s, s, u.lower != 0u);
    var acc = X[xBase + r * k];
    let j0 = select(r + 1u, u.r0, u.lower != 0u);
    let j1 = select(u.r0 + u.nb, r, u.lower != 0u);
    for (var j = j0; j < j1; j++) { acc -= w(aBase, r, j) * X[xBase + j * k]; }
    if (u.unit == 0u) { acc /= w(aBase, r, r); }
    X[xBase + r * k] = acc;
  }
}`;

/** X[b][r0 + i][j] −= S[b][i][j] for X (…, n, k). */
const SUBTRACT_ROWS = `struct U { total: u32, per: u32, n: u32, k: u32, r0: u32 }
@group(0) @binding(0) var<storage, read> S: array<f32>;
@group(0) @binding(1) var<storage, read_write> X: array<f32>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.total")}
  let b = i / u.per; let e = i % u.per;
  let at = b * u.n * u.k + u.r0 * u.k + e;
  X[at] = X[at] - S[i];
}`;

/**
 * Blocked X = op(A)⁻¹ B (A n×n, B n×k per system; A shared when not `aBatched`): the diagonal
 * blocks by substitution, the rest of the right-hand side updated by the matmul kernel.
 */
export function blockedTriangularSolve(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  b: GPUBuffer,
  out: GPUBuffer,
  dims: { n: number; k: number; count: number; aBatched: boolean },
  p: { lower: boolean; transpose: boolean; unitDiagonal: boolean },
  tune: LinalgTuning,
): void {
  const { n, k, count, aBatched } = dims;
  const lowerEff = p.lower !== p.transpose;
  stridedCopy(gpu, "float32", b, 0, [1], out, 0, [1], [count * n * k]);
  const blocks: number[] = [];
  for (let r = 0; r < n; r += tune.block) blocks.push(r);
  if (!lowerEff) blocks.reverse();
  const aStride = aBatched ? n * n : 0;
  for (const r0 of blocks) {
    const nb = Math.min(tune.block, n - r0);
    run1d(
      gpu,
      memoCode("lb-diag-solve", () => DIAG_SOLVE),
      [a],
      [out],
      new Uniforms().u(
        count * k,
        k,
        n,
        r0,
        nb,
        aBatched ? 1 : 0,
        lowerEff ? 1 : 0,
        p.transpose ? 1 : 0,
        p.unitDiagonal ? 1 : 0,
      ).u32,
      count * k,
    );
    // the rows still to solve: below the block (lower) or above it (upper)
    const [t0, rows] = lowerEff ? [r0 + nb, n - r0 - nb] : [0, r0];
    if (rows === 0) continue;
    // T[t0:t0+rows, r0:r0+nb] with T = op(A), contiguous per system (A's block transposed if op = ᵀ)
    const tb = gpu.runtime.alloc(Math.max(1, (aBatched ? count : 1) * rows * nb) * 4);
    const tCount = aBatched ? count : 1;
    if (p.transpose) {
      stridedCopy(gpu, "float32", a, r0 * n + t0, [aStride, 1, n], tb, 0, [rows * nb, nb, 1], [tCount, rows, nb]);
    } else {
      stridedCopy(gpu, "float32", a, t0 * n + r0, [aStride, n, 1], tb, 0, [rows * nb, nb, 1], [tCount, rows, nb]);
    }
    // the unit diagonal is not read, so a block never includes it here (t0 is outside [r0, r0 + nb))
    const xb = gpu.runtime.alloc(Math.max(1, count * nb * k) * 4);
    stridedCopy(gpu, "float32", out, r0 * k, [n * k, k, 1], xb, 0, [nb * k, k, 1], [count, nb, k]);
    const matmul = gpu.kernels.get("matmul")!;
    const ta = f32(aBatched ? [count, rows, nb] : [rows, nb]), xa = f32([count, nb, k]);
    const st = gpu.wrap(tb, ta), sx = gpu.wrap(xb, xa);
    const [s] = matmul([st, sx], [ta, xa], { transA: false, transB: false }, [f32([count, rows, k])]);
    run1d(
      gpu,
      memoCode("lb-sub-rows", () => SUBTRACT_ROWS),
      [gpu.buf(s)],
      [out],
      new Uniforms().u(count * rows * k, rows * k, n, k, t0).u32,
      count * rows * k,
    );
    for (const t of [s, st, sx] as Storage[]) gpu.release(t);
  }
}
