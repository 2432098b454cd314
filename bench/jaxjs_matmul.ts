/**
 * jax-js 0.1.25 float32 matmul throughput on WebGPU (default) or its WebAssembly backend
 * (`--device=wasm`, multithreaded where SharedArrayBuffer is available), for comparison with
 * Tangent's kernels.
 *
 * Usage (WebGPU: offline on the device machine, after `source bench/gpu_env.sh`):
 *   DENO_DIR=.denodir deno run -A --cached-only bench/jaxjs_matmul.ts [--device=wasm] [maxIters] [MxKxN ...]
 * Default shapes: 1024, 2048, 4096, 8192 square and the LoRA shapes (WebGPU); 1024 square (wasm).
 * `bench/cpu_peers.ts` runs it with `--device=wasm` beside Tangent's CPU matmul.
 *
 * Timing: r matmuls are queued back to back (jax-js is lazy; `blockUntilReady` dispatches and
 * waits on the GPU) and one wait covers all of them; per matmul = (T(2r) − T(r)) / r cancels the
 * ~11 ms wait; TFLOP/s = 2·m·n·k / per. `iters` caps r.
 * @module
 */
// Explicit specifier: a benchmark-only dependency, kept out of deno.json (cached offline in .denodir).
// deno-lint-ignore no-import-prefix
import { blockUntilReady, defaultDevice, init, numpy as np } from "npm:@jax-js/jax@0.1.25";

const device = Deno.args.find((a) => a.startsWith("--device="))?.slice(9) ?? "webgpu";
const args = Deno.args.filter((a) => !a.startsWith("--device="));
const devices = await init(device as "webgpu" | "wasm");
if (!devices.includes(device as "webgpu" | "wasm")) {
  console.log(`jax-js: ${device} device unavailable; skipping`);
  Deno.exit(0);
}
defaultDevice(device as "webgpu" | "wasm");

const iters = Number(args[0] ?? 256); // upper bound on the calibrated batch
const shapes: [number, number, number][] = args.length > 1
  ? args.slice(1).map((s) => s.split("x").map(Number) as [number, number, number])
  : device === "wasm"
  ? [[1024, 1024, 1024]]
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
  // Calibrate r (batch > 60 ms beyond the wait), then per matmul = (T(2r) − T(r)) / r.
  const run = async (r: number): Promise<number> => {
    const t0 = performance.now();
    const cs = [];
    for (let i = 0; i < r; i++) cs.push(np.matmul(a.ref, b.ref));
    await blockUntilReady(cs);
    const ms = performance.now() - t0;
    for (const c of cs) c.dispose();
    return ms;
  };
  let reps = 2;
  while (reps < iters && (await run(reps)) < 72) reps *= 2;
  let t1 = Infinity, t2 = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    t1 = Math.min(t1, await run(reps));
    t2 = Math.min(t2, await run(2 * reps));
  }
  const per = (t2 - t1) / reps;
  const tflops = (2 * m * n * k) / (per * 1e-3) / 1e12;
  console.log(
    JSON.stringify({
      lib: "jax-js@0.1.25",
      device,
      m,
      k,
      n,
      reps,
      ms: +per.toFixed(4),
      tflops: +tflops.toFixed(3),
      ms1: +t1.toFixed(1),
      ms2: +t2.toFixed(1),
    }),
  );
  a.dispose();
  b.dispose();
}
// The Wasm backend's worker threads keep the process alive; the figures are printed.
Deno.exit(0);
