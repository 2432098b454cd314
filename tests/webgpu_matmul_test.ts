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
  type MatmulVariant,
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
  p: Required<Omit<MatmulParams, "variant" | "tile" | "maxWorkgroupStorage">>,
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

// tile128 itself (8×8 register blocks, 256 threads) takes llvmpipe ~15 s per pipeline to compile;
// its code paths are covered by the small 8×8-block tile below. TANGENT_SLOW_TESTS=1 adds it.
const slow = (() => {
  try {
    return Deno.env.get("TANGENT_SLOW_TESTS") === "1";
  } catch {
    return false;
  }
})();
const variants: MatmulVariant[] = ["simple", "splitk", "tile64"];
const shapes: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [1, 9, 1],
  [17, 1, 33],
  [5, 4, 1],
  [33, 65, 17],
  [8, 12, 16],
  [130, 67, 21],
  [64, 128, 24],
];

Deno.test({
  name: "webgpu matmul: simple, splitk, tile64 on odd shapes and every transpose",
  ignore: skip,
  async fn() {
    let seed = 1;
    for (const variant of variants) {
      for (const [m, n, k] of shapes) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) await runCase(device!, { m, n, k, transA, transB, variant }, seed++);
        }
      }
    }
  },
});

Deno.test({
  name: "webgpu matmul: tiled kernel with 8×8 register blocks (small tile), odd and aligned shapes",
  ignore: skip,
  async fn() {
    const tile = { bm: 16, bn: 32, bk: 4, tm: 8, tn: 8 };
    let seed = 500;
    for (const [m, n, k] of [[33, 65, 17], [40, 64, 24], [1, 1, 1], [16, 3, 9]] as const) {
      for (const [transA, transB] of [[false, true], [true, false]]) {
        await runCase(device!, { m, n, k, transA, transB, variant: "tile128", tile }, seed++);
      }
    }
    await runCase(device!, { m: 20, n: 36, k: 12, batch: 2, strideA: 0, variant: "tile128", tile }, seed++);
  },
});

Deno.test({
  name: "webgpu matmul: tile128 (slow on llvmpipe; TANGENT_SLOW_TESTS=1)",
  ignore: skip || !slow,
  async fn() {
    let seed = 700;
    for (const [transA, transB] of [[false, false], [true, true]]) {
      await runCase(device!, { m: 130, n: 260, k: 20, transA, transB, variant: "tile128" }, seed++);
    }
  },
});

Deno.test({
  name: "webgpu matmul: batches with broadcast operands",
  ignore: skip,
  async fn() {
    let seed = 1000;
    for (const variant of variants) {
      await runCase(device!, { m: 9, n: 13, k: 11, batch: 3, variant }, seed++);
      await runCase(device!, { m: 9, n: 13, k: 11, batch: 3, strideA: 0, transB: true, variant }, seed++);
      await runCase(device!, { m: 12, n: 8, k: 20, batch: 2, strideB: 0, transA: true, variant }, seed++);
    }
  },
});

Deno.test({
  name: "webgpu matmul: shape-picked variants (skinny LoRA-like, mid, tiny)",
  ignore: skip,
  async fn() {
    const cases: MatmulParams[] = [
      { m: 256, n: 8, k: 96 }, // n-skinny → splitk
      { m: 8, n: 256, k: 96 }, // m-skinny → splitk
      { m: 200, n: 4, k: 64, transA: true },
      { m: 4, n: 200, k: 64, transB: true },
      { m: 150, n: 100, k: 40, transA: true, transB: true }, // tile64
      { m: 7, n: 3, k: 2 }, // simple
    ];
    let seed = 2000;
    for (const p of cases) await runCase(device!, p, seed++);
  },
});

Deno.test("matmul kernel generation is deterministic and shape-independent within a variant", () => {
  const a = matmulKernel({ m: 4096, n: 4096, k: 4096 });
  const b = matmulKernel({ m: 4096, n: 4096, k: 4096 });
  const c = matmulKernel({ m: 2048, n: 3072, k: 512 });
  assert.equal(a.code, b.code);
  assert.equal(a.variant, "tile128");
  assert.equal(a.code, c.code);
  assert.deepEqual(a.dispatch, [32, 32, 1]);
  assert.equal(matmulKernel({ m: 4096, n: 8, k: 4096 }).variant, "splitk");
  assert.equal(matmulKernel({ m: 2, n: 3, k: 4 }).variant, "simple");
});
