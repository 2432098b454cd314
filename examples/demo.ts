/**
 * A short demonstration: fit a linear model by gradient descent with Tangent's autodiff.
 * @module
 */
import { grad, key, matmul, mean, normal, split, square, sub, type Tensor } from "../mod.ts";

const [kx, kw, kn] = split(key(0), 3);
const x = normal(kx, [256, 8], { dtype: "float64" });
const wTrue = normal(kw, [8, 1], { dtype: "float64" });
const y = matmul(x, wTrue).add(normal(kn, [256, 1], { dtype: "float64" }).mul(0.01));
const loss = (w: Tensor) => mean(square(sub(matmul(x, w), y)));
let w = normal(key(1), [8, 1], { dtype: "float64" });
for (let step = 0; step <= 200; step++) {
  if (step % 50 === 0) console.log(`step ${step}: loss ${loss(w).item().toExponential(4)}`);
  w = sub(w, grad(loss)(w).mul(0.1));
}
const err = sub(w, wTrue).abs().max().item();
console.log(`largest weight error after 200 steps: ${err.toExponential(3)}`);
