/**
 * `exp`, `tanh` and `log` of float32 values inside the fused Wasm kernels (`fused_kernel.ts`), two
 * float64 lanes at a time (`f64x2`), with exactly the operations of `../fastmath.ts` (`expCore`,
 * `tanh32`, `log32`) in the same order and the same tables (2^(j/64), 2^(e − 200), log(1 + j/128)
 * and 2⁻²³/(1 + j/128), placed once in the Wasm memory and read lane by lane), so each lane is bit
 * for bit the JavaScript value before its rounding to float32: float64 `+ − × ÷` are correctly
 * rounded in both, and nothing is contracted into a fused multiply-add. The branches of the
 * JavaScript forms become selections between every path's lanes (a lane outside the table's range
 * computes on 0 and is replaced):
 *
 *   exp x  = 2^(j/64) table · polynomial · 2^m table for −104 < x < 89; 0 at and below −104; x·∞ above
 *            (float32 rounds `Math.exp` of 89 and more to ∞, and NaN stays NaN)
 *   tanh x = x − x³/3 + 2x⁵/15 below 2⁻⁸ in magnitude; (e^{2x} − 1)/(e^{2x} + 1) below 9.5; ±1 beyond; NaN
 *   log x  = e·ln2 + log c_j + polynomial from the input's float32 bits (f32x4 lanes read as i32x4);
 *            the lanes `log32` sends to `Math.log` (zero, negatives, subnormals, ∞, NaN) call the
 *            imported `Math.log` one lane at a time, only in a vector that has such a lane
 * @module
 */
import { type Code, SIMD, uleb, V128 } from "./emit.ts";
import { getHeap, scratch } from "./heap.ts";

/** The unary operations with a float32 SIMD form here. */
export const MATH_OPS: ReadonlySet<string> = new Set(["exp", "tanh", "log"]);

const EXP_N = 64;
const EXP_T = Float64Array.from({ length: EXP_N }, (_, j) => Math.pow(2, j / EXP_N));
const EXP_S = Float64Array.from({ length: 400 }, (_, e) => Math.pow(2, e - 200));
const EXP_C = EXP_N / Math.LN2, EXP_L = Math.LN2 / EXP_N;
const ROUND = 6755399441055744;
// `fastmath.ts`'s log tables, computed by the same expressions
const LOG_N = 128;
const LOG_C = Float64Array.from({ length: LOG_N }, (_, j) => Math.log1p(j / LOG_N));
const LOG_R = Float64Array.from({ length: LOG_N }, (_, j) => Math.pow(2, -23) / (1 + j / LOG_N));
/** Byte offsets of the log tables from the tables' address. */
const AT_LOG_C = 8 * (EXP_N + 400), AT_LOG_R = AT_LOG_C + 8 * LOG_N;
const TABLE_LEN = EXP_N + 400 + 2 * LOG_N;

let tables: number | undefined;

/** Byte address of the tables in the Wasm memory (written once), or −1 when the memory cannot hold them. */
export function mathTables(): number {
  if (tables !== undefined) return tables;
  const h = getHeap();
  const at = h ? scratch("fused-math-tables", 8 * TABLE_LEN) : -1;
  if (at >= 0) {
    const v = new Float64Array(h!.memory.buffer, at, TABLE_LEN);
    v.set(EXP_T);
    v.set(EXP_S, EXP_N);
    v.set(LOG_C, AT_LOG_C / 8);
    v.set(LOG_R, AT_LOG_R / 8);
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

const I32X4 = {
  splat: 0x11,
  extract: 0x1b,
  ltS: 0x39,
  geS: 0x3f,
  shrS: 0xac,
  sub: 0xb1,
} as const;
const F32X4 = { extract: 0x1f, replace: 0x20 } as const;
const ANY_TRUE = 0x53, SHUFFLE = 0x0d, F64X2_CONVERT_LOW_I32X4_S = 0xfe, DEMOTE_ZERO = 0x5e;
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * Pushes `log32` of the four float32 lanes of local `x` (an f32x4, not modified), rounded to float32:
 * `fastmath.ts`'s operations on two float64 lanes at a time; lanes that `log32` hands to `Math.log`
 * call function `logFn` (the imported `Math.log`) on their float64 value, rounded as the store rounds.
 */
export function emitLog32(c: Code, x: number, L: MathLocals, tab: number, logFn: number): void {
  const [J, LOW, EXPO, LD, ED, RV, CV, R, H0, H1, OUT, SPECIAL, HALF] = L.v;
  // j = (bits >> 16) & 127; the low 16 bits; the unbiased exponent (bits >> 23) − 127
  c.get(x).i32(16).simd(I32X4.shrS).i32(127).simd(I32X4.splat).simd(SIMD.v128And).set(J);
  c.get(x).i32(0xffff).simd(I32X4.splat).simd(SIMD.v128And).set(LOW);
  c.get(x).i32(23).simd(I32X4.shrS).i32(127).simd(I32X4.splat).simd(I32X4.sub).set(EXPO);
  for (let h = 0; h < 2; h++) {
    const half = (v: number) => {
      c.get(v);
      if (h === 1) c.get(v).simd(SHUFFLE, ...HIGH_HALF);
      c.simd(F64X2_CONVERT_LOW_I32X4_S);
    };
    // the table entries of lanes 2h and 2h + 1
    for (let l = 0; l < 2; l++) {
      c.get(J).simd(I32X4.extract, 2 * h + l).set(L.k);
      for (const [to, off] of [[RV, AT_LOG_R], [CV, AT_LOG_C]]) {
        if (l === 1) c.get(to);
        c.get(L.k).i32(3).raw(0x74).mem(0x2b, 3, tab + off);
        if (l === 0) c.simd(SIMD.f64x2Splat).set(to);
        else c.simd(F64X2.replaceLane, 1).set(to);
      }
    }
    half(LOW);
    c.set(LD);
    half(EXPO);
    c.set(ED);
    // r = low · R[j]; p = r(1 − r(1/2 − r(1/3 − r(1/4 − r(1/5 − r/6)))))
    c.get(LD).get(RV).simd(SIMD.f64x2Mul).set(R);
    c.get(R);
    splat(c, 1).get(R);
    splat(c, 0.5).get(R);
    splat(c, 0.3333333333333333).get(R);
    splat(c, 0.25).get(R);
    splat(c, 0.2).get(R);
    splat(c, 0.16666666666666666).simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub); // 0.2 − r/6
    c.simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub); // 0.25 − r(…)
    c.simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub); // 1/3 − r(…)
    c.simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub); // 0.5 − r(…)
    c.simd(SIMD.f64x2Mul).simd(SIMD.f64x2Sub); // 1 − r(…)
    c.simd(SIMD.f64x2Mul).set(HALF); // p
    // (e·ln2 + C[j]) + p
    c.get(ED);
    splat(c, Math.LN2).simd(SIMD.f64x2Mul).get(CV).simd(SIMD.f64x2Add).get(HALF).simd(SIMD.f64x2Add);
    c.set(h === 0 ? H0 : H1);
  }
  c.get(H0).simd(DEMOTE_ZERO).get(H1).simd(DEMOTE_ZERO);
  c.simd(SHUFFLE, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23).set(OUT);
  // bits < 0x00800000 (zero, negatives, subnormals) or ≥ 0x7f800000 (∞, NaN): Math.log of the lane
  c.get(x).i32(0x00800000).simd(I32X4.splat).simd(I32X4.ltS);
  c.get(x).i32(0x7f800000).simd(I32X4.splat).simd(I32X4.geS).simd(SIMD.v128Or).tee(SPECIAL);
  c.simd(ANY_TRUE).if();
  for (let l = 0; l < 4; l++) {
    c.get(SPECIAL).simd(I32X4.extract, l).if();
    c.get(OUT).get(x).simd(F32X4.extract, l).raw(0xbb).raw(0x10, ...uleb(logFn)).raw(0xb6);
    c.simd(F32X4.replace, l).set(OUT);
    c.end();
  }
  c.end();
  c.get(OUT);
}

/** `out ← op(x)` for the float64 lanes of local `x` (as `fastmath.ts` computes it before rounding to float32). */
export function emitMath(c: Code, op: string, x: number, out: number, L: MathLocals, tab: number): void {
  if (op === "exp") emitExp(c, x, out, L, tab);
  else if (op === "tanh") emitTanh(c, x, out, L, tab);
  else throw new Error(`emitMath: no float64-lane form of ${op} (log: emitLog32)`);
}
