/**
 * Elementwise operations with NumPy broadcasting and the one dtype promotion rule (core/dtype.ts).
 * @module
 */
import { checkDType, type DType, isFloat, promote, weakDType } from "../dtype.ts";
import { DomainError, DTypeError } from "../errors.ts";
import { checkOptions } from "../options.ts";
import { bind1, needsBind } from "../primitive.ts";
import {
  type BinaryOp,
  binaryP,
  broadcastShapes,
  castP,
  stopGradientP,
  type UnaryOp,
  unaryP,
  whereP,
} from "../primitives.ts";
import { checkTensor, Tensor } from "../tensor.ts";
import { customVjpChecked } from "../custom_vjp.ts";
import { full } from "./creation.ts";

/** A tensor or a plain number (weakly typed: it takes the other operand's dtype). */
export type TensorLike = Tensor | number;

/**
 * Converts a dtype; a no-op when it already matches. A plain number becomes a scalar of `dtype`,
 * converted as a tensor would be (truncated toward zero for int32, nonzero is true for bool).
 */
export function astype(x: TensorLike, dtype: DType): Tensor {
  checkOperand("astype", x);
  if (typeof x === "number") {
    const d = checkDType("astype", dtype);
    return full([], d === "int32" && Number.isFinite(x) ? Math.trunc(x) : x, { dtype: d });
  }
  return x.dtype === dtype ? x : bind1(castP, [x], { dtype: checkDType("astype", dtype) });
}

/**
 * The same value, but gradients do not flow through it (a primitive with no VJP rule; `vmap` and
 * `jit` see the identity).
 * @example
 * ```ts
 * import { grad, mul, stopGradient, type Tensor, tensor } from "@tangent/tangent";
 * grad((x: Tensor) => mul(x, stopGradient(x)))(tensor(3)); // 3, not 6
 * ```
 */
export function stopGradient(x: Tensor): Tensor {
  checkOperand("stopGradient", x);
  return needsBind(x) ? bind1(stopGradientP, [x], {}) : x; // nothing watches x: it is returned as is
}

/** Brings two operands to one dtype (numbers adopt the tensor's). */
export function coerce(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  checkOperand(op, a);
  checkOperand(op, b);
  if (typeof a === "number" && typeof b === "number") {
    return [full([], a, { dtype: "float32" }), full([], b, { dtype: "float32" })];
  }
  if (typeof a === "number") {
    const bt = b as Tensor;
    const d = weakDType(bt.dtype, a);
    return [full([], a, { dtype: d, like: bt }), astype(bt, d)];
  }
  if (typeof b === "number") {
    const d = weakDType(a.dtype, b);
    return [astype(a, d), full([], b, { dtype: d, like: a })];
  }
  const d = promote(a.dtype, b.dtype);
  return [astype(a, d), astype(b, d)];
}

/** Throws unless `x` is a tensor or a plain number. */
function checkOperand(op: string, x: unknown): void {
  if (typeof x !== "number" && !(x instanceof Tensor)) {
    const what = x === null ? "null" : Array.isArray(x) ? "an array" : typeof x;
    throw new DTypeError(`${op}: operands must be tensors or numbers, got ${what}; wrap data with tensor(...)`);
  }
}

function binary(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce(op, a, b);
  // bool arithmetic counts in int32 (true + true = 2), so a bool result never holds a 2
  if (x.dtype === "bool" && (op === "add" || op === "sub" || op === "mul")) {
    return bind1(binaryP, [astype(x, "int32"), astype(y, "int32")], { op });
  }
  return bind1(binaryP, [x, y], { op });
}

function unary(op: UnaryOp, x: TensorLike): Tensor {
  checkOperand(op, x);
  const t = typeof x === "number" ? full([], x, { dtype: "float32" }) : x;
  const needsFloat = op !== "neg" && op !== "abs" && op !== "sign";
  return bind1(unaryP, [needsFloat && !isFloat(t.dtype) ? astype(t, "float32") : t], { op });
}

/** `a + b` */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary("add", a, b);
}
/** `a − b` */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary("sub", a, b);
}
/** `a · b` elementwise */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary("mul", a, b);
}
/** `a / b` elementwise (integer operands are promoted to float32 first) */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce("div", a, b);
  return isFloat(x.dtype)
    ? bind1(binaryP, [x, y], { op: "div" })
    : binary("div", astype(x, "float32"), astype(y, "float32"));
}
/** `a ** b` (float) */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce("pow", a, b);
  return isFloat(x.dtype)
    ? bind1(binaryP, [x, y], { op: "pow" })
    : binary("pow", astype(x, "float32"), astype(y, "float32"));
}
/** Elementwise maximum (ties share the gradient). */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binary("max", a, b);
}
/** Elementwise minimum (ties share the gradient). */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binary("min", a, b);
}
/** `a == b` → bool */
export function equal(a: TensorLike, b: TensorLike): Tensor {
  return binary("eq", a, b);
}
/** `a != b` → bool */
export function notEqual(a: TensorLike, b: TensorLike): Tensor {
  return binary("ne", a, b);
}
/** `a < b` → bool */
export function less(a: TensorLike, b: TensorLike): Tensor {
  return binary("lt", a, b);
}
/** `a <= b` → bool */
export function lessEqual(a: TensorLike, b: TensorLike): Tensor {
  return binary("le", a, b);
}
/** `a > b` → bool */
export function greater(a: TensorLike, b: TensorLike): Tensor {
  return binary("gt", a, b);
}
/** `a >= b` → bool */
export function greaterEqual(a: TensorLike, b: TensorLike): Tensor {
  return binary("ge", a, b);
}
/**
 * Logical and → bool, broadcasting. A number tensor counts as true where it is nonzero (NaN
 * included), as `np.logical_and` / `jnp.logical_and`.
 * @example
 * ```ts
 * import { logicalAnd, tensor } from "@tangent/tangent";
 * logicalAnd(tensor([true, true, false]), tensor([2, 0, 1])); // [true, false, false]
 * ```
 */
export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  checkTensor("logicalAnd", a);
  checkTensor("logicalAnd", b);
  const truth = (x: Tensor) => x.dtype === "bool" ? x : notEqual(x, 0);
  return where(truth(a), truth(b), full([], 0, { dtype: "bool", like: a }));
}
/** Logical not of a bool tensor. */
export function logicalNot(a: Tensor): Tensor {
  checkTensor("logicalNot", a);
  return equal(a, full([], 0, { dtype: "bool", like: a }));
}

/** `cond ? a : b` elementwise, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor) || cond.dtype !== "bool") {
    throw new DTypeError(`where: condition must be a bool tensor; build it with a comparison such as greater(x, 0)`);
  }
  const [x, y] = coerce("where", a, b);
  return bind1(whereP, [cond, x, y], {});
}

/** `−x` */
export function neg(x: TensorLike): Tensor {
  return unary("neg", x);
}
/** `eˣ` */
export function exp(x: TensorLike): Tensor {
  return unary("exp", x);
}
/** Natural logarithm. */
export function log(x: TensorLike): Tensor {
  return unary("log", x);
}
/** Square root. */
export function sqrt(x: TensorLike): Tensor {
  return unary("sqrt", x);
}
/** `|x|` */
export function abs(x: TensorLike): Tensor {
  return unary("abs", x);
}
/** −1, 0 or 1 (zero gradient). */
export function sign(x: TensorLike): Tensor {
  return unary("sign", x);
}
/** Hyperbolic tangent. */
export function tanh(x: TensorLike): Tensor {
  return unary("tanh", x);
}
/** Sine. */
export function sin(x: TensorLike): Tensor {
  return unary("sin", x);
}
/** Cosine. */
export function cos(x: TensorLike): Tensor {
  return unary("cos", x);
}
/** The error function. */
export function erf(x: TensorLike): Tensor {
  return unary("erf", x);
}
/** Largest integer ≤ x (zero gradient). */
export function floor(x: TensorLike): Tensor {
  return unary("floor", x);
}
/** `x²` */
export function square(x: TensorLike): Tensor {
  return typeof x === "number" ? full([], x * x, { dtype: "float32" }) : mul(x, x);
}
/** `1 / x` */
export function reciprocal(x: TensorLike): Tensor {
  return div(1, x);
}
/**
 * `1 / (1 + e^{−x})` (`jax.nn.sigmoid`, computed as XLA computes it), to full relative precision on
 * both sides: `sigmoid(-20)` in float32 is 2.06e-9, not 0; e^{−x} overflowing gives 0. Its gradient
 * is `σ(1 − σ)` from the output (as `jax.nn.sigmoid`'s), finite everywhere (0 at ±∞), and
 * differentiable again.
 * @example
 * ```ts
 * import { sigmoid, tensor } from "@tangent/tangent";
 * sigmoid(tensor([0, -20, Infinity])); // [0.5, 2.0611537e-9, 1]
 * ```
 */
export function sigmoid(x: TensorLike): Tensor {
  checkOperand("sigmoid", x);
  const t = typeof x === "number" ? full([], x, { dtype: "float32" }) : isFloat(x.dtype) ? x : astype(x, "float32");
  // (1 + tanh(x/2)) / 2, the former form, cancelled for x < 0: sigmoid(-17) was 2.98e-8 (4.14e-8), sigmoid(-19) 0;
  // the rule keeps the gradient finite where e^{−x} overflows (e^{−x}/(1 + e^{−x})² would be ∞/∞ there)
  sigmoidRule ??= customVjpChecked(
    (v: Tensor) => div(1, add(exp(neg(v)), 1)),
    (ct: Tensor, s: Tensor) => [mul(ct, mul(s, sub(1, s)))],
    "sigmoid",
    false,
  );
  return sigmoidRule(t);
}
let sigmoidRule: ((x: Tensor) => Tensor) | undefined;

/** `max(x, 0)`; NaN stays NaN (as in NumPy, PyTorch and JAX), the gradient at 0 is 0. */
export function relu(x: TensorLike): Tensor {
  checkOperand("relu", x);
  const t = typeof x === "number" ? full([], x, { dtype: "float32" }) : x;
  return where(lessEqual(t, 0), 0, t);
}
/**
 * Gaussian error linear unit. Exact form `x·Φ(x) = x/2 · (1 + erf(x/√2))` (PyTorch's default), or
 * the tanh approximation `x/2 · (1 + tanh(√(2/π)(x + 0.044715x³)))` with `{ approximate: "tanh" }`.
 * `jax.nn.gelu` defaults to the tanh form (`approximate=True`): port it as
 * `gelu(x, { approximate: "tanh" })` (the two differ by up to about 5e-4).
 * @example
 * ```ts
 * import { gelu, tensor } from "@tangent/tangent";
 * gelu(tensor([1])); // 0.8413447 (torch.nn.functional.gelu, jax.nn.gelu(x, approximate=False))
 * gelu(tensor([1]), { approximate: "tanh" }); // 0.8411920 (jax.nn.gelu(x))
 * ```
 */
export function gelu(x: TensorLike, opts: { approximate?: "none" | "tanh" } = {}): Tensor {
  checkOptions("gelu", opts, ["approximate"], '{ approximate: "tanh" }');
  if (opts.approximate !== undefined && opts.approximate !== "none" && opts.approximate !== "tanh") {
    throw new DomainError(
      `gelu: approximate is "none" (the exact erf form) or "tanh", got ${String(opts.approximate)}`,
    );
  }
  if (opts.approximate === "tanh") {
    const cube = mul(mul(x, x), x); // x³ as two products: far cheaper than pow, forward and backward
    const inner = mul(add(x, mul(cube, 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanh(inner), 1));
  }
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}
/**
 * Clamps to `[lo, hi]` as `np.clip` does: `min(max(x, lo), hi)` (so `hi` wins when lo > hi), either
 * bound may be `null` (none); a NaN in `x` stays NaN. The gradient is 1 where lo ≤ x ≤ hi, else 0
 * (it flows to the bound that was taken when the bound is a tensor).
 * @example
 * ```ts
 * import { clip, tensor } from "@tangent/tangent";
 * clip(tensor([-2, 0.5, NaN, 3]), 0, 1); // [0, 0.5, NaN, 1]
 * ```
 */
export function clip(x: Tensor, lo: TensorLike | null, hi: TensorLike | null): Tensor {
  checkOperand("clip", x);
  // the bounds broadcast with x (an error names clip, not the comparison it is built from)
  let shape: readonly number[] = x instanceof Tensor ? x.shape : [];
  for (const b of [lo, hi]) if (b instanceof Tensor) shape = broadcastShapes("clip", shape, b.shape);
  let y = x;
  if (lo !== null && lo !== undefined) y = where(less(y, lo), lo, y);
  if (hi !== null && hi !== undefined) y = where(greater(y, hi), hi, y);
  return y;
}

/**
 * `log(1 + x)`, accurate for small x (where `log(add(1, x))` loses every digit below ε).
 * @example
 * ```ts
 * import { log1p, tensor } from "@tangent/tangent";
 * log1p(tensor([1e-10], { dtype: "float64" })); // 9.9999999995e-11
 * ```
 */
export function log1p(x: TensorLike): Tensor {
  return unary("log1p", x);
}

/**
 * `eˣ − 1`, accurate for small x.
 * @example
 * ```ts
 * import { expm1, tensor } from "@tangent/tangent";
 * expm1(tensor([1e-10], { dtype: "float64" })); // 1.00000000005e-10
 * ```
 */
export function expm1(x: TensorLike): Tensor {
  return unary("expm1", x);
}

/**
 * `log(1 + eˣ)` without overflow: `x + log1p(e^{−x})` for x > 0, `log1p(eˣ)` otherwise (the same
 * values as `max(x, 0) + log1p(e^{−|x|})`). Each branch is smooth where it is taken, so every
 * derivative is exact, at 0 too: the gradient is `sigmoid(x)` (½ at 0, not a kink's subgradient).
 * @example
 * ```ts
 * import { softplus, tensor } from "@tangent/tangent";
 * softplus(tensor([0, 1000])); // [log 2, 1000]
 * ```
 */
export function softplus(x: TensorLike): Tensor {
  checkOperand("softplus", x);
  const t = typeof x === "number" ? full([], x, { dtype: "float32" }) : isFloat(x.dtype) ? x : astype(x, "float32");
  // each branch gets a safe input where the other is taken (0), so no inf·0 reaches a gradient
  const pos = greater(t, 0);
  const a = where(pos, t, 0), b = where(pos, 0, t);
  return where(pos, add(a, log1p(exp(neg(a)))), log1p(exp(b)));
}

/**
 * `log σ(x) = −softplus(−x)`, finite for large negative x (where `log(sigmoid(x))` gives −∞).
 * @example
 * ```ts
 * import { logSigmoid, tensor } from "@tangent/tangent";
 * logSigmoid(tensor([0, -1000])); // [−log 2, −1000]
 * ```
 */
export function logSigmoid(x: TensorLike): Tensor {
  checkOperand("logSigmoid", x);
  // an int or bool input is taken as float32, as softplus does (neg of a bool would throw, naming neg)
  const t = typeof x === "number" ? full([], x, { dtype: "float32" }) : isFloat(x.dtype) ? x : astype(x, "float32");
  return neg(softplus(neg(t)));
}

/**
 * Where `x` is NaN (bool; false everywhere for integer tensors).
 * @example
 * ```ts
 * import { isnan, tensor } from "@tangent/tangent";
 * isnan(tensor([1, NaN, Infinity])); // [false, true, false]
 * ```
 */
export function isnan(x: Tensor): Tensor {
  checkOperand("isnan", x);
  return notEqual(x, x);
}

/**
 * Where `x` is neither NaN nor ±∞ (bool; true everywhere for integer tensors).
 * @example
 * ```ts
 * import { isfinite, tensor } from "@tangent/tangent";
 * isfinite(tensor([1, NaN, -Infinity])); // [true, false, false]
 * ```
 */
export function isfinite(x: Tensor): Tensor {
  checkOperand("isfinite", x);
  if (!isFloat(x.dtype)) return equal(x, x);
  return less(abs(x), Infinity);
}
