/**
 * A generic n-dimensional copy between strided views: transpose, broadcast, slice, pad and concat
 * are all copies with particular strides. Compiled as nested loops over the coalesced axes
 * (`loops.ts`); a swap of the last two axes goes through cache-sized tiles.
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import { compileLoop, stridedMap, tagOf } from "./loops.ts";
import { coalesce } from "./strided.ts";

/** Copies the strided view `src` into the strided view `dst`, both of extent `shape`. */
export function stridedCopy(
  src: TypedArray,
  srcOffset: number,
  srcStrides: readonly number[],
  dst: TypedArray,
  dstOffset: number,
  dstStrides: readonly number[],
  shape: readonly number[],
): void {
  if (shape.some((d) => d === 0)) return;
  const [sh, [ds, ss]] = coalesce(shape, [dstStrides, srcStrides]);
  const nd = sh.length;
  if (nd === 1 && ss[0] === 1 && ds[0] === 1) {
    dst.set(src.subarray(srcOffset, srcOffset + sh[0]), dstOffset);
    return;
  }
  if (nd === 1 && ss[0] === 0 && ds[0] === 1) {
    // one value broadcast over a contiguous run (a scalar cotangent spread by sum's VJP): a fill
    dst.fill(src[srcOffset], dstOffset, dstOffset + sh[0]);
    return;
  }
  if (nd === 2 && ss[0] === 0 && ss[1] === 1 && ds[1] === 1 && sh[1] >= 16) {
    // one row repeated down contiguous rows: a block copy per row
    const row = src.subarray(srcOffset, srcOffset + sh[1]);
    for (let r = 0; r < sh[0]; r++) dst.set(row, dstOffset + r * ds[0]);
    return;
  }
  if (nd >= 2 && ss[nd - 1] !== 1 && ss[nd - 2] === 1 && ds[nd - 1] === 1 && sh[nd - 1] * sh[nd - 2] >= 4096) {
    transposeBlocks(src, srcOffset, ss, dst, dstOffset, ds, sh);
    return;
  }
  stridedMap("copy", "x1", dst, ds, dstOffset, [src], [ss], [srcOffset], sh);
}

const BLOCK = 32;

/**
 * Cache-blocked copy for views whose last two axes are swapped relative to each other: 32×32
 * tiles, each read along the source's contiguous axis (compiled per array types).
 */
function transposeBlocks(
  src: TypedArray,
  so: number,
  ss: readonly number[],
  dst: TypedArray,
  dof: number,
  ds: readonly number[],
  sh: readonly number[],
): void {
  const nd = sh.length;
  const R = sh[nd - 2], C = sh[nd - 1];
  const run = compileLoop("transpose", tagOf(dst) + tagOf(src), () => [
    "src, s0, dst, d0, R, C, sr, sc, dr",
    `for (let r0 = 0; r0 < R; r0 += ${BLOCK}) {
  const r1 = Math.min(R, r0 + ${BLOCK});
  for (let c0 = 0; c0 < C; c0 += ${BLOCK}) {
    const c1 = Math.min(C, c0 + ${BLOCK});
    for (let r = r0; r < r1; r++) {
      let s = s0 + r * sr + c0 * sc, d = d0 + r * dr + c0;
      for (let c = c0; c < c1; c++, s += sc) dst[d++] = src[s];
    }
  }
}`,
  ]);
  // the leading axes, one tile grid each
  const outer = sh.slice(0, nd - 2);
  const idx = outer.map(() => 0);
  let count = 1;
  for (const d of outer) count *= d;
  for (let t = 0; t < count; t++) {
    let s = so, d = dof;
    for (let i = 0; i < outer.length; i++) {
      s += idx[i] * ss[i];
      d += idx[i] * ds[i];
    }
    run(src, s, dst, d, R, C, ss[nd - 2], ss[nd - 1], ds[nd - 2]);
    for (let i = outer.length - 1; i >= 0; i--) {
      if (++idx[i] < outer[i]) break;
      idx[i] = 0;
    }
  }
}
