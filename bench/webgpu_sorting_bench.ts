/**
 * The WebGPU ordering kernels on logits-sized rows: `sort` (what top-k/top-p sampling runs), `topk`,
 * `argmax` and `cumsum` of `rows × n` float32 (default 8 × 50,257, GPT-2's vocabulary).
 *
 *   deno run -A bench/webgpu_sorting_bench.ts [--rows 8] [--n 50257] [--reps 5]
 *
 * Timing: each op is encoded `reps` times and then one result is read back (the read waits for the
 * GPU); ms/op = (T(3·reps) − T(reps)) / (2·reps) cancels the fixed readback, median of three. A
 * first run compiles the pipelines. On llvmpipe (Mesa's software adapter) the figures are only
 * indicative: it runs the shaders on this machine's CPU cores.
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAdapterName, webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const args = Deno.args;
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROWS = opt("--rows", 8), N = opt("--n", 50257), REPS = opt("--reps", 5);

if (!(await webgpuAvailable())) {
  console.log("webgpu_sorting_bench: no WebGPU adapter; nothing to measure");
  Deno.exit(0);
}
await T.useBackend("webgpu");
const load = Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
console.log(`adapter: ${webgpuAdapterName()}; ${ROWS} × ${N} float32; load average ${load}`);

const x = T.normal(T.key(0), [ROWS, N]);
const cases: [string, (x: Tensor) => Tensor][] = [
  ["sort", (x) => T.sort(x, { descending: true })],
  ["topk 50", (x) => T.topk(x, 50).indices],
  ["argmax", (x) => T.argmax(x, { axis: 1 })],
  ["cumsum", (x) => T.cumsum(x, 1)],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

for (const [name, f] of cases) {
  const run = async (n: number) => {
    const t0 = performance.now();
    let y: Tensor = x;
    for (let i = 0; i < n; i++) y = f(x);
    await y.data();
    return performance.now() - t0;
  };
  await run(1);
  const ests: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t1 = await run(REPS), t3 = await run(3 * REPS);
    ests.push((t3 - t1) / (2 * REPS));
  }
  console.log(`${name.padEnd(8)} ${median(ests).toFixed(2).padStart(9)} ms/op`);
}
