/**
 * The core primitives: their shape rules and VJP rules, side by side. Everything else in the
 * library is composed from these (and from the linear-algebra primitives in `core/linalg`).
 * A backend implements exactly these names.
 * @module
 */
import type { Aval } from "./backend/backend.ts";
import { type DType, isFloat } from "./dtype.ts";
import { DTypeError, fmtShape, ShapeError } from "./errors.ts";
import { bind1, definePrimitive } from "./primitive.ts";
import type { Tensor } from "./tensor.ts";
import type { KeySym } from "./key_trace.ts";
import * as o from "./ops/mod.ts";

/** Elementwise unary operations. */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "abs"
  | "sign"
  | "tanh"
  | "sin"
  | "cos"
  | "erf"
  | "floor"
  | "log1p"
  | "expm1";
/** Elementwise binary operations producing the operands' dtype. */
export type ArithOp = "add" | "sub" | "mul" | "div" | "pow" | "max" | "min";
/** Elementwise comparisons producing bool. */
export type CompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
/** Binary operations. */
export type BinaryOp = ArithOp | CompareOp;
/** Reductions. */
export type ReduceOp = "sum" | "max" | "min" | "prod";

const COMPARE = new Set<string>(["eq", "ne", "lt", "le", "gt", "ge"]);

/** NumPy broadcasting of two shapes; throws a ShapeError naming `op`. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast (axis ${i - n}: ${da} vs ${db}); ` +
          `reshape or expandDims one operand so each axis matches or is 1`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Sums `g` down to `shape` over the axes that broadcasting expanded. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return o.reshape(o.sum(g, { axis: axes }), shape);
}

function floatOnly(op: string, d: DType): void {
  if (!isFloat(d)) throw new DTypeError(`${op}: needs a float tensor, got ${d}; convert with astype(x, "float32")`);
}

/** `y = op(x)` elementwise. */
export const unaryP = definePrimitive<{ op: UnaryOp }>({
  name: "unary",
  abstract([x], { op }) {
    if (op !== "neg" && op !== "abs" && op !== "sign") floatOnly(op, x.dtype);
    if (x.dtype === "bool") throw new DTypeError(`${op}: bool input; convert with astype(x, "int32")`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], [x], [y], { op }) {
    if (!g) return [null];
    switch (op) {
      case "neg":
        return [o.neg(g)];
      case "exp":
        return [o.mul(g, y)];
      case "log":
        return [o.div(g, x)];
      case "sqrt":
        return [o.div(g, o.mul(y, 2))];
      case "abs":
        return [o.mul(g, o.sign(x))];
      case "tanh":
        return [o.mul(g, o.sub(1, o.square(y)))];
      case "sin":
        return [o.mul(g, o.cos(x))];
      case "cos":
        return [o.neg(o.mul(g, o.sin(x)))];
      case "log1p":
        return [o.div(g, o.add(x, 1))];
      case "expm1":
        return [o.mul(g, o.add(y, 1))];
      case "erf": // d erf(x) = 2/√π · e^{−x²}
        return [o.mul(g, o.mul(o.exp(o.neg(o.square(x))), 2 / Math.sqrt(Math.PI)))];
      case "sign":
      case "floor":
        return [null];
    }
  },
});

/** `z = a op b` elementwise with NumPy broadcasting; operands share one dtype. */
export const binaryP = definePrimitive<{ op: BinaryOp }>({
  name: "binary",
  abstract([a, b], { op }) {
    if (a.dtype !== b.dtype) {
      throw new DTypeError(`${op}: operand dtypes differ (${a.dtype}, ${b.dtype}); convert one with astype`);
    }
    if (op === "pow") floatOnly("pow", a.dtype);
    if (a.dtype === "bool" && (op === "add" || op === "sub" || op === "mul" || op === "div")) {
      throw new DTypeError(`${op}: bool operands; convert with astype(x, "int32")`);
    }
    return [{ shape: broadcastShapes(op, a.shape, b.shape), dtype: COMPARE.has(op) ? "bool" : a.dtype }];
  },
  vjp([g], [a, b], [z], { op }, needs) {
    if (!g || COMPARE.has(op)) return [null, null];
    const ub = (t: Tensor | null, like: Tensor) => t && unbroadcast(t, like.shape);
    switch (op as ArithOp) {
      case "add":
        return [needs[0] ? ub(g, a) : null, needs[1] ? ub(g, b) : null];
      case "sub":
        return [needs[0] ? ub(g, a) : null, needs[1] ? ub(o.neg(g), b) : null];
      case "mul":
        return [needs[0] ? ub(o.mul(g, b), a) : null, needs[1] ? ub(o.mul(g, a), b) : null];
      case "div":
        return [needs[0] ? ub(o.div(g, b), a) : null, needs[1] ? ub(o.neg(o.div(o.mul(g, z), b)), b) : null];
      case "pow": { // d a^b = b a^{b−1} da + log(a) a^b db  (the second term taken as 0 where a ≤ 0)
        const da = needs[0] ? o.mul(g, o.mul(b, o.pow(a, o.sub(b, 1)))) : null;
        if (!needs[1]) return [ub(da, a), null];
        const pos = o.greater(a, 0);
        const db = o.mul(g, o.mul(z, o.log(o.where(pos, a, 1))));
        return [ub(da, a), ub(o.where(pos, db, 0), b)];
      }
      case "max":
      case "min": { // ties split the gradient evenly, as JAX does
        const first = op === "max" ? o.greater(a, b) : o.less(a, b);
        const w = o.add(o.astype(first, g.dtype), o.mul(o.astype(o.equal(a, b), g.dtype), 0.5));
        return [needs[0] ? ub(o.mul(g, w), a) : null, needs[1] ? ub(o.mul(g, o.sub(1, w)), b) : null];
      }
    }
  },
});

/** `where(cond, a, b)`: `a` where cond is true, else `b`; all three broadcast. */
export const whereP = definePrimitive<Record<never, never>>({
  name: "where",
  abstract([c, a, b]) {
    if (c.dtype !== "bool") throw new DTypeError(`where: condition must be bool, got ${c.dtype}; compare first`);
    if (a.dtype !== b.dtype) {
      throw new DTypeError(`where: branch dtypes differ (${a.dtype}, ${b.dtype}); convert one with astype`);
    }
    return [{ shape: broadcastShapes("where", broadcastShapes("where", c.shape, a.shape), b.shape), dtype: a.dtype }];
  },
  vjp([g], [c, a, b], _y, _p, needs) {
    if (!g) return [null, null, null];
    return [
      null,
      needs[1] ? unbroadcast(o.where(c, g, 0), a.shape) : null,
      needs[2] ? unbroadcast(o.where(c, 0, g), b.shape) : null,
    ];
  },
});

/**
 * The identity whose gradient is zero: `grad` records it with no VJP rule, so nothing flows back
 * through it; every other transformation (vmap, jit) treats it as the identity.
 */
export const stopGradientP = definePrimitive<Record<never, never>>({
  name: "stopGradient",
  abstract([x]) {
    return [{ shape: x.shape, dtype: x.dtype }];
  },
});

/** Converts elements to another dtype. */
export const castP = definePrimitive<{ dtype: DType }>({
  name: "cast",
  abstract([x], { dtype }) {
    return [{ shape: x.shape, dtype }];
  },
  vjp([g], [x]) {
    return [g && isFloat(x.dtype) ? o.astype(g, x.dtype) : null];
  },
});

/** Reduces over `axes` (removed from the shape). */
export const reduceP = definePrimitive<{ op: ReduceOp; axes: number[] }>({
  name: "reduce",
  abstract([x], { op, axes }) {
    if (x.dtype === "bool" && op !== "max" && op !== "min") {
      throw new DTypeError(`${op}: bool input; convert with astype(x, "int32")`);
    }
    for (const a of axes) {
      if (x.shape[a] === 0 && op !== "sum" && op !== "prod") {
        throw new ShapeError(
          `${op}: reducing an empty axis ${a} of ${fmtShape(x.shape)}; ${op} of no elements is undefined, ` +
            `reduce a non-empty axis`,
        );
      }
    }
    return [{ shape: x.shape.filter((_, i) => !axes.includes(i)), dtype: x.dtype }];
  },
  vjp([g], [x], [y], { op, axes }) {
    if (!g) return [null];
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const gk = o.reshape(g, kept);
    switch (op) {
      case "sum":
        return [o.broadcastTo(gk, x.shape)];
      case "prod": { // ∂y/∂xᵢ = ∏_{j≠i} xⱼ: y/xᵢ when no x is 0; at a lone zero, the product of the others
        const zero = o.equal(x, 0);
        const nz = o.sum(zero, { axis: axes, keepdims: true });
        const safe = o.where(zero, 1, x);
        const others = o.prod(safe, { axis: axes, keepdims: true });
        const d = o.where(zero, o.where(o.equal(nz, 1), others, 0), o.where(o.equal(nz, 0), o.div(others, safe), 0));
        return [o.mul(gk, d)];
      }
      case "max":
      case "min": { // the gradient is shared among the elements that attain the extreme
        const mask = o.astype(o.equal(x, o.reshape(y, kept)), g.dtype);
        const count = o.sum(mask, { axis: axes, keepdims: true });
        return [o.mul(mask, o.div(gk, count))];
      }
    }
  },
});

/** Permutes axes: `y.shape[i] = x.shape[perm[i]]`. */
export const transposeP = definePrimitive<{ perm: number[] }>({
  name: "transpose",
  abstract([x], { perm }) {
    return [{ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }];
  },
  vjp([g], _x, _y, { perm }) {
    if (!g) return [null];
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [o.transpose(g, inv)];
  },
});

/** Same elements, new shape (no copy on any backend). */
export const reshapeP = definePrimitive<{ shape: number[] }>({
  name: "reshape",
  abstract([x], { shape }) {
    return [{ shape, dtype: x.dtype }];
  },
  vjp([g], [x]) {
    return [g && o.reshape(g, x.shape)];
  },
});

/** Broadcasts to a larger shape (materialised). */
export const broadcastP = definePrimitive<{ shape: number[] }>({
  name: "broadcast",
  abstract([x], { shape }) {
    const b = broadcastShapes("broadcastTo", x.shape, shape);
    if (b.length !== shape.length || b.some((d, i) => d !== shape[i])) {
      throw new ShapeError(
        `broadcastTo: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}; ` +
          `the target needs at least as many axes, each equal to the input's or where the input has 1`,
      );
    }
    return [{ shape, dtype: x.dtype }];
  },
  vjp([g], [x]) {
    return [g && unbroadcast(g, x.shape)];
  },
});

/** `x[starts:stops]` per axis (step 1). */
export const sliceP = definePrimitive<{ starts: number[]; stops: number[] }>({
  name: "slice",
  abstract([x], { starts, stops }) {
    return [{ shape: starts.map((s, i) => stops[i] - s), dtype: x.dtype }];
  },
  vjp([g], [x], _y, { starts, stops }) {
    return [g && o.pad(g, starts.map((s, i) => [s, x.shape[i] - stops[i]] as [number, number]))];
  },
});

/** Pads each axis with `widths[i] = [before, after]` copies of `value`. */
export const padP = definePrimitive<{ widths: [number, number][]; value: number }>({
  name: "pad",
  abstract([x], { widths }) {
    return [{ shape: x.shape.map((d, i) => d + widths[i][0] + widths[i][1]), dtype: x.dtype }];
  },
  vjp([g], [x], _y, { widths }) {
    return [g && o.slice(g, widths.map(([b], i) => [b, b + x.shape[i]] as [number, number]))];
  },
});

/** Joins tensors along an existing axis. */
export const concatP = definePrimitive<{ axis: number }>({
  name: "concat",
  abstract(xs, { axis }) {
    const s = [...xs[0].shape];
    for (const x of xs.slice(1)) {
      if (x.dtype !== xs[0].dtype) {
        throw new DTypeError(`concat: dtypes differ (${xs[0].dtype}, ${x.dtype}); convert with astype first`);
      }
      if (x.shape.length !== s.length || x.shape.some((d, i) => i !== axis && d !== s[i])) {
        throw new ShapeError(
          `concat: shapes ${xs.map((t) => fmtShape(t.shape)).join(", ")} differ outside axis ${axis}; ` +
            `every axis but the joined one must match`,
        );
      }
      s[axis] += x.shape[axis];
    }
    return [{ shape: s, dtype: xs[0].dtype }];
  },
  vjp([g], xs, _y, { axis }) {
    if (!g) return xs.map(() => null);
    let at = 0;
    return xs.map((x) => {
      const r = g.shape.map((d, i) => (i === axis ? [at, at + x.shape[axis]] : [0, d]) as [number, number]);
      at += x.shape[axis];
      return o.slice(g, r);
    });
  },
});

/**
 * `y = x.take(indices, axis)`: out shape `x.shape[:axis] + idx.shape + x.shape[axis+1:]`. With `ids`
 * (an op's name), the indices are that op's token ids: a negative one is an error too, not counted
 * from the end, and the message names the op (so a jit replay checks ids as the eager call does).
 */
/** `x` at `idx` along `axis`; `op` names the function in an index error (default `take`), `ids` makes it a token-id lookup. */
export const gatherP = definePrimitive<{ axis: number; ids?: string; op?: string }>({
  name: "gather",
  abstract([x, idx], { axis }) {
    if (idx.dtype !== "int32") {
      throw new DTypeError(`take: indices must be int32, got ${idx.dtype}; convert with astype(indices, "int32")`);
    }
    return [{ shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], dtype: x.dtype }];
  },
  vjp([g], [x, idx], _y, { axis }) {
    return [g && o.scatterAdd(idx, g, axis, x.shape), null];
  },
});

/** Zeros of `shape` with `updates` added at `indices` along `axis` (the transpose of gather). */
export const scatterAddP = definePrimitive<{ axis: number; shape: number[] }>({
  name: "scatterAdd",
  abstract([idx, upd], { axis, shape }) {
    if (idx.dtype !== "int32") {
      throw new DTypeError(
        `scatterAdd: indices must be int32, got ${idx.dtype}; convert with astype(indices, "int32")`,
      );
    }
    const want = [...shape.slice(0, axis), ...idx.shape, ...shape.slice(axis + 1)];
    if (want.length !== upd.shape.length || want.some((d, i) => d !== upd.shape[i])) {
      throw new ShapeError(
        `scatterAdd: updates ${fmtShape(upd.shape)} should be ${fmtShape(want)} ` +
          `(indices ${fmtShape(idx.shape)} along axis ${axis} of ${fmtShape(shape)}); reshape the updates`,
      );
    }
    return [{ shape, dtype: upd.dtype }];
  },
  vjp([g], [idx], _y, { axis }) {
    return [null, g && o.take(g, idx, axis)];
  },
});

/** Batched matrix product of `op(a)` and `op(b)`, op an optional transpose of the last two axes. */
export const matmulP = definePrimitive<{ transA: boolean; transB: boolean }>({
  name: "matmul",
  abstract([a, b], { transA, transB }) {
    if (a.dtype !== b.dtype && !halfWithSingle(a.dtype, b.dtype)) {
      throw new DTypeError(`matmul: dtypes differ (${a.dtype}, ${b.dtype}); convert one with astype`);
    }
    if (a.shape.length < 2 || b.shape.length < 2) {
      throw new ShapeError(
        `matmul: operands need 2+ axes here, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}; ` +
          `use matmul (it takes vectors) or expandDims`,
      );
    }
    const [m, k] = transA ? [a.shape[a.shape.length - 1], a.shape[a.shape.length - 2]] : a.shape.slice(-2);
    const [k2, n] = transB ? [b.shape[b.shape.length - 1], b.shape[b.shape.length - 2]] : b.shape.slice(-2);
    if (k !== k2) {
      const show = (t: Aval, tr: boolean) => fmtShape(t.shape) + (tr ? "ᵀ" : "");
      throw new ShapeError(
        `matmul: inner dimensions differ: ${show(a, transA)} @ ${show(b, transB)} (${k} vs ${k2}); ` +
          `transpose an operand or fix its shape`,
      );
    }
    const batch = broadcastShapes("matmul (batch axes)", a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ shape: [...batch, m, n], dtype: a.dtype === "float16" ? b.dtype : a.dtype }];
  },
  vjp([g], [a, b], _y, { transA, transB }, needs) {
    if (!g) return [null, null];
    // C = A'B' with A' = op(a), B' = op(b): dA' = g B'ᵀ, dB' = A'ᵀ g.
    const ub = (t: Tensor, x: Tensor) =>
      t.ndim === x.ndim && t.shape.every((d, i) => d === x.shape[i]) ? t : unbroadcast(t, x.shape);
    const da = needs[0] ? ub(transA ? o.matmulT(b, g, transB, true) : o.matmulT(g, b, false, !transB), a) : null;
    const db = needs[1] ? ub(transB ? o.matmulT(g, a, true, transA) : o.matmulT(a, g, !transA, false), b) : null;
    // a float16 operand beside a float32 one: its cotangent is rounded to float16
    const like = (t: Tensor | null, x: Tensor) => (t && t.dtype !== x.dtype ? o.astype(t, x.dtype) : t);
    return [like(da, a), like(db, b)];
  },
});

/**
 * True for a float16 operand beside a float32 one: matmul takes the pair as it is (the backend
 * widens the float16 operand into a float32 temporary for the product), so autodiff keeps the
 * float16 weight, not a float32 copy of it, for the backward pass.
 */
export function halfWithSingle(a: DType, b: DType): boolean {
  return (a === "float16" && b === "float32") || (a === "float32" && b === "float16");
}

/** A tensor of `shape` filled with `value`. */
export const fullP = definePrimitive<{ shape: number[]; value: number; dtype: DType }>({
  name: "full",
  abstract(_in, { shape, dtype }) {
    return [{ shape, dtype }];
  },
});

/**
 * Counter-based random numbers (Threefry-2x32); see core/random.ts for the exact definition. `key`
 * holds two words per key: with B keys (a draw under `vmap`), the output's elements fall in B equal
 * consecutive blocks, block i drawn with key i.
 */
export const randomP = definePrimitive<{
  key: readonly number[];
  shape: number[];
  dist: "bits" | "uniform" | "normal";
  dtype: DType;
  /** JAX's partitionable word layout (absent: the classic one). */
  layout?: "partitionable";
  /** The derivations of keys a `jit` traces (`core/key_trace.ts`), resolved into `key` at each replay. */
  keyOf?: readonly KeySym[];
}>({
  name: "random",
  abstract(_in, { shape, dtype }) {
    return [{ shape, dtype }];
  },
});

/** The position of `axis` moved last: the permutation and its inverse. */
function lastAxisPerm(ndim: number, axis: number): [number[], number[]] {
  const perm = [...Array(ndim).keys()].filter((i) => i !== axis);
  perm.push(axis);
  const inv = new Array<number>(ndim);
  perm.forEach((p, i) => (inv[p] = i));
  return [perm, inv];
}

/**
 * Index (int32) of the first maximum or minimum along `axis` (removed from the shape). A NaN is the
 * extreme (the first NaN wins), as in NumPy. Integer output: no gradient.
 */
export const argReduceP = definePrimitive<{ op: "max" | "min"; axis: number }>({
  name: "argReduce",
  abstract([x], { op, axis }) {
    if (x.shape[axis] === 0) {
      throw new ShapeError(
        `arg${op}: axis ${axis} of ${fmtShape(x.shape)} is empty; an empty sequence has no arg${op}`,
      );
    }
    return [{ shape: x.shape.filter((_, i) => i !== axis), dtype: "int32" }];
  },
});

/**
 * Stable sort along `axis`: the sorted values and the int32 positions they came from. Ascending puts
 * NaN last (NumPy); descending is its mirror with ties kept in input order (NaN first).
 */
export const sortP = definePrimitive<{ axis: number; descending: boolean }>({
  name: "sort",
  abstract([x]) {
    if (x.dtype === "bool") throw new DTypeError(`sort: bool input; convert with astype(x, "int32")`);
    return [{ shape: x.shape, dtype: x.dtype }, { shape: x.shape, dtype: "int32" }];
  },
  vjp([g], [x], [_v, idx], { axis }) {
    if (!g) return [null];
    // x̄[idx[i]] = ḡ[i] along the axis: a scatter over the flattened rows
    const [perm, inv] = lastAxisPerm(x.ndim, axis);
    const gt = o.transpose(g, perm), it = o.transpose(idx, perm);
    const n = x.shape[axis], rows = x.size / Math.max(n, 1);
    const offs = o.reshape(o.mul(o.arange(rows, undefined, 1, { like: x }), n), [...it.shape.slice(0, -1), 1]);
    const flat = o.reshape(o.add(it, offs), [x.size]);
    const dx = o.reshape(o.scatterAdd(flat, o.reshape(gt, [x.size]), 0, [x.size]), gt.shape);
    return [o.transpose(dx, inv)];
  },
});

/** Inclusive running sum or product along `axis` (from the end when `reverse`). */
export const cumulativeP = definePrimitive<{ op: "sum" | "prod"; axis: number; reverse: boolean }>({
  name: "cumulative",
  abstract([x], { op }) {
    if (x.dtype === "bool") throw new DTypeError(`cum${op}: bool input; convert with astype(x, "int32")`);
    return [{ shape: x.shape, dtype: x.dtype }];
  },
  vjp([g], [x], _y, { op, axis, reverse }) {
    if (!g) return [null];
    if (op === "sum") return [o.cumsum(g, axis, { reverse: !reverse })];
    // ∂yⱼ/∂xₖ = Π_{i ≤ j, i ≠ k} xᵢ (k ≤ j): the running product of x with xₖ replaced by 1, one row
    // per k (n² work per row, exact where x has zeros, differentiable again)
    const [perm, inv] = lastAxisPerm(x.ndim, axis);
    const xt = o.transpose(x, perm), gt = o.transpose(g, perm);
    const n = x.shape[axis];
    const eye = o.astype(o.eye(n, { dtype: "float32", like: x }), "bool");
    const m = o.where(eye, o.full([], 1, { dtype: x.dtype, like: x }), o.expandDims(xt, -2)); // [..., k, i]
    const q = o.cumprod(m, -1, { reverse }); // q[k, j] = Π_{i ≤ j, i ≠ k} xᵢ (i ≥ j when reverse)
    const ks = o.reshape(o.arange(n, undefined, 1, { like: x }), [n, 1]);
    const js = o.reshape(o.arange(n, undefined, 1, { like: x }), [1, n]);
    const reach = reverse ? o.lessEqual(js, ks) : o.greaterEqual(js, ks); // j ≥ k (j ≤ k reversed)
    const dx = o.sum(o.where(reach, o.mul(q, o.expandDims(gt, -2)), 0), { axis: -1 });
    return [o.transpose(dx, inv)];
  },
});

/**
 * `y = x − log Σ eˣ` along `axis` in one pass per row (the op `logSoftmax` in ops/reduce.ts says how
 * ±∞ and NaN come out), and `p = eʸ` (softmax), which the backward pass reads instead of computing
 * eʸ again. Its VJP is the next primitive, `g − p·Σg`, also one pass.
 */
export const logSoftmaxP = definePrimitive<{ axis: number }>({
  name: "logSoftmax",
  abstract([x]) {
    floatOnly("logSoftmax", x.dtype);
    return [{ shape: x.shape, dtype: x.dtype }, { shape: x.shape, dtype: x.dtype }];
  },
  vjp([gy, gp], _x, [_y, p], { axis }) {
    // through p = softmax(x) too: p·(gp − Σ gp·p) is the same map applied to gp·p
    const g = gp ? (gy ? o.add(gy, o.mul(gp, p)) : o.mul(gp, p)) : gy;
    return [g && bind1(logSoftmaxVjpP, [p, g], { axis })];
  },
});

/**
 * The VJP of `logSoftmaxP`: `dx = g − p·Σg` along `axis`, from the softmax p and the cotangent g of
 * the log-probabilities. Its own VJP, written with ops so that grad of grad works: p̄ = −c·Σg and
 * ḡ = c − Σ(c·p).
 */
export const logSoftmaxVjpP = definePrimitive<{ axis: number }>({
  name: "logSoftmaxVjp",
  abstract([p, g]) {
    floatOnly("logSoftmax", p.dtype);
    if (g.dtype !== p.dtype || g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(
        `logSoftmax (gradient): the cotangent ${fmtShape(g.shape)} ${g.dtype} must match the output ` +
          `${fmtShape(p.shape)} ${p.dtype}`,
      );
    }
    return [{ shape: p.shape, dtype: p.dtype }];
  },
  vjp([c], [p, g], _dx, { axis }, needs) {
    if (!c) return [null, null];
    return [
      needs[0] ? o.neg(o.mul(c, o.sum(g, { axis, keepdims: true }))) : null,
      needs[1] ? o.sub(c, o.sum(o.mul(c, p), { axis, keepdims: true })) : null,
    ];
  },
});

/**
 * Every core primitive by name: the key set of the rule tables in `autodiff/` (batching, jit
 * lowering). A table typed over these keys fails to compile when a primitive has no rule.
 */
export const PRIMITIVES = {
  unary: unaryP,
  binary: binaryP,
  where: whereP,
  stopGradient: stopGradientP,
  cast: castP,
  reduce: reduceP,
  transpose: transposeP,
  reshape: reshapeP,
  broadcast: broadcastP,
  slice: sliceP,
  pad: padP,
  concat: concatP,
  gather: gatherP,
  scatterAdd: scatterAddP,
  matmul: matmulP,
  full: fullP,
  random: randomP,
  argReduce: argReduceP,
  sort: sortP,
  cumulative: cumulativeP,
  logSoftmax: logSoftmaxP,
  logSoftmaxVjp: logSoftmaxVjpP,
} as const;
