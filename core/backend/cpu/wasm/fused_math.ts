/**
 * `exp` and `tanh` of float32 values inside the fused Wasm kernels (`fused_kernel.ts`), two float64
 * lanes at a time (`f64x2`), with exactly the operations of `../fastmath.ts` (`expCore`, `tanh32`)
 * in the same order and the same tables (2^(j/64) and 2^(e − 200), placed once in the Wasm memory
 * and read lane by lane), so each lane is bit for bit the JavaScript value before its rounding to
 * float32: float64 `+ − × ÷` are correctly rounded in both, and nothing is contracted into a fused
 * multiply-add. The branches of the JavaScript forms become selections between every path's lanes
 * (a lane outside the table's range computes on 0 and is replaced):
 *
 *   exp x  = 2^(j/64) table · polynomial · 2^m table for −104 < x < 89; 0 at and below −104; x·∞ above
 *            (float32 rounds `Math.exp` of 89 and more to ∞, and NaN stays NaN)
 *   tanh x = x − x³/3 + 2x⁵/15 below 2⁻⁸ in magnitude; (e^{2x} − 1)/(e^{2x} + 1) below 9.5; ±1 beyond; NaN
 * @module
 */
import { type Code, SIMD, V128 } from "./emit.ts";
import { scratch } from "./heap.ts";
import { getHeap } from "./heap.ts";

/** The unary operations with a float32 SIMD form here. */
export const MATH_OPS: ReadonlySet<string> = new Set(["exp", "tanh"]);

const EXP_N = 64;
const EXP_T = Float64Array.from({ length: EXP_N }, (_, j) => Math.pow(2, j / EXP_N));
const EXP_S = Float64Array.from({ length: 400 }, (_, e) => Math.pow(2, e - 200));
const EXP_C = EXP_N / Math.LN2, EXP_L = Math.LN2 / EXP_N;
const ROUND = 6755399441055744;

let tables: number | undefined;

/** Byte address of the tables in the Wasm memory (written once), or −1 when the memory cannot hold them. */
export function mathTables(): number {
  if (tables !== undefined) return tables;
  const h = getHeap();
  const at = h ? scratch("fused-math-tables", 8 * (EXP_N + 400)) : -1;
  if (at >= 0) {
    const v = new Float64Array(h!.memory.buffer, at, EXP_N + 400);
    v.set(EXP_T);
    v.set(EXP_S, EXP_N);
  }
  return tables = at;
}

/** Scratch locals of the math emitters: v128 temporaries and one i32. */
export interface MathLocals {
  /** v128 locals. */
  v: number[];
  /** An i32 local. */
  k: number;
}

/** Allocates the locals the emitters use (shared by every exp/tanh of a kernel: they run one after another). */
export function mathLocals(local: (type: number) => number): MathLocals {
  return { v: Array.from({ length: 14 }, () => local(V128)), k: local(0x7f) };
}

const F64X2 = { gt: 0x4a, lt: 0x49, le: 0x4b, abs: 0xec, div: 0xf3, replaceLane: 0x22 } as const;
const I32X4_EXTRACT = 0x1b, I32X4_TRUNC_SAT_F64X2_S_ZERO = 0xfc;

/** Pushes the f64x2 splat of `v`. */
function splat(c: Code, v: number): Code {
  return c.f64(v).simd(SIMD.f64x2Splat);
}

/** `out ← expCore(x)` lane by lane (x, out: f64x2 locals; `x` is not modified). */
function emitExp(c: Code, x: number, out: number, L: MathLocals, tab: number): void {
  const [IN, XC, KD, R, P, KI, TV, SV] = L.v;
  // in range: −104 < x < 89 (false for NaN)
  c.get(x).f64(-104).simd(SIMD.f64x2Splat).simd(F64X2.gt);
  c.get(x).f64(89).simd(SIMD.f64x2Splat).simd(F64X2.lt).simd(SIMD.v128And).set(IN);
  c.get(x);
  splat(c, 0).get(IN).simd(SIMD.v128Bitselect).set(XC);
  // kd = x·C + ROUND − ROUND; r = x − kd·L; k = kd
  c.get(XC);
  splat(c, EXP_C).simd(SIMD.f64x2Mul);
  splat(c, ROUND).simd(SIMD.f64x2Add);
  splat(c, ROUND).simd(SIMD.f64x2Sub).set(KD);
  c.get(XC).get(KD);
  splat(c, EXP_L).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub).set(R);
  c.get(KD).simd(I32X4_TRUNC_SAT_F64X2_S_ZERO).set(KI);
  // p = 1 + r(1 + r(1/2 + r(1/6 + r/24)))
  c.get(R);
  splat(c, 0.041666666666666664).simd(SIMD.f64x2Mul);
  splat(c, 0.16666666666666666).simd(SIMD.f64x2Add).get(R).simd(SIMD.f64x2Mul);
  splat(c, 0.5).simd(SIMD.f64x2Add).get(R).simd(SIMD.f64x2Mul);
  splat(c, 1).simd(SIMD.f64x2Add).get(R).simd(SIMD.f64x2Mul);
  splat(c, 1).simd(SIMD.f64x2Add).set(P);
  // the table entries of each lane
  for (let l = 0; l < 2; l++) {
    c.get(KI).simd(I32X4_EXTRACT, l).set(L.k);
    if (l === 0) c.get(L.k);
    else c.get(TV).get(L.k);
    c.i32(63).and().i32(3).raw(0x74).mem(0x2b, 3, tab); // f64.load T[k & 63]
    if (l === 0) c.simd(SIMD.f64x2Splat).set(TV);
    else c.simd(F64X2.replaceLane, 1).set(TV);
    if (l === 0) c.get(L.k);
    else c.get(SV).get(L.k);
    c.i32(6).raw(0x75).i32(200).add().i32(3).raw(0x74).mem(0x2b, 3, tab + 8 * EXP_N); // S[(k >> 6) + 200]
    if (l === 0) c.simd(SIMD.f64x2Splat).set(SV);
    else c.simd(F64X2.replaceLane, 1).set(SV);
  }
  // (T·p)·S where in range; else 0 at and below −104, x·∞ above (∞, or NaN for NaN)
  c.get(TV).get(P).simd(SIMD.f64x2Mul).get(SV).simd(SIMD.f64x2Mul);
  splat(c, 0);
  c.get(x);
  splat(c, Infinity).simd(SIMD.f64x2Mul);
  c.get(x);
  splat(c, -104).simd(F64X2.le).simd(SIMD.v128Bitselect);
  c.get(IN).simd(SIMD.v128Bitselect).set(out);
}

/** `out ← tanh32(x)` lane by lane (x, out: f64x2 locals). */
function emitTanh(c: Code, x: number, out: number, L: MathLocals, tab: number): void {
  const [AX, X2, PS, X2X, E, PM] = L.v.slice(8);
  c.get(x).simd(F64X2.abs).set(AX);
  // small: x(1 − x²(1/3 − x²·2/15))
  c.get(x).get(x).simd(SIMD.f64x2Mul).set(X2);
  c.get(x);
  splat(c, 1).get(X2);
  splat(c, 0.3333333333333333).get(X2);
  splat(c, 0.13333333333333333).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub);
  c.simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub).simd(SIMD.f64x2Mul).set(PS);
  // middle: (e − 1)/(e + 1), e = expCore(2x)
  splat(c, 2).get(x).simd(SIMD.f64x2Mul).set(X2X);
  emitExp(c, X2X, E, L, tab);
  c.get(E);
  splat(c, 1).simd(SIMD.f64x2Sub).get(E);
  splat(c, 1).simd(SIMD.f64x2Add).simd(F64X2.div).set(PM);
  // beyond: NaN stays, else −1 below 0 and 1 above
  c.get(PS).get(PM);
  c.get(AX);
  splat(c, 0.00390625).simd(F64X2.lt).simd(SIMD.v128Bitselect); // small ? ps : pm
  splat(c, -1);
  splat(c, 1);
  c.get(x);
  splat(c, 0).simd(F64X2.lt).simd(SIMD.v128Bitselect); // x < 0 ? −1 : 1
  c.get(x).get(AX).get(AX).simd(0x47).simd(SIMD.v128Bitselect); // ax = ax (not NaN) ? ±1 : x
  c.get(AX);
  splat(c, 9.5).simd(F64X2.lt).simd(SIMD.v128Bitselect).set(out); // ax < 9.5 ? (small ? ps : pm) : beyond
}

/** `out ← op(x)` for the float64 lanes of local `x` (as `fastmath.ts` computes it before rounding to float32). */
export function emitMath(c: Code, op: string, x: number, out: number, L: MathLocals, tab: number): void {
  if (op === "exp") emitExp(c, x, out, L, tab);
  else if (op === "tanh") emitTanh(c, x, out, L, tab);
  else throw new Error(`emitMath: no SIMD form of ${op}`);
}
