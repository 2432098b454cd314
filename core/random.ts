/**
 * Counter-based randomness: Threefry-2x32 (20 rounds, Salmon et al. 2011) with explicit keys,
 * laid out as JAX lays it out, so every backend produces the same bits and `key`, `split`,
 * `foldIn` and float32 `uniform` agree with `jax.random` bit for bit.
 *
 * Words for n elements under key k: with M = ⌈n/2⌉, pair c ∈ [0, M) is
 * `threefry(k, (c, M + c < n ? M + c : 0))`; word j is the first output of pair j for j < M and the
 * second output of pair j − M otherwise.
 * - `randomBits`: word j as int32.
 * - float32 `uniform`: `bitcast((w >>> 9) | 0x3f800000) − 1` ∈ [0, 1).
 * - float64 `uniform`: from words 2j, 2j+1 of 2n words: `((w₀ >>> 6)·2²⁷ + (w₁ >>> 5)) / 2⁵³`.
 * - `normal`: Box–Muller on the uniforms u of 2n elements: `√(−2 ln(1 − uⱼ)) · cos(2π u_{n+j})`.
 * @module
 */
import type { DType } from "./dtype.ts";
import { DomainError, DTypeError, ShapeError } from "./errors.ts";
import { bind1 } from "./primitive.ts";
import { randomP } from "./primitives.ts";
import { stack } from "./ops/shape.ts";
import { Tensor } from "./tensor.ts";

/**
 * A PRNG key: two 32-bit words. Keys are values: split them, never reuse one for two purposes.
 * Under `vmap`, an array of keys given for a batched argument is one key per example (see
 * {@linkcode split}); `uniform`, `normal`, `randomBits`, `split` and `foldIn` take such a key as
 * any other.
 */
export interface Key {
  /** The two words (a key batched by `vmap` has a pair per example and throws here). */
  readonly words: readonly [number, number];
  /** @internal set on a key that `vmap` batches: its level and one key per example. */
  readonly _bk?: KeyBatch;
}

/**
 * What a key batched by a `vmap` holds: the vmap's level, one key per example (themselves batched
 * at enclosing vmaps' levels, or plain), and that vmap's liveness (`active` is false once it returned).
 * @internal
 */
export interface KeyBatch {
  readonly level: number;
  readonly keys: readonly Key[];
  readonly scope: { readonly active: boolean };
}

/** A key batched at a vmap's level (one key per example); made by `vmap`, `split` and `foldIn` only. */
class BatchedKey implements Key {
  readonly _bk: KeyBatch;
  constructor(bk: KeyBatch) {
    this._bk = bk;
    Object.freeze(this);
  }
  get words(): readonly [number, number] {
    throw new ShapeError(
      `Key.words: this key is batched by vmap (${this._bk.keys.length} examples, one pair of words each); ` +
        `draw from it with uniform/normal/randomBits, or derive keys with split/foldIn, which handle the batch`,
    );
  }
}

/**
 * A key batched at vmap level `level`: example i draws with `keys[i]`.
 * @internal for `vmap`.
 */
export function batchedKey(level: number, keys: readonly Key[], scope: { readonly active: boolean }): Key {
  return new BatchedKey({ level, keys: Object.freeze([...keys]), scope });
}

/**
 * Whether `x` is a key (plain from `key`/`split`/`foldIn`, or batched by `vmap`).
 * @internal
 */
export function isKey(x: unknown): x is Key {
  if (x instanceof BatchedKey) return true;
  if (x === null || typeof x !== "object" || Array.isArray(x) || x instanceof Tensor) return false;
  if (Object.keys(x).length !== 1) return false; // a key holds its words only (a pytree node may have a `words` field)
  const w = (x as { words?: unknown }).words;
  return Array.isArray(w) && w.length === 2 && w.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32);
}

/**
 * The batch of `k` when `vmap` batches it, else undefined; throws when the vmap that batched it
 * has returned (the key escaped through a closure or a variable).
 */
function batchOf(op: string, k: Key): KeyBatch | undefined {
  const bk = k instanceof BatchedKey ? k._bk : undefined;
  if (bk && !bk.scope.active) {
    throw new ShapeError(
      `${op}: the key was batched by a vmap (${bk.keys.length} examples) that has returned; a batched key lives ` +
        `only inside its vmap: return it from the vmapped function (it comes back as one key per example) and use those`,
    );
  }
  return bk;
}

/** Draws each example of a batched key with its own key and returns the batch as a tensor batched at its level. */
function drawBatched(bk: KeyBatch, draw: (k: Key) => Tensor): Tensor {
  const value = stack(bk.keys.map(draw), 0); // batch axis first; batched at enclosing levels as the keys are
  const t = new Tensor(value._storage, value.shape.slice(1), value.dtype);
  t._bt = { level: bk.level, value };
  return t;
}

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

/** The n uint32 words of a key (see the module doc for the layout). */
export function randomWords(key: readonly [number, number], n: number): Uint32Array {
  const out = new Uint32Array(n);
  const m = Math.ceil(n / 2);
  for (let c = 0; c < m; c++) {
    const [y0, y1] = threefry2x32(key[0], key[1], c, m + c < n ? m + c : 0);
    out[c] = y0;
    if (m + c < n) out[m + c] = y1;
  }
  return out;
}

function makeKey(w0: number, w1: number): Key {
  return Object.freeze({ words: Object.freeze([w0 >>> 0, w1 >>> 0]) as readonly [number, number] });
}

/**
 * A key from an integer seed (as `jax.random.PRNGKey(seed)`).
 * @example
 * ```ts
 * import { key, split, normal } from "@tangent/tangent";
 * const [k1, k2] = split(key(0));
 * const x = normal(k1, [2, 3]);
 * ```
 */
export function key(seed: number): Key {
  if (!Number.isSafeInteger(seed)) throw new DTypeError(`key: seed must be a safe integer, got ${seed}`);
  const hi = Math.floor(seed / 2 ** 32), lo = seed - hi * 2 ** 32;
  return makeKey(hi, lo);
}

/**
 * `n` independent keys derived from `k` (as `jax.random.split`).
 *
 * `vmap` takes an array of keys as one key per example (an argument, or a pytree node, whose `inAxes`
 * entry is a number; `Key[][]` is a key array of two axes): inside, the draws of each example use its
 * own key, bit for bit the draws of a loop over the keys, as `jax.vmap` over `jax.random.split`. Keys
 * given `inAxes` `null` are shared (the same draws in every example). Keys the vmapped function
 * returns come back as arrays, the batch axis where `outAxes` puts it (default first: `Key[]` per
 * returned key, `Key[][]` for a returned `Key[]`, as JAX's `[n, m]` key arrays).
 * @example
 * ```ts
 * import { key, type Key, normal, split, vmap } from "@tangent/tangent";
 * const keys = split(key(0), 5);
 * const draws = vmap((k: Key) => normal(k, [3]))(keys); // [5, 3]; row i is normal(keys[i], [3])
 * const pairs: Key[][] = vmap((k: Key) => split(k, 2))(keys); // Key[5][2]; pairs[i] is split(keys[i], 2)
 * if (draws.shape[0] !== 5 || pairs[4][1].words[0] !== split(keys[4], 2)[1].words[0]) throw new Error("per key");
 * ```
 */
export function split(k: Key, n = 2): Key[] {
  checkKey("split", k);
  const bk = batchOf("split", k);
  if (bk) {
    const per = bk.keys.map((e) => split(e, n));
    return Array.from({ length: n }, (_, j) => batchedKey(bk.level, per.map((p) => p[j]), bk.scope));
  }
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 20) {
    throw new DomainError(
      `split: n = ${n} must be a whole number of keys in [0, 2²⁰]; for more, split in two levels or use foldIn(k, i)`,
    );
  }
  const w = randomWords(k.words, 2 * n);
  return Array.from({ length: n }, (_, i) => makeKey(w[2 * i], w[2 * i + 1]));
}

/** A key derived from `k` and an integer (as `jax.random.fold_in`). */
export function foldIn(k: Key, data: number): Key {
  checkKey("foldIn", k);
  const bk = batchOf("foldIn", k);
  if (bk) return batchedKey(bk.level, bk.keys.map((e) => foldIn(e, data)), bk.scope);
  if (!Number.isInteger(data) || data < -(2 ** 31) || data >= 2 ** 32) {
    throw new DomainError(
      `foldIn: data = ${data} must be an integer in [-2147483648, 4294967295] (it is folded in as 32 bits); ` +
        `fold larger values in twice, e.g. foldIn(foldIn(k, hi), lo)`,
    );
  }
  const [y0, y1] = threefry2x32(k.words[0], k.words[1], 0, data >>> 0);
  return makeKey(y0, y1);
}

function checkKey(op: string, k: Key): void {
  if (k instanceof BatchedKey) return;
  const w = (k as Partial<Key> | null | undefined)?.words;
  if (!Array.isArray(w) || w.length !== 2 || !w.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)) {
    let shown: string;
    try {
      shown = JSON.stringify(k) ?? String(k);
    } catch {
      shown = String(k);
    }
    throw new DTypeError(`${op}: expected a key from key(seed) or split(...), got ${shown}`);
  }
}

function checkShape(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${op}: shape [${shape}] must hold non-negative integers`);
  }
  return [...shape];
}

/** Uniform floats in `[min, max)` (default [0, 1)); float16 ones are float32's rounded. */
export function uniform(
  k: Key,
  shape: readonly number[],
  opts: { dtype?: DType; min?: number; max?: number } = {},
): Tensor {
  checkKey("uniform", k);
  const bk = batchOf("uniform", k);
  if (bk) return drawBatched(bk, (e) => uniform(e, shape, opts));
  const dtype = opts.dtype ?? "float32";
  if (dtype === "float16") return uniform(k, shape, { ...opts, dtype: "float32" }).astype("float16");
  if (dtype !== "float32" && dtype !== "float64") throw new DTypeError(`uniform: dtype must be a float, got ${dtype}`);
  const u = bind1(randomP, [], {
    key: [...k.words] as [number, number],
    shape: checkShape("uniform", shape),
    dist: "uniform",
    dtype,
  });
  const lo = opts.min ?? 0, hi = opts.max ?? 1;
  if (typeof lo !== "number" || typeof hi !== "number" || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new DomainError(`uniform: min = ${lo} and max = ${hi} must be finite numbers with min ≤ max`);
  }
  return lo === 0 && hi === 1 ? u : u.mul(hi - lo).add(lo);
}

/** Standard normal floats; float16 ones are float32's rounded. */
export function normal(k: Key, shape: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  checkKey("normal", k);
  const bk = batchOf("normal", k);
  if (bk) return drawBatched(bk, (e) => normal(e, shape, opts));
  const dtype = opts.dtype ?? "float32";
  if (dtype === "float16") return normal(k, shape, { dtype: "float32" }).astype("float16");
  if (dtype !== "float32" && dtype !== "float64") throw new DTypeError(`normal: dtype must be a float, got ${dtype}`);
  return bind1(randomP, [], {
    key: [...k.words] as [number, number],
    shape: checkShape("normal", shape),
    dist: "normal",
    dtype,
  });
}

/** Raw random 32-bit words as int32. */
export function randomBits(k: Key, shape: readonly number[]): Tensor {
  checkKey("randomBits", k);
  const bk = batchOf("randomBits", k);
  if (bk) return drawBatched(bk, (e) => randomBits(e, shape));
  return bind1(randomP, [], {
    key: [...k.words] as [number, number],
    shape: checkShape("randomBits", shape),
    dist: "bits",
    dtype: "int32",
  });
}

/** Fills `out` (float32/float64/int32 array of n elements) with the distribution's values. */
export function fillRandom(
  key: readonly [number, number],
  dist: "bits" | "uniform" | "normal",
  out: Float32Array | Float64Array | Int32Array,
): void {
  const n = out.length;
  const f64 = out instanceof Float64Array;
  const uniforms = (count: number): Float64Array => {
    const u = new Float64Array(count);
    if (f64) {
      const w = randomWords(key, 2 * count);
      for (let j = 0; j < count; j++) u[j] = ((w[2 * j] >>> 6) * 134217728 + (w[2 * j + 1] >>> 5)) / 9007199254740992;
    } else {
      const w = randomWords(key, count);
      for (let j = 0; j < count; j++) u[j] = (w[j] >>> 9) / 8388608;
    }
    return u;
  };
  if (dist === "bits") {
    const w = randomWords(key, n);
    for (let j = 0; j < n; j++) out[j] = w[j] | 0;
  } else if (dist === "uniform") {
    out.set(uniforms(n));
  } else {
    const u = uniforms(2 * n);
    for (let j = 0; j < n; j++) out[j] = Math.sqrt(-2 * Math.log(1 - u[j])) * Math.cos(2 * Math.PI * u[n + j]);
  }
}
