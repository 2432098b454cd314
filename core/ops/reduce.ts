/**
 * Reductions over axes, and the normalisations built from them.
 * @module
 */
import { isFloat } from "../dtype.ts";
import { DomainError, fmtShape, ShapeError } from "../errors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { bind, bind1 } from "../primitive.ts";
import { logSoftmaxP, type ReduceOp, reduceP } from "../primitives.ts";
import { checkTensor, type Tensor } from "../tensor.ts";
import {
  abs,
  add,
  astype,
  div,
  exp,
  less,
  log,
  mul,
  notEqual,
  pow,
  sqrt,
  stopGradient,
  sub,
  where,
} from "./elementwise.ts";
import { reshape } from "./shape.ts";

/** Which axes to reduce (all when absent; negative counts from the end) and whether to keep them. */
export interface ReduceOptions {
  /** Axis or axes; all axes when absent. */
  axis?: number | readonly number[];
  /** Keep reduced axes with extent 1. */
  keepdims?: boolean;
}

/** Normalises `axis` for a tensor of rank `ndim` into sorted, unique, non-negative axes. */
export function normAxes(op: string, ndim: number, axis?: number | readonly number[]): number[] {
  if (axis === undefined) return [...Array(ndim).keys()];
  if (typeof axis !== "number" && !Array.isArray(axis)) {
    // an options object where the axis goes (take(x, i, { axis: 0 })) is named as such, not [object Object]
    const got = axis !== null && typeof axis === "object" ? `the object ${JSON.stringify(axis)}` : String(axis);
    throw new ShapeError(`${op}: axis must be a number or a list of numbers, got ${got}`);
  }
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -ndim || a >= ndim) {
      throw new ShapeError(
        ndim === 0
          ? `${op}: axis ${a} is out of range for a 0-d tensor, which has no axes; leave axis out, or reshape it to [1]`
          : `${op}: axis ${a} is out of range for a tensor with ${ndim} ${ndim === 1 ? "axis" : "axes"}; ` +
            `use an axis in [${-ndim}, ${ndim - 1}]`,
      );
    }
    return a < 0 ? a + ndim : a;
  });
  const seen = new Set<number>();
  out.forEach((a) => {
    if (seen.has(a)) {
      throw new ShapeError(
        `${op}: axes [${list.join(", ")}] name axis ${a} of the ${ndim}-d input twice; name each axis once`,
      );
    }
    seen.add(a);
  });
  return out.sort((a, b) => a - b);
}

const REDUCE_KEYS: readonly string[] = optionKeys<ReduceOptions>({ axis: true, keepdims: true });
const AXIS_KEYS = ["axis"];
const VARIANCE_KEYS = [...REDUCE_KEYS, "ddof"], NORM_KEYS = [...REDUCE_KEYS, "ord"];

function reduce(op: ReduceOp, x: Tensor, opts: ReduceOptions = {}): Tensor {
  checkOptions(op, opts, REDUCE_KEYS, "{ axis: 1 }");
  const axes = normAxes(op, x.ndim, opts.axis);
  const y = axes.length ? bind1(reduceP, [x], { op, axes }) : x;
  return opts.keepdims ? reshape(y, x.shape.map((d, i) => (axes.includes(i) ? 1 : d))) : y;
}

/** Sum over axes (bool sums as int32). */
export function sum(x: Tensor, opts?: ReduceOptions): Tensor {
  checkTensor("sum", x);
  return reduce("sum", x.dtype === "bool" ? astype(x, "int32") : x, opts);
}
/** Product over axes. */
export function prod(x: Tensor, opts?: ReduceOptions): Tensor {
  checkTensor("prod", x);
  return reduce("prod", x, opts);
}
/** Maximum over axes. */
export function max(x: Tensor, opts?: ReduceOptions): Tensor {
  checkTensor("max", x);
  return reduce("max", x, opts);
}
/** Minimum over axes. */
export function min(x: Tensor, opts?: ReduceOptions): Tensor {
  checkTensor("min", x);
  return reduce("min", x, opts);
}

/**
 * `f(x)` for float16 `x` computed on x widened to float32 and rounded once to float16 at the end
 * (a float16 mean or softmax would otherwise round, and overflow, at every intermediate).
 */
function via32(x: Tensor, f: (t: Tensor) => Tensor): Tensor {
  return x.dtype === "float16" ? astype(f(astype(x, "float32")), "float16") : f(x);
}

function count(x: Tensor, opts?: ReduceOptions): number {
  return normAxes("mean", x.ndim, opts?.axis).reduce((n, a) => n * x.shape[a], 1);
}

/** Arithmetic mean over axes (integers are averaged in float32). */
export function mean(x: Tensor, opts?: ReduceOptions): Tensor {
  checkTensor("mean", x);
  checkOptions("mean", opts, REDUCE_KEYS, "{ axis: 1 }");
  if (x.dtype === "float16") return via32(x, (t) => mean(t, opts));
  const t = isFloat(x.dtype) ? x : astype(x, "float32");
  const n = count(x, opts); // checks the axes first, naming mean
  return div(sum(t, opts), n);
}

/**
 * Variance over axes, `sum((x − mean)²) / max(n − ddof, 0)` (NumPy's divisor: `ddof ≥ n` gives +∞,
 * or NaN for a constant x, never a negative variance; `jnp.var` gives NaN there).
 * @example
 * ```ts
 * import { tensor, variance } from "@tangent/tangent";
 * variance(tensor([1, 2, 3, 4])); // 1.25
 * variance(tensor([1, 2, 3, 4]), { ddof: 1 }); // 1.6666666
 * ```
 */
export function variance(x: Tensor, opts: ReduceOptions & { ddof?: number } = {}): Tensor {
  checkTensor("variance", x);
  checkOptions("variance", opts, VARIANCE_KEYS, "{ axis: 1 }");
  const ddof = opts.ddof ?? 0;
  if (typeof ddof !== "number" || !Number.isFinite(ddof)) {
    throw new DomainError(`variance: ddof = ${String(ddof)} must be a finite number (1 for the sample variance)`);
  }
  if (x.dtype === "float16") return via32(x, (t) => variance(t, opts));
  const m = mean(x, { axis: opts.axis, keepdims: true });
  const d = sub(x, m);
  return div(sum(mul(d, d), { axis: opts.axis, keepdims: opts.keepdims }), Math.max(count(x, opts) - ddof, 0));
}

/** `log Σ eˣ` over axes, computed stably around the maximum. */
export function logsumexp(x: Tensor, opts: ReduceOptions = {}): Tensor {
  checkTensor("logsumexp", x);
  checkOptions("logsumexp", opts, REDUCE_KEYS, "{ axis: 1 }");
  if (x.dtype === "float16") return via32(x, (t) => logsumexp(t, opts));
  const r0 = { axis: opts.axis, keepdims: opts.keepdims };
  // no terms: log 0 = −∞ (jax.nn.logsumexp), where the maximum below has no value
  if (normAxes("logsumexp", x.ndim, opts.axis).some((a) => x.shape[a] === 0)) return add(sum(x, r0), -Infinity);
  // shift by the maximum; a non-finite one (all −∞, or a +∞) by 0, so the result is −∞ or +∞, not NaN
  const mx = max(x, { axis: opts.axis, keepdims: true });
  const m = stopGradient(where(less(abs(mx), Infinity), mx, 0));
  const s = log(sum(exp(sub(x, m)), { axis: opts.axis, keepdims: true }));
  const r = add(s, m);
  return opts.keepdims
    ? r
    : reshape(r, x.shape.filter((_, i) => !normAxes("logsumexp", x.ndim, opts.axis).includes(i)));
}

/**
 * `eˣ / Σ eˣ` along `axis` (default −1), computed as `e / Σ e` with `e = e^{x − max}` (a non-finite
 * maximum shifts by 0, as in `logsumexp`): five passes over x-sized data instead of the six of
 * `exp(logSoftmax(x))` when logSoftmax was composed (30% faster forward on attention scores then;
 * composed, its chains fuse under `jit`). A row of −∞, or one holding +∞ or NaN, gives NaN where
 * `exp(logSoftmax(x))` does.
 * @example
 * ```ts
 * import { softmax, tensor } from "@tangent/tangent";
 * softmax(tensor([0, Math.log(3)])); // [0.25, 0.75]
 * ```
 */
export function softmax(x: Tensor, opts: { axis?: number } = {}): Tensor {
  checkTensor("softmax", x);
  checkOptions("softmax", opts, AXIS_KEYS, "{ axis: 1 }");
  if (x.ndim === 0) throw new ShapeError(`softmax: needs at least one axis, got a scalar; reshape it to [1]`);
  if (x.dtype === "float16") return via32(x, (t) => softmax(t, opts));
  const axis = opts.axis ?? -1;
  if (x.shape[normAxes("softmax", x.ndim, axis)[0]] === 0) return x; // an empty axis: nothing to normalise
  const mx = max(x, { axis, keepdims: true });
  const e = exp(sub(x, stopGradient(where(less(abs(mx), Infinity), mx, 0))));
  return div(e, sum(e, { axis, keepdims: true }));
}

/**
 * `x − logsumexp(x)` along `axis` (default −1), computed as `z − log Σ eᶻ` with `z = x − max` (a
 * non-finite maximum shifts by 0, as in `logsumexp`), by one primitive: one kernel forward and one,
 * `g − softmax(x)·Σg`, backward (a cross-entropy step runs it on a small batch, where each of the
 * ten operations it was composed of cost its dispatch more than its arithmetic). A row holding NaN,
 * or all −∞, gives NaN; one holding +∞ gives NaN there and −∞ elsewhere; −∞ beside a finite maximum
 * gives −∞. On the CPU, float32 rows are computed in float64 and rounded once; float16 goes through
 * float32.
 * @example
 * ```ts
 * import { logSoftmax, tensor } from "@tangent/tangent";
 * logSoftmax(tensor([0, Math.log(3)])); // [log 0.25, log 0.75]
 * ```
 */
export function logSoftmax(x: Tensor, opts: { axis?: number } = {}): Tensor {
  checkTensor("logSoftmax", x);
  checkOptions("logSoftmax", opts, AXIS_KEYS, "{ axis: 1 }");
  if (x.ndim === 0) throw new ShapeError(`logSoftmax: needs at least one axis, got a scalar; reshape it to [1]`);
  if (x.dtype === "float16") return via32(x, (t) => logSoftmax(t, opts));
  const axis = normAxes("logSoftmax", x.ndim, opts.axis ?? -1)[0];
  if (x.shape[axis] === 0) return x; // an empty axis: nothing to normalise
  return bind(logSoftmaxP, [x], { axis })[0];
}

/**
 * Vector or Frobenius norm over the given axes (all by default): `ord` 2 / "fro" is
 * `sqrt(Σ x²)`, 1 is `Σ |x|`, Infinity is `max |x|`, any other p is `(Σ |x|ᵖ)^{1/p}`. The
 * gradient at x = 0 is 0 (a subgradient), not NaN.
 *
 * Always entrywise, whatever the rank: unlike `jnp.linalg.norm` / `np.linalg.norm`, which take a
 * 2-D input (or two axes) with `ord` 1, 2 or ∞ as a matrix norm (the largest column sum, the largest
 * singular value, the largest row sum), `norm(m, { ord: 2 })` of a matrix is its Frobenius norm and
 * `{ ord: 1 }` sums every |mᵢⱼ|. For the matrix norms use `linalg.matrixNorm(m, ord)`.
 * @example
 * ```ts
 * import { norm, tensor } from "@tangent/tangent";
 * import { matrixNorm } from "@tangent/tangent/linalg";
 * const m = tensor([[1, -2, 3], [4, 5, -6]]);
 * norm(m, { ord: 1 }); // 21 = Σ |mᵢⱼ| (jnp.linalg.norm(m, 1) is 9)
 * matrixNorm(m, 1); // 9, the largest column sum, as jnp.linalg.norm(m, 1)
 * norm(m, { axis: 1 }); // [√14, √77], one vector norm per row
 * ```
 */
export function norm(x: Tensor, opts: ReduceOptions & { ord?: number | "fro" } = {}): Tensor {
  checkTensor("norm", x);
  checkOptions("norm", opts, NORM_KEYS, "{ axis: 1 }");
  if (x.dtype === "float16") return via32(x, (t) => norm(t, opts));
  const ord = opts.ord ?? 2;
  const r = { axis: opts.axis, keepdims: opts.keepdims };
  if (ord === 2 || ord === "fro") {
    const s = sum(mul(x, x), r);
    const nonzero = notEqual(s, 0); // NaN stays NaN; only an exact 0 takes the 0 subgradient
    return mul(sqrt(where(nonzero, s, 1)), astype(nonzero, s.dtype));
  }
  if (ord === 1) return sum(abs(x), r);
  if (ord === Infinity) return max(abs(x), r);
  if (typeof ord !== "number" || !(ord > 0)) {
    throw new ShapeError(`norm: ord must be a positive number or "fro", got ${ord}; shape ${fmtShape(x.shape)}`);
  }
  return pow(sum(pow(abs(x), ord), r), 1 / ord);
}
