/**
 * The split-k WGSL matmul variant, for skinny products (m ≤ 16 or n ≤ 16, e.g. LoRA factors):
 * threads split k, read the large operand coalesced once, and sum their partial products in
 * workgroup memory. Picked and dispatched by `matmulKernel` (`matmul_wgsl.ts`).
 * @module
 */
import { BackendError } from "../../errors.ts";
import { aIndex, bIndex, header, type Layout, scalarRead } from "./matmul_layout_wgsl.ts";
import type { MatmulKernel } from "./matmul_wgsl.ts";

/**
 * Configuration of the split-k variant: ks·gm·gn threads (256 by default) = ks k-lanes × gm row-groups × gn
 * column-groups, each thread accumulating tm×tn outputs; `order` lists the lane dimensions
 * fastest first; `unroll` k-quads are loaded before they are used (memory-level parallelism).
 */
export interface SplitkConfig {
  /** Rows per thread. */
  tm: number;
  /** Columns per thread. */
  tn: number;
  /** Row groups per workgroup. */
  gm: number;
  /** Column groups per workgroup. */
  gn: number;
  /** k-lanes per workgroup (ks·gm·gn threads, at most 256; default 256). */
  ks: number;
  /** Lane dimensions, fastest first. */
  order: ("k" | "m" | "n")[];
  /** k-quads per loop iteration. */
  unroll: number;
}

/** Default split-k configuration: the large operand is read along its contiguous dimension. */
function splitkDefaults(L: Layout, m: number, n: number): SplitkConfig {
  const nextPow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
  if (n <= 16 && (m > 16 || n <= m)) {
    // A is the large operand.
    const tn = n <= 4 ? Math.max(1, n) : Math.min(16, Math.ceil(n / 4) * 4);
    if (!L.transA) {
      return {
        // H100, 4096×4096 @ 4096×8: tm 4 → 1157 GB/s, tm 2 → 841, tm 1 → 461
        tm: Math.max(1, Math.min(4, Math.floor(32 / tn))),
        tn,
        gm: 8,
        gn: 1,
        ks: 32,
        order: ["k", "m", "n"],
        unroll: 4,
      };
    }
    return { tm: 1, tn, gm: 32, gn: 1, ks: 8, order: ["m", "k", "n"], unroll: 4 };
  }
  // B is the large operand.
  const tm = Math.min(4, Math.max(1, m));
  const gm = Math.min(4, nextPow2(Math.ceil(m / tm)));
  // H100, 8×4096 @ 4096×4096: gn 4 → 1309 GB/s, gn 8 → 854, gn 16 → 835
  if (!L.transB) return { tm, tn: 4, gm, gn: 4, ks: 256 / (gm * 4), order: ["n", "k", "m"], unroll: 4 };
  return { tm, tn: 4, gm, gn: 256 / (32 * gm), ks: 32, order: ["k", "n", "m"], unroll: 4 };
}

/**
 * Skinny products (m ≤ 16 or n ≤ 16): thread (kl, gm, gn) accumulates its TM×TN outputs over
 * k-quads kq ≡ kl (mod KS), the large operand read coalesced along its contiguous dimension
 * by neighbouring threads; then the KS partial sums of every output are added in workgroup
 * memory (in chunks of ≤ 8 outputs per thread).
 */
export function splitkKernel(
  L: Layout,
  m: number,
  n: number,
  batch: number,
  over: Partial<SplitkConfig> = {},
): Omit<MatmulKernel, "uniforms" | "variant"> {
  const cfg = { ...splitkDefaults(L, m, n), ...over };
  if (over.ks === undefined && (over.gm !== undefined || over.gn !== undefined)) cfg.ks = 256 / (cfg.gm * cfg.gn);
  const { tm: TM, tn: TN, gm: GM, gn: GN, ks: KS, order, unroll: U } = cfg;
  const T = KS * GM * GN;
  if (T > 256 || !Number.isInteger(KS) || KS < 1 || new Set(order).size !== 3) {
    throw new BackendError(`matmul (webgpu): split-k config ${JSON.stringify(cfg)} must have ks·gm·gn ≤ 256`);
  }
  const bigA = n <= 16 && (m > 16 || n <= m);
  const size = { k: KS, m: GM, n: GN };
  const lines: string[] = [];
  const w = (s: string) => lines.push(s);
  w(header(L));
  const CH = Math.min(8, TM * TN); // outputs per thread per reduction chunk
  const chunks = Math.ceil((TM * TN) / CH);
  const OUTC = GM * GN * CH; // outputs per chunk
  w(`var<workgroup> red: array<f32, ${KS * (OUTC + 1)}>;`);
  w(``);
  w(`@compute @workgroup_size(${T}, 1, 1)`);
  w(`fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {`);
  w(`  let M = dims.m; let N = dims.n; let K = dims.k;`);
  w(`  let b = wg.z;`);
  w(`  let aBase = b * dims.strideA; let bBase = b * dims.strideB;`);
  // decompose lid: fastest first
  let div = 1;
  const lane: Record<string, string> = {};
  for (const d of order) {
    lane[d] = `((lid / ${div}u) % ${size[d]}u)`;
    div *= size[d];
  }
  w(`  let kl = ${lane.k}; let gm = ${lane.m}; let gn = ${lane.n};`);
  w(`  let row0 = wg.y * ${GM * TM}u + gm * ${TM}u;`);
  w(`  let col0 = wg.x * ${GN * TN}u + gn * ${TN}u;`);
  for (let i = 0; i < TM; i++) for (let j = 0; j < TN; j++) w(`  var c${i}_${j} = 0.0;`);

  // op(A)[row0+i, ku+kk] as a${u}_${i}_${kk}
  const loadA = (u: number, ind: string) => {
    const ku = `k${u}`;
    for (let i = 0; i < TM; i++) {
      const r = `row0 + ${i}u`;
      if (!L.transA && L.alignA) {
        w(`${ind}let av${u}_${i} = select(vec4<f32>(0.0), A[(${aIndex(L, r, ku)}) >> 2u], ${r} < M && ${ku} < K);`);
        for (let kk = 0; kk < 4; kk++) w(`${ind}let a${u}_${i}_${kk} = av${u}_${i}[${kk}];`);
      } else {
        for (let kk = 0; kk < 4; kk++) {
          const idx = aIndex(L, r, `${ku} + ${kk}u`);
          w(`${ind}let a${u}_${i}_${kk} = select(0.0, ${
            scalarRead("A", L.alignA, idx)
          }, ${r} < M && ${ku} + ${kk}u < K);`);
        }
      }
    }
  };
  // op(B)[ku+kk, col0+j] as b${u}_${kk}_${j}
  const loadB = (u: number, ind: string) => {
    const ku = `k${u}`;
    if (!L.transB && L.alignB && TN % 4 === 0) {
      for (let kk = 0; kk < 4; kk++) {
        for (let h = 0; h < TN / 4; h++) {
          const cc = `col0 + ${4 * h}u`;
          const idx = bIndex(L, `${ku} + ${kk}u`, cc);
          w(`${ind}let bv${u}_${kk}_${h} = select(vec4<f32>(0.0), B[(${idx}) >> 2u], ${ku} + ${kk}u < K && ${cc} < N);`);
          for (let j = 0; j < 4; j++) w(`${ind}let b${u}_${kk}_${4 * h + j} = bv${u}_${kk}_${h}[${j}];`);
        }
      }
    } else if (L.transB && L.alignB) {
      for (let j = 0; j < TN; j++) {
        const idx = bIndex(L, ku, `col0 + ${j}u`);
        w(`${ind}let bt${u}_${j} = select(vec4<f32>(0.0), B[(${idx}) >> 2u], col0 + ${j}u < N && ${ku} < K);`);
        for (let kk = 0; kk < 4; kk++) w(`${ind}let b${u}_${kk}_${j} = bt${u}_${j}[${kk}];`);
      }
    } else {
      for (let kk = 0; kk < 4; kk++) {
        for (let j = 0; j < TN; j++) {
          const idx = bIndex(L, `${ku} + ${kk}u`, `col0 + ${j}u`);
          w(`${ind}let b${u}_${kk}_${j} = select(0.0, ${
            scalarRead("B", L.alignB, idx)
          }, ${ku} + ${kk}u < K && col0 + ${j}u < N);`);
        }
      }
    }
  };
  w(`  // c[i, j] += Σ_{kk<4} op(A)[row0+i, 4kq+kk] · op(B)[4kq+kk, col0+j] for kq ≡ kl (mod ${KS})`);
  w(`  for (var kb = kl * 4u; kb < K; kb += ${KS * 4 * U}u) {`);
  for (let u = 0; u < U; u++) w(`    let k${u} = kb + ${u * KS * 4}u;`);
  // the large operand's loads first, all of them, so they are in flight together
  for (let u = 0; u < U; u++) (bigA ? loadA : loadB)(u, "    ");
  for (let u = 0; u < U; u++) {
    (bigA ? loadB : loadA)(u, "    ");
    for (let kk = 0; kk < 4; kk++) {
      for (let i = 0; i < TM; i++) {
        for (let j = 0; j < TN; j++) w(`    c${i}_${j} = fma(a${u}_${i}_${kk}, b${u}_${kk}_${j}, c${i}_${j});`);
      }
    }
  }
  w(`  }`);
  // reduction over kl, in chunks of CH outputs per thread
  w(`  let g = gm * ${GN}u + gn;`);
  w(`  let cBase = b * M * N;`);
  for (let ch = 0; ch < chunks; ch++) {
    w(`  // chunk ${ch}: red[kl][g·${CH} + e] = partial of output e`);
    for (let e = 0; e < CH; e++) {
      const o = ch * CH + e;
      if (o >= TM * TN) break;
      const [i, j] = [Math.floor(o / TN), o % TN];
      w(`  red[kl * ${OUTC + 1}u + g * ${CH}u + ${e}u] = c${i}_${j};`);
    }
    w(`  workgroupBarrier();`);
    for (let base = 0; base < OUTC; base += T) {
      w(`  {`);
      w(`    let o = lid + ${base}u;`);
      w(`    let og = o / ${CH}u; let e = o % ${CH}u + ${ch * CH}u;`);
      w(`    let r = wg.y * ${GM * TM}u + (og / ${GN}u) * ${TM}u + e / ${TN}u;`);
      w(`    let cc = wg.x * ${GN * TN}u + (og % ${GN}u) * ${TN}u + e % ${TN}u;`);
      w(`    if (o < ${OUTC}u && e < ${TM * TN}u && r < M && cc < N) {`);
      w(`      var s = 0.0;`);
      w(`      for (var l = 0u; l < ${KS}u; l++) { s += red[l * ${OUTC + 1}u + o]; }`);
      w(`      let ci = cBase + r * N + cc;`);
      w(`      ${L.alignC ? "C[ci >> 2u][ci & 3u] = s;" : "C[ci] = s;"}`);
      w(`    }`);
      w(`  }`);
    }
    if (ch + 1 < chunks) w(`  workgroupBarrier();`);
  }
  w(`}`);
  return {
    code: lines.join("\n") + "\n",
    entryPoint: "main",
    workgroupSize: [T, 1, 1],
    dispatch: [Math.ceil(n / (GN * TN)), Math.ceil(m / (GM * TM)), batch],
  };
}
