import assert from "node:assert/strict";
import { matmulT, tensor } from "../mod.ts";
import { fusedPackJobs, setMatmulThreads } from "../core/backend/cpu/wasm/gemm.ts";
import { values } from "./gemm_helpers.ts";

Deno.test({
  name: "cpu gemm: tasks that pack their own B panels give the bits of one thread (partial panels, padding, cached A)",
  ignore: navigator.hardwareConcurrency < 2,
  fn: () => {
    // 130 rows: a partial row panel (6- and 3-row tiles); 203 columns: a partial column panel; k = 97: padding;
    // transA: op(A) is packed, so the fused path waits for its cached panels (from its third product on)
    const shapes: [number, number, number, boolean][] = [[130, 203, 97, false], [100, 250, 130, true]];
    for (const dtype of ["float32", "float64"] as const) {
      for (const [m, n, k, transA] of shapes) {
        const T = dtype === "float32" ? Float32Array : Float64Array;
        const a = tensor(T.from(values(m * k, m + k)), { shape: transA ? [k, m] : [m, k], dtype });
        // a fresh B each product (as a gradient is): a B read again would come from the panel cache, unpacked
        const bv = T.from(values(k * n, n)), b = () => tensor(bv.slice(), { shape: [k, n], dtype });
        setMatmulThreads(1);
        let one: Float32Array | Float64Array;
        try {
          one = matmulT(a, b(), transA, false).dataSync() as Float32Array | Float64Array;
        } finally {
          setMatmulThreads(navigator.hardwareConcurrency);
        }
        // the thread chooser runs every 8th product of a size on the other mode at least: 64 tries suffice
        const before = fusedPackJobs();
        for (let t = 0; t < 64 && fusedPackJobs() === before; t++) {
          assert.deepEqual(matmulT(a, b(), transA, false).dataSync(), one, `${dtype} ${m}×${k}×${n}, try ${t}`);
        }
        assert.ok(fusedPackJobs() > before, `${dtype} ${m}×${k}×${n}: no product packed B in its tasks`);
      }
    }
  },
});
