/**
 * Linear algebra. Six primitives carry the factorizations — `qr`, `svd`, `eigh`, `cholesky`, `lu`
 * and triangular solves — each with a CPU kernel (core/linalg/kernels.ts) and a VJP rule written
 * with differentiable ops, so gradients of gradients work. Everything else (`solve`, `inv`, `det`,
 * `slogdet`, `expm`, `polar`, `cayley`, `newtonSchulz`, `svdvals`, `matrixNorm`) is composed from
 * them and needs no gradient of its own.
 *
 * Every function takes float32 or float64 matrices in the last two axes; leading axes are a batch.
 * Bad input throws before or instead of returning garbage: `ShapeError` (not a matrix, not square),
 * `DTypeError` (not float), `DomainError` (non-finite entries, singular matrix in a solve, not
 * symmetric in `eigh`, not positive definite in `cholesky`).
 * @module
 */
import { type Aval, registerKernel, type Storage } from "../backend/backend.ts";
import { arr, cpu, own, wrap } from "../backend/cpu/mod.ts";
import type { DType } from "../dtype.ts";
import { DTypeError, fmtShape, ShapeError } from "../errors.ts";
import { bind, definePrimitive, type Primitive } from "../primitive.ts";
import { asymmetryError, expmNonFiniteError, failureError } from "./failure.ts";
import { customVjp } from "../custom_vjp.ts";
import { unbroadcast } from "../primitives.ts";
import * as o from "../ops/mod.ts";
import { checkTensor, type Tensor } from "../tensor.ts";
import {
  choleskyKernel,
  eighKernel,
  type FloatArray,
  type KernelFailure,
  luKernel,
  qrKernel,
  svdKernel,
  symmetryError,
  triangularSolveKernel,
} from "./kernels.ts";

// ---------------------------------------------------------------------------------------------
// Validation and helpers
// ---------------------------------------------------------------------------------------------

/** Machine epsilon per float dtype. */
const EPS: Record<string, number> = { float32: 2 ** -23, float64: 2 ** -52 };
/**
 * Relative gap (to the largest |value|) at or below which spectral VJPs drop a 1/(λⱼ − λᵢ) term:
 * 2·k·ε of the dtype for k values. Computed repeated values differ by their rounding, measured at
 * most 0.27·k·ε (float32 eigh on the CPU and WebGPU, k ≤ 64), so those are dropped, while any true
 * gap above it keeps its term (float32, k = 4: 9.5e-7 — a fixed 1e-5 used to drop real gaps and
 * leave gradients orders of magnitude off).
 */
function spectralGapTolerance(dtype: DType, k: number): number {
  return 2 * Math.max(1, k) * EPS[dtype];
}
/** Relative asymmetry `eigh` accepts (max |a − aᵀ| / max |a|). */
const SYMMETRY_TOL: Record<string, number> = { float32: 1e-4, float64: 1e-10 };

interface MatrixShape {
  batch: number[];
  m: number;
  n: number;
  count: number;
}

function matrixShape(op: string, x: Aval, square = false): MatrixShape {
  if (x === null || typeof x !== "object" || !Array.isArray(x.shape)) {
    throw new DTypeError(
      `${op}: needs a matrix (a tensor), got ${x === null ? "null" : typeof x}; build one with tensor(...)`,
    );
  }
  if (x.dtype !== "float32" && x.dtype !== "float64") {
    throw new DTypeError(`${op}: needs a float32 or float64 matrix, got ${x.dtype}; convert with astype(a, "float64")`);
  }
  if (x.shape.length < 2) {
    throw new ShapeError(
      `${op}: needs a matrix (2+ axes, the last two are rows and columns), got ${fmtShape(x.shape)}; reshape it`,
    );
  }
  const m = x.shape[x.shape.length - 2], n = x.shape[x.shape.length - 1];
  if (square && m !== n) {
    throw new ShapeError(`${op}: needs square matrices, got ${fmtShape(x.shape)} (${m}×${n})`);
  }
  const batch = x.shape.slice(0, -2);
  return { batch, m, n, count: batch.reduce((a, b) => a * b, 1) };
}

/** Throws the DomainError describing a kernel's first failure. */
function raise(op: string, f: KernelFailure, x: Aval, cols: number, input = "input"): never {
  throw failureError(op, f, x.shape, cols, input);
}

function floats(s: Storage): FloatArray {
  return arr(s) as FloatArray;
}

/** Batched diagonal matrix from vectors (…, k) → (…, k, k). */
function diagEmbed(v: Tensor): Tensor {
  const k = v.shape[v.ndim - 1];
  return o.mul(o.expandDims(v, -2), o.eye(k, { dtype: v.dtype, like: v }));
}

/** X − Xᵀ over the last two axes. */
function skew(x: Tensor): Tensor {
  return o.sub(x, o.matrixTranspose(x));
}

/** 1/d where |d| > tol, else 0 (no Infinity or NaN on either branch). */
function guardedReciprocal(d: Tensor, tol: Tensor | number): Tensor {
  const ok = o.greater(o.abs(d), tol);
  return o.where(ok, o.reciprocal(o.where(ok, d, 1)), 0);
}

/** Fᵢⱼ = 1/(vⱼ − vᵢ) for v (…, k), zero on the diagonal and where |vⱼ − vᵢ| ≤ tol · scale. */
function gapMatrix(v: Tensor, scale: Tensor): Tensor {
  const e = o.sub(o.expandDims(v, -2), o.expandDims(v, -1));
  const tol = spectralGapTolerance(v.dtype, v.shape[v.ndim - 1]);
  return guardedReciprocal(e, o.mul(o.expandDims(scale, -1), tol));
}

const warned = new Set<string>();

/**
 * Warns (once per op and dtype) when a spectral VJP dropped 1/(vⱼ − vᵢ) terms that the loss needs:
 * pairs closer than the tolerance where the cotangent term (`k`'s skew part, or `k` itself when
 * `skewPart` is false; `k` is (…, n, n)) is not at rounding level, i.e. the loss depends on the
 * basis chosen inside a near-repeated eigenspace. Only where the values can be read without waiting
 * (the cpu); elsewhere the terms are dropped without a word (README, "Errors and guarantees").
 */
function warnDroppedGaps(op: string, v: Tensor, scale: Tensor, k: Tensor, skewPart: boolean): void {
  if (v.backend.name !== "cpu" || warned.has(`${op}|${v.dtype}`)) return;
  const n = v.shape[v.ndim - 1], tol = spectralGapTolerance(v.dtype, n);
  const vs = v.dataSync(), sc = scale.dataSync(), ks = k.dataSync();
  let kmax = 0;
  for (const x of ks) kmax = Math.max(kmax, Math.abs(x));
  const floor = Math.sqrt(EPS[v.dtype]) * kmax;
  let dropped = 0, closest = Infinity;
  for (let b = 0; b < sc.length; b++) {
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const gap = Math.abs(vs[b * n + j] - vs[b * n + i]);
        const a = ks[b * n * n + i * n + j], c = ks[b * n * n + j * n + i];
        const kij = skewPart ? a - c : Math.max(Math.abs(a), Math.abs(c));
        if (gap <= tol * sc[b] && Math.abs(kij) > floor && kmax > 0) {
          dropped++;
          closest = Math.min(closest, sc[b] > 0 ? gap / sc[b] : 0);
        }
      }
    }
  }
  if (dropped === 0) return;
  warned.add(`${op}|${v.dtype}`);
  console.warn(
    `${op} (gradient): dropped ${dropped} term(s) 1/(λⱼ − λᵢ) of ${v.dtype} values closer than ` +
      `${tol.toExponential(1)} relative (2·n·ε, n = ${n}; closest ${closest.toExponential(1)}) although the loss ` +
      `depends on the basis inside those near-repeated eigenspaces, so that part of the gradient is missing. ` +
      `Compute in float64 (astype(a, "float64")), or make the loss invariant to rotations within each ` +
      `eigenspace. (Shown once.)`,
  );
}

/**
 * `bind`, except that when every output is empty (a 0×n matrix, an empty batch) the outputs are
 * made at once, after the shape checks and before any kernel runs: factorization kernels need not
 * handle empty matrices, and every backend gives the same empty results.
 */
function bindNonEmpty<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P): Tensor[] {
  const avals = prim.abstract(inputs, params);
  if (!avals.every((a) => a.shape.includes(0))) return bind(prim, inputs, params);
  return avals.map((a) => o.zeros(a.shape, { dtype: a.dtype, like: inputs[0] }));
}

function identityLike(a: Tensor, n: number): Tensor {
  return o.eye(n, { dtype: a.dtype, like: a });
}

// ---------------------------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------------------------

/** Reduced Householder QR, A = QR: Q (…, m, k), R (…, k, n), k = min(m, n), diag(R) ≥ 0. */
const qrP = definePrimitive<Record<never, never>>({
  name: "qr",
  abstract([a]) {
    const { batch, m, n } = matrixShape("qr", a);
    const k = Math.min(m, n);
    return [{ shape: [...batch, m, k], dtype: a.dtype }, { shape: [...batch, k, n], dtype: a.dtype }];
  },
  vjp([gQ, gR], [a], [q, r]) {
    if (!gQ && !gR) return [null];
    const [m, n] = a.shape.slice(-2);
    if (m >= n) return [qrBackwardTall(q, r, gQ, gR)];
    // wide: A = Q[X | Y], X = Q U square: gX from the square rule with gQ + Y gVᵀ, gY = Q gV
    const rx = o.slice(r, [...r.shape.slice(0, -1).map(() => null), [0, m]]);
    const ry = o.slice(r, [...r.shape.slice(0, -1).map(() => null), [m, n]]);
    const gU = gR && o.slice(gR, [...gR.shape.slice(0, -1).map(() => null), [0, m]]);
    const gV = gR && o.slice(gR, [...gR.shape.slice(0, -1).map(() => null), [m, n]]);
    const y = o.matmul(q, ry);
    const gQx = gV ? o.add(gQ ?? o.zerosLike(q), o.matmulT(y, gV, false, true)) : gQ;
    const gX = qrBackwardTall(q, rx, gQx, gU);
    const gY = gV ? o.matmul(q, gV) : o.zerosLike(y);
    return [o.concat([gX, gY], -1)];
  },
});

/** QR VJP for m ≥ n: Ā = [Q̄ + Q copyltu(M)] R⁻ᵀ, M = triu(R̄Rᵀ − QᵀQ̄), copyltu(M) = M + Mᵀ − diag(M). */
function qrBackwardTall(q: Tensor, r: Tensor, gQ: Tensor | null, gR: Tensor | null): Tensor {
  let m: Tensor | null = null;
  if (gR) m = o.matmulT(gR, r, false, true);
  if (gQ) {
    const qtg = o.matmulT(q, gQ, true, false);
    m = m ? o.sub(m, qtg) : o.neg(qtg);
  }
  const mu = o.triu(m!);
  const sym = o.sub(o.add(mu, o.matrixTranspose(mu)), diagEmbed(o.diag(mu)));
  let y = o.matmul(q, sym);
  if (gQ) y = o.add(y, gQ);
  // Ā = Y R⁻ᵀ  ⇔  Āᵀ = R⁻¹ Yᵀ
  return o.matrixTranspose(triangularSolveRaw(r, o.matrixTranspose(y), false, false, false, "qr (gradient)"));
}

/** Thin SVD, A = U diag(S) Vh: U (…, m, k), S (…, k) descending, Vh (…, k, n). */
const svdP = definePrimitive<Record<never, never>>({
  name: "svd",
  abstract([a]) {
    const { batch, m, n } = matrixShape("svd", a);
    const k = Math.min(m, n);
    return [
      { shape: [...batch, m, k], dtype: a.dtype },
      { shape: [...batch, k], dtype: a.dtype },
      { shape: [...batch, k, n], dtype: a.dtype },
    ];
  },
  vjp([gU, gS, gVh], [a], [u, s, vh]) {
    if (!gU && !gS && !gVh) return [null];
    const [m, n] = a.shape.slice(-2);
    const k = Math.min(m, n);
    if (!gU && !gVh) return [o.matmul(o.mul(u, o.expandDims(gS!, -2)), vh)]; // U diag(S̄) Vh
    // inner = F ∘ (skew(UᵀŪ) S_row + S_col skew(Vh V̄)) + diag(S̄), Fᵢⱼ = 1/(σⱼ² − σᵢ²) guarded
    const s2 = o.square(s);
    const smax2 = o.max(s2, { axis: -1, keepdims: true });
    const f = gapMatrix(s2, smax2);
    const sRow = o.expandDims(s, -2), sCol = o.expandDims(s, -1);
    let core: Tensor | null = null;
    if (gU) core = o.mul(skew(o.matmulT(u, gU, true, false)), sRow);
    if (gVh) {
      const t = o.mul(sCol, skew(o.matmulT(vh, gVh, false, true)));
      core = core ? o.add(core, t) : t;
    }
    warnDroppedGaps("svd", s2, o.squeeze(smax2, -1), core!, false);
    let inner = o.mul(f, core!);
    if (gS) inner = o.add(inner, diagEmbed(gS));
    // 1/σ guarded where σ is numerically zero
    const smax = o.max(s, { axis: -1, keepdims: true });
    const sinv = guardedReciprocal(s, o.mul(smax, EPS[a.dtype] * Math.max(m, n)));
    if (m > k && gU) {
      // Ā = [U inner + (I − UUᵀ) Ū S⁻¹] Vh
      const gUs = o.mul(gU, o.expandDims(sinv, -2));
      const t = o.add(o.matmul(u, inner), o.sub(gUs, o.matmul(u, o.matmulT(u, gUs, true, false))));
      return [o.matmul(t, vh)];
    }
    if (n > k && gVh) {
      // Ā = U [inner Vh + S⁻¹ V̄ᵀ (I − VVᵀ)]
      const sg = o.mul(o.expandDims(sinv, -1), gVh);
      const t = o.add(o.matmul(inner, vh), o.sub(sg, o.matmul(o.matmulT(sg, vh, false, true), vh)));
      return [o.matmul(u, t)];
    }
    return [o.matmul(u, o.matmul(inner, vh))];
  },
});

/** Symmetric eigendecomposition A = V diag(w) Vᵀ: w (…, n) ascending, V (…, n, n). */
const eighP = definePrimitive<Record<never, never>>({
  name: "eigh",
  abstract([a]) {
    const { batch, n } = matrixShape("eigh", a, true);
    return [{ shape: [...batch, n], dtype: a.dtype }, { shape: [...batch, n, n], dtype: a.dtype }];
  },
  vjp([gw, gV], [_a], [w, v]) {
    if (!gw && !gV) return [null];
    // Ā = V (diag(w̄) + F ∘ skew(VᵀV̄)/2) Vᵀ, Fᵢⱼ = 1/(wⱼ − wᵢ) guarded (symmetric by construction)
    let inner: Tensor | null = gw ? diagEmbed(gw) : null;
    if (gV) {
      const scale = o.max(o.abs(w), { axis: -1, keepdims: true });
      const k = o.matmulT(v, gV, true, false);
      warnDroppedGaps("eigh", w, o.squeeze(scale, -1), k, true);
      const t = o.mul(gapMatrix(w, scale), o.mul(skew(k), 0.5));
      inner = inner ? o.add(inner, t) : t;
    }
    return [o.matmul(v, o.matmulT(inner!, v, false, true))];
  },
});

/** Cholesky factor A = L Lᵀ (L lower, positive diagonal); reads A's lower triangle. */
const choleskyP = definePrimitive<Record<never, never>>({
  name: "cholesky",
  abstract([a]) {
    matrixShape("cholesky", a, true);
    return [{ shape: a.shape, dtype: a.dtype }];
  },
  vjp([gL], [_a], [l]) {
    if (!gL) return [null];
    // Ā = sym(L⁻ᵀ Φ(LᵀL̄) L⁻¹), Φ = lower triangle with the diagonal halved
    const p = o.tril(o.matmulT(l, gL, true, false));
    const phi = o.sub(p, o.mul(diagEmbed(o.diag(p)), 0.5));
    const x = triangularSolveRaw(l, phi, true, true, false, "cholesky (gradient)"); // L⁻ᵀ Φ
    const g = o.matrixTranspose(triangularSolveRaw(l, o.matrixTranspose(x), true, true, false, "cholesky (gradient)"));
    return [o.mul(o.add(g, o.matrixTranspose(g)), 0.5)];
  },
});

/** LU with partial pivoting, P A = L U packed in one matrix, the row permutation, and det P. */
const luP = definePrimitive<Record<never, never>>({
  name: "lu",
  abstract([a]) {
    const { batch, n } = matrixShape("lu", a, true);
    return [
      { shape: a.shape, dtype: a.dtype },
      { shape: [...batch, n], dtype: "int32" },
      { shape: batch, dtype: a.dtype },
    ];
  },
  vjp([gLU], [_a], [lu, perm]) {
    if (!gLU) return [null];
    // A = Pᵀ L U: Ā = Pᵀ L⁻ᵀ [tril(LᵀL̄, −1) + triu(ŪUᵀ)] U⁻ᵀ with L̄, Ū the two parts of the cotangent
    const n = lu.shape[lu.ndim - 1];
    const l = o.add(o.tril(lu, -1), identityLike(lu, n)), u = o.triu(lu);
    const phi = o.add(
      o.tril(o.matmulT(l, o.tril(gLU, -1), true, false), -1),
      o.triu(o.matmulT(o.triu(gLU), u, false, true)),
    );
    const x = triangularSolveRaw(lu, phi, true, true, true, "lu (gradient)"); // L⁻ᵀ Φ
    const y = o.matrixTranspose(triangularSolveRaw(lu, o.matrixTranspose(x), false, false, false, "lu (gradient)"));
    return [o.matmulT(permutationMatrix(perm, lu.dtype), y, true, false)];
  },
});

/** P with (P A)ᵢ = A_{perm[i]}: Pᵢⱼ = [j = perm[i]]. */
function permutationMatrix(perm: Tensor, dtype: DType): Tensor {
  return o.astype(o.oneHot(perm, perm.shape[perm.ndim - 1]), dtype);
}

interface TriParams {
  lower: boolean;
  transpose: boolean;
  unitDiagonal: boolean;
  /** Name used in error messages. */
  op: string;
}

/** X = op(A)⁻¹ B for triangular A (…, n, n) and B (…, n, k); A's batch is B's or empty. */
const triangularSolveP = definePrimitive<TriParams>({
  name: "triangularSolve",
  abstract([a, b], { op }) {
    const sa = matrixShape(op, a, true), sb = matrixShape(op, b);
    if (a.dtype !== b.dtype) {
      throw new DTypeError(`${op}: dtypes differ (${a.dtype}, ${b.dtype}); convert one with astype`);
    }
    if (sb.m !== sa.n) {
      throw new ShapeError(
        `${op}: right-hand side ${fmtShape(b.shape)} has ${sb.m} rows but the matrix ${
          fmtShape(a.shape)
        } is ${sa.n}×${sa.n}`,
      );
    }
    if (sa.batch.length > 0 && (sa.batch.length !== sb.batch.length || sa.batch.some((d, i) => d !== sb.batch[i]))) {
      throw new ShapeError(
        `${op}: batch axes differ: ${fmtShape(a.shape)} and ${fmtShape(b.shape)}; broadcast them first`,
      );
    }
    return [{ shape: b.shape, dtype: b.dtype }];
  },
  vjp([gX], [a, b], [x], { lower, transpose, unitDiagonal, op }) {
    if (!gX) return [null, null];
    // B̄ = op(A)⁻ᵀ X̄; op(A)̄ = −B̄ Xᵀ, restricted to the triangle that was read
    const gB = triangularSolveRaw(a, gX, lower, !transpose, unitDiagonal, `${op} (gradient)`);
    let gA = transpose ? o.neg(o.matmulT(x, gB, false, true)) : o.neg(o.matmulT(gB, x, false, true));
    gA = lower ? o.tril(gA, unitDiagonal ? -1 : 0) : o.triu(gA, unitDiagonal ? 1 : 0);
    return [unbroadcast(gA, a.shape), unbroadcast(gB, b.shape)];
  },
});

function triangularSolveRaw(
  a: Tensor,
  b: Tensor,
  lower: boolean,
  transpose: boolean,
  unitDiagonal: boolean,
  op: string,
): Tensor {
  // share A when it has no batch axes; otherwise broadcast both to one batch shape
  if (a.ndim > 2 || b.ndim > 2) {
    const batch = broadcastBatch(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (a.ndim > 2) a = broadcastMatrix(a, batch);
    b = broadcastMatrix(b, batch);
  }
  if (a.shape[a.ndim - 1] === 0) return o.zerosLike(b); // 0×0 systems: nothing to solve (b has no rows)
  return bindNonEmpty(triangularSolveP, [a, b], { lower, transpose, unitDiagonal, op })[0];
}

function broadcastBatch(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length), out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: batch axes [${a.join(", ")}] and [${b.join(", ")}] do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

function broadcastMatrix(x: Tensor, batch: readonly number[]): Tensor {
  const shape = [...batch, ...x.shape.slice(-2)];
  if (shape.length === x.ndim && shape.every((d, i) => d === x.shape[i])) return x;
  return o.broadcastTo(x, shape);
}

// ---------------------------------------------------------------------------------------------
// CPU kernels
// ---------------------------------------------------------------------------------------------

registerKernel(cpu, "qr", ([x], [xa]) => {
  const { m, n, count } = matrixShape("qr", xa);
  const r = qrKernel(floats(x), { m, n, batch: count });
  if (r.failures.length) raise("qr", r.failures[0], xa, n);
  return [own(r.q), own(r.r)];
});

registerKernel(cpu, "svd", ([x], [xa]) => {
  const { m, n, count } = matrixShape("svd", xa);
  const r = svdKernel(floats(x), { m, n, batch: count });
  if (r.failures.length) raise("svd", r.failures[0], xa, n);
  return [own(r.u), own(r.s), own(r.vh)];
});

registerKernel(cpu, "eigh", ([x], [xa]) => {
  const { n, count } = matrixShape("eigh", xa, true);
  const data = floats(x);
  const asym = symmetryError(data, { n, batch: count });
  for (let b = 0; b < count; b++) {
    if (asym[b] > SYMMETRY_TOL[xa.dtype]) {
      throw asymmetryError(xa.shape, b, asym[b], SYMMETRY_TOL[xa.dtype]);
    }
  }
  const r = eighKernel(data, { n, batch: count });
  if (r.failures.length) raise("eigh", r.failures[0], xa, n);
  return [own(r.eigenvalues), own(r.eigenvectors)];
});

registerKernel(cpu, "cholesky", ([x], [xa]) => {
  const { n, count } = matrixShape("cholesky", xa, true);
  const r = choleskyKernel(floats(x), { n, batch: count });
  if (r.failures.length) raise("cholesky", r.failures[0], xa, n);
  return [own(r.l)];
});

registerKernel(cpu, "lu", ([x], [xa]) => {
  const { n, count } = matrixShape("lu", xa, true);
  const r = luKernel(floats(x), { n, batch: count });
  const bad = r.failures.find((f) => f.kind === "nonFinite");
  if (bad) raise("lu", bad, xa, n);
  const sign = xa.dtype === "float64" ? Float64Array.from(r.sign) : Float32Array.from(r.sign);
  return [own(r.lu), wrap(r.perm), wrap(sign)];
});

registerKernel(cpu, "triangularSolve", ([a, b], [aa, ba], p: TriParams) => {
  const n = aa.shape[aa.shape.length - 1], k = ba.shape[ba.shape.length - 1];
  const count = ba.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const r = triangularSolveKernel(floats(a), floats(b), {
    n,
    k,
    lower: p.lower,
    transpose: p.transpose,
    unitDiagonal: p.unitDiagonal,
    batch: count,
  });
  if (r.failures.length) {
    const f = r.failures[0];
    if (f.input === "b") raise(p.op, f, ba, k, "right-hand side");
    raise(p.op, f, aa, n, "matrix");
  }
  return [own(r.x)];
});

// ---------------------------------------------------------------------------------------------
// Public functions
// ---------------------------------------------------------------------------------------------

/**
 * Reduced QR decomposition A = Q R by Householder reflections: for A (…, m, n), Q (…, m, k) has
 * orthonormal columns and R (…, k, n) is upper triangular with a non-negative diagonal,
 * k = min(m, n). Differentiable (the gradient needs R invertible, i.e. A of full column rank).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { qr } from "@tangent/tangent/linalg";
 * const { Q, R } = qr(tensor([[3, 1], [4, 2]], { dtype: "float64" })); // R = [[5, 2.2], [0, 0.4]]
 * ```
 */
export function qr(a: Tensor): { Q: Tensor; R: Tensor } {
  const [Q, R] = bindNonEmpty(qrP, [a], {});
  return { Q, R };
}

/**
 * Thin singular value decomposition A = U diag(S) Vh: U (…, m, k), S (…, k) descending and
 * non-negative, Vh (…, k, n), k = min(m, n). Signs: the largest-magnitude entry of each column of
 * U is positive. The gradient includes the terms for U's and V's complements and drops the
 * 1/(σᵢ² − σⱼ²) terms of (numerically) repeated singular values, so losses that do not depend on
 * the basis chosen inside a repeated singular subspace get finite, correct gradients.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { svd } from "@tangent/tangent/linalg";
 * const { S } = svd(tensor([[3, 0], [0, -4]], { dtype: "float64" })); // [4, 3]
 * ```
 */
export function svd(a: Tensor): { U: Tensor; S: Tensor; Vh: Tensor } {
  const [U, S, Vh] = bindNonEmpty(svdP, [a], {});
  return { U, S, Vh };
}

/**
 * Singular values (…, min(m, n)), descending. Gradient: U diag(S̄) Vh.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { svdvals } from "@tangent/tangent/linalg";
 * svdvals(tensor([[1, 0], [0, 2]])); // [2, 1]
 * ```
 */
export function svdvals(a: Tensor): Tensor {
  return bindNonEmpty(svdP, [a], {})[1];
}

/**
 * Eigendecomposition of symmetric matrices, A = V diag(w) Vᵀ: eigenvalues (…, n) ascending and
 * orthonormal eigenvectors as the columns of (…, n, n); the largest-magnitude entry of each
 * eigenvector is positive. Throws a DomainError if A is not symmetric (relative asymmetry above
 * 1e-10 in float64, 1e-4 in float32); the symmetric part is used. The gradient is symmetric and
 * drops the 1/(λⱼ − λᵢ) terms of (numerically) repeated eigenvalues: gaps up to 2·n·ε·max|λ| of the
 * dtype (float32, n = 4: 9.5e-7 relative), the eigenvalues' own rounding. That is exact for losses
 * of the eigenvalues and of whole eigenspaces (projectors); a loss that depends on the basis chosen
 * inside a repeated eigenspace has no gradient there, and on the CPU a warning (once) says when such
 * terms were dropped. A matrix function V f(Λ) Vᵀ loses its f′(λ) term inside a repeated
 * eigenspace (the rule sees V̄, not f): compute those with expm or from the matrix itself.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { eigh } from "@tangent/tangent/linalg";
 * const { eigenvalues } = eigh(tensor([[2, 1], [1, 2]], { dtype: "float64" })); // [1, 3]
 * ```
 */
export function eigh(a: Tensor): { eigenvalues: Tensor; eigenvectors: Tensor } {
  const [eigenvalues, eigenvectors] = bindNonEmpty(eighP, [a], {});
  return { eigenvalues, eigenvectors };
}

/**
 * Cholesky factor L (lower triangular, positive diagonal) with A = L Lᵀ, for symmetric
 * positive-definite A (only its lower triangle is read; the gradient is symmetrized). Throws a
 * DomainError naming the failing column when A is not positive definite.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { cholesky } from "@tangent/tangent/linalg";
 * cholesky(tensor([[4, 2], [2, 5]], { dtype: "float64" })); // [[2, 0], [1, 2]]
 * ```
 */
export function cholesky(a: Tensor): Tensor {
  return bindNonEmpty(choleskyP, [a], {})[0];
}

/** Options of {@linkcode solveTriangular}. */
export interface SolveTriangularOptions {
  /** A is lower triangular (only that triangle is read); otherwise upper. */
  lower: boolean;
  /** Solve Aᵀ X = B instead. */
  transpose?: boolean;
  /** Take A's diagonal as ones (it is not read). */
  unitDiagonal?: boolean;
}

/**
 * Solves A X = B (or Aᵀ X = B) for triangular A (…, n, n); B is (…, n, k) or a vector (…, n).
 * Batch axes broadcast. Throws a DomainError when a diagonal entry of A is exactly zero.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { solveTriangular } from "@tangent/tangent/linalg";
 * solveTriangular(tensor([[2, 0], [1, 4]]), tensor([2, 9]), { lower: true }); // [1, 2]
 * ```
 */
export function solveTriangular(a: Tensor, b: Tensor, opts: SolveTriangularOptions): Tensor {
  checkTensor("solveTriangular", b, "the right-hand side");
  if (opts === null || typeof opts !== "object" || typeof opts.lower !== "boolean") {
    throw new ShapeError("solveTriangular: give options { lower: true } or { lower: false } (which triangle A holds)");
  }
  matrixShape("solveTriangular", a, true);
  const vector = b.ndim === a.ndim - 1 || b.ndim === 1;
  const b2 = vector ? o.expandDims(b, -1) : b;
  const x = triangularSolveRaw(
    a,
    b2,
    opts.lower,
    opts.transpose ?? false,
    opts.unitDiagonal ?? false,
    "solveTriangular",
  );
  return vector ? o.squeeze(x, -1) : x;
}

/**
 * LU factorization with partial pivoting, packed: `lu` holds L (unit lower, below the diagonal)
 * and U (on and above it) with P A = L U, where (P A)ᵢ = A_{perm[i]}; `sign` = det P = ±1.
 * Differentiable in `lu`. A singular matrix factors without error (U has a zero on its diagonal).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { luFactor } from "@tangent/tangent/linalg";
 * const { lu, perm, sign } = luFactor(tensor([[1, 2], [3, 4]], { dtype: "float64" }));
 * // lu = [[3, 4], [1/3, 2/3]], perm = [1, 0], sign = -1
 * ```
 */
export function luFactor(a: Tensor): { lu: Tensor; perm: Tensor; sign: Tensor } {
  const [lu, perm, sign] = bindNonEmpty(luP, [a], {});
  return { lu, perm, sign };
}

/**
 * LU factorization with partial pivoting as three matrices, A = P L U (P a permutation matrix,
 * L unit lower triangular, U upper triangular), as `torch.linalg.lu` returns them.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { lu } from "@tangent/tangent/linalg";
 * const { P, L, U } = lu(tensor([[1, 2], [3, 4]], { dtype: "float64" }));
 * ```
 */
export function lu(a: Tensor): { P: Tensor; L: Tensor; U: Tensor } {
  const f = luFactor(a);
  const n = a.shape[a.ndim - 1];
  return {
    P: o.matrixTranspose(permutationMatrix(f.perm, a.dtype)),
    L: o.add(o.tril(f.lu, -1), identityLike(a, n)),
    U: o.triu(f.lu),
  };
}

/**
 * Solves A X = B for square A (…, n, n) through LU with partial pivoting; B is (…, n, k) or a
 * vector (…, n). Batch axes broadcast. Throws a DomainError for an exactly singular A.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { solve } from "@tangent/tangent/linalg";
 * solve(tensor([[1, 2], [3, 4]], { dtype: "float64" }), tensor([5, 11], { dtype: "float64" })); // [1, 2]
 * ```
 */
export function solve(a: Tensor, b: Tensor): Tensor {
  checkTensor("solve", b, "the right-hand side");
  const { n } = matrixShape("solve", a, true);
  const vector = b.ndim === 1 || b.ndim === a.ndim - 1;
  let b2 = vector ? o.expandDims(b, -1) : b;
  if (b2.ndim < 2 || b2.shape[b2.ndim - 2] !== n) {
    throw new ShapeError(`solve: right-hand side ${fmtShape(b.shape)} does not match the ${n}×${n} matrix`);
  }
  const { lu: f, perm } = luFactor(a);
  const batch = broadcastBatch("solve", a.shape.slice(0, -2), b2.shape.slice(0, -2));
  b2 = broadcastMatrix(b2, batch);
  // x = U⁻¹ L⁻¹ P b
  const pb = o.matmul(permutationMatrix(perm, a.dtype), b2);
  const y = triangularSolveRaw(f, pb, true, false, true, "solve");
  const x = triangularSolveRaw(f, y, false, false, false, "solve");
  return vector ? o.squeeze(x, -1) : x;
}

/**
 * Matrix inverse (…, n, n) through LU; throws a DomainError for an exactly singular matrix.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { inv } from "@tangent/tangent/linalg";
 * inv(tensor([[2, 0], [0, 4]], { dtype: "float64" })); // [[0.5, 0], [0, 0.25]]
 * ```
 */
export function inv(a: Tensor): Tensor {
  const { n, batch } = matrixShape("inv", a, true);
  return solve(a, o.broadcastTo(identityLike(a, n), [...batch, n, n]));
}

/**
 * Determinant (…) = det P · Π uᵢᵢ from LU (0 for a singular matrix, no error).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { det } from "@tangent/tangent/linalg";
 * det(tensor([[1, 2], [3, 4]], { dtype: "float64" })); // -2
 * ```
 */
export function det(a: Tensor): Tensor {
  matrixShape("det", a, true);
  const { lu: f, sign } = luFactor(a);
  return o.add(o.mul(sign, o.prod(o.diag(f), { axis: -1 })), 0); // + 0: a singular matrix gives 0, not −0
}

/**
 * Sign and log-magnitude of the determinant, det A = sign · exp(logabsdet), without overflow:
 * logabsdet = Σ log|uᵢᵢ| (−Infinity and sign 0 for a singular matrix).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { slogdet } from "@tangent/tangent/linalg";
 * const { sign, logabsdet } = slogdet(tensor([[1, 2], [3, 4]], { dtype: "float64" })); // -1, log 2
 * ```
 */
export function slogdet(a: Tensor): { sign: Tensor; logabsdet: Tensor } {
  matrixShape("slogdet", a, true);
  const { lu: f, sign } = luFactor(a);
  const d = o.diag(f);
  return {
    sign: o.mul(sign, o.prod(o.sign(d), { axis: -1 })),
    logabsdet: o.sum(o.log(o.abs(d)), { axis: -1 }),
  };
}

/** Padé [13/13] coefficients b₀ … b₁₃ of the exponential (Higham 2005). */
const PADE13 = [
  64764752532480000,
  32382376266240000,
  7771770303897600,
  1187353796428800,
  129060195264000,
  10559470521600,
  670442572800,
  33522128640,
  1323241920,
  40840800,
  960960,
  16380,
  182,
  1,
];
/** ‖A‖₁ up to which the [13/13] Padé approximant is accurate to double precision (Higham 2005). */
const THETA13 = 5.371920351148152;

/** Squarings the device path of `expm` runs (masked): enough for ‖A‖₁ ≤ θ₁₃·2¹² ≈ 2.2·10⁴. */
export const EXPM_DEVICE_SQUARINGS = 12;

/** s = max(0, ⌈log₂(‖A‖₁/θ₁₃)⌉) for the largest ‖A‖₁ of a batch: the squarings `expm` needs. */
function expmSquaringCount(norm1: number): number {
  return norm1 > THETA13 ? Math.ceil(Math.log2(norm1 / THETA13)) : 0;
}

/**
 * The number of squarings of `expm` (a scalar of A's dtype), computed where A lives so that a
 * backend that reads asynchronously (WebGPU) need not wait; a non-finite entry is a DomainError.
 * No gradient flows through it (s is held fixed).
 */
const expmSquaringsP = definePrimitive<{ max: number }>({
  name: "expmSquarings",
  abstract([a]) {
    matrixShape("expm", a, true);
    return [{ shape: [], dtype: a.dtype }];
  },
});

registerKernel(cpu, "expmSquarings", ([x], [xa]) => {
  const { n, count } = matrixShape("expm", xa, true);
  const d = floats(x);
  let norm1 = 0;
  for (let b = 0; b < count; b++) {
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += Math.abs(d[b * n * n + r * n + c]);
      if (!Number.isFinite(s)) throw expmNonFiniteError(xa.shape);
      norm1 = Math.max(norm1, s);
    }
  }
  const out = xa.dtype === "float64" ? new Float64Array(1) : new Float32Array(1);
  out[0] = expmSquaringCount(norm1);
  return [wrap(out)];
});

/**
 * Matrix exponential by scaling and squaring with the [13/13] Padé approximant (Higham 2005):
 * A is scaled by 2⁻ˢ so that ‖A‖₁ ≤ θ₁₃, exp ≈ (V − U)⁻¹(V + U), then squared s times. Built from
 * matmul and solve, so it is differentiable (s is chosen from the value and held fixed). On the
 * CPU, s is read at once; on a backend that reads asynchronously (WebGPU) it stays on the device:
 * the scaling is a product of masked halvings and the squarings are masked, up to
 * `EXPM_DEVICE_SQUARINGS` of them (a larger ‖A‖₁ is a DomainError there, raised when a result
 * is read), so nothing waits for the GPU.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { expm } from "@tangent/tangent/linalg";
 * expm(tensor([[0, 1], [-1, 0]], { dtype: "float64" })); // [[cos 1, sin 1], [-sin 1, cos 1]]
 * ```
 */
export function expm(a: Tensor): Tensor {
  const { n, batch } = matrixShape("expm", a, true);
  const sT = bind(expmSquaringsP, [a], { max: EXPM_DEVICE_SQUARINGS })[0];
  const onHost = a.backend.name === "cpu";
  const s = onHost ? sT.item() : EXPM_DEVICE_SQUARINGS;
  let x = a;
  if (onHost) {
    if (s > 0) x = o.mul(a, 2 ** -s);
  } else {
    // 2⁻ˢ as a product of exact halvings (a power of two: the squarings undo it exactly)
    let f = o.full([], 1, { dtype: a.dtype, like: a });
    for (let k = 0; k < s; k++) f = o.where(o.less(k, sT), o.mul(f, 0.5), f);
    x = o.mul(a, f);
  }
  const b = PADE13;
  const id = o.broadcastTo(identityLike(a, n), [...batch, n, n]);
  const x2 = o.matmul(x, x), x4 = o.matmul(x2, x2), x6 = o.matmul(x4, x2);
  const lin = (c: number[], ms: Tensor[]) => ms.map((m, i) => o.mul(m, c[i])).reduce((p, q) => o.add(p, q));
  // U = X [X6 (b13 X6 + b11 X4 + b9 X2) + b7 X6 + b5 X4 + b3 X2 + b1 I]
  const u = o.matmul(
    x,
    o.add(
      o.matmul(x6, lin([b[13], b[11], b[9]], [x6, x4, x2])),
      lin([b[7], b[5], b[3], b[1]], [x6, x4, x2, id]),
    ),
  );
  // V = X6 (b12 X6 + b10 X4 + b8 X2) + b6 X6 + b4 X4 + b2 X2 + b0 I
  const v = o.add(
    o.matmul(x6, lin([b[12], b[10], b[8]], [x6, x4, x2])),
    lin([b[6], b[4], b[2], b[0]], [x6, x4, x2, id]),
  );
  let r = solve(o.sub(v, u), o.add(v, u));
  for (let i = 0; i < s; i++) r = onHost ? o.matmul(r, r) : o.where(o.less(i, sT), o.matmul(r, r), r);
  return r;
}

/**
 * Polar decomposition A = U P through the SVD: U = U_svd Vh has orthonormal columns (rows when
 * m < n) and P = Vhᵀ diag(S) Vh (…, n, n) is symmetric positive semi-definite. The gradient is exact
 * for A of full column rank, also where singular values repeat; at a rank-deficient A (where U is
 * not unique) it is the gradient of the full-rank part: finite, the null-space terms dropped.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { polar } from "@tangent/tangent/linalg";
 * const { U, P } = polar(tensor([[2, 0], [0, -3]], { dtype: "float64" })); // U = diag(1, −1), P = diag(2, 3)
 * ```
 */
export function polar(a: Tensor): { U: Tensor; P: Tensor } {
  const { m, n } = matrixShape("polar", a, false);
  if (m < n) {
    throw new ShapeError(`polar: needs a tall or square matrix (m ≥ n), got ${fmtShape(a.shape)}; polar-decompose aᵀ`);
  }
  const U = polarFactor(a);
  const P = o.matmulT(U, a, true, false); // P = UᵀA = V S Vᵀ, symmetrised against rounding
  return { U, P: o.mul(o.add(P, o.matrixTranspose(P)), 0.5) };
}

/**
 * The orthogonal polar factor Q = U Vᵀ with its own gradient, which stays finite and exact when
 * singular values repeat (the SVD's own rule must drop those terms):
 * Ā = U (F ∘ (K − Kᵀ)) Vᵀ + (I − UUᵀ) Ḡ V S⁻¹ Vᵀ, with K = UᵀḠV and Fᵢⱼ = 1/(sᵢ + sⱼ).
 * At a rank-deficient A, Q is not unique and has no derivative along the null space: the terms with
 * sᵢ + sⱼ or sᵢ at rounding level (≤ ε·max(m, n)·s₁) are dropped, so the gradient is the one of the
 * full-rank part, finite instead of NaN.
 */
const polarFactor = customVjp(
  (a: Tensor): Tensor => {
    const { U, Vh } = svd(a);
    return o.matmul(U, Vh);
  },
  (g: Tensor, _q: Tensor, a: Tensor): Tensor[] => {
    const { U, S, Vh } = svd(a);
    const k = o.matmulT(o.matmulT(U, g, true, false), Vh, false, true);
    const tol = o.mul(o.max(S, { axis: -1, keepdims: true }), EPS[a.dtype] * Math.max(...a.shape.slice(-2)));
    const f = guardedReciprocal(o.add(o.expandDims(S, -1), o.expandDims(S, -2)), o.expandDims(tol, -1));
    const inRange = o.matmul(o.matmul(U, o.mul(f, o.sub(k, o.matrixTranspose(k)))), Vh);
    const off = o.sub(g, o.matmul(U, o.matmulT(U, g, true, false)));
    return [
      o.add(inRange, o.matmul(o.matmulT(off, Vh, false, true), o.mul(Vh, o.expandDims(guardedReciprocal(S, tol), -1)))),
    ];
  },
  "polar",
);

/**
 * Cayley transform (I − S)(I + S)⁻¹, orthogonal for skew-symmetric S (computed as
 * solve(I + S, I − S): the two factors commute).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { cayley } from "@tangent/tangent/linalg";
 * cayley(tensor([[0, 1], [-1, 0]], { dtype: "float64" })); // [[0, -1], [1, 0]]
 * ```
 */
export function cayley(s: Tensor): Tensor {
  const { n } = matrixShape("cayley", s, true);
  const id = identityLike(s, n);
  return solve(o.add(id, s), o.sub(id, s));
}

/**
 * Inverse of the unit triangular matrix I + N (N strictly triangular, the only part of `n` read),
 * with matrix products only, so it runs and differentiates on any backend: N is nilpotent, so
 * (I + N)⁻¹ = Σₖ (−N)ᵏ = (I − N)(I + N²)(I + N⁴)⋯ exactly after ⌈log₂ r⌉ factors. The same
 * numbers as back substitution up to rounding; use `solveTriangular` for large, badly conditioned
 * triangles.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { unitTriangularInverse } from "@tangent/tangent/linalg";
 * unitTriangularInverse(tensor([[0, 2], [0, 0]], { dtype: "float64" }), { lower: false }); // [[1, -2], [0, 1]]
 * ```
 */
export function unitTriangularInverse(n: Tensor, opts: { lower: boolean }): Tensor {
  const { n: r } = matrixShape("unitTriangularInverse", n, true);
  const id = identityLike(n, r);
  let p = opts.lower ? o.tril(n, -1) : o.triu(n, 1); // strict triangle
  let inv = o.sub(id, p);
  for (let span = 2; span < r; span *= 2) {
    p = o.matmul(p, p); // N^{span}
    inv = o.matmul(inv, o.add(id, p));
  }
  return inv;
}

/** Options of {@linkcode newtonSchulz}. */
export interface NewtonSchulzOptions {
  /** Number of iterations (default 5). */
  steps?: number;
  /**
   * Polynomial X ← aX + b(XXᵀ)X + c(XXᵀ)²X: `"cubic"` (default, (1.5, −0.5, 0): converges to the
   * polar factor), `"muon"` ((3.4445, −4.7750, 2.0315): fast, approximately orthogonal), or explicit.
   */
  coefficients?: "cubic" | "muon" | readonly [number, number, number];
}

/**
 * Newton–Schulz iteration towards the orthogonal polar factor of A (…, m, n): X₀ = A/‖A‖_F, then
 * `steps` times X ← aX + b(XXᵀ)X + c(XXᵀ)²X, using the smaller Gram matrix (XᵀX on the right when
 * m ≥ n). Only matmuls, so it is differentiable and runs on every backend.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { newtonSchulz } from "@tangent/tangent/linalg";
 * newtonSchulz(tensor([[2, 0], [0, 1]], { dtype: "float64" }), { steps: 20 }); // ≈ identity
 * ```
 */
export function newtonSchulz(a: Tensor, opts: NewtonSchulzOptions = {}): Tensor {
  const { m, n } = matrixShape("newtonSchulz", a);
  const steps = opts.steps ?? 5;
  const c = opts.coefficients ?? "cubic";
  const [ca, cb, cc] = c === "cubic" ? [1.5, -0.5, 0] : c === "muon" ? [3.4445, -4.775, 2.0315] : c;
  const fro = o.sqrt(o.sum(o.square(a), { axis: [-2, -1], keepdims: true }));
  let x = o.div(a, o.add(fro, EPS[a.dtype]));
  const tall = m >= n;
  for (let i = 0; i < steps; i++) {
    // tall: X (aI + bG + cG²) with G = XᵀX; wide: (aI + bG + cG²) X with G = XXᵀ
    const g = tall ? o.matmulT(x, x, true, false) : o.matmulT(x, x, false, true);
    const k = tall ? n : m;
    let poly = o.add(o.mul(identityLike(a, k), ca), o.mul(g, cb));
    if (cc !== 0) poly = o.add(poly, o.mul(o.matmul(g, g), cc));
    x = tall ? o.matmul(x, poly) : o.matmul(poly, x);
  }
  return x;
}

/**
 * Matrix norms over the last two axes: `"fro"` (default), `"nuc"` (sum of singular values), `2`
 * (largest singular value), `-2` (smallest), `1` / `-1` (max / min column sum of |a|), `Infinity`
 * / `-Infinity` (max / min row sum).
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { matrixNorm } from "@tangent/tangent/linalg";
 * matrixNorm(tensor([[3, 0], [0, 4]]), 2); // 4
 * ```
 */
export function matrixNorm(a: Tensor, ord: "fro" | "nuc" | number = "fro"): Tensor {
  matrixShape("matrixNorm", a);
  switch (ord) {
    case "fro":
      return o.norm(a, { axis: [-2, -1] });
    case "nuc":
      return o.sum(svdvals(a), { axis: -1 });
    case 2:
      return o.max(svdvals(a), { axis: -1 });
    case -2:
      return o.min(svdvals(a), { axis: -1 });
    case 1:
      return o.max(o.sum(o.abs(a), { axis: -2 }), { axis: -1 });
    case -1:
      return o.min(o.sum(o.abs(a), { axis: -2 }), { axis: -1 });
    case Infinity:
      return o.max(o.sum(o.abs(a), { axis: -1 }), { axis: -1 });
    case -Infinity:
      return o.min(o.sum(o.abs(a), { axis: -1 }), { axis: -1 });
    default:
      throw new ShapeError(
        `matrixNorm: ord must be "fro", "nuc", ±1, ±2 or ±Infinity, got ${ord} (shape ${fmtShape(a.shape)})`,
      );
  }
}

/**
 * Every linear-algebra primitive by name: with `PRIMITIVES` (core/primitives.ts), the key set of
 * the transformations' rule tables (a rule missing for one of them fails to compile).
 * @internal
 */
export const LINALG_PRIMITIVES: {
  readonly qr: Primitive<Record<never, never>>;
  readonly svd: Primitive<Record<never, never>>;
  readonly eigh: Primitive<Record<never, never>>;
  readonly cholesky: Primitive<Record<never, never>>;
  readonly lu: Primitive<Record<never, never>>;
  readonly triangularSolve: Primitive<{ lower: boolean; transpose: boolean; unitDiagonal: boolean; op: string }>;
  readonly expmSquarings: Primitive<{ max: number }>;
} = {
  qr: qrP,
  svd: svdP,
  eigh: eighP,
  cholesky: choleskyP,
  lu: luP,
  triangularSolve: triangularSolveP,
  expmSquarings: expmSquaringsP,
};
