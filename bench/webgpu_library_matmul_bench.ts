/**
 * Products through the library on WebGPU, as a linear layer runs them: `matmul(x, W)` (A·B) and
 * `matmulT(x, W, false, true)` (A·Bᵀ, every linear layer's x·Wᵀ), float32, and x·Wᵀ with W stored in
 * float16 (widened to float32 first), at n × n × n. Beside PyTorch's float32 products (TF32 off) of
 * the same shapes and layouts, in the same call (`bench/cuda_matmul_peer.py`, when python3 with torch
 * is installed; on CUDA when torch has it). Issue 13's goal: ≥ 40 TFLOP/s for both layouts at 4096
 * and 8192 on the H200 (80% of cuBLAS).
 *
 *   deno run -A bench/webgpu_library_matmul_bench.ts [--sizes 4096,8192] [--reps 5] [--no-peer]
 *
 * Timing: T(k) = k products (each inside `scope`, the previous result released) and one read of a
 * 1×1 slice that waits for the GPU; ms = median over reps of (T(3k) − T(k)) / 2k, which cancels the
 * fixed wait (~11 ms in Deno). Inputs are uniform in [−1, 1).
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAdapterName, webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { commandLine, intOption } from "../examples/cli.ts";

const o = commandLine(
  Deno.args,
  "deno run -A bench/webgpu_library_matmul_bench.ts [options]",
  "WebGPU products through matmul / matmulT (float32; x·Wᵀ also with a float16 W) beside PyTorch's.",
  {
    sizes: { type: "string", value: "<n,n>", help: "square sizes", default: "4096,8192" },
    reps: { type: "string", value: "<n>", help: "estimates per case (the median is printed)", default: "5" },
    "no-peer": { type: "boolean", help: "skip PyTorch" },
  },
);
const sizes = String(o.sizes).split(",").map((s) => intOption("sizes", s, 0));
const reps = intOption("reps", o.reps, 5);

if (!(await webgpuAvailable())) {
  console.log("webgpu_library_matmul_bench: no WebGPU adapter; nothing to measure");
  Deno.exit(0);
}
await T.useBackend("webgpu");
console.log(`adapter: ${webgpuAdapterName()}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function time(f: () => Tensor, count: number): Promise<number> {
  let y: Tensor | undefined;
  const run = async (k: number) => {
    const t0 = performance.now();
    for (let i = 0; i < k; i++) y = T.scope(f, { release: y });
    await T.slice(y!, [[0, 1], [0, 1]]).data();
    return performance.now() - t0;
  };
  await run(count); // compile, fill the pool
  const ests: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t1 = await run(count), t3 = await run(3 * count);
    ests.push((t3 - t1) / (2 * count));
  }
  return median(ests);
}

const rows: { case: string; ms: number; tflops: number }[] = [];
for (const n of sizes) {
  const [ka, kb] = T.split(T.key(n), 2);
  const x = T.uniform(ka, [n, n], { min: -1, max: 1 });
  const w = T.uniform(kb, [n, n], { min: -1, max: 1 });
  const w16 = T.astype(w, "float16");
  const count = n <= 4096 ? 10 : 4;
  const cases: [string, () => Tensor][] = [
    [`A·B ${n}`, () => T.matmul(x, w)],
    [`A·Bᵀ ${n}`, () => T.matmulT(x, w, false, true)],
    [`A·Bᵀ ${n}, B float16`, () => T.matmulT(x, w16, false, true)],
  ];
  for (const [name, f] of cases) {
    const ms = await time(f, count);
    rows.push({ case: name, ms, tflops: (2 * n ** 3) / ms / 1e9 });
    console.log(`${name.padEnd(22)} ${ms.toFixed(3).padStart(9)} ms  ${(2 * n ** 3 / ms / 1e9).toFixed(1)} TFLOP/s`);
  }
}

let peer: Map<string, { ms: number; tflops: number; device: string }> | string = "skipped (--no-peer)";
if (!o["no-peer"]) {
  try {
    const out = await new Deno.Command("python3", {
      args: [
        new URL("./cuda_matmul_peer.py", import.meta.url).pathname,
        "--sizes",
        sizes.join(","),
        "--reps",
        `${reps}`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.success ? out.stdout : out.stderr);
    peer = out.success
      ? new Map(text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).map((r) => [r.case, r]))
      : `the peer failed: ${text.trim().split("\n").at(-1)}`;
  } catch (e) {
    peer = `python3 not runnable (${(e as Error).message})`;
  }
}
console.log("\n| product | Tangent ms | TFLOP/s | PyTorch ms | TFLOP/s | Tangent / PyTorch |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) {
  const p = typeof peer === "string" ? undefined : peer.get(r.case.replace(", B float16", ""));
  console.log(
    `| ${r.case} | ${r.ms.toFixed(3)} | ${r.tflops.toFixed(1)} | ${p ? `${p.ms.toFixed(3)} (${p.device})` : "–"} | ${
      p ? p.tflops.toFixed(1) : "–"
    } | ${p ? `${(r.ms / p.ms).toFixed(2)}×` : "–"} |`,
  );
}
if (typeof peer === "string") console.log(`PyTorch: ${peer}`);
