/**
 * jax-js 0.1.25 float32 matmul throughput on WebGPU, for comparison with Tangent's kernel.
 *
 * Usage (offline on the device machine, after `source bench/gpu_env.sh`):
 *   DENO_DIR=.denodir deno run -A --cached-only bench/jaxjs_matmul.ts [iters] [MxKxN ...]
 * Default shapes: 1024, 2048, 4096, 8192 square and the LoRA shapes.
 *
 * Timing: `iters` matmuls are queued back to back (jax-js is lazy; `blockUntilReady` dispatches
 * and waits on the GPU), then one wait covers all of them; TFLOP/s = 2·m·n·k·iters / time.
 * @module
 */
import { blockUntilReady, defaultDevice, init, numpy as np } from "npm:@jax-js/jax@0.1.25";

const devices = await init("webgpu");
if (!devices.includes("webgpu")) {
  console.log("jax-js: webgpu device unavailable; skipping");
  Deno.exit(0);
}
defaultDevice("webgpu");

const iters = Number(Deno.args[0] ?? 20);
const shapes: [number, number, number][] = Deno.args.length > 1
  ? Deno.args.slice(1).map((s) => s.split("x").map(Number) as [number, number, number])
  : [
    [1024, 1024, 1024],
    [2048, 2048, 2048],
    [4096, 4096, 4096],
    [8192, 8192, 8192],
    [4096, 4096, 8],
    [8, 4096, 4096],
  ];

/** Uniform [-1, 1) float32 data from a small LCG (deterministic, never all zeros). */
function randomData(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

for (const [m, k, n] of shapes) {
  const a = np.array(randomData(m * k, 1)).reshape([m, k]);
  const b = np.array(randomData(k * n, 2)).reshape([k, n]);
  await blockUntilReady([a, b]);
  // Warm-up: compile and run once.
  const w = np.matmul(a.ref, b.ref);
  await w.blockUntilReady();
  w.dispose();
  const reps = m * n * k >= 4096 ** 3 ? Math.max(4, Math.floor(iters / 2)) : iters;
  const times: number[] = [];
  for (let trial = 0; trial < 3; trial++) {
    const t0 = performance.now();
    const cs = [];
    for (let i = 0; i < reps; i++) cs.push(np.matmul(a.ref, b.ref));
    await blockUntilReady(cs);
    const ms = performance.now() - t0;
    for (const c of cs) c.dispose();
    times.push(ms);
  }
  const best = Math.min(...times);
  const tflops = (2 * m * n * k * reps) / (best * 1e-3) / 1e12;
  console.log(
    JSON.stringify({ lib: "jax-js@0.1.25", m, k, n, reps, ms: +best.toFixed(2), tflops: +tflops.toFixed(3) }),
  );
  a.dispose();
  b.dispose();
}
