/**
 * The WebGPU `sort` kernel: a bitonic sort of (key, position) pairs per row. Each value becomes a
 * u32 key whose unsigned order is the sort's order (floats by their sign-flipped bits, −0 as +0,
 * every NaN the largest key ascending, the smallest descending, descending as the complement);
 * pairs compare by key, then position, so the sort is stable and its result is the CPU's exactly.
 * A row is padded to a power of two P with (0xffffffff, position ≥ n) pairs, which sort last.
 *
 * - Rows with P ≤ the tile (the largest power of two whose pairs fit in workgroup memory, ≤ 4096):
 *   one dispatch; a workgroup sorts a tile of one or more whole rows in workgroup memory.
 * - Longer rows: the tiles are sorted in workgroup memory (alternating directions), then each merge
 *   stage k = 2·tile … P runs its strides j ≥ tile as global compare-exchange dispatches (one
 *   thread per pair) and its strides below the tile in workgroup memory. Every pass is encoded
 *   without a host read; the padded pairs live in two scratch buffers.
 *
 * The sorted values are gathered from the input by position at the end (so −0 and NaN payloads
 * come out as they went in).
 * @module
 */
import type { GPUBuffer } from "./gpu_types.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, memoCode, WG } from "./wgsl.ts";

/** Sizes of the ordering kernels (mutable: tests lower them to reach the multi-pass paths with short rows). */
export const sortingTuning: {
  /** Elements one workgroup sorts in workgroup memory (a power of two ≥ 2; 0: from the device's limit, ≤ 4096). */
  tile: number;
  /** Rows of at most this many elements are scanned sequentially by cumsum/cumprod (the CPU's rounding). */
  seqScan: number;
} = { tile: 0, seqScan: 64 };

/**
 * The sort tile of `gpu`: the largest power of two whose (key, position) pairs fit in its workgroup
 * memory, at most 4096; 512 on a software adapter (llvmpipe compiles a shader's zero-initialisation
 * of workgroup memory in time that grows with its square: 40 s for 2048 words, 1 s for 512 pairs).
 */
export function sortTile(gpu: WebGPUBackend): number {
  if (sortingTuning.tile > 0) return sortingTuning.tile;
  const fit = 2 ** Math.floor(Math.log2(Math.max(16, gpu.runtime.maxWorkgroupStorage) / 8));
  const info = (gpu.runtime.device as { adapterInfo?: { isFallbackAdapter?: boolean } }).adapterInfo;
  const software = info?.isFallbackAdapter === true || SOFTWARE.test(gpu.description);
  return Math.min(software ? 512 : 4096, fit);
}

/** Adapter descriptions of software rasterizers (CPU fallbacks). */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render/i;

/** WGSL: the u32 sort key of a value of type `t`, ascending (the complement when mode bit 2 asks for descending). */
function keyFn(t: string): string {
  let asc: string;
  if (t === "f32") {
    asc = `var b = bitcast<u32>(v);
  let m = b & 0x7fffffffu;
  if (m > 0x7f800000u) { b = 0xffffffffu; } // NaN: largest
  else {
    if (m == 0u) { b = 0u; } // −0 ties +0
    b = select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
  }`;
  } else asc = `let b = ${t === "i32" ? "bitcast<u32>(v) ^ 0x80000000u" : "v"};`;
  return `fn key(v: ${t}) -> u32 {
  ${asc}
  return select(b, ~b, (u.mode & 4u) != 0u);
}`;
}

/**
 * The workgroup kernel: loads `u.E` padded pairs starting at flat position g·E of the [rows, P]
 * array (from the input or the scratch buffers), runs the merge stages k = k0 … k1 (strides from
 * min(k, E)/2 down to 1), and stores them (to the scratch buffers or, sorted, to the outputs).
 * Mode bit 0: read scratch; bit 1: write the outputs; bit 2: descending. One pipeline per element
 * type and tile (llvmpipe takes about a second to compile each).
 */
function tileCode(t: string, tile: number): string {
  return memoCode(
    `sort-tile|${t}|${tile}`,
    () =>
      `struct U { rows: u32, n: u32, inner: u32, P: u32, lgP: u32, E: u32, k0: u32, k1: u32, mode: u32 }
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> vals: array<${t}>;
@group(0) @binding(2) var<storage, read_write> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> sk: array<u32>;
@group(0) @binding(4) var<storage, read_write> si: array<u32>;
@group(0) @binding(5) var<uniform> u: U;
var<workgroup> w: array<vec2<u32>, ${tile}>;
${keyFn(t)}
fn at(r: u32, c: u32) -> u32 { return (r / u.inner) * u.n * u.inner + c * u.inner + r % u.inner; }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let base = (wg.y * nwg.x + wg.x) * u.E;
  let pm = u.P - 1u;
  for (var q = li; q < u.E; q += ${WG}u) {
    let f = base + q;
    if ((u.mode & 1u) == 1u) { w[q] = vec2<u32>(sk[f], si[f]); continue; }
    let r = f >> u.lgP; let c = f & pm;
    var kk = 0xffffffffu;
    if (r < u.rows && c < u.n) { kk = key(src[at(r, c)]); }
    w[q] = vec2<u32>(kk, c);
  }
  workgroupBarrier();
  let half = u.E >> 1u;
  for (var k = u.k0; k <= u.k1; k <<= 1u) {
    for (var j = min(k, u.E) >> 1u; j > 0u; j >>= 1u) {
      for (var s = li; s < half; s += ${WG}u) {
        let i = ((s & ~(j - 1u)) << 1u) | (s & (j - 1u));
        let l = i | j;
        let up = (((base + i) & pm) & k) == 0u;
        let a = w[i]; let b = w[l];
        if ((a.x > b.x || (a.x == b.x && a.y > b.y)) == up) { w[i] = b; w[l] = a; }
      }
      workgroupBarrier();
    }
  }
  for (var q = li; q < u.E; q += ${WG}u) {
    let f = base + q;
    if ((u.mode & 2u) == 0u) { sk[f] = w[q].x; si[f] = w[q].y; continue; }
    let r = f >> u.lgP; let c = f & pm;
    if (r < u.rows && c < u.n) {
      let o = at(r, c);
      idx[o] = i32(w[q].y);
      vals[o] = src[at(r, w[q].y)];
    }
  }
}`,
  );
}

/** One global compare-exchange step (merge stage k, stride j ≥ the tile) over the scratch pairs. */
const STEP = memoCode(
  "sort-step",
  () =>
    `struct U { pairs: u32, P: u32, lgP: u32, k: u32, j: u32 }
@group(0) @binding(0) var<storage, read_write> sk: array<u32>;
@group(0) @binding(1) var<storage, read_write> si: array<u32>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.pairs")}
  let r = i >> (u.lgP - 1u); let s = i & ((u.P >> 1u) - 1u);
  let p = ((s & ~(u.j - 1u)) << 1u) | (s & (u.j - 1u));
  let up = (p & u.k) == 0u;
  let a = (r << u.lgP) + p; let b = a + u.j;
  let ka = sk[a]; let kb = sk[b]; let ia = si[a]; let ib = si[b];
  if ((ka > kb || (ka == kb && ia > ib)) == up) { sk[a] = kb; sk[b] = ka; si[a] = ib; si[b] = ia; }
}`,
);

/**
 * Encodes the stable sort of `rows` rows of `n` elements of WGSL type `t` (row r's element c at
 * (r / inner)·n·inner + c·inner + r mod inner of `src`) into `vals` and `idx` (same layout).
 */
export function encodeSort(
  gpu: WebGPUBackend,
  t: string,
  desc: boolean,
  src: GPUBuffer,
  vals: GPUBuffer,
  idx: GPUBuffer,
  rows: number,
  n: number,
  inner: number,
): void {
  if (rows === 0 || n === 0) return;
  const rt = gpu.runtime;
  const tile = sortTile(gpu);
  const lgP = Math.ceil(Math.log2(n)), P = 2 ** lgP;
  const dir = desc ? 4 : 0;
  const uni = (E: number, k0: number, k1: number, mode: number) =>
    new Uniforms().u(rows, n, inner, P, lgP, E, k0, k1, mode | dir).u32;
  const code = tileCode(t, tile);
  if (P <= tile) {
    // whole rows per workgroup: E = P · (rows per tile), no more than the rows there are; the
    // scratch bindings are unused (a 4-byte buffer each)
    const E = Math.min(tile, P * 2 ** Math.ceil(Math.log2(rows)));
    const none = rt.alloc(4), none2 = rt.alloc(4);
    rt.dispatch({
      code,
      inputs: [src],
      output: vals,
      outputs: [idx, none, none2],
      uniforms: uni(E, 2, P, 2),
      groups: grid(Math.ceil((rows * P) / E)),
    });
    rt.free(none);
    rt.free(none2);
    return;
  }
  const sk = rt.alloc(rows * P * 4), si = rt.alloc(rows * P * 4);
  const groups = grid((rows * P) / tile);
  const local = (k0: number, k1: number, mode: number) =>
    rt.dispatch({
      code,
      inputs: [src],
      output: vals,
      outputs: [idx, sk, si],
      uniforms: uni(tile, k0, k1, mode),
      groups,
    });
  local(2, tile, 0);
  const pairs = (rows * P) / 2;
  for (let k = 2 * tile; k <= P; k *= 2) {
    for (let j = k / 2; j >= tile; j /= 2) {
      rt.dispatch({
        code: STEP,
        inputs: [],
        output: sk,
        outputs: [si],
        uniforms: new Uniforms().u(pairs, P, lgP, k, j).u32,
        groups: grid(Math.ceil(pairs / WG)),
      });
    }
    local(k, k, k === P ? 3 : 1);
  }
  rt.free(sk);
  rt.free(si);
}
