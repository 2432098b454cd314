/**
 * Correctness of the WGSL matmul kernels (core/backend/webgpu/matmul_wgsl.ts) on whatever WebGPU
 * adapter is present (llvmpipe in CI): every variant, odd shapes, transposes, batches with
 * broadcast operands, against a float64 CPU reference.
 */
import assert from "node:assert/strict";
import {
  MATMUL_UNIFORM_BYTES,
  matmulKernel,
  type MatmulParams,
  type SplitkConfig,
  type TileConfig,
} from "../core/backend/webgpu/matmul_wgsl.ts";

const adapter = await navigator.gpu?.requestAdapter();
const device = await adapter?.requestDevice();
const skip = !device;
if (skip) console.warn("webgpu_matmul_test: navigator.gpu / adapter absent; skipping WebGPU matmul tests");

/** Deterministic uniform [-1, 1) data. */
function rand(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** C[b] = op(A[b]) @ op(B[b]) in float64. */
function reference(
  p: Required<Omit<MatmulParams, "variant" | "tile" | "splitk" | "maxWorkgroupStorage" | "fallbackAdapter">>,
  a: Float32Array,
  b: Float32Array,
): Float64Array {
  const { m, n, k, batch, transA, transB, strideA, strideB } = p;
  const c = new Float64Array(batch * m * n);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) {
          const av = a[z * strideA + (transA ? l * m + i : i * k + l)];
          const bv = b[z * strideB + (transB ? j * k + l : l * n + j)];
          s += av * bv;
        }
        c[z * m * n + i * n + j] = s;
      }
    }
  }
  return c;
}

function buffer(dev: GPUDevice, data: Float32Array | Uint32Array, usage: number): GPUBuffer {
  const buf = dev.createBuffer({
    size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
    usage: usage | GPUBufferUsage.COPY_DST,
  });
  dev.queue.writeBuffer(buf, 0, data);
  return buf;
}

const pipelines = new Map<string, GPUComputePipeline>();

async function runCase(dev: GPUDevice, p: MatmulParams, seed: number): Promise<void> {
  const full = {
    m: p.m,
    n: p.n,
    k: p.k,
    batch: p.batch ?? 1,
    transA: p.transA ?? false,
    transB: p.transB ?? false,
    strideA: p.strideA ?? p.m * p.k,
    strideB: p.strideB ?? p.k * p.n,
  };
  const sizeA = full.strideA * (full.batch - 1) + full.m * full.k;
  const sizeB = full.strideB * (full.batch - 1) + full.k * full.n;
  const a = rand(sizeA, seed), b = rand(sizeB, seed + 1);
  const kern = matmulKernel(p);
  const S = GPUBufferUsage.STORAGE;
  const ba = buffer(dev, a, S), bb = buffer(dev, b, S);
  const cSize = full.batch * full.m * full.n;
  const poison = new Float32Array(cSize).fill(NaN);
  const bc = buffer(dev, poison, S | GPUBufferUsage.COPY_SRC);
  const bu = buffer(dev, kern.uniforms, GPUBufferUsage.UNIFORM);
  assert.equal(kern.uniforms.byteLength, MATMUL_UNIFORM_BYTES);
  dev.pushErrorScope("validation");
  // llvmpipe compiles slowly: one pipeline per distinct source, as the backend does.
  let pipeline = pipelines.get(kern.code);
  if (!pipeline) {
    pipeline = dev.createComputePipeline({
      layout: "auto",
      compute: { module: dev.createShaderModule({ code: kern.code }), entryPoint: kern.entryPoint },
    });
    pipelines.set(kern.code, pipeline);
  }
  const bind = dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [ba, bb, bc, bu].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const rb = dev.createBuffer({ size: bc.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = dev.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(...kern.dispatch);
  pass.end();
  enc.copyBufferToBuffer(bc, 0, rb, 0, bc.size);
  dev.queue.submit([enc.finish()]);
  const err = await dev.popErrorScope();
  assert.equal(err, null, `${JSON.stringify(p)}: ${err?.message}\n${kern.code}`);
  await rb.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(rb.getMappedRange().slice(0, cSize * 4));
  rb.unmap();
  for (const x of [ba, bb, bc, bu, rb]) x.destroy();
  const want = reference(full, a, b);
  // ‖got − want‖ / ‖want‖ (float32 accumulation of k terms), and every element written.
  let num = 0, den = 0;
  for (let i = 0; i < cSize; i++) {
    assert.ok(Number.isFinite(got[i]), `${kern.variant} ${JSON.stringify(p)}: C[${i}] not written (${got[i]})`);
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  const rel = Math.sqrt(num / Math.max(den, 1e-30));
  assert.ok(rel < 1e-5, `${kern.variant} ${JSON.stringify(p)}: relative error ${rel}`);
}

// llvmpipe compiles the production configurations slowly (5–30 s per pipeline: `large`, `medium`,
// default `splitk`), so this file checks every code path of the generators with small
// configurations (a few hundred ms each) and leaves the production ones to TANGENT_SLOW_TESTS=1
// and to bench/webgpu_matmul_bench.ts, which checks all of them on the GPU before timing.
const slow = (() => {
  try {
    return Deno.env.get("TANGENT_SLOW_TESTS") === "1";
  } catch {
    return false;
  }
})();
const trans: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
/** Small configurations with the production kernels' structure. */
const TILE_8X8: TileConfig = { bm: 16, bn: 32, bk: 4, tm: 8, tn: 8 }; // 8×8 blocks, 2 vec4 groups, several quads per thread
const TILE_GUARDED: TileConfig = { bm: 8, bn: 32, bk: 4, tm: 4, tn: 4 }; // fewer A quads than threads
const SPLITK_A: Partial<SplitkConfig> = { tm: 2, tn: 3, gm: 2, gn: 2, ks: 4, order: ["k", "m", "n"], unroll: 2 };
const SPLITK_B: Partial<SplitkConfig> = { tm: 3, tn: 4, gm: 2, gn: 2, ks: 4, order: ["n", "k", "m"], unroll: 1 };

Deno.test({
  name: "webgpu matmul: simple variant on odd shapes and every transpose",
  ignore: skip,
  async fn() {
    const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [17, 1, 33], [33, 65, 17], [8, 12, 16], [
      20,
      8,
      4,
    ]];
    let seed = 1;
    for (const [m, n, k] of shapes) {
      for (const [transA, transB] of trans) {
        await runCase(device!, { m, n, k, transA, transB, variant: "simple" }, seed++);
      }
    }
  },
});

Deno.test({
  name: "webgpu matmul: split-k kernel (small configurations) on skinny and odd shapes, every transpose",
  ignore: skip,
  async fn() {
    let seed = 100;
    for (const [transA, transB] of trans) {
      // n-skinny, unaligned: A is the large operand (its loads are issued first)
      for (const [m, n, k] of [[37, 6, 45], [1, 1, 1]]) {
        await runCase(device!, { m, n, k, transA, transB, variant: "splitk", splitk: SPLITK_A }, seed++);
      }
      // m-skinny, aligned: B is the large operand (vec4 loads)
      for (const [m, n, k] of [[8, 40, 64], [5, 3, 9]]) {
        await runCase(device!, { m, n, k, transA, transB, variant: "splitk", splitk: SPLITK_B }, seed++);
      }
    }
  },
});

Deno.test({
  name: "webgpu matmul: tiled kernel (small configurations) on odd and aligned shapes, every transpose",
  ignore: skip,
  async fn() {
    let seed = 500;
    for (const [transA, transB] of trans) {
      const tile = transA === transB ? TILE_8X8 : TILE_GUARDED;
      for (const [m, n, k] of [[33, 65, 17], [40, 64, 24], [1, 1, 1]]) {
        await runCase(device!, { m, n, k, transA, transB, variant: "large", tile }, seed++);
      }
    }
  },
});

Deno.test({
  name: "webgpu matmul: batches with broadcast operands",
  ignore: skip,
  async fn() {
    let seed = 1000;
    const kinds: Partial<MatmulParams>[] = [
      { variant: "simple" },
      { variant: "splitk", splitk: SPLITK_A },
      { variant: "large", tile: TILE_8X8 },
    ];
    for (const kind of kinds) {
      await runCase(device!, { m: 9, n: 13, k: 11, batch: 3, ...kind }, seed++);
      await runCase(device!, { m: 9, n: 13, k: 11, batch: 3, strideA: 0, transB: true, ...kind }, seed++);
      await runCase(device!, { m: 12, n: 8, k: 20, batch: 2, strideB: 0, transA: true, ...kind }, seed++);
    }
  },
});

Deno.test({
  name: "webgpu matmul: production configurations (slow on llvmpipe; TANGENT_SLOW_TESTS=1)",
  ignore: skip || !slow,
  async fn() {
    let seed = 700;
    const cases: MatmulParams[] = [
      { m: 130, n: 260, k: 20, variant: "large" },
      { m: 130, n: 260, k: 21, transA: true, transB: true, variant: "large" },
      { m: 150, n: 100, k: 40, transA: true, variant: "medium" },
      { m: 256, n: 8, k: 96 }, // n-skinny → splitk
      { m: 8, n: 256, k: 96, transA: true }, // m-skinny → splitk
      { m: 200, n: 5, k: 63, transB: true },
    ];
    for (const p of cases) await runCase(device!, p, seed++);
  },
});

Deno.test({
  name: "webgpu matmul: fallbackAdapter picks the simple kernel",
  ignore: skip,
  async fn() {
    const p = { m: 70, n: 9, k: 33, transB: true, fallbackAdapter: true };
    assert.equal(matmulKernel(p).variant, "simple");
    await runCase(device!, p, 900);
  },
});

Deno.test("matmul kernel generation: variants by shape, deterministic, shape-independent source", () => {
  const a = matmulKernel({ m: 4096, n: 4096, k: 4096 });
  const b = matmulKernel({ m: 4096, n: 4096, k: 4096 });
  const c = matmulKernel({ m: 2048, n: 3072, k: 512 });
  assert.equal(a.code, b.code);
  assert.equal(a.variant, "large");
  assert.equal(a.code, c.code);
  assert.deepEqual(a.dispatch, [32, 64, 1]);
  assert.deepEqual(a.workgroupSize, [128, 1, 1]);
  assert.equal(matmulKernel({ m: 1024, n: 1024, k: 1024 }).variant, "medium");
  assert.equal(matmulKernel({ m: 4096, n: 8, k: 4096 }).variant, "splitk");
  assert.equal(matmulKernel({ m: 8, n: 4096, k: 4096, transA: true }).variant, "splitk");
  assert.equal(matmulKernel({ m: 2, n: 3, k: 4 }).variant, "simple");
  assert.notEqual(matmulKernel({ m: 64, n: 64, k: 64, transA: true }).code, matmulKernel({ m: 64, n: 64, k: 64 }).code);
  assert.deepEqual([...matmulKernel({ m: 5, n: 6, k: 7, batch: 2, strideA: 0 }).uniforms], [5, 6, 7, 2, 0, 42, 0, 0]);
  assert.throws(() => matmulKernel({ m: -1, n: 2, k: 2 }), /non-negative integer/);
  assert.throws(
    () => matmulKernel({ m: 8, n: 8, k: 8, variant: "large", tile: { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 } }),
    /invalid/,
  );
});
