/**
 * Core CPU benchmarks under `Deno.bench`: matmul at n = 256, 512, 1024 in float32 and float64
 * (GFLOP/s = 2n³ / time; `bench/cpu_peers.ts` prints them beside PyTorch and jax-js), and one gradient step
 * (forward, backward, SGD update) of a 2-layer MLP, batch 128, 784 → 256 → 10, float32.
 *
 * Run: `deno bench --allow-read --allow-env bench/core_bench.ts`
 * @module
 */
import { type DType, key, matmul, normal, scope, type Tensor } from "../mod.ts";
import { type Mlp, mlpProblem, mlpStep } from "./core_mlp.ts";

for (const dtype of ["float32", "float64"] as DType[]) {
  for (const n of [256, 512, 1024]) {
    const a = normal(key(0), [n, n], { dtype }), b = normal(key(1), [n, n], { dtype });
    Deno.bench({
      name: `matmul ${dtype} ${n}×${n}×${n}`,
      group: `matmul ${n}`,
      n: n === 1024 ? 10 : undefined,
      warmup: 2,
    }, () => {
      matmul(a, b).dataSync();
    });
  }
}

const { params, x, y } = mlpProblem();
let p: Mlp = params;
Deno.bench({ name: "MLP 784→256→10, batch 128, float32: forward + backward + SGD", group: "mlp" }, () => {
  p = scope(() => mlpStep(p, x, y, 0.01).params);
  (p.w2 as Tensor).dataSync();
});
