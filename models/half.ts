/**
 * 16-bit floats as they sit in checkpoints: IEEE 754 binary16 (`F16`: 1 sign, 5 exponent, 10
 * fraction bits) and bfloat16 (`BF16`: the top half of a float32, 8 exponent and 7 fraction bits).
 * Reading widens exactly; writing rounds a float64 or float32 value straight to the nearest
 * representable one, ties to even (no double rounding through float32), overflowing to ±Infinity.
 * @module
 */

/** 2^k for integer k, exactly (Math.pow of 2 is exact in V8 for every representable power). */
const pow2 = (k: number): number => Math.pow(2, k);

/** The value of binary16 bits `h` (0 ≤ h < 2^16), exactly. */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * pow2(-24); // zero and subnormals: frac · 2^-24
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * pow2(exp - 25); // (1 + frac/2^10) · 2^(exp − 15)
}

let f16Table: Float32Array | undefined;

/**
 * Widens binary16 bits into `out` (float32 or float64; every binary16 value is exact in both).
 * @example
 * ```ts
 * import { decodeF16 } from "./half.ts";
 * const out = decodeF16(Uint16Array.of(0x3c00, 0xc000, 0x0001), new Float32Array(3)); // [1, -2, 2^-24]
 * ```
 */
export function decodeF16<T extends Float32Array | Float64Array>(bits: Uint16Array, out: T): T {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16Value(h);
  }
  const t = f16Table;
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

/**
 * Widens bfloat16 bits into `out`: a bfloat16 is the top 16 bits of a float32, so this is exact
 * (NaN payloads included when `out` is float32).
 * @example
 * ```ts
 * import { decodeBF16 } from "./half.ts";
 * const out = decodeBF16(Uint16Array.of(0x3f80, 0xc040), new Float64Array(2)); // [1, -3]
 * ```
 */
export function decodeBF16<T extends Float32Array | Float64Array>(bits: Uint16Array, out: T): T {
  const n = bits.length;
  const words = new Uint32Array(n);
  for (let i = 0; i < n; i++) words[i] = bits[i] << 16;
  const f = new Float32Array(words.buffer);
  out.set(f);
  return out;
}

/** Rounds a non-negative number to an integer, ties to even. */
function roundEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f; // exact: q < 2^12 wherever this is called
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

/** floor(log2(a)) for a finite a > 0, exactly. */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (pow2(e) > a) e--;
  else if (pow2(e + 1) <= a) e++;
  return e;
}

/**
 * Rounds a > 0 to a small float with `fracBits` fraction bits and normal exponents `eMin..eMax`;
 * returns its bits without the sign.
 */
function roundTo(a: number, fracBits: number, eMin: number, eMax: number): number {
  const expBias = -eMin + 1;
  if (a < pow2(eMin)) {
    // subnormal: a multiple of 2^(eMin − fracBits); rounding up to 2^fracBits lands on the
    // smallest normal, whose encoding is exactly that integer
    return roundEven(a * pow2(fracBits - eMin));
  }
  let e = exponentOf(a);
  let m = roundEven(a * pow2(fracBits - e)); // in [2^fracBits, 2^(fracBits+1)]
  if (m === pow2(fracBits + 1)) {
    m = pow2(fracBits);
    e++;
  }
  if (e > eMax) return ((eMax + expBias + 1) << fracBits) >>> 0; // ±Infinity
  return (((e + expBias) << fracBits) | (m - pow2(fracBits))) >>> 0;
}

/**
 * The binary16 bits nearest to `x` (ties to even; ±Infinity from 65520 in magnitude on; NaN as
 * the quiet NaN 0x7e00).
 * @example
 * ```ts
 * import { f16Bits } from "./half.ts";
 * f16Bits(1); // 0x3c00
 * f16Bits(1 + 2 ** -11); // 0x3c00: a tie, rounded to the even neighbour
 * ```
 */
export function f16Bits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  if (Number.isNaN(x)) return 0x7e00;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a === 0) return sign;
  return sign | roundTo(a, 10, -14, 15);
}

/**
 * The bfloat16 bits nearest to `x` (ties to even; NaN as the quiet NaN 0x7fc0).
 * @example
 * ```ts
 * import { bf16Bits } from "./half.ts";
 * bf16Bits(1); // 0x3f80
 * bf16Bits(1 + 2 ** -8); // 0x3f80: a tie, rounded to the even neighbour
 * ```
 */
export function bf16Bits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  if (Number.isNaN(x)) return 0x7fc0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7f80;
  if (a === 0) return sign;
  return sign | roundTo(a, 7, -126, 127);
}

/**
 * Rounds every value to binary16 bits.
 * @example
 * ```ts
 * import { encodeF16 } from "./half.ts";
 * const bits = encodeF16(Float32Array.of(1, -2, 65520)); // [0x3c00, 0xc000, 0x7c00]
 * ```
 */
export function encodeF16(values: Float32Array | Float64Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i]);
  return out;
}

/**
 * Rounds every value to bfloat16 bits. For float32 input this is the usual bit trick (add
 * 0x7fff plus the lowest kept bit, keep the top half), which is round-to-nearest-even.
 * @example
 * ```ts
 * import { encodeBF16 } from "./half.ts";
 * const bits = encodeBF16(Float32Array.of(1, -3)); // [0x3f80, 0xc040]
 * ```
 */
export function encodeBF16(values: Float32Array | Float64Array): Uint16Array {
  const n = values.length;
  const out = new Uint16Array(n);
  if (values instanceof Float64Array) {
    for (let i = 0; i < n; i++) out[i] = bf16Bits(values[i]);
    return out;
  }
  const words = new Uint32Array(values.buffer, values.byteOffset, n);
  for (let i = 0; i < n; i++) {
    const u = words[i];
    if ((u & 0x7fffffff) > 0x7f800000) out[i] = 0x7fc0; // NaN stays NaN (PyTorch's quiet NaN)
    else out[i] = (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
  }
  return out;
}
