/**
 * Defects found by a new-user audit of issue 11's transformations, ops and optimizers against JAX
 * 0.10 / optax 0.2.8 in float64 (expected numbers are JAX's, computed once and written here as
 * literals). One test per defect, each failing before its fix.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const f64 = (a: T.NestedArray) => T.tensor(a, { dtype: "float64" });

function near(a: Tensor, b: Tensor | T.NestedArray, tol: number, what: string): void {
  const want = b instanceof T.Tensor ? b : f64(b);
  assert.deepEqual(a.shape, want.shape, `${what}: shape`);
  const x = a.dataSync(), y = want.dataSync();
  for (let i = 0; i < y.length; i++) {
    const ok = Number.isNaN(y[i])
      ? Number.isNaN(x[i])
      : x[i] === y[i] || Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i]));
    assert.ok(ok, `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
  }
}

Deno.test("softplus / logSigmoid: derivatives at 0 are sigmoid's (½, ±¼), not a kink's subgradient", () => {
  const x = f64([-1000, -30, -1, -1e-8, 0, 1e-8, 1, 30, 1000]);
  const d1 = T.vmap(T.grad((t: Tensor) => T.softplus(t)))(x);
  const d2 = T.vmap(T.grad(T.grad((t: Tensor) => T.softplus(t))))(x);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const xs = x.dataSync();
  near(d1, f64(Array.from(xs, sig)), 1e-15, "softplus'");
  near(d2, f64(Array.from(xs, (v) => sig(v) * (1 - sig(v)))), 1e-15, "softplus''");
  near(T.vmap(T.grad((t: Tensor) => T.logSigmoid(t)))(x), f64(Array.from(xs, (v) => sig(-v))), 1e-15, "logSigmoid'");
  // JAX: grad(grad(jax.nn.log_sigmoid))(0.) = -0.25
  near(T.grad(T.grad((t: Tensor) => T.logSigmoid(t)))(f64(0)), -0.25, 0, "logSigmoid'' at 0");
  // the values are unchanged, infinities and NaN included, and no NaN leaks into a gradient
  near(T.softplus(f64([-Infinity, -800, 0, 800, Infinity, NaN])), [0, 0, Math.LN2, 800, Infinity, NaN], 0, "values");
  near(T.vmap(T.grad((t: Tensor) => T.softplus(t)))(f64([-Infinity, Infinity])), [0, 1], 0, "gradient at ±∞");
  assert.equal(T.softplus(T.tensor([0, 2])).dtype, "float32");
});
