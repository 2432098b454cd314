/**
 * WGSL float32 matrix-product kernels for the WebGPU backend.
 *
 *   C[b] = op(A[b]) @ op(B[b]),   op(X) = X or Xᵀ (read transposed in the kernel, never copied)
 *
 * Storage (all row-major float32): A is m×k (k×m when `transA`), B is k×n (n×k when `transB`),
 * C is m×n, batch b at offsets b·strideA, b·strideB, b·m·n elements (stride 0 broadcasts).
 * Bindings: 0 = A (read-only storage), 1 = B (read-only storage), 2 = C (read_write storage),
 * 3 = uniform {@link MatmulKernel.uniforms} (8 × u32: m, n, k, batch, strideA, strideB, 0, 0).
 *
 * Variants, picked by shape in {@link matmulKernel}:
 * - `large` (64×128 tile, 8×8 per thread, 128 threads) / `medium` (64×64, 4×4, 256 threads):
 *   workgroup tile BM×BN in workgroup memory (double-buffered over BK), each thread
 *   accumulating a TM×TN register block; vec4 loads and stores where the contiguous dimension
 *   is a multiple of 4. `large` when there are ≥ 256 of its tiles (2 per SM on an H100).
 * - `splitk`: one operand skinny (m ≤ 16 or n ≤ 16, e.g. LoRA factors): threads split k,
 *   read the large operand coalesced once, and sum their partial products in workgroup memory.
 * - `simple`: one output per thread, no workgroup memory; for tiny products.
 *
 * The WGSL source depends only on the variant, the transposes and the 4-alignment of the
 * operands, never on the exact sizes (those are uniforms), so pipelines cached by source are
 * shared across shapes. Generation is deterministic.
 * @module
 */
import { BackendError, ShapeError } from "../../errors.ts";
import { aIndex, bIndex, header, type Layout, scalarRead } from "./matmul_layout_wgsl.ts";
import { type SplitkConfig, splitkKernel } from "./matmul_splitk_wgsl.ts";

export type { SplitkConfig };

/** Shape and layout of one (batched) matrix product. */
export interface MatmulParams {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** Inner dimension. */
  k: number;
  /** Number of products (default 1). */
  batch?: number;
  /** A is stored k×m and read transposed. */
  transA?: boolean;
  /** B is stored n×k and read transposed. */
  transB?: boolean;
  /** Elements between consecutive batch entries of A (default m·k; 0 broadcasts one A). */
  strideA?: number;
  /** Elements between consecutive batch entries of B (default k·n; 0 broadcasts one B). */
  strideB?: number;
  /** Force a variant (tests and benchmarks); default picks by shape. */
  variant?: MatmulVariant;
  /** Override the tile configuration of the tiled variants (benchmarks). */
  tile?: TileConfig;
  /** Override parts of the split-k configuration (benchmarks). */
  splitk?: Partial<SplitkConfig>;
  /** Workgroup memory available, bytes (default 16384, WebGPU's default limit). */
  maxWorkgroupStorage?: number;
  /**
   * The adapter is a CPU fallback (`adapter.info.isFallbackAdapter`, e.g. llvmpipe): pick the
   * `simple` variant, which llvmpipe compiles in milliseconds (the tiled and split-k kernels take
   * it 5–30 s per pipeline). Ignored when `variant` is given.
   */
  fallbackAdapter?: boolean;
}

/** Kernel family names. */
export type MatmulVariant = "large" | "medium" | "splitk" | "simple";

/** Tile configuration of the tiled variants: BM×BN output tile, BK deep, TM×TN per thread. */
export interface TileConfig {
  /** Rows of the workgroup's output tile. */
  bm: number;
  /** Columns of the workgroup's output tile. */
  bn: number;
  /** Depth of one workgroup-memory stage. */
  bk: number;
  /** Rows per thread (multiple of 4). */
  tm: number;
  /** Columns per thread (multiple of 4). */
  tn: number;
}

/** Everything the backend needs to encode one matmul dispatch. */
export interface MatmulKernel {
  /** WGSL source (deterministic; cache pipelines by it). */
  code: string;
  /** Entry point name in `code`. */
  entryPoint: string;
  /** `@workgroup_size` of the entry point. */
  workgroupSize: [number, number, number];
  /** Workgroup counts for `dispatchWorkgroups(x, y, z)`. */
  dispatch: [number, number, number];
  /** Variant chosen. */
  variant: MatmulVariant;
  /** Contents of the uniform buffer at binding 3 ({@link MATMUL_UNIFORM_BYTES} bytes). */
  uniforms: Uint32Array;
}

/** Size in bytes of the uniform buffer at binding 3. */
export const MATMUL_UNIFORM_BYTES = 32;

/** Tile configurations of the two tiled variants. */
export const TILE_CONFIGS: Readonly<Record<"large" | "medium", TileConfig>> = {
  // H100 (Vulkan via Deno/wgpu), float32 TFLOP/s at 4096 / 8192: 64×128 bk8 8×8 (128 threads)
  // 33.3 / 34.9; 128×64 31.6 / 33.3; 128×128 bk16 29.1 / 28.9; 128×128 bk8 (256 threads) 23.4 / 23.1.
  large: { bm: 64, bn: 128, bk: 8, tm: 8, tn: 8 },
  // 1024: 64×64 bk16 4×4 21.5 TFLOP/s vs 20.9 for `large`.
  medium: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
};

const MAX_GROUPS = 65535;

/**
 * Generates the WGSL kernel, workgroup size, dispatch size and uniforms for
 * C[b] = op(A[b]) @ op(B[b]) on float32 row-major storage buffers.
 *
 * @example
 * ```ts
 * const kern = matmulKernel({ m: 4096, n: 4096, k: 4096 });
 * // device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code: kern.code }), entryPoint: kern.entryPoint } })
 * // pass.dispatchWorkgroups(...kern.dispatch)
 * ```
 * @param p shape, transposes, batch strides; optional variant/tile overrides
 * @returns the kernel description
 */
export function matmulKernel(p: MatmulParams): MatmulKernel {
  const { m, n, k } = p;
  const batch = p.batch ?? 1;
  const transA = p.transA ?? false;
  const transB = p.transB ?? false;
  const strideA = p.strideA ?? m * k;
  const strideB = p.strideB ?? k * n;
  for (
    const [name, v] of [["m", m], ["n", n], ["k", k], ["batch", batch], ["strideA", strideA], [
      "strideB",
      strideB,
    ]] as const
  ) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
      throw new ShapeError(`matmul (webgpu): ${name} = ${v} must be a non-negative integer below 2^32`);
    }
  }
  const uniforms = new Uint32Array([m, n, k, batch, strideA, strideB, 0, 0]);
  // 4-alignment of each operand's contiguous dimension (and of its batch stride) enables vec4 access.
  const alignA = (transA ? m : k) % 4 === 0 && strideA % 4 === 0;
  const alignB = (transB ? k : n) % 4 === 0 && strideB % 4 === 0;
  const alignC = n % 4 === 0;
  const smem = p.maxWorkgroupStorage ?? 16384;
  const variant = p.variant ?? (p.fallbackAdapter ? "simple" : pickVariant(m, n, k, batch));
  const L: Layout = { transA, transB, alignA, alignB, alignC };
  let out: Omit<MatmulKernel, "uniforms" | "variant">;
  if (variant === "simple") out = simpleKernel(L, m, n, batch);
  else if (variant === "splitk") out = splitkKernel(L, m, n, batch, p.splitk);
  else {
    const cfg = p.tile ?? TILE_CONFIGS[variant];
    checkTile(cfg, smem);
    out = tiledKernel(L, cfg, m, n, batch);
  }
  if (out.dispatch.some((d) => d > MAX_GROUPS)) {
    throw new BackendError(
      `matmul (webgpu): ${batch}×[${m}, ${k}] @ [${k}, ${n}] needs ${out.dispatch.join("×")} workgroups, ` +
        `over WebGPU's ${MAX_GROUPS} per dimension; split the batch or the matrix into smaller products`,
    );
  }
  return { ...out, variant, uniforms };
}

/**
 * Picks a variant: tiny products `simple`; skinny ones (m or n ≤ 16) `splitk`; products with at
 * least 256 tiles of `large` (2 per SM on a 132-SM H100) `large`; the rest `medium`.
 */
function pickVariant(m: number, n: number, k: number, batch: number): MatmulVariant {
  const flops = m * n * k * batch;
  if (flops <= 32 * 32 * 32 || (k <= 4 && m * n * batch <= 1 << 16)) return "simple";
  if (m <= 16 || n <= 16) return "splitk";
  const { bm, bn } = TILE_CONFIGS.large;
  const tiles = Math.ceil(m / bm) * Math.ceil(n / bn) * batch;
  return tiles >= 256 ? "large" : "medium";
}

// ---------------------------------------------------------------- simple

function simpleKernel(L: Layout, m: number, n: number, batch: number): Omit<MatmulKernel, "uniforms" | "variant"> {
  const code = header(L) + `
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = dims.m; let N = dims.n; let K = dims.k;
  let row = gid.y; let col = gid.x; let b = gid.z;
  if (row >= M || col >= N) { return; }
  let aBase = b * dims.strideA; let bBase = b * dims.strideB;
  // c = Σ_kk A[row, kk] · B[kk, col]
  var acc = 0.0;
  for (var kk = 0u; kk < K; kk++) {
    acc = fma(${scalarRead("A", L.alignA, aIndex(L, "row", "kk"))}, ${
    scalarRead("B", L.alignB, bIndex(L, "kk", "col"))
  }, acc);
  }
  let ci = b * M * N + row * N + col;
  ${L.alignC ? "C[ci >> 2u][ci & 3u] = acc;" : "C[ci] = acc;"}
}
`;
  return {
    code,
    entryPoint: "main",
    workgroupSize: [16, 16, 1],
    dispatch: [Math.ceil(n / 16), Math.ceil(m / 16), batch],
  };
}

// ---------------------------------------------------------------- tiled

function checkTile(c: TileConfig, smem: number): void {
  const threads = (c.bm / c.tm) * (c.bn / c.tn);
  const ok = c.tm % 4 === 0 && c.tn % 4 === 0 && c.bk % 4 === 0 && c.bm % c.tm === 0 && c.bn % c.tn === 0 &&
    Number.isInteger(threads) && threads <= 1024 && 2 * c.bk * (c.bm + c.bn) * 4 <= smem;
  const divides = (q: number) => q % threads === 0 || threads % q === 0;
  if (!ok || !divides((c.bm * c.bk) / 4) || !divides((c.bn * c.bk) / 4)) {
    throw new BackendError(
      `matmul (webgpu): tile config ${JSON.stringify(c)} is invalid for ${smem} bytes of workgroup memory`,
    );
  }
}

/**
 * Tiled kernel. Workgroup (x, y, z) computes C[b][y·BM .. +BM, x·BN .. +BN]. Thread (tx, ty)
 * owns rows g·4·THY + 4·ty + i and columns h·4·THX + 4·tx + j (g < TM/4, h < TN/4, i, j < 4),
 * so its shared-memory reads are vec4s. Workgroup memory holds two BK-deep stages:
 * As[s][kk][row] (op(A) transposed, k-major) and Bs[s][kk][col]; the next stage is fetched into
 * registers while the current one is multiplied, then stored, with one barrier per stage.
 */
function tiledKernel(
  L: Layout,
  c: TileConfig,
  m: number,
  n: number,
  batch: number,
): Omit<MatmulKernel, "uniforms" | "variant"> {
  const { bm: BM, bn: BN, bk: BK, tm: TM, tn: TN } = c;
  const THX = BN / TN, THY = BM / TM, T = THX * THY;
  const GA = TM / 4, GB = TN / 4; // vec4 groups per thread
  const AS = (BK * BM) / 4, BS = (BK * BN) / 4; // vec4s per stage
  const QA = (BM * BK) / 4, QB = (BN * BK) / 4; // quads (4 contiguous elements) per stage
  const lines: string[] = [];
  const w = (s: string) => lines.push(s);

  // --- global → register loads of one stage (quad q = lid + r·T), and register → shared stores.
  interface Quad {
    load: string[];
    store: string[];
  }
  const quadsA: Quad[] = [], quadsB: Quad[] = [];
  for (let r = 0; r < Math.max(1, QA / T); r++) {
    const q = `(lid + ${r * T}u)`, v = `ra${r}`;
    if (!L.transA) {
      // contiguous along k: quad = A[row, k0 + 4kq .. +3]; stored transposed (scalar stores).
      const row = `(${q} % ${BM}u)`, kq = `(${q} / ${BM}u)`;
      const gr = `(row0 + ${row})`, gk = `(k0 + ${kq} * 4u)`;
      quadsA.push({
        load: loadQuad(
          v,
          "A",
          L.alignA,
          (i) => aIndex(L, gr, `${gk} + ${i}u`),
          `${gr} < M`,
          (i) => `${gk} + ${i}u < K`,
        ),
        store: [0, 1, 2, 3].map((i) =>
          `As[sOff + (${kq} * 4u + ${i}u) * ${BM / 4}u + ${row} / 4u][${row} % 4u] = ${v}[${i}];`
        ),
      });
    } else {
      // contiguous along m: quad = A^T[k0 + kk, row0 + 4mq .. +3] = op(A)[rows, kk]; stored as vec4.
      const mq = `(${q} % ${BM / 4}u)`, kk = `(${q} / ${BM / 4}u)`;
      const gk = `(k0 + ${kk})`, gr = `(row0 + ${mq} * 4u)`;
      quadsA.push({
        load: loadQuad(
          v,
          "A",
          L.alignA,
          (i) => aIndex(L, `${gr} + ${i}u`, gk),
          `${gk} < K`,
          (i) => `${gr} + ${i}u < M`,
        ),
        store: [`As[sOff + ${kk} * ${BM / 4}u + ${mq}] = ${v};`],
      });
    }
  }
  for (let r = 0; r < Math.max(1, QB / T); r++) {
    const q = `(lid + ${r * T}u)`, v = `rb${r}`;
    if (!L.transB) {
      const nq = `(${q} % ${BN / 4}u)`, kk = `(${q} / ${BN / 4}u)`;
      const gk = `(k0 + ${kk})`, gc = `(col0 + ${nq} * 4u)`;
      quadsB.push({
        load: loadQuad(
          v,
          "B",
          L.alignB,
          (i) => bIndex(L, gk, `${gc} + ${i}u`),
          `${gk} < K`,
          (i) => `${gc} + ${i}u < N`,
        ),
        store: [`Bs[sOff + ${kk} * ${BN / 4}u + ${nq}] = ${v};`],
      });
    } else {
      const col = `(${q} % ${BN}u)`, kq = `(${q} / ${BN}u)`;
      const gc = `(col0 + ${col})`, gk = `(k0 + ${kq} * 4u)`;
      quadsB.push({
        load: loadQuad(
          v,
          "B",
          L.alignB,
          (i) => bIndex(L, `${gk} + ${i}u`, gc),
          `${gc} < N`,
          (i) => `${gk} + ${i}u < K`,
        ),
        store: [0, 1, 2, 3].map((i) =>
          `Bs[sOff + (${kq} * 4u + ${i}u) * ${BN / 4}u + ${col} / 4u][${col} % 4u] = ${v}[${i}];`
        ),
      });
    }
  }
  const guardA = QA < T ? `lid < ${QA}u` : "", guardB = QB < T ? `lid < ${QB}u` : "";
  const emitLoads = (ind: string) => {
    const block = (qs: Quad[], guard: string) => {
      if (guard) w(`${ind}if (${guard}) {`);
      for (const q of qs) for (const s of q.load) w(`${ind}${guard ? "  " : ""}${s}`);
      if (guard) w(`${ind}}`);
    };
    block(quadsA, guardA);
    block(quadsB, guardB);
  };
  const emitStores = (ind: string, stage: string) => {
    w(`${ind}{`);
    w(`${ind}  let sOff = ${stage} * ${AS}u;`);
    if (guardA) w(`${ind}  if (${guardA}) {`);
    for (const q of quadsA) for (const s of q.store) w(`${ind}  ${guardA ? "  " : ""}${s}`);
    if (guardA) w(`${ind}  }`);
    w(`${ind}}`);
    w(`${ind}{`);
    w(`${ind}  let sOff = ${stage} * ${BS}u;`);
    if (guardB) w(`${ind}  if (${guardB}) {`);
    for (const q of quadsB) for (const s of q.store) w(`${ind}  ${guardB ? "  " : ""}${s}`);
    if (guardB) w(`${ind}  }`);
    w(`${ind}}`);
  };

  w(header(L));
  w(`var<workgroup> As: array<vec4<f32>, ${2 * AS}>;`);
  w(`var<workgroup> Bs: array<vec4<f32>, ${2 * BS}>;`);
  w(``);
  w(`@compute @workgroup_size(${T}, 1, 1)`);
  w(`fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {`);
  w(`  let M = dims.m; let N = dims.n; let K = dims.k;`);
  w(`  let b = wg.z;`);
  w(`  let aBase = b * dims.strideA; let bBase = b * dims.strideB;`);
  w(`  let row0 = wg.y * ${BM}u; let col0 = wg.x * ${BN}u;`);
  w(`  let tx = lid % ${THX}u; let ty = lid / ${THX}u;`);
  for (let r = 0; r < Math.max(1, QA / T); r++) w(`  var ra${r} = vec4<f32>(0.0);`);
  for (let r = 0; r < Math.max(1, QB / T); r++) w(`  var rb${r} = vec4<f32>(0.0);`);
  for (let i = 0; i < TM; i++) for (let h = 0; h < GB; h++) w(`  var c${i}_${h} = vec4<f32>(0.0);`);
  w(`  let numTiles = (K + ${BK - 1}u) / ${BK}u;`);
  w(`  // prologue: stage 0`);
  w(`  {`);
  w(`    let k0 = 0u;`);
  emitLoads("    ");
  emitStores("    ", "0u");
  w(`  }`);
  w(`  workgroupBarrier();`);
  w(`  for (var t = 0u; t < numTiles; t++) {`);
  w(`    let cur = t & 1u;`);
  w(`    let more = t + 1u < numTiles;`);
  w(`    if (more) {`);
  w(`      let k0 = (t + 1u) * ${BK}u;`);
  emitLoads("      ");
  w(`    }`);
  w(`    // C_tile += As[cur]ᵀ · Bs[cur], one rank-1 update per kk`);
  w(`    let aOff = cur * ${AS}u + ty;`);
  w(`    let bOff = cur * ${BS}u + tx;`);
  for (let kk = 0; kk < BK; kk++) {
    for (let g = 0; g < GA; g++) w(`    let a${kk}_${g} = As[aOff + ${kk * (BM / 4) + g * THY}u];`);
    for (let h = 0; h < GB; h++) w(`    let b${kk}_${h} = Bs[bOff + ${kk * (BN / 4) + h * THX}u];`);
    for (let g = 0; g < GA; g++) {
      for (let i = 0; i < 4; i++) {
        for (let h = 0; h < GB; h++) {
          const acc = `c${g * 4 + i}_${h}`;
          w(`    ${acc} = fma(vec4<f32>(a${kk}_${g}[${i}]), b${kk}_${h}, ${acc});`);
        }
      }
    }
  }
  w(`    if (more) {`);
  emitStores("      ", "(1u - cur)");
  w(`    }`);
  w(`    workgroupBarrier();`);
  w(`  }`);
  // --- epilogue: write the register block.
  w(`  let cBase = b * M * N;`);
  for (let g = 0; g < GA; g++) {
    for (let i = 0; i < 4; i++) {
      const r = `row0 + ${g * 4 * THY + i}u + ty * 4u`;
      w(`  {`);
      w(`    let r = ${r};`);
      w(`    if (r < M) {`);
      for (let h = 0; h < GB; h++) {
        const acc = `c${g * 4 + i}_${h}`;
        w(`      {`);
        w(`        let cc = col0 + ${h * 4 * THX}u + tx * 4u;`);
        w(`        let ci = cBase + r * N + cc;`);
        if (L.alignC) {
          w(`        if (cc < N) { C[ci >> 2u] = ${acc}; }`);
        } else {
          for (let j = 0; j < 4; j++) w(`        if (cc + ${j}u < N) { C[ci + ${j}u] = ${acc}[${j}]; }`);
        }
        w(`      }`);
      }
      w(`    }`);
      w(`  }`);
    }
  }
  w(`}`);
  return {
    code: lines.join("\n") + "\n",
    entryPoint: "main",
    workgroupSize: [T, 1, 1],
    dispatch: [Math.ceil(n / BN), Math.ceil(m / BM), batch],
  };
}

/**
 * Statements loading 4 elements (a quad along the operand's contiguous dimension) into vec4 `v`,
 * zero outside the matrix. `idx(i)` is the flat element index of element i; `outer` the bounds
 * test of the quad's other coordinate; `inner(i)` that of element i along the contiguous one.
 * Aligned: one vec4 load (the quad is either wholly inside or wholly outside).
 */
function loadQuad(
  v: string,
  buf: "A" | "B",
  aligned: boolean,
  idx: (i: number) => string,
  outer: string,
  inner: (i: number) => string,
): string[] {
  if (aligned) {
    return [`${v} = select(vec4<f32>(0.0), ${buf}[(${idx(0)}) >> 2u], ${outer} && ${inner(0)});`];
  }
  return [0, 1, 2, 3].map((i) => `${v}[${i}] = select(0.0, ${buf}[${idx(i)}], ${outer} && ${inner(i)});`);
}
