/**
 * Shapes, tolerances and small tensor helpers shared by the linear-algebra primitives and functions
 * (`mod.ts`): matrix shape checks, kernel failure reports, the spectral-gap tolerance of the SVD
 * and eigh VJPs and its warning.
 * @module
 */
import type { Aval, Storage } from "../backend/backend.ts";
import { arr } from "../backend/cpu/mod.ts";
import type { DType } from "../dtype.ts";
import { DTypeError, fmtShape, ShapeError } from "../errors.ts";
import { bind, type Primitive } from "../primitive.ts";
import { failureError } from "./failure.ts";
import * as o from "../ops/mod.ts";
import { batchElementsSync, type Tensor } from "../tensor.ts";
import type { FloatArray, KernelFailure } from "./kernels.ts";

/** Machine epsilon per float dtype. */
export const EPS: Record<string, number> = { float32: 2 ** -23, float64: 2 ** -52 };
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
export const SYMMETRY_TOL: Record<string, number> = { float32: 1e-4, float64: 1e-10 };

export interface MatrixShape {
  batch: number[];
  m: number;
  n: number;
  count: number;
}

export function matrixShape(op: string, x: Aval, square = false): MatrixShape {
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
export function raise(op: string, f: KernelFailure, x: Aval, cols: number, input = "input"): never {
  throw failureError(op, f, x.shape, cols, input);
}

export function floats(s: Storage): FloatArray {
  return arr(s) as FloatArray;
}

/** Batched diagonal matrix from vectors (…, k) → (…, k, k). */
export function diagEmbed(v: Tensor): Tensor {
  const k = v.shape[v.ndim - 1];
  return o.mul(o.expandDims(v, -2), o.eye(k, { dtype: v.dtype, like: v }));
}

/** X − Xᵀ over the last two axes. */
export function skew(x: Tensor): Tensor {
  return o.sub(x, o.matrixTranspose(x));
}

/** 1/d where |d| > tol, else 0 (no Infinity or NaN on either branch). */
export function guardedReciprocal(d: Tensor, tol: Tensor | number): Tensor {
  const ok = o.greater(o.abs(d), tol);
  return o.where(ok, o.reciprocal(o.where(ok, d, 1)), 0);
}

/** Fᵢⱼ = 1/(vⱼ − vᵢ) for v (…, k), zero on the diagonal and where |vⱼ − vᵢ| ≤ tol · scale. */
export function gapMatrix(v: Tensor, scale: Tensor): Tensor {
  const e = o.sub(o.expandDims(v, -2), o.expandDims(v, -1));
  const tol = spectralGapTolerance(v.dtype, v.shape[v.ndim - 1]);
  return guardedReciprocal(e, o.mul(o.expandDims(scale, -1), tol));
}

const warned = new Set<string>();

/** The tensor holding every example's elements: under vmap the batched value (nested vmaps unwrapped). */
function unbatched(t: Tensor): Tensor {
  let v = t;
  while (v._bt) v = v._bt.value;
  return v;
}

/**
 * Warns (once per op and dtype on each of the CPU and WebGPU) when a spectral VJP dropped
 * 1/(vⱼ − vᵢ) terms that the loss needs: pairs closer than the tolerance where the cotangent term
 * (`k`'s skew part, or `k` itself when `skewPart` is false; `k` is (…, n, n)) is not at rounding
 * level, i.e. the loss depends on the basis chosen inside a near-repeated eigenspace. The CPU reads
 * the values and warns at once; a backend with `checkDroppedGaps` (WebGPU) encodes the same check
 * as kernels (core/backend/webgpu/spectral_gaps.ts) whose status the next read of any tensor finds
 * and prints (README, "Errors and guarantees"), so nothing waits. Under `vmap` every example is checked (when
 * all three are batched; none is, when only some are). Under `jit` the check runs while tracing: on
 * the CPU that read (before the warning was shown) makes jit run the function eagerly for that
 * signature; on WebGPU nothing is read, so the graph is kept and its replays skip the check.
 */
export function warnDroppedGaps(op: string, v: Tensor, scale: Tensor, k: Tensor, skewPart: boolean): void {
  const once = `${op}|${v.dtype}`;
  // a backend that checks on the device warns once in its own read (WebGPU: its failure log), the cpu here
  const device = v.backend.checkDroppedGaps !== undefined;
  if (!device && (v.backend.name !== "cpu" || warned.has(once))) return;
  const n = v.shape[v.ndim - 1], tol = spectralGapTolerance(v.dtype, n);
  // under vmap every example is checked (the batch leads in all three), unless only some are batched
  const batched = [v, scale, k].filter((t) => t._bt !== undefined).length;
  if (batched !== 0 && batched !== 3) return;
  if (device) {
    const [vb, sb, kb] = [v, scale, k].map(unbatched);
    if (v.dtype !== "float32" || vb.size !== sb.size * n || kb.size !== vb.size * n) return;
    v.backend.checkDroppedGaps!(
      vb._live(op),
      sb._live(op),
      kb._live(op),
      { count: sb.size, n, tol, root: Math.sqrt(EPS[v.dtype]), skewPart },
      once,
      `${once}|${vb.shape}|${skewPart}`,
      (index, value) => droppedGapsMessage(op, v.dtype, n, tol, index, value),
    );
    return;
  }
  const vs = batchElementsSync(v), sc = batchElementsSync(scale), ks = batchElementsSync(k);
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
  warned.add(once);
  console.warn(droppedGapsMessage(op, v.dtype, n, tol, dropped, closest));
}

/** The dropped-gap warning: `dropped` terms, the closest relative gap `closest`. */
function droppedGapsMessage(
  op: string,
  dtype: DType,
  n: number,
  tol: number,
  dropped: number,
  closest: number,
): string {
  return `${op} (gradient): dropped ${dropped} term(s) 1/(λⱼ − λᵢ) of ${dtype} values closer than ` +
    `${tol.toExponential(1)} relative (2·n·ε, n = ${n}; closest ${closest.toExponential(1)}) although the loss ` +
    `depends on the basis inside those near-repeated eigenspaces, so that part of the gradient is missing. ` +
    `Compute in float64 (astype(a, "float64")), or make the loss invariant to rotations within each ` +
    `eigenspace. (Shown once.)`;
}

/**
 * `bind`, except that when every output is empty (a 0×n matrix, an empty batch) the outputs are
 * made at once, after the shape checks and before any kernel runs: factorization kernels need not
 * handle empty matrices, and every backend gives the same empty results.
 */
export function bindNonEmpty<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P): Tensor[] {
  const avals = prim.abstract(inputs, params);
  if (!avals.every((a) => a.shape.includes(0))) return bind(prim, inputs, params);
  return avals.map((a) => o.zeros(a.shape, { dtype: a.dtype, like: inputs[0] }));
}

export function identityLike(a: Tensor, n: number): Tensor {
  return o.eye(n, { dtype: a.dtype, like: a });
}
