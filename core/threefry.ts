/**
 * Threefry-2x32 (20 rounds, Salmon et al. 2011) and the two word layouts of `core/random.ts`
 * (classic and partitionable): the host's generator, which the CPU kernel and key derivation
 * (`split`, `foldIn`, keys replayed by `jit`) use.
 * @module
 */
import { DomainError } from "./errors.ts";

/**
 * How a key turns Threefry's counters into keys and draws: `"classic"`, JAX's layout under
 * `jax_threefry_partitionable=False` (JAX's default before 0.5, Tangent's default), or
 * `"partitionable"`, JAX's under `jax_threefry_partitionable=True` (JAX 0.5 and later's default).
 * @example
 * ```ts
 * import { key, type KeyLayout, split } from "@tangent/tangent";
 * const layout: KeyLayout = "partitionable"; // as JAX 0.5+
 * const [k1] = split(key(0, { layout }));
 * if (k1.layout !== "partitionable") throw new Error("derived keys keep the layout");
 * ```
 */
export type KeyLayout = "classic" | "partitionable";

const ROT = [[13, 15, 26, 6], [17, 29, 16, 24]];

/** Threefry-2x32 with 20 rounds on one counter pair; returns two uint32 words. */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0];
  x0 = (x0 + ks[0]) >>> 0;
  x1 = (x1 + ks[1]) >>> 0;
  for (let i = 0; i < 5; i++) {
    for (const r of ROT[i & 1]) {
      x0 = (x0 + x1) >>> 0;
      x1 = ((x1 << r) | (x1 >>> (32 - r))) ^ x0;
      x1 >>>= 0;
    }
    x0 = (x0 + ks[(i + 1) % 3]) >>> 0;
    x1 = (x1 + ks[(i + 2) % 3] + i + 1) >>> 0;
  }
  return [x0, x1];
}

/**
 * The words of `foldIn(key, data)` (JAX's `fold_in`, the same in both layouts): Threefry of the
 * counter pair (0, data as uint32) under `key`.
 */
export function foldInWords(key: readonly [number, number], data: number): [number, number] {
  return threefry2x32(key[0], key[1], 0, data >>> 0);
}

/** The n uint32 words of a key (see the module doc for the layout); `threefry2x32` per pair, inlined. */
export function randomWords(key: readonly [number, number], n: number): Uint32Array {
  const out = new Uint32Array(n);
  const m = Math.ceil(n / 2);
  // int32 arithmetic: sums wrapped with `| 0` are the uint32 sums' bits
  const k0 = key[0] | 0, k1 = key[1] | 0, k2 = k0 ^ k1 ^ 0x1bd11bda;
  for (let c = 0; c < m; c++) {
    let x0 = (c + k0) | 0, x1 = ((m + c < n ? m + c : 0) + k1) | 0;
    // 5 groups of 4 rotations (ROT), key injection i after group i: ks[i % 3], ks[(i + 1) % 3] + i
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k1) | 0;
    x1 = (x1 + k2 + 1) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + k2) | 0;
    x1 = (x1 + k0 + 2) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k0) | 0;
    x1 = (x1 + k1 + 3) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + k1) | 0;
    x1 = (x1 + k2 + 4) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k2) | 0;
    x1 = (x1 + k0 + 5) | 0;
    out[c] = x0;
    if (m + c < n) out[m + c] = x1;
  }
  return out;
}

/**
 * The partitionable layout's counter pairs: pair j (j < n) is `threefry(key, (⌊j/2³²⌋, j mod 2³²))`,
 * its two outputs at 2j and 2j + 1 (JAX's `iota_2x32_shape` counters).
 */
function counterPairs(key: readonly [number, number], n: number): Uint32Array {
  const out = new Uint32Array(2 * n);
  // int32 arithmetic as in randomWords (the same rounds, other counters)
  const k0 = key[0] | 0, k1 = key[1] | 0, k2 = k0 ^ k1 ^ 0x1bd11bda;
  for (let j = 0; j < n; j++) {
    let x0 = (Math.floor(j / 4294967296) + k0) | 0, x1 = (j + k1) | 0;
    // 5 groups of 4 rotations (ROT), key injection i after group i: ks[i % 3], ks[(i + 1) % 3] + i
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k1) | 0;
    x1 = (x1 + k2 + 1) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + k2) | 0;
    x1 = (x1 + k0 + 2) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k0) | 0;
    x1 = (x1 + k1 + 3) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 17) | (x1 >>> 15)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 29) | (x1 >>> 3)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 16) | (x1 >>> 16)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 24) | (x1 >>> 8)) ^ x0;
    x0 = (x0 + k1) | 0;
    x1 = (x1 + k2 + 4) | 0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 13) | (x1 >>> 19)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 15) | (x1 >>> 17)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 26) | (x1 >>> 6)) ^ x0;
    x0 = (x0 + x1) | 0;
    x1 = ((x1 << 6) | (x1 >>> 26)) ^ x0;
    x0 = (x0 + k2) | 0;
    x1 = (x1 + k0 + 5) | 0;
    out[2 * j] = x0;
    out[2 * j + 1] = x1;
  }
  return out;
}

/**
 * The 2n words of `split(key, n)` in `layout`: key i is words 2i, 2i + 1. Classic: the first 2n
 * words of the classic layout; partitionable: the outputs of counter pair i.
 */
export function splitWords(key: readonly [number, number], n: number, layout: KeyLayout): Uint32Array {
  return layout === "partitionable" ? counterPairs(key, n) : randomWords(key, 2 * n);
}

/** The n 32-bit words of the partitionable layout: the two outputs of counter pair j xored. */
function partitionableWords(key: readonly [number, number], n: number): Uint32Array {
  const p = counterPairs(key, n), out = new Uint32Array(n);
  for (let j = 0; j < n; j++) out[j] = p[2 * j] ^ p[2 * j + 1];
  return out;
}

/**
 * Fills `out` (float32/float64/int32 array) with the distribution's values under `key`: the two
 * words of one key, or 2B words of B keys (a batched draw: `out` in B equal consecutive blocks,
 * block i drawn with key i, as its own draw would be), in the keys' `layout` (see core/random.ts).
 */
export function fillRandom(
  key: readonly number[],
  dist: "bits" | "uniform" | "normal",
  out: Float32Array | Float64Array | Int32Array,
  layout: KeyLayout = "classic",
): void {
  if (key.length !== 2) {
    const b = key.length / 2, per = out.length / b;
    if (!Number.isInteger(b) || b < 1 || !Number.isInteger(per)) {
      throw new DomainError(
        `random: ${key.length} key words for ${out.length} elements; give 2 words per key and a multiple of the ` +
          `number of keys as the element count`,
      );
    }
    for (let i = 0; i < b; i++) {
      fillRandom([key[2 * i], key[2 * i + 1]], dist, out.subarray(i * per, (i + 1) * per), layout);
    }
    return;
  }
  const k2 = key as unknown as readonly [number, number];
  const n = out.length;
  const f64 = out instanceof Float64Array;
  const part = layout === "partitionable";
  const uniforms = (count: number): Float64Array => {
    const u = new Float64Array(count);
    if (part && f64) {
      // JAX's 64-bit draw (x64): (hi·2³² + lo) >>> 12 over 2⁵²
      const p = counterPairs(k2, count);
      for (let j = 0; j < count; j++) u[j] = (p[2 * j] * 1048576 + (p[2 * j + 1] >>> 12)) / 4503599627370496;
    } else if (part) {
      const w = partitionableWords(k2, count);
      for (let j = 0; j < count; j++) u[j] = (w[j] >>> 9) / 8388608;
    } else if (f64) {
      const w = randomWords(k2, 2 * count);
      for (let j = 0; j < count; j++) u[j] = ((w[2 * j] >>> 6) * 134217728 + (w[2 * j + 1] >>> 5)) / 9007199254740992;
    } else {
      const w = randomWords(k2, count);
      for (let j = 0; j < count; j++) u[j] = (w[j] >>> 9) / 8388608;
    }
    return u;
  };
  if (dist === "bits") {
    const w = part ? partitionableWords(k2, n) : randomWords(k2, n);
    for (let j = 0; j < n; j++) out[j] = w[j] | 0;
  } else if (dist === "uniform") {
    out.set(uniforms(n));
  } else {
    const u = uniforms(2 * n);
    for (let j = 0; j < n; j++) out[j] = Math.sqrt(-2 * Math.log(1 - u[j])) * Math.cos(2 * Math.PI * u[n + j]);
  }
}
