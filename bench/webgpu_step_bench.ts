/**
 * Adapter training steps on the WebGPU backend: LoRA r=8 and HRA r=8 on a frozen d×d linear layer
 * with `tokens` rows of input: forward, mean-squared-error loss, backward, AdamW update, every
 * step inside a `scope`, no host wait inside the loop.
 *
 *   deno run -A bench/webgpu_step_bench.ts [--quick] [--dim 4096] [--tokens 4096] [--steps 40] [--base float16]
 *
 * `--base float16` stores the frozen weight in float16 (packed pairs; each frozen product widens it
 * to float32 first) while the adapter, its gradients and the optimizer stay float32: the figures to
 * set beside the float32 base's (time per step, live bytes).
 *
 * Timing: T(n) = wall time of n steps followed by one readback of the last loss (which waits for
 * the GPU); ms/step = (T(3n) − T(n)) / 2n cancels the fixed readback (~11 ms in Deno, polled in
 * ~10 ms slices), median of five after 10 warm-up steps; the upper bound T(3n)/3n keeps it. "host" is
 * the time to encode one step (what the CPU spends; the GPU runs behind it). Also printed: the
 * kernels dispatched per step and GPU memory (live bytes after the run).
 *
 * Variants: `lora` (adapters/lora.ts), `hra` (adapters/hra.ts, which applies W H as
 * y = x Wᵀ + ((x Û) Γᵀ)(W Û)ᵀ, so its backward needs only rank-r products), and `hra-wy` (the same
 * form written out here, as a check on the adapter).
 * PyTorch + PEFT (H100, float32, d = tokens = 4096): LoRA 3.5 ms/step, HRA 20 ms/step.
 *
 * Measured here (H100 80GB HBM3 through Vulkan, Deno 2.9.6, d = tokens = 4096, r = 8): x·Wᵀ alone
 * 4.57 ms (30.1 TFLOP/s); lora 5.16 ms/step (19 kernels, host 1.2 ms); hra 5.70 ms/step (60
 * kernels, host 3.4 ms). A LoRA step is the base product plus ~0.6 ms.
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { type Adapter, type Frozen, householderWY, hra, lora, unitColumns } from "../adapters/mod.ts";
import { type AdamState, adamw, type Optimizer } from "../manifolds/mod.ts";
import { webgpuAdapterName, webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";
import type { WebGPUBackend } from "../core/backend/webgpu/backend.ts";

const args = Deno.args;
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = args.includes("--quick");
const D = opt("--dim", quick ? 256 : 4096);
const N = opt("--tokens", quick ? 256 : 4096);
const STEPS = opt("--steps", quick ? 5 : 40);
const only = args.includes("--only") ? args[args.indexOf("--only") + 1].split(",") : null;
const baseDtype = args.includes("--base") ? args[args.indexOf("--base") + 1] : "float32";
if (baseDtype !== "float32" && baseDtype !== "float16") {
  console.error(`webgpu_step_bench: --base must be float32 or float16, got ${baseDtype}`);
  Deno.exit(2);
}

if (!(await webgpuAvailable())) {
  console.log("webgpu_step_bench: no WebGPU adapter; nothing to measure");
  Deno.exit(0);
}
await T.useBackend("webgpu");
const gpu = T.getBackend() as WebGPUBackend;
console.log(`adapter: ${webgpuAdapterName()}; d = ${D}, tokens = ${N}, r = 8, float32, frozen base ${baseDtype}`);

/** HRA through W Û instead of x Hᵀ: y = x Wᵀ + ((x Û) Γᵀ)(W Û)ᵀ (only rank-r products need gradients). */
function hraWY(r: number): Adapter<{ U: Tensor }, Frozen> {
  const base = hra({ r });
  return {
    ...base,
    apply(p: { U: Tensor }, f: Frozen, x: Tensor): Tensor {
      const V = unitColumns(p.U);
      const G = householderWY(V);
      const xV = T.matmulT(x, V, false, false);
      const WV = T.matmulT(T.stopGradient(f.weight), V, false, false);
      const low = T.matmulT(T.matmulT(xV, G, false, true), WV, false, true);
      return T.add(T.matmulT(x, T.stopGradient(f.weight), false, true), low);
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Frees a pytree's tensors now (the previous step's parameters and state). */
function releaseNow(tree: unknown): void {
  for (const t of T.treeLeaves(tree)) {
    if (!t._storage.released) {
      t.backend.release(t._storage);
      t._storage.released = true;
    }
  }
}

const [kw, kx, ky, ka] = T.split(T.key(0), 4);
const W32 = T.mul(T.normal(kw, [D, D]), 1 / Math.sqrt(D));
const W = baseDtype === "float16" ? T.astype(W32, "float16") : W32;
if (W !== W32) releaseNow(W32); // live bytes then count the float16 copy only
const x = T.normal(kx, [N, D]);
const target = T.normal(ky, [N, D]);

async function measure(name: string, ad: Adapter<unknown, Frozen>): Promise<void> {
  const { params: p0, frozen } = ad.init(ka, { weight: W });
  const opt: Optimizer<AdamState> = adamw({ lr: 1e-3, weightDecay: 0.01 });
  let params = p0;
  let state = opt.init(params);
  let loss: Tensor = T.zeros([]);
  const lossOf = (p: unknown) => T.mean(T.square(T.sub(ad.apply(p, frozen, x), target)));
  const step = () => {
    const out = T.scope(() => {
      const [l, g] = T.valueAndGrad(lossOf)(params);
      const u = opt.update(g, state, params);
      return { l, params: u.params, state: u.state };
    });
    releaseNow([params, state.mu, state.nu, loss]);
    params = out.params;
    state = out.state;
    loss = out.l;
  };
  const run = async (n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) step();
    const t1 = performance.now();
    await loss.data();
    return [performance.now() - t0, t1 - t0];
  };
  await run(10); // compile pipelines, fill the pool, let the clocks rise
  const d0 = gpu.runtime.dispatched;
  await run(1);
  const perStep = gpu.runtime.dispatched - d0;
  // median of five estimates (T(3n) − T(n)) / 2n; host = encode time per step
  const ests: number[] = [], hosts: number[] = [], walls: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const [t1, h1] = await run(STEPS);
    const [t3, h3] = await run(3 * STEPS);
    ests.push((t3 - t1) / (2 * STEPS));
    hosts.push((h1 + h3) / (4 * STEPS));
    walls.push(t3 / (3 * STEPS));
  }
  const ms = median(ests), host = median(hosts), wall = median(walls);
  const mem = webgpuMemory();
  const l = (await loss.data())[0];
  console.log(
    `${name.padEnd(7)} ${ms.toFixed(2).padStart(7)} ms/step  (≤ ${wall.toFixed(2)}; ` +
      `host ${host.toFixed(2)} ms/step, ` +
      `${perStep.toFixed(0)} kernels/step, live ${(mem.liveBytes / 2 ** 20).toFixed(0)} MiB, loss ${l.toFixed(4)})`,
  );
  releaseNow([params, state.mu, state.nu, loss, frozen.weight === W ? [] : frozen]);
}

/** The frozen base product x Wᵀ alone (what every variant's forward pass contains). */
async function baseMatmul(): Promise<void> {
  const run = async (n: number) => {
    const t0 = performance.now();
    let y: Tensor = T.zeros([]);
    for (let i = 0; i < n; i++) {
      const prev = y;
      y = T.scope(() => T.matmulT(x, W, false, true));
      releaseNow(prev);
    }
    await T.slice(y, [[0, 1], [0, 1]]).data();
    return performance.now() - t0;
  };
  await run(10);
  const ests: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t1 = await run(STEPS), t3 = await run(3 * STEPS);
    ests.push((t3 - t1) / (2 * STEPS));
  }
  const ms = median(ests);
  console.log(`x·Wᵀ    ${ms.toFixed(2).padStart(7)} ms  (${((2 * N * D * D) / ms / 1e9).toFixed(1)} TFLOP/s)`);
}

const variants: [string, Adapter<unknown, Frozen>][] = [
  ["lora", lora({ r: 8 }) as Adapter<unknown, Frozen>],
  ["hra-wy", hraWY(8) as Adapter<unknown, Frozen>],
  ["hra", hra({ r: 8 }) as Adapter<unknown, Frozen>],
];
for (const [name, ad] of variants) if (!only || only.includes(name)) await measure(name, ad);
if (!only || only.includes("matmul")) await baseMatmul();
