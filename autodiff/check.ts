/**
 * Gradient checking against central finite differences, for tests and for users' own primitives.
 * @module
 */
import { BackendError, DomainError, fmtShape } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { astype, tensor } from "../core/ops/mod.ts";
import type { Tensor } from "../core/tensor.ts";
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
 * coordinate of every input (inputs are converted to float64 on the CPU). Throws a DomainError
 * listing the worst coordinate when `|analytic − numeric| > atol + rtol · max(|analytic|, |numeric|)`;
 * returns the largest such discrepancy, scaled by the tolerance (≤ 1 when it passes).
 * @example
 * ```ts
 * import { checkGrad, sin, sum, type Tensor, tensor } from "@tangent/tangent";
 * checkGrad((x: Tensor) => sum(sin(x)), [tensor([0.1, 0.2], { dtype: "float64" })]);
 * ```
 */
export function checkGrad(f: (...xs: Tensor[]) => Tensor, xs: readonly Tensor[], opts: CheckGradOptions = {}): number {
  checkOptions("checkGrad", opts, optionKeys<CheckGradOptions>({ eps: true, rtol: true, atol: true, maxCoords: true }));
  const eps = opts.eps ?? 1e-6, rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-7;
  xs.forEach((x, i) => {
    if (x.backend.name !== "cpu") {
      throw new BackendError(
        `checkGrad: input ${i} ${fmtShape(x.shape)} lives on ${x.backend.name}; checkGrad works in float64 on the ` +
          `cpu: move it first with await toBackend(x, "cpu")`,
      );
    }
  });
  const x64 = xs.map((x) => astype(x, "float64"));
  const analytic = grad((...a: Tensor[]) => f(...a), { argnums: x64.map((_, i) => i) })(...x64) as Tensor[];
  const evalAt = (k: number, vals: Float64Array): number => {
    const args = x64.map((x, i) => (i === k ? tensor(vals, { shape: x.shape, like: x }) : x));
    return f(...args).item();
  };
  let worst = 0, report = "";
  x64.forEach((x, k) => {
    const base = Float64Array.from(x.dataSync());
    const an = analytic[k].dataSync();
    const stride = opts.maxCoords ? Math.max(1, Math.floor(base.length / opts.maxCoords)) : 1;
    for (let i = 0; i < base.length; i += stride) {
      const h = eps * Math.max(1, Math.abs(base[i]));
      const v = Float64Array.from(base);
      v[i] = base[i] + h;
      const fp = evalAt(k, v);
      v[i] = base[i] - h;
      const fm = evalAt(k, v);
      const num = (fp - fm) / (2 * h);
      const err = Math.abs(an[i] - num) / (atol + rtol * Math.max(Math.abs(an[i]), Math.abs(num)));
      if (!(err <= worst)) {
        worst = Number.isNaN(err) ? Infinity : err;
        report = `input ${k} [${x.shape}] coordinate ${i}: autodiff ${an[i]}, finite differences ${num}`;
      }
    }
  });
  if (worst > 1) {
    throw new DomainError(`checkGrad: gradient mismatch at ${report} (rtol ${rtol}, atol ${atol})`);
  }
  return worst;
}
