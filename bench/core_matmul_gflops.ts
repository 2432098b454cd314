/**
 * Prints CPU matmul throughput, GFLOP/s = 2n³ / time, at n = 256, 512, 1024 in float32 and
 * float64 (best of `reps` runs after a warm-up), and the time of one MLP gradient step
 * (batch 128, 784 → 256 → 10, float32), as measured directly rather than by `Deno.bench`.
 *
 * Run: `deno run --allow-read --allow-env bench/core_matmul_gflops.ts [reps]`
 * @module
 */
import { type DType, key, matmul, normal, scope } from "../mod.ts";
import { mlpProblem, mlpStep } from "./core_mlp.ts";

const reps = Number(Deno.args[0] ?? 5);

/** Best wall time of `reps` calls after one warm-up call, in ms. */
function best(fn: () => void): number {
  fn();
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

for (const dtype of ["float32", "float64"] as DType[]) {
  for (const n of [256, 512, 1024]) {
    const a = normal(key(0), [n, n], { dtype }), b = normal(key(1), [n, n], { dtype });
    const ms = best(() => void matmul(a, b).dataSync());
    console.log(`matmul ${dtype} ${n}: ${ms.toFixed(2)} ms  ${((2 * n ** 3) / (ms * 1e6)).toFixed(1)} GFLOP/s`);
  }
}

const { params, x, y } = mlpProblem();
let p = params;
let loss0 = NaN, loss = NaN;
const ms = best(() => {
  p = scope(() => {
    const r = mlpStep(p, x, y, 0.05);
    loss = r.loss.item();
    if (Number.isNaN(loss0)) loss0 = loss;
    return r.params;
  });
});
// forward 2·b·(784·256 + 256·10) flops, backward twice that
const flops = 3 * 2 * 128 * (784 * 256 + 256 * 10);
console.log(
  `MLP step (128, 784→256→10, float32): ${ms.toFixed(2)} ms  ${(flops / (ms * 1e6)).toFixed(1)} GFLOP/s in matmuls; ` +
    `loss ${loss0.toFixed(4)} → ${loss.toFixed(4)} over ${reps + 1} steps`,
);
