/**
 * Every adapter's training step on WebGPU beside PyTorch + PEFT's, in the same call: a frozen d×d
 * linear layer (no bias) with `tokens` rows of input; a step is the forward pass, the mean-squared
 * error against a target, the backward pass and the optimizer update (AdamW, lr 1e-3, weight decay
 * 0.01; PoLAR: landing under AdamW, its paper's recipe), inside `scope` with the previous step's
 * parameters and state released, no host wait inside the loop. `bench/webgpu_adapters_peer.py`
 * builds each adapter PEFT has from the adapter's own `peftConfig()` and times the same step
 * (CUDA when torch has it, TF32 off); it runs when python3 with torch and peft is installed.
 *
 *   deno run -A bench/webgpu_adapters_bench.ts [--dim 4096] [--tokens 4096] [--steps 20] [--reps 5]
 *     [--only lora,oft-exact] [--no-peer] [--quick]
 *
 * Timing (both sides): T(n) = wall time of n steps ending with one wait for the device; ms/step =
 * median over `reps` of (T(3n) − T(n)) / 2n, which cancels the fixed wait (~11 ms in Deno). "host"
 * is the time to encode one step, "kernels" the dispatches per step, "init" the adapter's `init`
 * on the GPU plus one read (SORSA's SVD, PiSSA-style inits and Stiefel sampling run there), and
 * "‖QᵀQ − I‖" the orthonormality of the factors the init made orthonormal (SORSA's U and V from
 * the block-Jacobi SVD at large d, PoLAR's X and Y from QR): a check that the fixed number of
 * Jacobi sweeps converged.
 *
 * A second table times the factorizations alone (the linear algebra of issue 13: batched small
 * blocks as OFT/BOFT have, an r × r solve, tall-skinny QR, and d × d Cholesky, LU solve, SVD,
 * eigh) with the same (T(3n) − T(n)) / 2n method, beside torch.linalg in the peer, to tune the
 * switch points in core/backend/webgpu/linalg_tuning.ts; `--no-linalg` skips it.
 * `--quick` (d = tokens = 128, 2 steps, 1 rep) checks that everything runs, e.g. on llvmpipe.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import {
  type Adapter,
  boft,
  dora,
  type Frozen,
  hra,
  loha,
  lokh,
  lokr,
  lora,
  oft,
  polar,
  sorsa,
  vera,
} from "../adapters/mod.ts";
import { orthogonalityError } from "../adapters/analysis.ts";
import { adamw, landing, type Optimizer } from "../manifolds/mod.ts";
import { webgpuAdapterName, webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";
import type { WebGPUBackend } from "../core/backend/webgpu/backend.ts";
import { commandLine } from "../examples/cli.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

const args = commandLine(
  Deno.args,
  "deno run -A bench/webgpu_adapters_bench.ts [options]",
  "Every adapter's training step on WebGPU at a 4096-wide layer (and the linalg kernels), beside PyTorch on CUDA.",
  {
    dim: { type: "string", value: "<n>", help: "layer width (default 4096; --quick 128)" },
    tokens: { type: "string", value: "<n>", help: "tokens per step (default 4096; --quick 128)" },
    steps: { type: "string", value: "<n>", help: "steps per timed run (default 20; --quick 2)" },
    reps: { type: "string", value: "<n>", help: "timed runs (default 5; --quick 1)" },
    only: { type: "string", value: "<a,b>", help: "only these adapters" },
    "no-peer": { type: "boolean", help: "skip PyTorch" },
    "no-linalg": { type: "boolean", help: "skip the linear-algebra kernels" },
    quick: { type: "boolean", help: "small shapes (a smoke test)" },
  },
);
const quick = args.quick === true;
const D = Number(args.dim ?? (quick ? 128 : 4096));
const N = Number(args.tokens ?? (quick ? 128 : 4096));
const STEPS = Number(args.steps ?? (quick ? 2 : 20));
const REPS = Number(args.reps ?? (quick ? 1 : 5));
const only = args.only ? String(args.only).split(",") : null;

/** One case: a name, the adapter, its optimizer. */
interface Case {
  name: string;
  // deno-lint-ignore no-explicit-any
  adapter: Adapter<any, Frozen>;
  optimizer: () => Optimizer<unknown>;
}

const adamW = () => adamw({ lr: 1e-3, weightDecay: 0.01 }) as Optimizer<unknown>;
const bs = Math.min(32, D);
const CASES: Case[] = [
  { name: "lora", adapter: lora({ r: 8, alpha: 16 }), optimizer: adamW },
  { name: "dora", adapter: dora({ r: 8, alpha: 16 }), optimizer: adamW },
  { name: "hra", adapter: hra({ r: 8 }), optimizer: adamW },
  { name: "oft-neumann", adapter: oft({ blockSize: bs }), optimizer: adamW },
  { name: "oft-exact", adapter: oft({ blockSize: bs, cayley: "exact" }), optimizer: adamW },
  { name: "boft", adapter: boft({ blockSize: bs, butterflyFactors: 2 }), optimizer: adamW },
  { name: "loha", adapter: loha({ r: 8 }), optimizer: adamW },
  { name: "lokr", adapter: lokr({ r: 8 }), optimizer: adamW },
  { name: "vera", adapter: vera({ r: 256 }), optimizer: adamW },
  { name: "lokh", adapter: lokh({ r: 8 }), optimizer: adamW },
  { name: "sorsa", adapter: sorsa({ r: 8 }), optimizer: adamW },
  {
    name: "polar",
    adapter: polar({ r: 8 }),
    optimizer: () => landing({ lambda: 1, base: adamw({ lr: 1e-3, weightDecay: 0 }) }) as Optimizer<unknown>,
  },
].filter((c) => !only || only.includes(c.name));

/** A factorization timed alone: the op (named for the peer), its input shape, and how to run it. */
interface LinalgCase {
  name: string;
  op: "cayley" | "solve" | "qr" | "svd" | "cholesky" | "eigh";
  shape: number[];
}

const bsL = Math.min(32, D);
const LINALG: LinalgCase[] = args["no-linalg"] ? [] : [
  { name: "oft blocks: cayley (batched LU solve)", op: "cayley", shape: [D / bsL, bsL, bsL] },
  { name: "r × r solve", op: "solve", shape: [8, 8] },
  { name: "tall-skinny qr (Stiefel)", op: "qr", shape: [D, 8] },
  { name: "tall-skinny svd (polar)", op: "svd", shape: [D, 8] },
  { name: "cholesky", op: "cholesky", shape: [D, D] },
  { name: "lu solve", op: "solve", shape: [D, D] },
  { name: "svd (SORSA init)", op: "svd", shape: [D, D] },
  { name: "eigh", op: "eigh", shape: [D, D] },
];

/** The op on a random input of its shape (well conditioned where it needs to be). */
function linalgInput(l: LinalgCase): Tensor {
  const a = T.normal(T.key(5), l.shape);
  const n = l.shape[l.shape.length - 1];
  if (l.op === "cholesky") return T.add(T.matmulT(a, a, false, true), T.mul(T.eye(n), n));
  if (l.op === "eigh") return T.add(a, T.matrixTranspose(a));
  if (l.op === "cayley") return T.mul(T.sub(a, T.matrixTranspose(a)), 0.1);
  if (l.op === "solve") return T.add(a, T.mul(T.eye(n), Math.sqrt(n)));
  return a;
}

function linalgRun(l: LinalgCase, a: Tensor, b: Tensor): Tensor {
  switch (l.op) {
    case "cayley":
      return T.linalg.cayley(a);
    case "solve":
      return T.linalg.solve(a, b);
    case "qr":
      return T.linalg.qr(a).Q;
    case "svd":
      return T.linalg.svd(a).S;
    case "cholesky":
      return T.linalg.cholesky(a);
    case "eigh":
      return T.linalg.eigh(a).eigenvalues;
  }
}

/** ms per call ((T(3n) − T(n)) / 2n, median of the reps; fewer calls for the d × d ones) and kernels. */
async function timeLinalg(l: LinalgCase, gpu: WebGPUBackend): Promise<{ ms: number; kernels: number }> {
  const a = linalgInput(l), b = T.normal(T.key(6), [l.shape[l.shape.length - 1], 4]);
  const big = l.shape[0] === D && l.shape[1] === D;
  const n = big ? Math.max(1, Math.floor(STEPS / 10)) : STEPS;
  let out: Tensor = linalgRun(l, a, b);
  await out.data();
  const run = async (k: number) => {
    const t0 = performance.now();
    for (let i = 0; i < k; i++) {
      const prev = out;
      out = T.scope(() => linalgRun(l, a, b));
      releaseNow(prev);
    }
    await out.data();
    return performance.now() - t0;
  };
  const d0 = gpu.runtime.dispatched;
  await run(1);
  const kernels = gpu.runtime.dispatched - d0;
  const ests: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const t1 = await run(n), t3 = await run(3 * n);
    ests.push((t3 - t1) / (2 * n));
  }
  releaseNow([a, b, out]);
  return { ms: median(ests), kernels };
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

/** Tangent's figures for one case. */
interface Row {
  ms: number;
  host: number;
  kernels: number;
  init: number;
  liveMiB: number;
  loss: number;
  /** max ‖QᵀQ − I‖_F of the init's orthonormal factors (NaN: none). */
  ortho: number;
}

/** The init's orthonormal factors: SORSA's U, V and PoLAR's X, Y. */
function orthonormalFactors(name: string, p: Record<string, Tensor>): Tensor[] {
  if (name === "sorsa") return [p.U, p.V];
  if (name === "polar") return [p.X, p.Y];
  return [];
}

async function measure(c: Case, gpu: WebGPUBackend, W: Tensor, x: Tensor, target: Tensor): Promise<Row> {
  const t0 = performance.now();
  const { params: p0, frozen } = c.adapter.init(T.key(1), { weight: W });
  await T.treeLeaves(p0)[0].data();
  const init = performance.now() - t0;
  let ortho = NaN;
  for (const q of orthonormalFactors(c.name, p0 as Record<string, Tensor>)) {
    const e = (await orthogonalityError(q).data())[0];
    ortho = Number.isNaN(ortho) ? e : Math.max(ortho, e);
  }
  const opt = c.optimizer();
  let params: unknown = p0;
  let state = opt.init(params);
  let loss: Tensor = T.zeros([]);
  const lossOf = (p: unknown) => T.mean(T.square(T.sub(c.adapter.apply(p, frozen, x), target)));
  const step = () => {
    const out = T.scope(() => {
      const [l, g] = T.valueAndGrad(lossOf)(params);
      const u = opt.update(g, state, params);
      return { l, params: u.params, state: u.state };
    });
    releaseNow([params, state, loss]);
    params = out.params;
    state = out.state;
    loss = out.l;
  };
  const run = async (n: number): Promise<[number, number]> => {
    const s = performance.now();
    for (let i = 0; i < n; i++) step();
    const h = performance.now();
    await loss.data();
    return [performance.now() - s, h - s];
  };
  await run(3); // pipelines compiled, pool filled
  const d0 = gpu.runtime.dispatched;
  await run(1);
  const kernels = gpu.runtime.dispatched - d0;
  const ests: number[] = [], hosts: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const [t1, h1] = await run(STEPS);
    const [t3, h3] = await run(3 * STEPS);
    ests.push((t3 - t1) / (2 * STEPS));
    hosts.push((h1 + h3) / (4 * STEPS));
  }
  const l = (await loss.data())[0];
  const liveMiB = webgpuMemory().liveBytes / 2 ** 20;
  releaseNow([params, state, loss, frozen.weight === W ? [] : frozen]);
  return { ms: median(ests), host: median(hosts), kernels, init, liveMiB, loss: l, ortho };
}

/** PEFT's ms/step per case from the Python peer, or the reason it did not run. */
async function peer(): Promise<Map<string, { ms: number; device: string }> | string> {
  if (args["no-peer"]) return "--no-peer";
  const spec = {
    dim: D,
    tokens: N,
    steps: STEPS,
    reps: REPS,
    cases: CASES.map((c) => ({ case: c.name, peft: c.adapter.peftConfig?.() ?? {} })),
    linalg: args["no-linalg"] ? [] : LINALG.map((l) => ({ case: l.name, op: l.op, shape: l.shape })),
  };
  try {
    const child = new Deno.Command("python3", {
      args: [join(HERE, "webgpu_adapters_peer.py")],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(spec)));
    await w.close();
    const out = await child.output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-1)[0];
      return `peer failed: ${err}`;
    }
    const rows = new Map<string, { ms: number; device: string }>();
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      if (!line.trim()) continue;
      const r = JSON.parse(line);
      rows.set(r.case, { ms: r.ms, device: r.device });
    }
    return rows;
  } catch (e) {
    return `peer not run: ${(e as Error).message}`;
  }
}

if (!(await webgpuAvailable())) {
  console.log("webgpu_adapters_bench: no WebGPU adapter; nothing to measure");
  Deno.exit(0);
}
await T.useBackend("webgpu");
const gpu = T.getBackend() as WebGPUBackend;
console.error(`adapter: ${webgpuAdapterName()}; d = ${D}, tokens = ${N}, float32, ${STEPS} steps × ${REPS} reps`);
const [kw, kx, ky] = T.split(T.key(0), 3);
const W = T.mul(T.normal(kw, [D, D]), 1 / Math.sqrt(D));
const x = T.normal(kx, [N, D]);
const target = T.normal(ky, [N, D]);

const rows = new Map<string, Row>();
for (const c of CASES) {
  const r = await measure(c, gpu, W, x, target);
  rows.set(c.name, r);
  console.error(`${c.name}: ${r.ms.toFixed(2)} ms/step (host ${r.host.toFixed(2)}, ${r.kernels} kernels)`);
}
const linalgRows = new Map<string, { ms: number; kernels: number } | string>();
for (const l of LINALG) {
  try {
    linalgRows.set(l.name, await timeLinalg(l, gpu));
  } catch (e) {
    linalgRows.set(l.name, `${(e as Error).name}: ${(e as Error).message.slice(0, 60)}…`);
  }
  console.error(`${l.name}: ${JSON.stringify(linalgRows.get(l.name))}`);
}
const peers = await peer();
if (typeof peers === "string") console.error(`PEFT: ${peers}`);
const device = typeof peers === "string" ? "" : [...peers.values()][0]?.device ?? "";

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const vs = (t: number, p?: { ms: number }) => (p ? `| ${fmt(p.ms)} | ${(t / p.ms).toFixed(2)}× |` : "| – | – |");
console.log(
  `| adapter | Tangent ms/step | host ms | kernels | init ms | ‖QᵀQ − I‖ | live MiB | PEFT ms/step${
    device ? ` (${device})` : ""
  } | Tangent / PEFT |`,
);
console.log("| ------- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const c of CASES) {
  const r = rows.get(c.name)!;
  const p = typeof peers === "string" ? undefined : peers.get(c.name);
  const ortho = Number.isNaN(r.ortho) ? "–" : r.ortho.toExponential(1);
  const live = r.liveMiB.toFixed(r.liveMiB < 10 ? 1 : 0);
  console.log(
    `| ${c.name} | ${fmt(r.ms)} | ${fmt(r.host)} | ${r.kernels} | ${fmt(r.init)} | ${ortho} | ${live} ${vs(r.ms, p)}`,
  );
  if (!Number.isFinite(r.loss)) console.error(`${c.name}: the loss is not finite (${r.loss})`);
}
if (LINALG.length) {
  console.log(
    `\n| factorization | shape | Tangent ms | kernels | torch.linalg ms${device ? ` (${device})` : ""} | ratio |`,
  );
  console.log("| ------------- | ----- | ---: | ---: | ---: | ---: |");
  for (const l of LINALG) {
    const r = linalgRows.get(l.name)!;
    const p = typeof peers === "string" ? undefined : peers.get(l.name);
    const shape = `[${l.shape.join(", ")}]`;
    console.log(
      `| ${l.name} | ${shape} | ${typeof r === "string" ? r : `${fmt(r.ms)} | ${r.kernels}`} ${
        typeof r === "string" ? "| – | – |" : vs(r.ms, p)
      }`,
    );
  }
}
