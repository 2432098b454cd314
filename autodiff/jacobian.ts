/**
 * Jacobians and Hessians from the two modes and vmap: `jacrev` pulls back every output basis vector
 * at once (vmap over the pullback), `jacfwd` pushes forward every input basis vector at once (vmap
 * over jvp), `hessian` is forward-over-reverse, `jacfwd(jacrev(f))`.
 * @module
 */
import { ShapeError } from "../core/errors.ts";
import { treeLeaves, treeUnflatten } from "../core/pytree.ts";
import { Tensor } from "../core/tensor.ts";
import * as o from "../core/ops/mod.ts";
import { jvp, vjp } from "./grad.ts";
import { vmap } from "./vmap.ts";

/** Options of the Jacobian functions. */
export interface JacobianOptions {
  /** Which argument to differentiate (default 0); a pytree argument gives a pytree of Jacobians. */
  argnums?: number;
}

function outTensor(y: unknown, op: string): Tensor {
  if (!(y instanceof Tensor)) throw new ShapeError(`${op}: the function must return one tensor, got ${typeof y}`);
  return y;
}

/** The identity as a batch of `n` basis tensors of `shape` (`[n, ...shape]`). */
function basis(like: Tensor): Tensor {
  const n = like.size;
  return o.reshape(o.eye(n, { dtype: like.dtype, like }), [n, ...like.shape]);
}

function argnum(opts: JacobianOptions, n: number, op: string): number {
  const k = opts.argnums ?? 0;
  if (!Number.isInteger(k) || k < 0 || k >= n) {
    throw new ShapeError(`${op}: argnums ${k} is out of range for ${n} arguments; count from 0`);
  }
  return k;
}

/**
 * The Jacobian of `f` by reverse mode: for y = f(x), `J[...y.shape, ...x.shape]` with
 * J[i, j] = ∂yᵢ/∂xⱼ; one pullback per output element, run as one vmapped call. Best when y is
 * smaller than x.
 * @example
 * ```ts
 * import { jacrev, mul, type Tensor, tensor } from "@tangent/tangent";
 * jacrev((x: Tensor) => mul(x, x))(tensor([1, 2])); // [[2, 0], [0, 4]]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacrev<A extends any[]>(
  f: (...args: A) => Tensor,
  opts: JacobianOptions = {},
): (...args: A) => A[number] {
  return (...args: A) => {
    const k = argnum(opts, args.length, "jacrev");
    const [y, pullback] = vjp((a: unknown) => {
      const full = [...args] as A;
      full[k] = a;
      return outTensor(f(...full), "jacrev");
    }, args[k]);
    const leaves = treeLeaves(args[k]);
    const rows = vmap((ct: Tensor) => treeLeaves(pullback(ct)[0]))(basis(y)) as Tensor[];
    return treeUnflatten(args[k], rows.map((r, i) => o.reshape(r, [...y.shape, ...leaves[i].shape])));
  };
}

/**
 * The Jacobian of `f` by forward mode: `J[...y.shape, ...x.shape]`, one directional derivative
 * per input element, run as one vmapped call. Best when x is smaller than y.
 * @example
 * ```ts
 * import { jacfwd, sin, type Tensor, tensor } from "@tangent/tangent";
 * jacfwd((x: Tensor) => sin(x))(tensor([0, 0])); // [[1, 0], [0, 1]]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jacfwd<A extends any[]>(
  f: (...args: A) => Tensor,
  opts: JacobianOptions = {},
): (...args: A) => A[number] {
  return (...args: A) => {
    const k = argnum(opts, args.length, "jacfwd");
    const leaves = treeLeaves(args[k]);
    const g = (a: unknown) => {
      const full = [...args] as A;
      full[k] = a;
      return outTensor(f(...full), "jacfwd");
    };
    const cols = leaves.map((leaf, i) => {
      // directions that move only leaf i
      const push = (t: Tensor) => {
        const tangent = treeUnflatten(args[k], leaves.map((l, j) => (j === i ? t : o.zerosLike(l))));
        return jvp(g, [args[k]], [tangent])[1];
      };
      const c = vmap(push)(basis(leaf)) as Tensor; // [x.size, ...y.shape]
      const yr = c.ndim - 1;
      const moved = o.transpose(c, [...Array(yr).keys()].map((d) => d + 1).concat([0]));
      return o.reshape(moved, [...c.shape.slice(1), ...leaf.shape]);
    });
    return treeUnflatten(args[k], cols);
  };
}

/**
 * The Hessian of a scalar function, forward-over-reverse (`jacfwd(jacrev(f))`): `H[...x.shape,
 * ...x.shape]`.
 * @example
 * ```ts
 * import { hessian, matmul, mul, sum, type Tensor, tensor } from "@tangent/tangent";
 * const A = tensor([[2, 1], [1, 3]]);
 * hessian((x: Tensor) => mul(sum(mul(x, matmul(A, x))), 0.5))(tensor([1, 1])); // A
 * ```
 */
// deno-lint-ignore no-explicit-any
export function hessian<A extends any[]>(
  f: (...args: A) => Tensor,
  opts: JacobianOptions = {},
): (...args: A) => A[number] {
  return jacfwd(jacrev(f, opts) as (...args: A) => Tensor, opts);
}
