/**
 * softmax as `e / Σ e` (core/ops/reduce.ts) against the definition `exp(logSoftmax(x))`: values and
 * gradients on random inputs and the same NaN/0 pattern on rows holding ±∞ or NaN.
 */
import assert from "node:assert/strict";
import { exp, grad, key, logSoftmax, mul, normal, softmax, split, sum, type Tensor, tensor } from "../mod.ts";

Deno.test("softmax: equals exp(logSoftmax(x)) in value and gradient, float64, any axis", () => {
  const [kx, kg] = split(key(7), 2);
  const x = mul(normal(kx, [3, 5, 7], { dtype: "float64" }), 4), g = normal(kg, [3, 5, 7], { dtype: "float64" });
  for (const axis of [0, 1, 2, -1]) {
    const a = softmax(x, { axis }).dataSync(), b = exp(logSoftmax(x, { axis })).dataSync();
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= 1e-15, `axis ${axis}, ${i}: ${v} vs ${b[i]}`));
    const ga = (grad((t: Tensor) => sum(mul(softmax(t, { axis }), g)))(x) as Tensor).dataSync();
    const gb = (grad((t: Tensor) => sum(mul(exp(logSoftmax(t, { axis })), g)))(x) as Tensor).dataSync();
    ga.forEach((v, i) => assert.ok(Math.abs(v - gb[i]) <= 1e-14, `grad axis ${axis}, ${i}: ${v} vs ${gb[i]}`));
  }
});

Deno.test("softmax: rows with ±∞ or NaN give what exp(logSoftmax(x)) gives", () => {
  const rows = [[-Infinity, -Infinity], [Infinity, 0], [-Infinity, 0], [NaN, 1], [Infinity, Infinity], [-1e30, 3]];
  for (const dtype of ["float32", "float64"] as const) {
    const x = tensor(rows, { dtype });
    const a = [...softmax(x).dataSync()], b = [...exp(logSoftmax(x)).dataSync()];
    assert.deepEqual(a.map(String), b.map(String));
  }
});
