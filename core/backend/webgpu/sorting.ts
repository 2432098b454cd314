/**
 * WebGPU kernels of the ordering primitives, parallel within a row, with the semantics of the CPU
 * kernels in `cpu/sorting.ts`:
 * - argReduce: teams of threads per row (up to a workgroup) each walk a strided part of the row,
 *   then a tree in workgroup memory combines (value, position) pairs by a total preference (a NaN
 *   over any number, the larger (smaller) value, then the lower position), so the first extreme and
 *   the first NaN win whatever the tree's order; few long rows are split into segments of 4096
 *   (one workgroup each) whose pairs a second pass combines;
 * - sort: a bitonic sort of (key, position) pairs (sorting_bitonic.ts), stable, NaN last ascending;
 * - cumulative: rows of at most `sortingTuning.seqScan` elements run sequentially (the CPU's
 *   rounding exactly); longer rows by a parallel scan: teams scan blocks of up to 2048 elements
 *   (8 sequential terms per thread, then a Hillis–Steele scan of the threads' totals in workgroup
 *   memory), the blocks' totals are scanned the same way and added back. int32 wraps as on the CPU
 *   (sums and products modulo 2³² do not depend on the order); float32 sums and products of long
 *   rows round in another order than the CPU's sequential ones.
 * @module
 */
import { axisSplit, type Storage } from "../backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid, Uniforms } from "./runtime.ts";
import { encodeSort, sortingTuning } from "./sorting_bitonic.ts";
import { entry, memoCode, rowTeam, teamEntry, WG, wgslType } from "./wgsl.ts";

export { sortingTuning } from "./sorting_bitonic.ts";

/** Smallest power of two ≥ x (x ≥ 1). */
const pow2 = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));

/** WGSL: whether a value of type `t` is NaN (by its bits: a compiler may assume v == v). */
const isNaN = (t: string, v: string) => (t === "f32" ? `(bitcast<u32>(${v}) & 0x7fffffffu) > 0x7f800000u` : "false");

/** Elements of a row segment that one workgroup reduces when long rows are split (few rows). */
const ARG_SEGMENT = 4096;
/** Workgroups a split argReduce aims for (enough to fill a large GPU). */
const ARG_GROUPS = 256;

/**
 * The argReduce kernel. Mode 0: each (virtual) row of the input to its position; mode 2: segment
 * `r mod G` (of L elements) of row `r / G` to a (value, position) pair in pv/pi; mode 1: each row's G
 * pairs to the position of the preferred one.
 */
function argCode(t: string): string {
  return memoCode(
    `argr|${t}`,
    () =>
      `struct U { rows: u32, n: u32, inner: u32, lgS: u32, max: u32, mode: u32, G: u32, L: u32 }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<i32>;
@group(0) @binding(2) var<storage, read_write> pv: array<${t}>;
@group(0) @binding(3) var<storage, read_write> pi: array<u32>;
@group(0) @binding(4) var<uniform> u: U;
var<workgroup> bv: array<${t}, ${WG}>;
var<workgroup> bi: array<u32, ${WG}>;
const NONE = 0xffffffffu;
// (a, ia) preferred over (b, ib): a NaN first (the lower position among NaNs), then the extreme, then the lower position
fn better(a: ${t}, ia: u32, b: ${t}, ib: u32) -> bool {
  if (ib == NONE) { return ia != NONE; }
  if (ia == NONE) { return false; }
  let na = ${isNaN(t, "a")}; let nb = ${isNaN(t, "b")};
  if (na || nb) { return na && (!nb || ia < ib); }
  return select((a < b), (a > b), u.max == 1u) || (a == b && ia < ib);
}
${teamEntry()}
  var best: ${t}; var at = NONE;
  if (r < u.rows) {
    if ((u.mode & 1u) == 0u) {
      let row = r / u.G; let lo = (r % u.G) * u.L;
      let base = (row / u.inner) * u.n * u.inner + row % u.inner;
      let hi = min(u.n, lo + u.L);
      for (var j = lo + lane; j < hi; j += S) {
        let v = src[base + j * u.inner];
        if (better(v, j, best, at)) { best = v; at = j; }
      }
    } else {
      for (var j = r * u.G + lane; j < (r + 1u) * u.G; j += S) {
        if (better(pv[j], pi[j], best, at)) { best = pv[j]; at = pi[j]; }
      }
    }
  }
  bv[li] = best; bi[li] = at;
  workgroupBarrier();
  for (var s = S >> 1u; s > 0u; s >>= 1u) {
    if (lane < s && better(bv[li + s], bi[li + s], bv[li], bi[li])) { bv[li] = bv[li + s]; bi[li] = bi[li + s]; }
    workgroupBarrier();
  }
  if (lane == 0u && r < u.rows) {
    if ((u.mode & 2u) != 0u) { pv[r] = bv[li]; pi[r] = bi[li]; } else { dst[r] = i32(bi[li]); }
  }
}`,
  );
}

/**
 * Encodes argmax/argmin of `rows` rows of n into `out`. Few long rows are split into segments of
 * ARG_SEGMENT elements (one workgroup each, ARG_GROUPS workgroups in all at most), whose
 * (value, position) pairs a second pass reduces: the preference is a total order, so the split
 * changes nothing in the result.
 */
function encodeArg(
  gpu: WebGPUBackend,
  t: string,
  max: boolean,
  src: GPUBuffer,
  out: GPUBuffer,
  rows: number,
  n: number,
  inner: number,
): void {
  const rt = gpu.runtime;
  const G = Math.min(Math.ceil(n / ARG_SEGMENT), Math.ceil(ARG_GROUPS / rows));
  const code = argCode(t);
  const run = (mode: number, vrows: number, len: number, L: number, pv: GPUBuffer, pi: GPUBuffer) => {
    const S = rowTeam(len);
    const uniforms = new Uniforms().u(vrows, n, inner, Math.log2(S), max ? 1 : 0, mode, Math.max(G, 1), L).u32;
    rt.dispatch({
      code,
      inputs: [src],
      output: out,
      outputs: [pv, pi],
      uniforms,
      groups: grid(Math.ceil(vrows / (WG / S))),
    });
  };
  if (G <= 1) {
    const a = rt.alloc(4), b = rt.alloc(4); // unused pair bindings
    run(0, rows, n, n, a, b);
    rt.free(a);
    rt.free(b);
    return;
  }
  const L = Math.ceil(n / G);
  const pv = rt.alloc(rows * G * 4), pi = rt.alloc(rows * G * 4);
  run(2, rows * G, L, L, pv, pi);
  run(1, rows, G, L, pv, pi);
  rt.free(pv);
  rt.free(pi);
}

/** Elements per thread of the parallel scan (each thread's part is summed sequentially). */
const V = 8;

/** Running sum or product of each row of n sequentially, one thread per row (the CPU's order). */
function seqScanCode(t: string, op: "sum" | "prod"): string {
  return memoCode(`cum-seq|${t}|${op}`, () =>
    `struct U { rows: u32, n: u32, inner: u32, flag: u32 }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.rows")}
  let base = (i / u.inner) * u.n * u.inner + i % u.inner;
  var acc = ${t}(${op === "sum" ? 0 : 1});
  for (var k = 0u; k < u.n; k++) {
    let at = base + select(k, u.n - 1u - k, u.flag == 1u) * u.inner;
    acc = acc ${op === "sum" ? "+" : "*"} src[at];
    dst[at] = acc;
  }
}`);
}

/**
 * One level of the parallel scan: a team of S threads scans block `blk` (S·V elements) of a row,
 * each thread its V consecutive elements sequentially (in registers), the team its threads' totals
 * in workgroup memory; it writes the block's inclusive scan and, with more than one block per row,
 * the block's total to `sums`. (Workgroup memory stays at one word per thread: llvmpipe compiles
 * the zero-initialisation of a large workgroup array very slowly; sum and product share a pipeline.)
 */
function blockScanCode(t: string): string {
  return memoCode(
    `cum-block|${t}`,
    () =>
      `struct U { rows: u32, n: u32, inner: u32, flag: u32, nb: u32, lgS: u32, prod: u32 }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<storage, read_write> sums: array<${t}>;
@group(0) @binding(3) var<uniform> u: U;
var<workgroup> tot: array<${t}, ${WG}>;
fn op(a: ${t}, b: ${t}) -> ${t} { return select(a + b, a * b, u.prod == 1u); }
fn pos(base: u32, k: u32) -> u32 { return base + select(k, u.n - 1u - k, u.flag == 1u) * u.inner; }
${teamEntry("w")}
  let row = w / u.nb; let blk = w % u.nb;
  let live = row < u.rows;
  let base = (row / u.inner) * u.n * u.inner + row % u.inner;
  let k0 = (blk * S + lane) * ${V}u;
  var part: array<${t}, ${V}>;
  let ID = select(${t}(0), ${t}(1), u.prod == 1u);
  var acc = ID;
  for (var e = 0u; e < ${V}u; e++) {
    if (live && k0 + e < u.n) { acc = op(acc, src[pos(base, k0 + e)]); }
    part[e] = acc;
  }
  tot[li] = acc;
  workgroupBarrier();
  for (var d = 1u; d < S; d <<= 1u) {
    var v = tot[li];
    if (lane >= d) { v = op(tot[li - d], v); }
    workgroupBarrier();
    tot[li] = v;
    workgroupBarrier();
  }
  var p = ID;
  if (lane > 0u) { p = tot[li - 1u]; }
  for (var e = 0u; e < ${V}u; e++) {
    if (live && k0 + e < u.n) { dst[pos(base, k0 + e)] = select(op(p, part[e]), part[e], lane == 0u); }
  }
  if (live && u.nb > 1u && lane == S - 1u) { sums[row * u.nb + blk] = tot[li]; }
}`,
  );
}

/** Adds (multiplies) the scanned total of the blocks before each element's block into it. */
function addBackCode(t: string, op: "sum" | "prod"): string {
  return memoCode(`cum-add|${t}|${op}`, () =>
    `struct U { total: u32, n: u32, inner: u32, flag: u32, nb: u32, C: u32 }
@group(0) @binding(0) var<storage, read> sums: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.total")}
  let row = i / u.n; let k = i % u.n;
  let blk = k / u.C;
  if (blk == 0u) { return; }
  let at = (row / u.inner) * u.n * u.inner + row % u.inner + select(k, u.n - 1u - k, u.flag == 1u) * u.inner;
  dst[at] = sums[row * u.nb + blk - 1u] ${op === "sum" ? "+" : "*"} dst[at];
}`);
}

/** Encodes the inclusive scan of `rows` rows of n (layout as the sort's) from `src` into `dst`. */
function encodeScan(
  gpu: WebGPUBackend,
  t: string,
  op: "sum" | "prod",
  src: GPUBuffer,
  dst: GPUBuffer,
  rows: number,
  n: number,
  inner: number,
  reverse: boolean,
): void {
  const rt = gpu.runtime;
  if (n <= sortingTuning.seqScan) {
    rt.dispatch({
      code: seqScanCode(t, op),
      inputs: [src],
      output: dst,
      uniforms: new Uniforms().u(rows, n, inner, reverse ? 1 : 0).u32,
      groups: grid(Math.ceil(rows / WG)),
    });
    return;
  }
  const S = Math.min(WG, pow2(Math.ceil(n / V))), C = S * V;
  const nb = Math.ceil(n / C), teams = WG / S;
  const sums = rt.alloc(nb > 1 ? rows * nb * 4 : 4); // bound even when unused
  rt.dispatch({
    code: blockScanCode(t),
    inputs: [src],
    output: dst,
    outputs: [sums],
    uniforms: new Uniforms().u(rows, n, inner, reverse ? 1 : 0, nb, Math.log2(S), op === "prod" ? 1 : 0).u32,
    groups: grid(Math.ceil((rows * nb) / teams)),
  });
  if (nb > 1) {
    const scanned = rt.alloc(rows * nb * 4);
    encodeScan(gpu, t, op, sums, scanned, rows, nb, 1, false);
    rt.dispatch({
      code: addBackCode(t, op),
      inputs: [scanned],
      output: dst,
      uniforms: new Uniforms().u(rows * n, n, inner, reverse ? 1 : 0, nb, C).u32,
      groups: grid(Math.ceil((rows * n) / WG)),
    });
    rt.free(scanned);
  }
  rt.free(sums);
}

/** Registers argReduce, sort and cumulative. */
export function registerSorting(gpu: WebGPUBackend): void {
  const k = gpu.kernels;
  k.set("argReduce", ([x], [xa], p: { op: "max" | "min"; axis: number }, [o]): Storage[] => {
    const [outer, n, inner] = axisSplit(xa.shape, p.axis);
    const t = wgslType(xa.dtype, `arg${p.op}`);
    const out = gpu.alloc(o);
    const rows = outer * inner;
    if (rows > 0) encodeArg(gpu, t, p.op === "max", gpu.buf(x), out, rows, n, inner);
    return [gpu.wrap(out, o)];
  });

  k.set("sort", ([x], [xa], p: { axis: number; descending: boolean }, [vo, io]): Storage[] => {
    const [outer, n, inner] = axisSplit(xa.shape, p.axis);
    const t = wgslType(xa.dtype, "sort");
    const vals = gpu.alloc(vo), idx = gpu.alloc(io);
    encodeSort(gpu, t, p.descending, gpu.buf(x), vals, idx, outer * inner, n, inner);
    return [gpu.wrap(vals, vo), gpu.wrap(idx, io)];
  });

  k.set("cumulative", ([x], [xa], p: { op: "sum" | "prod"; axis: number; reverse: boolean }, [o]): Storage[] => {
    const [outer, n, inner] = axisSplit(xa.shape, p.axis);
    const t = wgslType(xa.dtype, `cum${p.op}`);
    const out = gpu.alloc(o);
    const rows = outer * inner;
    if (rows > 0 && n > 0) encodeScan(gpu, t, p.op, gpu.buf(x), out, rows, n, inner, p.reverse);
    return [gpu.wrap(out, o)];
  });
}
