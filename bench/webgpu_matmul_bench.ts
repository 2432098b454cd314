/**
 * Standalone WebGPU float32 matmul harness for core/backend/webgpu/matmul_wgsl.ts: checks the
 * kernels against a float64 CPU reference, then measures throughput.
 *
 *   deno run -A bench/webgpu_matmul_bench.ts [--quick] [--tune] [--check-only] [--json FILE]
 *
 * --quick: small shapes only (llvmpipe); --tune: also time alternative tile configs on the
 * square shapes; --check-only: correctness only.
 *
 * Timing: N dispatches are encoded into one compute pass and submitted together, followed by one
 * small readback of C that forces completion (Deno's mapAsync costs ~11 ms, so never wait per
 * dispatch). Wall time per matmul = (T(2N) − T(N)) / N, which cancels the fixed wait; with the
 * "timestamp-query" feature the pass's GPU time / N is reported too. TFLOP/s = 2·m·n·k / time.
 * Inputs are random in [-1, 1) (never zeros); C is poisoned with NaN before the checks.
 * @module
 */
import {
  type MatmulKernel,
  matmulKernel,
  type MatmulParams,
  type SplitkConfig,
  type TileConfig,
} from "../core/backend/webgpu/matmul_wgsl.ts";

const args = new Set(Deno.args);
const quick = args.has("--quick");
const tune = args.has("--tune");
const checkOnly = args.has("--check-only");
const jsonIdx = Deno.args.indexOf("--json");
const jsonPath = jsonIdx >= 0 ? Deno.args[jsonIdx + 1] : undefined;

const adapter = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
if (!adapter) {
  console.log("webgpu_matmul_bench: no WebGPU adapter; nothing to measure");
  Deno.exit(0);
}
const wanted: GPUFeatureName[] = ["timestamp-query", "shader-f16", "subgroups" as GPUFeatureName];
const features = wanted.filter((f) => adapter.features.has(f));
const limitNames = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
] as const;
const requiredLimits: Record<string, number> = {};
for (const l of limitNames) requiredLimits[l] = adapter.limits[l];
const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
const info = adapter.info;
const results: Record<string, unknown>[] = [];
console.log(JSON.stringify({
  adapter: info.description || info.device || info.vendor,
  vendor: info.vendor,
  architecture: info.architecture,
  allFeatures: [...adapter.features].sort(),
  shaderF16: adapter.features.has("shader-f16"),
  subgroups: adapter.features.has("subgroups" as GPUFeatureName),
  subgroupSizes: [
    (info as unknown as { subgroupMinSize?: number }).subgroupMinSize,
    (info as unknown as { subgroupMaxSize?: number }).subgroupMaxSize,
  ],
  limits: requiredLimits,
}));
const smem = device.limits.maxComputeWorkgroupStorageSize;
const hasTimestamps = features.includes("timestamp-query");

/** Uniform [-1, 1) float32 data from an LCG. */
function rand(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

interface Case extends MatmulParams {
  label?: string;
}

function fullParams(p: Case) {
  const batch = p.batch ?? 1;
  return {
    m: p.m,
    n: p.n,
    k: p.k,
    batch,
    transA: p.transA ?? false,
    transB: p.transB ?? false,
    strideA: p.strideA ?? p.m * p.k,
    strideB: p.strideB ?? p.k * p.n,
  };
}

/** op(A)[i, l] · op(B)[l, j] summed in float64 for batch z. */
function refEntry(
  p: ReturnType<typeof fullParams>,
  a: Float32Array,
  b: Float32Array,
  z: number,
  i: number,
  j: number,
): number {
  let s = 0;
  for (let l = 0; l < p.k; l++) {
    s += a[z * p.strideA + (p.transA ? l * p.m + i : i * p.k + l)] *
      b[z * p.strideB + (p.transB ? j * p.k + l : l * p.n + j)];
  }
  return s;
}

const pipelines = new Map<string, GPUComputePipeline>();
function pipelineFor(kern: MatmulKernel): GPUComputePipeline {
  let p = pipelines.get(kern.code);
  if (!p) {
    p = device.createComputePipeline({
      layout: "auto",
      compute: { module: device.createShaderModule({ code: kern.code }), entryPoint: kern.entryPoint },
    });
    pipelines.set(kern.code, p);
  }
  return p;
}

function upload(data: Float32Array | Uint32Array, usage: number): GPUBuffer {
  const buf = device.createBuffer({
    size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
    usage: usage | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buf, 0, data);
  return buf;
}

interface Problem {
  p: ReturnType<typeof fullParams>;
  a: Float32Array;
  b: Float32Array;
  ba: GPUBuffer;
  bb: GPUBuffer;
  bc: GPUBuffer;
  cSize: number;
}

function makeProblem(c: Case, seed: number): Problem {
  const p = fullParams(c);
  const a = rand(p.strideA * (p.batch - 1) + p.m * p.k, seed);
  const b = rand(p.strideB * (p.batch - 1) + p.k * p.n, seed + 7);
  const S = GPUBufferUsage.STORAGE;
  const cSize = p.batch * p.m * p.n;
  const bc = device.createBuffer({
    size: Math.max(16, Math.ceil(cSize / 4) * 16),
    usage: S | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  return { p, a, b, ba: upload(a, S), bb: upload(b, S), bc, cSize };
}

function freeProblem(pr: Problem): void {
  pr.ba.destroy();
  pr.bb.destroy();
  pr.bc.destroy();
}

function bindFor(pr: Problem, kern: MatmulKernel): { pipeline: GPUComputePipeline; bind: GPUBindGroup; ub: GPUBuffer } {
  const pipeline = pipelineFor(kern);
  const ub = upload(kern.uniforms, GPUBufferUsage.UNIFORM);
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [pr.ba, pr.bb, pr.bc, ub].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return { pipeline, bind, ub };
}

async function readC(pr: Problem, bytes = pr.cSize * 4): Promise<Float32Array> {
  const size = Math.ceil(bytes / 4) * 4;
  const rb = device.createBuffer({
    size: Math.max(16, size),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(pr.bc, 0, rb, 0, Math.max(4, size));
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(rb.getMappedRange().slice(0, bytes));
  rb.unmap();
  rb.destroy();
  return out;
}

/** Runs once on NaN-poisoned C and checks: all entries (small) or 512 sampled ones (large). */
async function check(pr: Problem, kern: MatmulKernel): Promise<number> {
  device.queue.writeBuffer(pr.bc, 0, new Float32Array(pr.cSize).fill(NaN));
  const { pipeline, bind, ub } = bindFor(pr, kern);
  device.pushErrorScope("validation");
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(...kern.dispatch);
  pass.end();
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`validation: ${err.message}`);
  const got = await readC(pr);
  ub.destroy();
  const { p } = pr;
  let num = 0, den = 0, unwritten = 0;
  const total = p.batch * p.m * p.n;
  const samples = total <= 1 << 16 ? total : 512;
  for (let s = 0; s < total; s++) if (!Number.isFinite(got[s])) unwritten++;
  for (let s = 0; s < samples; s++) {
    const idx = samples === total ? s : Math.floor(((s * 2654435761) % 4294967296) / 4294967296 * total);
    const z = Math.floor(idx / (p.m * p.n)), i = Math.floor((idx % (p.m * p.n)) / p.n), j = idx % p.n;
    const want = refEntry(p, pr.a, pr.b, z, i, j);
    num += (got[idx] - want) ** 2;
    den += want ** 2;
  }
  const rel = Math.sqrt(num / Math.max(den, 1e-30));
  if (unwritten > 0 || !(rel < 1e-5)) {
    throw new Error(`${kern.variant} ${JSON.stringify(p)}: relative error ${rel}, ${unwritten} entries unwritten`);
  }
  return rel;
}

/** Encodes n dispatches in one pass, submits, reads 16 bytes of C back; returns [wall ms, gpu ms]. */
async function timeRun(
  pr: Problem,
  kern: MatmulKernel,
  bound: ReturnType<typeof bindFor>,
  n: number,
): Promise<[number, number]> {
  const qs = hasTimestamps ? device.createQuerySet({ type: "timestamp", count: 2 }) : undefined;
  const qb = qs
    ? device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC })
    : undefined;
  const qr = qs
    ? device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
    : undefined;
  const rb = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const t0 = performance.now();
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass(
    qs ? { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {},
  );
  pass.setPipeline(bound.pipeline);
  pass.setBindGroup(0, bound.bind);
  for (let i = 0; i < n; i++) pass.dispatchWorkgroups(...kern.dispatch);
  pass.end();
  enc.copyBufferToBuffer(pr.bc, 0, rb, 0, 16);
  if (qs) {
    enc.resolveQuerySet(qs, 0, 2, qb!, 0);
    enc.copyBufferToBuffer(qb!, 0, qr!, 0, 16);
  }
  device.queue.submit([enc.finish()]);
  await rb.mapAsync(GPUMapMode.READ);
  const wall = performance.now() - t0;
  rb.unmap();
  rb.destroy();
  let gpu = NaN;
  if (qs) {
    await qr!.mapAsync(GPUMapMode.READ);
    const ts = new BigUint64Array(qr!.getMappedRange().slice(0));
    gpu = Number(ts[1] - ts[0]) / 1e6;
    qr!.unmap();
    for (const x of [qb!, qr!]) x.destroy();
    qs.destroy();
  }
  return [wall, gpu];
}

async function measure(
  pr: Problem,
  kern: MatmulKernel,
  label: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const { p } = pr;
  const flops = 2 * p.m * p.n * p.k * p.batch;
  const bytes = 4 * (p.batch * (p.m * p.k + p.k * p.n + p.m * p.n));
  const rel = await check(pr, kern);
  if (checkOnly) {
    console.log(JSON.stringify({ label, variant: kern.variant, ...extra, rel: +rel.toExponential(2) }));
    return;
  }
  const bound = bindFor(pr, kern);
  // Calibrate: double n until one batch takes > 60 ms beyond the ~11 ms wait (at most 4096).
  let n = 2;
  for (;;) {
    const [w] = await timeRun(pr, kern, bound, n);
    if (w > 72 || n >= 4096) break;
    n *= 2;
  }
  let w1 = Infinity, w2 = Infinity, gpuBest = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    const [a1, g1] = await timeRun(pr, kern, bound, n);
    const [a2, g2] = await timeRun(pr, kern, bound, 2 * n);
    w1 = Math.min(w1, a1);
    w2 = Math.min(w2, a2);
    gpuBest = Math.min(gpuBest, g2 / (2 * n), g1 / n);
  }
  const best = (w2 - w1) / n;
  bound.ub.destroy();
  const row = {
    label,
    variant: kern.variant,
    ...extra,
    m: p.m,
    n: p.n,
    k: p.k,
    batch: p.batch,
    transA: p.transA,
    transB: p.transB,
    iters: n,
    ms: +best.toFixed(4),
    tflops: +(flops / best / 1e9).toFixed(3),
    gpuMs: +gpuBest.toFixed(4),
    gpuTflops: +(flops / gpuBest / 1e9).toFixed(3),
    gbps: +(bytes / best / 1e6).toFixed(0),
    rel: +rel.toExponential(2),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}

// ------------------------------------------------------------------ correctness sweep (odd shapes)
{
  const odd: Case[] = [];
  const shapes: [number, number, number][] = quick
    ? [[1, 1, 1], [3, 5, 7], [17, 1, 33], [33, 65, 17], [64, 128, 24]]
    : [[1, 1, 1], [3, 5, 7], [17, 1, 33], [1, 300, 70], [33, 65, 17], [130, 67, 21], [64, 128, 24], [257, 129, 33], [
      500,
      300,
      1,
    ], [1000, 1000, 100]];
  const forced: (MatmulParams["variant"] | undefined)[] = quick
    ? [undefined, "simple", "splitk", "medium"]
    : [undefined, "simple", "splitk", "medium", "large"];
  for (const [m, n, k] of shapes) {
    for (const variant of forced) {
      for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
        odd.push({ m, n, k, transA, transB, variant });
      }
    }
  }
  odd.push({ m: 40, n: 24, k: 36, batch: 3, strideA: 0 }, { m: 40, n: 24, k: 36, batch: 3, strideB: 0, transB: true });
  let seed = 1, worst = 0;
  for (const c of odd) {
    const pr = makeProblem(c, seed++);
    const kern = matmulKernel({ ...c, maxWorkgroupStorage: smem });
    worst = Math.max(worst, await check(pr, kern));
    freeProblem(pr);
  }
  console.log(JSON.stringify({ check: "odd shapes × variants × transposes", cases: odd.length, worstRel: worst }));
}
if (checkOnly && quick) Deno.exit(0);

// ------------------------------------------------------------------ throughput
if (!checkOnly) {
  // Warm-up: ~1 s of large products so clocks are up before the first timing.
  const s = quick ? 256 : 4096;
  const pr = makeProblem({ m: s, n: s, k: s }, 99);
  const kern = matmulKernel({ m: s, n: s, k: s, maxWorkgroupStorage: smem });
  const bound = bindFor(pr, kern);
  const t0 = performance.now();
  while (performance.now() - t0 < (quick ? 100 : 1000)) await timeRun(pr, kern, bound, quick ? 2 : 32);
  bound.ub.destroy();
  freeProblem(pr);
}
const sq = quick ? [256, 512] : [1024, 2048, 4096, 8192];
const cases: Case[] = [];
for (const s of sq) cases.push({ m: s, n: s, k: s, label: `${s}` });
for (const s of quick ? [512] : [4096, 8192]) {
  cases.push({ m: s, n: s, k: s, transA: true, label: `${s} Aᵀ` });
  cases.push({ m: s, n: s, k: s, transB: true, label: `${s} Bᵀ` });
  cases.push({ m: s, n: s, k: s, transA: true, transB: true, label: `${s} AᵀBᵀ` });
}
const d = quick ? 512 : 4096;
cases.push(
  { m: d, n: 8, k: d, label: "lora x@B (d×d @ d×8)" },
  { m: d, n: 8, k: d, transB: true, label: "lora x@Aᵀ (d×d @ (8×d)ᵀ)" },
  { m: 8, n: d, k: d, label: "lora 8×d @ d×d" },
  { m: 8, n: d, k: d, transA: true, label: "lora grad (d×8)ᵀ @ d×d" },
  { m: d, n: d, k: 8, label: "lora B@A (d×8 @ 8×d)" },
  { m: 1000, n: 1000, k: 1000, label: "1000 (unaligned-ish)" },
  { m: 1023, n: 1025, k: 1021, label: "odd 1023×1021@1021×1025" },
  { m: 512, n: 512, k: 512, batch: 16, label: "batched 16×512" },
);
const tuneConfigs: [string, TileConfig][] = [
  ["64x128 bk16 8x8", { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8 }],
  ["128x64 bk16 8x8", { bm: 128, bn: 64, bk: 16, tm: 8, tn: 8 }],
  ["64x64 bk8 8x8", { bm: 64, bn: 64, bk: 8, tm: 8, tn: 8 }],
  ["32x128 bk8 8x8", { bm: 32, bn: 128, bk: 8, tm: 8, tn: 8 }],
  ["64x256 bk8 8x8", { bm: 64, bn: 256, bk: 8, tm: 8, tn: 8 }],
  ["128x128 bk8 8x8", { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 }],
];
const splitkTunes: [string, Partial<SplitkConfig>][] = [
  ["unroll1", { unroll: 1 }],
  ["unroll2", { unroll: 2 }],
  ["unroll8", { unroll: 8 }],
  ["tm1", { tm: 1 }],
  ["tm4", { tm: 4 }],
  ["gn4", { gn: 4 }],
  ["gn16", { gn: 16, gm: 1, tm: 8 }],
  ["tm8 gm1", { tm: 8, gm: 1 }],
];
let seed = 100;
for (const c of cases) {
  const pr = makeProblem(c, seed++);
  const kern = matmulKernel({ ...c, maxWorkgroupStorage: smem });
  await measure(pr, kern, c.label ?? "");
  if (tune && kern.variant === "splitk") {
    const skinnyN = c.n <= 16;
    for (const [name, splitk] of splitkTunes) {
      // row-group knobs only matter when A is large, column-group ones when B is
      if (skinnyN ? name.startsWith("gn") || name === "tm8 gm1" : name === "tm1" || name === "tm4") continue;
      try {
        await measure(pr, matmulKernel({ ...c, splitk }), `${c.label} tune`, { tile: name });
      } catch (e) {
        console.log(JSON.stringify({ label: c.label, tile: name, error: String(e).slice(0, 300) }));
      }
    }
  }
  if (tune && c.m === c.n && c.n === c.k && c.m >= 2048 && !c.transA && !c.transB && !c.batch) {
    for (const [name, tile] of tuneConfigs) {
      if (2 * tile.bk * (tile.bm + tile.bn) * 4 > smem) continue;
      try {
        await measure(
          pr,
          matmulKernel({ ...c, variant: "large", tile, maxWorkgroupStorage: smem }),
          `${c.label} tune`,
          { tile: name },
        );
      } catch (e) {
        console.log(JSON.stringify({ label: c.label, tile: name, error: String(e).slice(0, 300) }));
      }
    }
  }
  freeProblem(pr);
}

console.log("\n| shape | variant | ms | TFLOP/s (wall) | TFLOP/s (gpu ts) | GB/s |\n|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.label}${r.tile ? ` [${r.tile}]` : ""} | ${r.variant} | ${r.ms} | ${r.tflops} | ${r.gpuTflops} | ${r.gbps} |`,
  );
}
if (jsonPath) Deno.writeTextFileSync(jsonPath, JSON.stringify({ adapter: info, features, results }, null, 1));
