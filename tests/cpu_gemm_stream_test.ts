import assert from "node:assert/strict";
import { setMatmulThreads, setStreamK, streamJobs } from "../core/backend/cpu/wasm/gemm.ts";
import { F32_NARROW, F32_SHAPE, F64_NARROW, F64_SHAPE, gemmModuleBytes } from "../core/backend/cpu/wasm/gemm_kernel.ts";
import { array, product, values } from "./gemm_helpers.ts";
import { heapArray } from "../core/backend/cpu/wasm/heap.ts";

/** `f` on the tiled path (the row-streaming kernel off). */
function tiled<T>(f: () => T): T {
  const old = setStreamK(0);
  try {
    return f();
  } finally {
    setStreamK(old);
  }
}

Deno.test("cpu gemm: the row-streaming kernel (k ≤ 8) gives the tiled kernels' bits", () => {
  // odd m, every k up to 8, n of whole and odd panel counts (8 float32 / 4 float64 columns a panel),
  // every transpose, one thread and two, operands in the Wasm memory
  const before = streamJobs();
  for (const dtype of ["float32", "float64"] as const) {
    const nr = dtype === "float32" ? 8 : 4;
    for (const [m, n] of [[16, 8 * nr], [37, 3 * nr], [130, 41 * nr], [512, 128 * nr]]) {
      for (let k = 1; k <= 8; k++) {
        for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
          const a = array(dtype, m * k), b = array(dtype, k * n);
          a.set(values(m * k, m + k));
          b.set(values(k * n, n + k));
          if (k === 3) a[5] = Number.NaN; // NaN and ±0 products land where they land on the tiles
          if (k === 5) b[0] = -0;
          const want = tiled(() => product(dtype, a, ta, b, tb, m, n, k));
          for (const threads of [1, 2]) {
            setMatmulThreads(threads);
            try {
              const got = product(dtype, a, ta, b, tb, m, n, k);
              assert.deepEqual(got, want, `${dtype} ${m}×${n}×${k} ta=${ta} tb=${tb} threads=${threads}`);
            } finally {
              setMatmulThreads(navigator.hardwareConcurrency);
            }
          }
        }
      }
    }
  }
  if (heapArray("float32", 1, false)) assert.ok(streamJobs() > before, "no product went through the kernel");
});

Deno.test("cpu gemm: shapes the row-streaming kernel leaves to the tiles (k > 8, few rows, partial panels)", () => {
  for (const [m, n, k] of [[64, 64, 9], [15, 64, 8], [64, 61, 8]]) {
    const a = array("float32", m * k), b = array("float32", k * n);
    a.set(values(m * k, 1));
    b.set(values(k * n, 2));
    const before = streamJobs();
    const got = product("float32", a, false, b, false, m, n, k);
    assert.equal(streamJobs(), before, `${m}×${n}×${k} streamed`);
    assert.deepEqual(got, tiled(() => product("float32", a, false, b, false, m, n, k)));
  }
});

Deno.test("cpu gemm: the module with the row-streaming kernels validates with and without relaxed SIMD", () => {
  const mem = { initial: 1, maximum: 16, shared: true };
  const plain = [F32_SHAPE, F64_SHAPE, F32_NARROW, F64_NARROW].map((s) => ({ ...s, fma: false }));
  assert.ok(WebAssembly.validate(gemmModuleBytes(mem)));
  assert.ok(WebAssembly.validate(gemmModuleBytes(mem, plain[0], plain[1], plain[2], plain[3])));
});
