/**
 * Fast `exp`, `log` and `tanh` for float32 tensors on the CPU backend. Each computes in float64 with
 * a relative error below 1e-12 before the store to float32, so the stored value is the float32
 * rounding of the exact result or its neighbour (within 1 ulp; `tests/core_fastmath_test.ts`
 * sweeps every float32 octave). float64 tensors keep `Math.*`, the reference.
 *
 *   exp x = 2^m · 2^(j/64) · e^r,  x = (64m + j)·ln2/64 + r, |r| ≤ ln2/128, e^r by a degree-4 polynomial
 *   log x = e·ln2 + log c_j + log1p((m − c_j)/c_j),  x = 2^e·m, c_j = 1 + j/128 ≤ m, degree 6
 *   tanh x = (e^{2x} − 1)/(e^{2x} + 1); x − x³/3 + 2x⁵/15 below 2⁻⁸ in magnitude; ±1 from 9.5
 * @module
 */

const EXP_N = 64;
/** 2^(j/64), j = 0…63. */
const EXP_T = Float64Array.from({ length: EXP_N }, (_, j) => Math.pow(2, j / EXP_N));
/** 2^(e − 200), covering the exponents a float32 exp reaches. */
const EXP_S = Float64Array.from({ length: 400 }, (_, e) => Math.pow(2, e - 200));
const EXP_C = EXP_N / Math.LN2, EXP_L = Math.LN2 / EXP_N;
/** 1.5·2⁵²: adding and subtracting it rounds a float64 below 2⁵¹ to the nearest integer. */
const ROUND = 6755399441055744;

/**
 * `e^x` in float64 arithmetic with relative error below 1e-13 for −104 < x < 89 (the range where a
 * float32 result is neither 0 nor ∞); 0 at and below −104 (where the float32 result is 0, and where
 * `Math.exp` of a huge negative number is slow); `Math.exp` above (NaN, ∞, overflow).
 */
export function expCore(x: number): number {
  if (x > -104 && x < 89) {
    const kd = x * EXP_C + ROUND - ROUND;
    const r = x - kd * EXP_L;
    const k = kd | 0;
    const p = 1 + r * (1 + r * (0.5 + r * (0.16666666666666666 + r * 0.041666666666666664)));
    return EXP_T[k & 63] * p * EXP_S[(k >> 6) + 200];
  }
  return x <= -104 ? 0 : Math.exp(x);
}

/** `e^x` for a float32 `x`, to be stored in float32 (within 1 ulp of the rounded exact value). */
export const exp32: (x: number) => number = expCore;

/**
 * `tanh x` for a float32 `x`, to be stored in float32 (within 1 ulp of the rounded exact value);
 * keeps −0, NaN and the sign of ±∞.
 */
export function tanh32(x: number): number {
  // one comparison on |x| per range: a two-sided test such as `x > -a && x < a` mispredicts
  // half the time on data of random sign
  const ax = Math.abs(x);
  if (ax < 9.5) {
    if (ax < 0.00390625) {
      const x2 = x * x;
      return x * (1 - x2 * (0.3333333333333333 - x2 * 0.13333333333333333));
    }
    const e = expCore(2 * x);
    return (e - 1) / (e + 1);
  }
  return ax === ax ? (x < 0 ? -1 : 1) : x;
}

const LOG_N = 128;
/** log(1 + j/128). */
const LOG_C = Float64Array.from({ length: LOG_N }, (_, j) => Math.log1p(j / LOG_N));
/** 2⁻²³ / (1 + j/128): turns the low 16 mantissa bits into r = (m − c_j)/c_j. */
const LOG_R = Float64Array.from({ length: LOG_N }, (_, j) => Math.pow(2, -23) / (1 + j / LOG_N));

/**
 * `log x` for a float32 `x` whose IEEE-754 bit pattern (as int32) is `bits`, to be stored in
 * float32 (within 1 ulp of the rounded exact value; exact 0 at 1). Zero, negatives, subnormals,
 * ∞ and NaN go to `Math.log`.
 */
export function log32(x: number, bits: number): number {
  if (bits < 0x00800000 || bits >= 0x7f800000) return Math.log(x);
  const j = (bits >> 16) & 127;
  const r = (bits & 0xffff) * LOG_R[j];
  const p = r * (1 - r * (0.5 - r * (0.3333333333333333 - r * (0.25 - r * (0.2 - r * 0.16666666666666666)))));
  return ((bits >> 23) - 127) * Math.LN2 + LOG_C[j] + p;
}

const F32 = new Float32Array(1), I32 = new Int32Array(F32.buffer);

/** `log x` for a number rounded to float32 first (for tests and scalar use). */
export function log32Of(x: number): number {
  F32[0] = x;
  return log32(F32[0], I32[0]);
}
