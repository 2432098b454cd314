/**
 * Generator of the float32 comparison and selection kernels of the CPU elementwise module: the
 * pieces of `relu` (`where(x ≤ 0, 0, x)`) and its gradient, and of masks in general.
 *
 * - `cmp_{op}_{layout}(a, b, o, n16)`: `o[i] = a[i] op b[i] ? 1 : 0` (bool bytes) for 16·n16
 *   outputs; each operand a vector (`v`, 16 bytes per 4 outputs) or one scalar (`s`, splat).
 *   Four f32x4 compares give −1/0 lanes, narrowed to bytes and masked to 1.
 * - `where_{layout}(c, a, b, o, n4)`: `o[i] = c[i] ≠ 0 ? a[i] : b[i]` for 4·n4 float32 outputs,
 *   the condition bytes widened to a lane mask and the bits selected (exact: NaN payloads kept),
 *   `a` and `b` vectors or scalars.
 * Comparisons follow IEEE (NaN compares false, and unequal), as the JavaScript loops do.
 * @module
 */
import { Code, type FuncDef, I32, SIMD, V128 } from "./emit.ts";

/** Comparisons with SIMD kernels. */
export type SimdCompareOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge";
/** The comparison operations. */
export const COMPARE_OPS: readonly SimdCompareOp[] = ["eq", "ne", "lt", "le", "gt", "ge"];
const CMP: Record<SimdCompareOp, number> = {
  eq: SIMD.f32x4Eq,
  ne: SIMD.f32x4Ne,
  lt: SIMD.f32x4Lt,
  le: SIMD.f32x4Le,
  gt: SIMD.f32x4Gt,
  ge: SIMD.f32x4Ge,
};

/** Operand layouts: vector or scalar, for each operand. */
export const SELECT_LAYOUTS = ["vv", "vs", "sv", "ss"] as const;

/** Pushes 4 float32 lanes of an operand at byte offset `off` of step `i` (a vector) or its scalar. */
function operand(c: Code, base: number, vec: boolean, i: number, off: number): void {
  if (vec) c.get(base).get(i).add().simdMem(SIMD.load, 0, off);
  else c.get(base).simdMem(SIMD.load32Splat, 2, 0);
}

/** The comparison kernel of one operation and layout. */
export function compareFunction(op: SimdCompareOp, layout: "vv" | "vs" | "sv"): FuncDef {
  const A = 0, B = 1, O = 2, N = 3, I = 4, J = 5, M = 6; // M: four v128 masks
  const av = layout[0] === "v", bv = layout[1] === "v";
  const c = new Code();
  c.block();
  c.get(N).eqz().brIf(0);
  c.i32(0).set(I); // input byte offset (64 per step)
  c.i32(0).set(J); // output byte offset (16 per step)
  c.loop();
  for (let q = 0; q < 4; q++) {
    operand(c, A, av, I, 16 * q);
    operand(c, B, bv, I, 16 * q);
    c.simd(CMP[op]).set(M + q);
  }
  c.get(O).get(J).add();
  c.get(M).get(M + 1).simd(SIMD.i16x8NarrowI32x4S);
  c.get(M + 2).get(M + 3).simd(SIMD.i16x8NarrowI32x4S);
  c.simd(SIMD.i8x16NarrowI16x8S);
  c.i32(1).simd(SIMD.i8x16Splat).simd(SIMD.v128And);
  c.simdMem(SIMD.store, 0, 0);
  c.get(I).i32(64).add().set(I);
  c.get(J).i32(16).add().tee(J).get(N).i32(16).mul().ltU().brIf(0);
  c.end();
  c.end();
  return {
    name: `cmp_${op}_${layout}`,
    params: [I32, I32, I32, I32],
    locals: [I32, I32, V128, V128, V128, V128],
    code: c,
  };
}

/** The selection kernel of one layout of (a, b). */
export function whereFunction(layout: (typeof SELECT_LAYOUTS)[number]): FuncDef {
  const C = 0, A = 1, B = 2, O = 3, N = 4, I = 5, J = 6; // I: float offset (16 per step), J: condition offset (4)
  const av = layout[0] === "v", bv = layout[1] === "v";
  const c = new Code();
  c.block();
  c.get(N).eqz().brIf(0);
  c.i32(0).set(I);
  c.i32(0).set(J);
  c.loop();
  c.get(O).get(I).add();
  operand(c, A, av, I, 0);
  operand(c, B, bv, I, 0);
  // mask: the four condition bytes widened to 32-bit lanes, then ≠ 0
  c.get(C).get(J).add().simdMem(SIMD.load32Zero, 0, 0);
  c.simd(SIMD.i16x8ExtendLowI8x16U).simd(SIMD.i32x4ExtendLowI16x8U);
  c.i32(0).simd(SIMD.i8x16Splat).simd(SIMD.i32x4Ne);
  c.simd(SIMD.v128Bitselect);
  c.simdMem(SIMD.store, 0, 0);
  c.get(I).i32(16).add().set(I);
  c.get(J).i32(4).add().tee(J).get(N).i32(4).mul().ltU().brIf(0);
  c.end();
  c.end();
  return { name: `where_${layout}`, params: [I32, I32, I32, I32, I32], locals: [I32, I32], code: c };
}
