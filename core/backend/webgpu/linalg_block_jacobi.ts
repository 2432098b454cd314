/**
 * Block one-sided Jacobi for large `svd` and `eigh` on WebGPU. The q columns of A (of Aᵀ when
 * wide) are cut into 2K blocks of `bs` columns, kept as contiguous vectors together with the
 * accumulated right rotations V. Each round pairs the blocks by the circle method; for all K
 * pairs at once the Gram matrix of the pair's 2bs columns is a batched matmul, its
 * eigendecomposition (the one-workgroup Jacobi kernel, unsorted: J stays the product of its
 * rotations, near the identity once the pair is nearly orthogonal; sorting would move columns
 * between the two blocks and break the round-robin's covering of all pairs) gives the
 * rotation J, and the columns and
 * V are rotated by batched matmuls (XJ, VJ). A sweep is 2K − 1 rounds; the sweeps run a fixed
 * number of times (nothing is read back to test convergence; quadratic convergence makes
 * `linalgTuning.jacobiSweeps` ample). Then σᵢ = ‖xᵢ‖, U = xᵢ/σᵢ, sorted and signed as the CPU
 * kernel does.
 *
 * `eigh` runs the same iteration on the symmetric B = A + cI, c = ‖A‖_F/√n (the root mean square of
 * the eigenvalues: a shift of the order of A's own scale keeps the relative gaps, and makes
 * λᵢ = −λⱼ pairs, which one-sided Jacobi cannot separate, unlikely): its right singular vectors
 * are A's eigenvectors, and λᵢ = vᵢᵀ B vᵢ − c = xᵢ·vᵢ − c, a Rayleigh quotient.
 *
 * Accuracy is float32's through Gram matrices: singular values far below ε·σ₁ lose relative
 * accuracy (the one-workgroup kernel, used up to `jacobiMax`, keeps it), and exactly zero singular
 * values get zero vectors, not a completed basis.
 * @module
 */
import type { Aval } from "../backend.ts";
import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { eighCode } from "./linalg_jacobi.ts";
import type { LinalgTuning } from "./linalg_tuning.ts";
import { entry as perMatrix, groupSize, header, runPerMatrix, scanBad } from "./linalg_wgsl.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, memoCode, WG } from "./wgsl.ts";

const f32 = (shape: readonly number[]): Aval => ({ shape, dtype: "float32" });

/** The circle method on n2 blocks: the block at position `pos` in round r, and back. */
const LAYOUT = `fn itemAt(pos: u32, r: u32, n2: u32) -> u32 {
  return select((pos - 1u + r) % (n2 - 1u) + 1u, 0u, pos == 0u);
}
fn posOf(id: u32, r: u32, n2: u32) -> u32 {
  let m = n2 - 1u;
  return select((id - 1u + m - r % m) % m + 1u, 0u, id == 0u);
}
// the row of pair storage holding column w of the block at position pos (K = n2/2 pairs, bs columns)
fn rowOf(b: u32, pos: u32, w: u32, n2: u32, bs: u32) -> u32 {
  let k = n2 / 2u;
  let s = select(n2 - 1u - pos, pos, pos < k);
  let half = select(1u, 0u, pos < k);
  return (b * k + s) * 2u * bs + half * bs + w;
}`;

/**
 * Per matrix: non-finite scan (kind 1), the power-of-two scale (max |a| ∈ [1, 2)), and for eigh
 * the asymmetry check (kind 5) and the shift c = ‖A‖_F/√n of the scaled matrix
 * (bindings A, SC (scale, shift), ST; uniforms len, count, n, eig, symTol).
 */
function scanCode(wgs: number): string {
  return memoCode(`bj-scan|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "SC", type: "f32", rw: true },
        { name: "ST", type: "u32", rw: true },
      ], ["len", "count", "n", "eig", "symTol"])
    }
${scanBad("A")}
${perMatrix(wgs)}
  let base = b * u.len;
  var kind = 0u; var idx = 0u; var val = 0.0;
  let bad = firstBadA(t, base, u.len);
  var mx = 0.0; var asym = 0.0;
  for (var e = t; e < u.len; e += WGS) {
    mx = max(mx, abs(A[base + e]));
    if (u.eig != 0u) { asym = max(asym, abs(A[base + e] - A[base + (e % u.n) * u.n + e / u.n])); }
  }
  let amax = wmax(t, mx);
  let amx = wmax(t, asym);
  let scale = pow2Scale(amax);
  var ss = 0.0;
  for (var e = t; e < u.len; e += WGS) { let x = A[base + e] * scale; ss += x * x; }
  let fro = sqrt(wsum(t, ss));
  if (bad != NONE) { kind = 1u; idx = bad; } else if (u.eig != 0u && amax > 0.0 && amx / amax > bitcast<f32>(u.symTol)) {
    kind = 5u; val = amx / amax;
  }
  if (t == 0u) {
    SC[2u * b] = scale; SC[2u * b + 1u] = select(0.0, fro / sqrt(f32(max(u.n, 1u))), u.eig != 0u);
    ST[4u * b] = kind; ST[4u * b + 1u] = idx; ST[4u * b + 2u] = bitcast<u32>(val); ST[4u * b + 3u] = 0u;
  }
}`);
}

/**
 * Round-0 pair storage: X (vectors of length p: columns of A, or rows when wide; for eigh the
 * columns of (A + cI)), scaled, zero beyond q, and V = I (bindings A, SC, ZX, ZV).
 */
const INIT = `struct U { total: u32, p: u32, q: u32, q2: u32, m: u32, n: u32, tall: u32, n2: u32, bs: u32, eig: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> SC: array<f32>;
@group(0) @binding(2) var<storage, read_write> ZX: array<f32>;
@group(0) @binding(3) var<storage, read_write> ZV: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
${LAYOUT}
${entry("u.total")}
  // i over (matrix, column of the padded q2) × max(p, q2) entries
  let w = max(u.p, u.q2);
  let e = i % w; let bc = i / w; let col = bc % u.q2; let b = bc / u.q2;
  let row = rowOf(b, col / u.bs, col % u.bs, u.n2, u.bs);
  if (e < u.p) {
    var x = 0.0;
    if (col < u.q) {
      x = select(A[b * u.m * u.n + col * u.n + e], A[b * u.m * u.n + e * u.n + col], u.tall != 0u);
      if (u.eig != 0u && e == col) { x += SC[2u * b + 1u] / SC[2u * b]; }
      x *= SC[2u * b];
    }
    ZX[row * u.p + e] = x;
  }
  if (e < u.q2) { ZV[row * u.q2 + e] = select(0.0, 1.0, e == col); }
}`;

/** Pair storage of round r → round r + 1 for X (len p) and V (len q2) (bindings X, V, ZX, ZV). */
const PERMUTE = `struct U { total: u32, p: u32, q2: u32, n2: u32, bs: u32, r: u32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> V: array<f32>;
@group(0) @binding(2) var<storage, read_write> ZX: array<f32>;
@group(0) @binding(3) var<storage, read_write> ZV: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
${LAYOUT}
${entry("u.total")}
  let w = max(u.p, u.q2);
  let e = i % w; let row = i / w;
  let bs2 = 2u * u.bs; let k = u.n2 / 2u;
  let pair = row / bs2; let b = pair / k; let s = pair % k; let half = (row % bs2) / u.bs; let c = row % u.bs;
  let pos = select(u.n2 - 1u - s, s, half == 0u);
  let id = itemAt(pos, (u.r + 1u) % (u.n2 - 1u), u.n2);
  let src = rowOf(b, posOf(id, u.r % (u.n2 - 1u), u.n2), c, u.n2, u.bs);
  if (e < u.p) { ZX[row * u.p + e] = X[src * u.p + e]; }
  if (e < u.q2) { ZV[row * u.q2 + e] = V[src * u.q2 + e]; }
}`;

/**
 * Per column vector, in column order: σ = ‖xᵢ‖ (svd), or xᵢ·vᵢ = λᵢ + c (eigh: xᵢ = B vᵢ, the
 * Rayleigh quotient of the shifted matrix) (bindings ZX, ZV, SG).
 */
const NORMS = `struct U { total: u32, p: u32, q2: u32, n2: u32, bs: u32, r: u32, eig: u32 }
@group(0) @binding(0) var<storage, read> ZX: array<f32>;
@group(0) @binding(1) var<storage, read> ZV: array<f32>;
@group(0) @binding(2) var<storage, read_write> SG: array<f32>;
@group(0) @binding(3) var<uniform> u: U;
${LAYOUT}
${entry("u.total")}
  let b = i / u.q2; let col = i % u.q2;
  let row = rowOf(b, posOf(col / u.bs, u.r, u.n2), col % u.bs, u.n2, u.bs);
  var s = 0.0;
  if (u.eig != 0u) {
    for (var e = 0u; e < u.p; e++) { s += ZX[row * u.p + e] * ZV[row * u.q2 + e]; }
    SG[i] = s;
  } else {
    for (var e = 0u; e < u.p; e++) { let x = ZX[row * u.p + e]; s += x * x; }
    SG[i] = sqrt(s);
  }
}`;

/**
 * One workgroup per (matrix, column): its rank (descending σ for svd, ascending for eigh, ties by
 * column), the sign from U's largest entry, and the outputs: svd U, S, Vh; eigh λ, V
 * (bindings ZX, ZV, SG, SC, O0, O1, O2).
 */
function outCode(wgs: number): string {
  return memoCode(`bj-out|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "ZX", type: "f32" },
        { name: "ZV", type: "f32" },
        { name: "SG", type: "f32" },
        { name: "SC", type: "f32" },
        { name: "O0", type: "f32", rw: true },
        { name: "O1", type: "f32", rw: true },
        { name: "O2", type: "f32", rw: true },
      ], ["count", "p", "q", "q2", "m", "n", "tall", "n2", "bs", "r", "eig"])
    }
${LAYOUT}
${perMatrix(wgs)}
  // b runs over matrices × q2 columns
  let mat = b / u.q2; let col = b % u.q2;
  let row = rowOf(mat, posOf(col / u.bs, u.r, u.n2), col % u.bs, u.n2, u.bs);
  let si = SG[mat * u.q2 + col];
  var cnt = 0.0;
  // eigh: padding columns (zero, beyond q) sort last
  let inf = bitcast<f32>(0x7f800000u);
  let ki = select(si, inf, u.eig != 0u && col >= u.q);
  for (var j = t; j < u.q2; j += WGS) {
    let sj = select(SG[mat * u.q2 + j], inf, u.eig != 0u && j >= u.q);
    let before = select(sj > ki, sj < ki, u.eig != 0u) || (sj == ki && j < col);
    if (before) { cnt += 1.0; }
  }
  let rank = u32(wsum(t, cnt));
  // eigh: λ ascending is σ ascending among the q columns (padding only in svd)
  if (rank >= u.q) { return; }
  let scale = SC[2u * mat];
  // U's column: xᵢ/σᵢ (svd, tall), Vᵢ (svd wide, eigh)
  let useX = u.eig == 0u && u.tall != 0u;
  let len = select(u.q, u.m, u.eig == 0u);
  var bv = -1.0; var bi = NONE;
  for (var r = t; r < len; r += WGS) {
    let v = abs(select(ZV[row * u.q2 + r], ZX[row * u.p + r], useX));
    if (v > bv) { bv = v; bi = r; }
  }
  let big = wargmax(t, bv, bi);
  let flip = select(1.0, -1.0, select(ZV[row * u.q2 + big], ZX[row * u.p + big], useX) < 0.0);
  let inv = select(0.0, 1.0 / si, si > 0.0);
  if (u.eig != 0u) {
    if (t == 0u) { O0[mat * u.q + rank] = si / scale - SC[2u * mat + 1u] / scale; }
    for (var r = t; r < u.q; r += WGS) { O1[mat * u.q * u.q + r * u.q + rank] = flip * ZV[row * u.q2 + r]; }
    return;
  }
  if (t == 0u) { O1[mat * u.q + rank] = si / scale; }
  for (var r = t; r < u.m; r += WGS) {
    let x = select(ZV[row * u.q2 + r], ZX[row * u.p + r] * inv, useX);
    O0[mat * u.m * u.q + r * u.q + rank] = flip * x;
  }
  for (var c = t; c < u.n; c += WGS) {
    let x = select(ZX[row * u.p + c] * inv, ZV[row * u.q2 + c], u.tall != 0u);
    O2[mat * u.q * u.n + rank * u.n + c] = flip * x;
  }
}`);
}

/** NaN outputs for failed matrices (bindings ST, O0, O1, O2; sizes per matrix in the uniforms). */
const FAIL = `struct U { total: u32, s0: u32, s1: u32, s2: u32, smax: u32 }
@group(0) @binding(0) var<storage, read> ST: array<u32>;
@group(0) @binding(1) var<storage, read_write> O0: array<f32>;
@group(0) @binding(2) var<storage, read_write> O1: array<f32>;
@group(0) @binding(3) var<storage, read_write> O2: array<f32>;
@group(0) @binding(4) var<uniform> u: U;
fn nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
${entry("u.total")}
  let b = i / u.smax; let e = i % u.smax;
  if (ST[4u * b] == 0u) { return; }
  if (e < u.s0) { O0[b * u.s0 + e] = nan(); }
  if (e < u.s1) { O1[b * u.s1 + e] = nan(); }
  if (e < u.s2) { O2[b * u.s2 + e] = nan(); }
}`;

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

/** The common iteration: `eig` selects eigh (A square, B = A + cI) or svd (A m×n). */
function blockJacobi(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  outs: readonly GPUBuffer[],
  region: GPUBuffer,
  m: number,
  n: number,
  count: number,
  eig: boolean,
  symTol: number,
  tune: LinalgTuning,
): void {
  const tall = eig || m >= n;
  const p = tall ? m : n, q = Math.min(m, n);
  const bs = Math.max(1, Math.min(tune.jacobiBlock, Math.ceil(q / 2)));
  const n2 = Math.ceil(q / (2 * bs)) * 2, q2 = n2 * bs, k = n2 / 2;
  const rt = gpu.runtime;
  const sc = rt.alloc(count * 2 * 4);
  runPerMatrix(
    gpu,
    scanCode(groupSize(q)),
    [a],
    [sc, region],
    new Uniforms().u(m * n, count, n, eig ? 1 : 0).f(symTol).u32,
    count,
  );
  let zx = rt.alloc(count * q2 * p * 4), zv = rt.alloc(count * q2 * q2 * 4);
  const w = Math.max(p, q2);
  run1d(
    gpu,
    memoCode("bj-init", () => INIT),
    [a, sc],
    [zx, zv],
    new Uniforms().u(count * q2 * w, p, q, q2, m, n, tall ? 1 : 0, n2, bs, eig ? 1 : 0).u32,
    count * q2 * w,
  );
  const pairs = count * k, o = 2 * bs;
  const matmul = gpu.kernels.get("matmul")!;
  const ga = f32([pairs, o, o]), xa = f32([pairs, o, p]), va = f32([pairs, o, q2]);
  const evals = rt.alloc(pairs * o * 4);
  const escratch = rt.alloc(pairs * 4 * o * o * 4), eregion = rt.alloc(pairs * 16);
  const rounds = n2 - 1;
  let r = 0;
  for (let sweep = 0; sweep < tune.jacobiSweeps; sweep++) {
    for (let round = 0; round < rounds; round++, r++) {
      const sx = gpu.wrap(zx, xa), sv = gpu.wrap(zv, va);
      const [g] = matmul([sx, sx], [xa, xa], { transA: false, transB: true }, [ga]);
      const evecs = rt.alloc(pairs * o * o * 4);
      runPerMatrix(
        gpu,
        eighCode(groupSize(o)),
        [gpu.buf(g)],
        [evals, evecs, escratch, eregion],
        new Uniforms().u(o, pairs).f(Infinity).u(1).u32,
        pairs,
      );
      gpu.release(g);
      const sj = gpu.wrap(evecs, ga);
      // rows of the pair rotated: Jᵀ X, Jᵀ V (J's columns are the Gram matrix's eigenvectors)
      const [nx] = matmul([sj, sx], [ga, xa], { transA: true, transB: false }, [xa]);
      const [nv] = matmul([sj, sv], [ga, va], { transA: true, transB: false }, [va]);
      // zx, zv are read by the products above: fresh buffers for the next round's layout
      const zx2 = rt.alloc(count * q2 * p * 4), zv2 = rt.alloc(count * q2 * q2 * 4);
      run1d(
        gpu,
        memoCode("bj-permute", () => PERMUTE),
        [gpu.buf(nx), gpu.buf(nv)],
        [zx2, zv2],
        new Uniforms().u(count * q2 * w, p, q2, n2, bs, r % rounds).u32,
        count * q2 * w,
      );
      gpu.release(nx);
      gpu.release(nv);
      // the wrappers' release returns zx, zv and evecs to the pool
      for (const t of [sx, sv, sj]) gpu.release(t);
      zx = zx2;
      zv = zv2;
    }
  }
  for (const b of [evals, escratch, eregion]) rt.free(b);
  const spare = rt.alloc(16);
  const layout = rounds > 0 ? r % rounds : 0;
  const sg = rt.alloc(count * q2 * 4);
  run1d(
    gpu,
    memoCode("bj-norms", () => NORMS),
    [zx, zv],
    [sg],
    new Uniforms().u(count * q2, p, q2, n2, bs, layout, eig ? 1 : 0).u32,
    count * q2,
  );
  const [o0, o1, o2] = eig ? [outs[0], outs[1], outs[1]] : outs;
  runPerMatrix(
    gpu,
    outCode(groupSize(Math.max(p, q2))),
    [zx, zv, sg, sc],
    eig ? [o0, o1, spare] : [o0, o1, o2],
    new Uniforms().u(count * q2, p, q, q2, m, n, tall ? 1 : 0, n2, bs, layout, eig ? 1 : 0).u32,
    count * q2,
  );
  for (const b of [zx, zv, sg, sc]) rt.free(b);
  const sizes = eig ? [q, q * q, 0] : [m * q, q, q * n];
  const smax = Math.max(...sizes);
  run1d(
    gpu,
    memoCode("bj-fail", () => FAIL),
    [region],
    eig ? [o0, o1, spare] : [o0, o1, o2],
    new Uniforms().u(count * smax, ...sizes, smax).u32,
    count * smax,
  );
  rt.free(spare);
}

/** Block Jacobi SVD of `count` m×n matrices into [U, S, Vh]; statuses in `region`. */
export function blockJacobiSvd(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  outs: readonly GPUBuffer[],
  region: GPUBuffer,
  m: number,
  n: number,
  count: number,
  tune: LinalgTuning,
): void {
  blockJacobi(gpu, a, outs, region, m, n, count, false, Infinity, tune);
}

/** Block Jacobi eigh of `count` n×n symmetric matrices into [λ, V]; statuses in `region`. */
export function blockJacobiEigh(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  outs: readonly GPUBuffer[],
  region: GPUBuffer,
  n: number,
  count: number,
  symTol: number,
  tune: LinalgTuning,
): void {
  blockJacobi(gpu, a, outs, region, n, n, count, true, symTol, tune);
}
