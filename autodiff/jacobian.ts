/**
 * Jacobians and Hessians from the two modes and vmap: `jacrev` pulls back every output basis vector
 * at once (vmap over the pullback), `jacfwd` pushes forward every input basis vector at once (vmap
 * over jvp), `hessian` is forward-over-reverse, `jacfwd(jacrev(f))`.
 * @module
 */
import { checkFunction, DTypeError, fmtShape, ShapeError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { isFloat } from "../core/dtype.ts";
import { treeLeaves, treeUnflatten } from "../core/pytree.ts";
import { Tensor } from "../core/tensor.ts";
import * as o from "../core/ops/mod.ts";
import { argPositions, checkHoldsTensor, type GradOf, jvp, vjp } from "./grad.ts";
import { vmap } from "./vmap.ts";

/**
 * The Jacobian of an output `Y` with respect to an argument `X`: for a tensor output, `X` itself
 * (a tensor, or a pytree of tensors shaped `[...y.shape, ...leaf.shape]`); for a pytree output, that
 * pytree with each leaf's Jacobian in its place (JAX's nesting: output structure outside).
 */
export type JacobianOf<Y, X> = Y extends Tensor ? X
  : { -readonly [K in keyof Y]: JacobianOf<Y[K], X> };

/** Options of the Jacobian functions. */
export interface JacobianOptions<N extends number | readonly number[] = number | readonly number[]> {
  /**
   * Which argument to differentiate (default 0; a negative position counts from the end, -1 the
   * last); a pytree argument gives a pytree of Jacobians, and a list of positions a tuple of them
   * (JAX's `argnums=(0, 1)`).
   */
  argnums?: N;
}

const JACOBIAN_KEYS = optionKeys<JacobianOptions>({ argnums: true });

function outTree<Y>(y: Y, op: string): Y {
  if (!(y instanceof Tensor) && treeLeaves(y).length === 0) {
    throw new ShapeError(
      `${op}: the function must return a tensor or a pytree of tensors, got ${y === null ? "null" : typeof y}`,
    );
  }
  const bad = treeLeaves(y).find((t) => !isFloat(t.dtype));
  if (bad) {
    throw new DTypeError(
      `${op}: the function returns a tensor of dtype ${bad.dtype}, shape ${fmtShape(bad.shape)}; Jacobians are ` +
        `defined for float outputs only: return astype(y, "float32"), or leave that output out`,
    );
  }
  return y;
}

/** The identity as a batch of `n` basis tensors of `shape` (`[n, ...shape]`). */
function basis(like: Tensor): Tensor {
  const n = like.size;
  return o.reshape(o.eye(n, { dtype: like.dtype, like }), [n, ...like.shape]);
}

/**
 * The differentiated argument (a tuple of them for a list of argnums), checked (in range, each once,
 * float tensors only, as `grad`), and how to put a value of it back into the arguments.
 */
function select(
  opts: JacobianOptions,
  args: readonly unknown[],
  op: string,
): { x: unknown; put: (full: unknown[], a: unknown) => void } {
  const argnums = opts.argnums ?? 0;
  const ks = argPositions(op, argnums, args.length);
  ks.forEach((k) => {
    checkHoldsTensor(op, k, args[k]);
    const bad = treeLeaves(args[k]).find((t) => !isFloat(t.dtype));
    if (bad) {
      throw new DTypeError(
        `${op}: argument ${k} holds a tensor of dtype ${bad.dtype}, shape ${fmtShape(bad.shape)}; Jacobians are ` +
          `defined for float inputs only: convert it with astype(x, "float32"), or differentiate another argument`,
      );
    }
  });
  if (typeof argnums === "number") return { x: args[ks[0]], put: (full, a) => (full[ks[0]] = a) };
  return { x: ks.map((k) => args[k]), put: (full, a) => ks.forEach((k, j) => (full[k] = (a as unknown[])[j])) };
}

/**
 * The Jacobian of `f` by reverse mode: for y = f(x), `J[...y.shape, ...x.shape]` with
 * J[i, j] = ∂yᵢ/∂xⱼ; one pullback per output element, run as one vmapped call per output leaf. Best
 * when y is smaller than x. A pytree argument gives a pytree of Jacobians (one per leaf); a pytree
 * output gives that pytree with each leaf's Jacobian in its place (as JAX's `jacrev`). A plain
 * number (or other non-tensor leaf) in the argument or the output is not differentiated: it comes back
 * as it is in its place (as in `grad`; JAX differentiates a Python float).
 * @example
 * ```ts
 * import { exp, jacrev, mul, sum, type Tensor, tensor } from "@tangent/tangent";
 * jacrev((x: Tensor) => mul(x, x))(tensor([1, 2])); // [[2, 0], [0, 4]]
 * jacrev((x: Tensor) => ({ s: sum(x), e: exp(x) }))(tensor([0, 0])); // { s: [1, 1], e: [[1, 0], [0, 1]] }
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacrev<A extends any[], Y = Tensor, const N extends number | readonly number[] = 0>(
  f: (...args: A) => Y,
  opts: JacobianOptions<N> = {},
): (...args: A) => JacobianOf<Y, GradOf<A, N>> {
  checkFunction("jacrev", f);
  checkOptions("jacrev", opts, JACOBIAN_KEYS, "{ argnums: 1 }");
  return (...args: A) => {
    const { x, put } = select(opts, args, "jacrev");
    const [y, pullback] = vjp((a: unknown) => {
      const full = [...args] as A;
      put(full, a);
      return outTree(f(...full), "jacrev");
    }, x);
    const leaves = treeLeaves(x);
    const yLeaves = treeLeaves(y);
    // output leaf j: pull back its basis, the other output leaves' cotangents zero
    const perOut = yLeaves.map((yj, j) => {
      const rows = vmap((ct: Tensor) =>
        treeLeaves(pullback(treeUnflatten(y, yLeaves.map((l, i) => (i === j ? ct : o.zerosLike(l)))))[0])
      )(basis(yj)) as Tensor[];
      return treeUnflatten(x, rows.map((r, i) => o.reshape(r, [...yj.shape, ...leaves[i].shape])));
    });
    return (y instanceof Tensor ? perOut[0] : treeUnflatten(y, perOut)) as JacobianOf<Y, GradOf<A, N>>;
  };
}

/**
 * The Jacobian of `f` by forward mode: `J[...y.shape, ...x.shape]`, one directional derivative
 * per input element, run as one vmapped call per argument leaf. Best when x is smaller than y.
 * Pytree arguments and outputs nest as in {@linkcode jacrev}.
 * @example
 * ```ts
 * import { jacfwd, sin, type Tensor, tensor } from "@tangent/tangent";
 * jacfwd((x: Tensor) => sin(x))(tensor([0, 0])); // [[1, 0], [0, 1]]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacfwd<A extends any[], Y = Tensor, const N extends number | readonly number[] = 0>(
  f: (...args: A) => Y,
  opts: JacobianOptions<N> = {},
): (...args: A) => JacobianOf<Y, GradOf<A, N>> {
  checkFunction("jacfwd", f);
  checkOptions("jacfwd", opts, JACOBIAN_KEYS, "{ argnums: 1 }");
  return (...args: A) => {
    const { x, put } = select(opts, args, "jacfwd");
    const leaves = treeLeaves(x);
    if (leaves.length === 0) {
      throw new ShapeError(`jacfwd: argnums ${opts.argnums ?? 0} hold no tensor to differentiate`);
    }
    const g = (a: unknown) => {
      const full = [...args] as A;
      put(full, a);
      return outTree(f(...full), "jacfwd");
    };
    let shape: unknown = undefined; // the output's layout (its tensors one example's)
    const cols = leaves.map((leaf, i) => {
      // directions that move only leaf i; only the tensors are batched (vmap would broadcast a number)
      const push = (t: Tensor) => {
        const tangent = treeUnflatten(x, leaves.map((l, j) => (j === i ? t : o.zerosLike(l))));
        shape = jvp(g, [x], [tangent])[1];
        return treeLeaves(shape);
      };
      const c = vmap(push)(basis(leaf)); // each output leaf [x.size, ...y.shape]
      return c.map((cj) => {
        const yr = cj.ndim - 1;
        const moved = o.transpose(cj, [...Array(yr).keys()].map((d) => d + 1).concat([0]));
        return o.reshape(moved, [...cj.shape.slice(1), ...leaf.shape]);
      });
    });
    const perOut = treeLeaves(shape).map((_, j) => treeUnflatten(x, cols.map((c) => c[j])));
    return (shape instanceof Tensor ? perOut[0] : treeUnflatten(shape, perOut)) as JacobianOf<Y, GradOf<A, N>>;
  };
}

/**
 * The Hessian of a scalar function, forward-over-reverse (`jacfwd(jacrev(f))`): `H[...x.shape,
 * ...x.shape]`; for a pytree argument, a pytree of pytrees (`H.a.b` = ∂²f/∂a∂b), and for `argnums: [0, 1]` a
 * tuple of tuples (`H[0][1]` = ∂²f/∂x₀∂x₁), as JAX's `hessian`.
 * @example
 * ```ts
 * import { hessian, matmul, mul, sum, type Tensor, tensor } from "@tangent/tangent";
 * const A = tensor([[2, 1], [1, 3]]);
 * hessian((x: Tensor) => mul(sum(mul(x, matmul(A, x))), 0.5))(tensor([1, 1])); // A
 * ```
 */
// deno-lint-ignore no-explicit-any
export function hessian<A extends any[], const N extends number | readonly number[] = 0>(
  f: (...args: A) => Tensor,
  opts: JacobianOptions<N> = {},
): (...args: A) => JacobianOf<GradOf<A, N>, GradOf<A, N>> {
  checkFunction("hessian", f);
  checkOptions("hessian", opts, JACOBIAN_KEYS, "{ argnums: 1 }");
  return jacfwd(jacrev(f, opts) as (...args: A) => GradOf<A, N>, opts) as (
    ...args: A
  ) => JacobianOf<GradOf<A, N>, GradOf<A, N>>;
}
