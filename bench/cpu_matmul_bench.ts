/**
 * CPU matmul throughput (GFLOP/s = 2·n³ / time) at n = 256, 512, 1024 for float32 and float64.
 *
 * - `deno run bench/cpu_matmul_bench.ts [reps] [threads]` prints GFLOP/s (best of at least `reps`
 *   timed runs, more for small n, after a warm-up); `threads` caps the matmul threads (default: the
 *   number of cores, at most 8).
 * - `deno bench bench/cpu_matmul_bench.ts` runs the same shapes under `Deno.bench`.
 * @module
 */
import { type DType, key, matmul, normal, type Tensor } from "../mod.ts";
import { setMatmulThreads } from "../core/backend/cpu/wasm/gemm.ts";

const sizes = [256, 512, 1024];
const dtypes: DType[] = ["float32", "float64"];

/** Two n×n standard-normal operands of the given dtype. */
function operands(n: number, dtype: DType): [Tensor, Tensor] {
  return [normal(key(0), [n, n], { dtype }), normal(key(1), [n, n], { dtype })];
}

if (import.meta.main) {
  const reps = Number(Deno.args[0] ?? 5);
  if (Deno.args[1] !== undefined) setMatmulThreads(Number(Deno.args[1]));
  for (const dtype of dtypes) {
    for (const n of sizes) {
      const [a, b] = operands(n, dtype);
      matmul(a, b).dataSync(); // warm-up (JIT, Wasm compile, worker start)
      await new Promise((r) => setTimeout(r, 100)); // a worker starts in the background
      let best = Infinity;
      for (let r = 0; r < Math.max(reps, Math.ceil(1e9 / n ** 3)); r++) {
        const t0 = performance.now();
        matmul(a, b).dataSync();
        best = Math.min(best, performance.now() - t0);
      }
      const gflops = (2 * n * n * n) / (best * 1e6);
      console.log(`${dtype} ${n}x${n}x${n}: ${best.toFixed(2)} ms  ${gflops.toFixed(1)} GFLOP/s`);
    }
  }
} else {
  for (const dtype of dtypes) {
    for (const n of sizes) {
      const [a, b] = operands(n, dtype);
      Deno.bench({ name: `matmul ${dtype} ${n}`, group: `${n}` }, () => {
        matmul(a, b).dataSync();
      });
    }
  }
}
