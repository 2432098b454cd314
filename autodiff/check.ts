/**
 * Gradient checking against central finite differences, for tests and for users' own primitives.
 * @module
 */
import { BackendError, DomainError, fmtShape } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { astype, tensor } from "../core/ops/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import { isFloat } from "../core/dtype.ts";
import { treeLeaves, treePaths, treeUnflatten } from "../core/pytree.ts";
import { grad } from "./grad.ts";

/** Tolerances and step for `checkGrad`. */
export interface CheckGradOptions {
  /** Finite-difference step, relative to max(1, |xᵢ|) (default 1e-6). */
  eps?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-7). */
  atol?: number;
  /** Check at most this many coordinates per input, chosen evenly (default all). */
  maxCoords?: number;
}

/**
 * Compares `grad(f)` with central differences `(f(x + hεᵢ) − f(x − hεᵢ)) / 2h` in float64 at every
 * coordinate of every float input (inputs are converted to float64 on the CPU). The inputs may be
 * pytrees of tensors; int and bool tensors, keys and other values among them are passed to `f` as
 * they are and not differentiated (indices, a dropout key). Throws a DomainError naming the worst
 * coordinate when `|analytic − numeric| > atol + rtol · max(|analytic|, |numeric|)`; returns the
 * largest such discrepancy, scaled by the tolerance (≤ 1 when it passes).
 * @example
 * ```ts
 * import { checkGrad, sin, sum, take, type Tensor, tensor } from "@tangent/tangent";
 * checkGrad((x: Tensor) => sum(sin(x)), [tensor([0.1, 0.2], { dtype: "float64" })]);
 * const ids = tensor([1, 1, 0], { dtype: "int32" }); // not differentiated
 * checkGrad((p: { w: Tensor }, i: Tensor) => sum(sin(take(p.w, i))), [{ w: tensor([0.3, -1]) }, ids]);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function checkGrad(f: (...xs: any[]) => Tensor, xs: readonly unknown[], opts: CheckGradOptions = {}): number {
  checkOptions("checkGrad", opts, optionKeys<CheckGradOptions>({ eps: true, rtol: true, atol: true, maxCoords: true }));
  if (!Array.isArray(xs)) {
    throw new DomainError(`checkGrad: give the inputs as an array (one entry per argument of f), got ${typeof xs}`);
  }
  const eps = opts.eps ?? 1e-6, rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-7;
  // every tensor leaf of every argument, and which of them are checked (the float ones)
  const leaves = xs.map((x) => treeLeaves(x));
  const paths = xs.map((x) => treePaths(x));
  leaves.forEach((ls, i) =>
    ls.forEach((x, j) => {
      if (x.backend.name !== "cpu") {
        throw new BackendError(
          `checkGrad: ${inputName(i, paths[i][j], ls.length)} ${
            fmtShape(x.shape)
          } lives on ${x.backend.name}; checkGrad ` +
            `works in float64 on the cpu: move it first with await toBackend(x, "cpu")`,
        );
      }
    })
  );
  const checked: { i: number; j: number; x: Tensor }[] = [];
  const args64 = xs.map((x, i) =>
    leaves[i].length === 0 ? x : treeUnflatten(
      x,
      leaves[i].map((t, j) => {
        if (!isFloat(t.dtype)) return t;
        const x64 = astype(t, "float64");
        checked.push({ i, j, x: x64 });
        return x64;
      }),
    )
  );
  if (checked.length === 0) {
    throw new DomainError(
      `checkGrad: no float tensor among the ${xs.length} inputs; there is nothing to differentiate: pass the ` +
        `parameters as float tensors (tensor([0.5, 1]), or astype(x, "float64") for an int one)`,
    );
  }
  // f of the checked leaves alone, the rest of the arguments held as given
  const call = (vals: readonly Tensor[]): Tensor => {
    const args = args64.map((a, i) => {
      if (leaves[i].length === 0) return a;
      const now = treeLeaves(a);
      checked.forEach((c, k) => c.i === i && (now[c.j] = vals[k]));
      return treeUnflatten(a, now);
    });
    return f(...args);
  };
  const base0 = checked.map((c) => c.x);
  const analytic = grad((...a: Tensor[]) => call(a), { argnums: checked.map((_, k) => k) })(...base0) as Tensor[];
  let worst = 0, report = "";
  checked.forEach(({ i, j, x }, k) => {
    const base = Float64Array.from(x.dataSync());
    const an = analytic[k].dataSync();
    const stride = opts.maxCoords ? Math.max(1, Math.floor(base.length / opts.maxCoords)) : 1;
    const at = (v: Float64Array) => call(base0.map((b, m) => (m === k ? tensor(v, { shape: x.shape, like: x }) : b)));
    for (let e = 0; e < base.length; e += stride) {
      const h = eps * Math.max(1, Math.abs(base[e]));
      const v = Float64Array.from(base);
      v[e] = base[e] + h;
      const fp = at(v).item();
      v[e] = base[e] - h;
      const fm = at(v).item();
      const num = (fp - fm) / (2 * h);
      const err = Math.abs(an[e] - num) / (atol + rtol * Math.max(Math.abs(an[e]), Math.abs(num)));
      if (!(err <= worst)) {
        worst = Number.isNaN(err) ? Infinity : err;
        report = `${inputName(i, paths[i][j], leaves[i].length)} [${x.shape}] coordinate ${e}: autodiff ${an[e]}, ` +
          `finite differences ${num}`;
      }
    }
  });
  if (worst > 1) {
    throw new DomainError(`checkGrad: gradient mismatch at ${report} (rtol ${rtol}, atol ${atol})`);
  }
  return worst;
}

/** `input 0`, or `input 0 (leaf a.b)` for a leaf inside a pytree argument. */
function inputName(i: number, path: string, n: number): string {
  return n === 1 && path === "" ? `input ${i}` : `input ${i} (leaf ${path || "root"})`;
}
