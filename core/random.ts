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
import { BackendError, DomainError, DTypeError, fmtShape, ShapeError } from "./errors.ts";
import { checkOptions } from "./options.ts";
import { bind1, liveVmapLevels } from "./primitive.ts";
import { randomP } from "./primitives.ts";
import { reshape, slice, stack } from "./ops/shape.ts";
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
 * What a key batched by a `vmap` holds: the vmap's level and one key per example (themselves
 * batched at enclosing vmaps' levels, or plain).
 * @internal
 */
export interface KeyBatch {
  readonly level: number;
  readonly keys: readonly Key[];
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
export function batchedKey(level: number, keys: readonly Key[]): Key {
  return new BatchedKey({ level, keys: Object.freeze([...keys]) });
}

/**
 * Whether `x` is a key batched by a `vmap`.
 * @internal
 */
export function isBatchedKey(x: unknown): boolean {
  return x instanceof BatchedKey;
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
  if (bk && !liveVmapLevels.has(bk.level)) {
    throw new ShapeError(
      `${op}: the key was batched by a vmap (${bk.keys.length} examples) that has returned; a batched key lives ` +
        `only inside its vmap: return it from the vmapped function (it comes back as one key per example) and use those`,
    );
  }
  return bk;
}

/**
 * A tensor of one example's shape whose elements are `value`'s (batch axis first) at vmap level `level`.
 * @internal for `vmap` and the batched draws.
 */
export function wrapAt(value: Tensor, level: number): Tensor {
  const t = new Tensor(value._storage, value.shape.slice(1), value.dtype);
  t._bt = { level, value };
  return t;
}

/**
 * A batched key's examples as a grid: the vmap levels it is batched at (outermost first, with their
 * sizes) and two words per key, outer levels major (`[S₀, S₁, …]` keys). Null when the examples are
 * batched unevenly (some at an enclosing level, some not).
 */
function keyGrid(op: string, k: Key): { levels: { level: number; size: number }[]; words: number[] } | null {
  const bk = batchOf(op, k);
  if (!bk) return { levels: [], words: [...k.words] };
  const subs = bk.keys.map((e) => keyGrid(op, e));
  const s0 = subs[0];
  const same = (s: typeof s0) =>
    s !== null && s.levels.length === s0!.levels.length &&
    s.levels.every((l, j) => l.level === s0!.levels[j].level && l.size === s0!.levels[j].size);
  if (!s0 || !subs.every(same)) return null;
  const per = s0.words.length / 2, n = subs.length;
  const words = new Array<number>(2 * per * n);
  for (let s = 0; s < per; s++) {
    for (let i = 0; i < n; i++) {
      words[2 * (s * n + i)] = subs[i]!.words[2 * s];
      words[2 * (s * n + i) + 1] = subs[i]!.words[2 * s + 1];
    }
  }
  return { levels: [...s0.levels, { level: bk.level, size: n }], words };
}

/**
 * One `random` application of `shape` under `k`. A key batched by vmaps draws the whole batch in one
 * application (`[S₀, …, B, ...shape]`, block i with key i: each example's bits are those of its own
 * key's draw), returned batched at those levels; unevenly batched keys draw per example.
 */
function draw(op: string, k: Key, shape: number[], dist: "bits" | "uniform" | "normal", dtype: DType): Tensor {
  const bk = batchOf(op, k);
  if (!bk) return bind1(randomP, [], { key: [...k.words], shape, dist, dtype });
  const grid = keyGrid(op, k);
  if (!grid) {
    // batch axis first; batched at enclosing levels as the keys are
    return wrapAt(stack(bk.keys.map((e) => draw(op, e, shape, dist, dtype)), 0), bk.level);
  }
  let t = bind1(randomP, [], { key: grid.words, shape: [...grid.levels.map((l) => l.size), ...shape], dist, dtype });
  for (const l of grid.levels) t = wrapAt(t, l.level);
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
    return Array.from({ length: n }, (_, j) => batchedKey(bk.level, per.map((p) => p[j])));
  }
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 20) {
    throw new DomainError(
      `split: n = ${n} must be a whole number of keys in [0, 2²⁰]; for more, split in two levels or use foldIn(k, i)`,
    );
  }
  const w = randomWords(k.words, 2 * n);
  return Array.from({ length: n }, (_, i) => makeKey(w[2 * i], w[2 * i + 1]));
}

/**
 * A key derived from `k` and an integer (as `jax.random.fold_in`). The integer may be an int32
 * tensor of one element: under `vmap`, one per example (`vmap((k, i) => foldIn(k, i))(keys, ids)`),
 * each example's key is `foldIn` of its key (or the shared one) and its own integer, bit for bit.
 * Its value is read on the host (CPU tensors; under `jit` such a read runs the function eagerly).
 * @example
 * ```ts
 * import { foldIn, key, type Key, split, tensor, vmap } from "@tangent/tangent";
 * const k = foldIn(key(0), 7); // as foldIn(key(0), tensor(7, { dtype: "int32" }))
 * const ids = tensor([3, 1, 4], { dtype: "int32" });
 * const perStep: Key[] = vmap((i) => foldIn(k, i))(ids); // perStep[j] is foldIn(k, [3, 1, 4][j])
 * const both: Key[] = vmap(foldIn)(split(k, 3), ids); // both[j] is foldIn(split(k, 3)[j], [3, 1, 4][j])
 * if (perStep[2].words[0] !== foldIn(k, 4).words[0]) throw new Error("per example");
 * ```
 */
export function foldIn(k: Key, data: number | Tensor): Key {
  checkKey("foldIn", k);
  if (data instanceof Tensor) return foldInTensor(k, data);
  const bk = batchOf("foldIn", k);
  if (bk) return batchedKey(bk.level, bk.keys.map((e) => foldIn(e, data)));
  if (typeof data !== "number" || !Number.isInteger(data) || data < -(2 ** 31) || data >= 2 ** 32) {
    throw new DomainError(
      `foldIn: data = ${data} must be an integer in [-2147483648, 4294967295] (it is folded in as 32 bits); ` +
        `fold larger values in twice, e.g. foldIn(foldIn(k, hi), lo)`,
    );
  }
  const [y0, y1] = threefry2x32(k.words[0], k.words[1], 0, data >>> 0);
  return makeKey(y0, y1);
}

/** `foldIn` of an int32 tensor of one element, batched by vmaps or not (then read on the host). */
function foldInTensor(k: Key, data: Tensor): Key {
  if (data.dtype !== "int32") {
    throw new DTypeError(
      `foldIn: data must be an int32 tensor (one integer; under vmap one per example), got ${data.dtype} ` +
        `${fmtShape(data.shape)}; cast it with astype("int32") or pass a number`,
    );
  }
  if (data.ndim !== 0) {
    throw new ShapeError(
      `foldIn: data must be one integer (a 0-d int32 tensor; under vmap one per example), got shape ` +
        `${fmtShape(data.shape)}; fold its elements in one at a time, or vmap over them`,
    );
  }
  const bk = batchOf("foldIn", k);
  const level = Math.max(bk?.level ?? 0, data._bt?.level ?? 0); // vmap levels count from 1
  if (!data._bt || data._bt.level < level) {
    // the data is the same for every example at the innermost level: fold its value into each key
    if (!data._bt) return foldIn(k, readData(data)[0]);
    return batchedKey(level, bk!.keys.map((e) => foldIn(e, data)));
  }
  const value = data._bt.value, size = value.shape[0];
  if (!liveVmapLevels.has(level)) {
    throw new ShapeError(
      `foldIn: data ${fmtShape(data.shape)} is batched by a vmap that has returned; a batched value lives only ` +
        `inside its vmap: fold it in there, or return it from the vmapped function and use the result`,
    );
  }
  // example i's integer: read once when only this vmap batches it, else sliced (batched at the enclosing ones)
  const rows: (number | Tensor)[] = value._bt
    ? Array.from({ length: size }, (_, i) => reshape(slice(value, [[i, i + 1]]), []))
    : Array.from(readData(value));
  const keyOf = (i: number) => (bk?.level === level ? bk.keys[i] : k);
  return batchedKey(level, rows.map((r, i) => foldIn(keyOf(i), r)));
}

/** The integers of foldIn's data, read on the host (keys are made there). */
function readData(t: Tensor): ArrayLike<number> {
  if (t.backend.name !== "cpu") {
    throw new BackendError(
      `foldIn: the data ${fmtShape(t.shape)} lives on the ${t.backend.name} backend, and keys are made on the host ` +
        `from integers read at once; keep the integers on the CPU (toBackend(ids, "cpu")) or pass numbers`,
    );
  }
  return t._readSync("foldIn(k, data)");
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

/**
 * Uniform floats in `[min, max)` (default [0, 1)); float16 ones are float32's rounded. Under `vmap`
 * with one key per example, the whole batch is one draw (each example's bits are its own key's).
 */
export function uniform(
  k: Key,
  shape: readonly number[],
  opts: { dtype?: DType; min?: number; max?: number } = {},
): Tensor {
  checkKey("uniform", k);
  checkOptions("uniform", opts, ["dtype", "min", "max"], '{ dtype: "float64" }');
  const dtype = opts.dtype ?? "float32";
  if (dtype === "float16") return uniform(k, shape, { ...opts, dtype: "float32" }).astype("float16");
  if (dtype !== "float32" && dtype !== "float64") throw new DTypeError(`uniform: dtype must be a float, got ${dtype}`);
  const lo = opts.min ?? 0, hi = opts.max ?? 1;
  const u = draw("uniform", k, checkShape("uniform", shape), "uniform", dtype);
  if (typeof lo !== "number" || typeof hi !== "number" || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new DomainError(`uniform: min = ${lo} and max = ${hi} must be finite numbers with min ≤ max`);
  }
  return lo === 0 && hi === 1 ? u : u.mul(hi - lo).add(lo);
}

/** Standard normal floats; float16 ones are float32's rounded. A batched key draws its batch at once. */
export function normal(k: Key, shape: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  checkKey("normal", k);
  checkOptions("normal", opts, ["dtype"], '{ dtype: "float64" }');
  const dtype = opts.dtype ?? "float32";
  if (dtype === "float16") return normal(k, shape, { dtype: "float32" }).astype("float16");
  if (dtype !== "float32" && dtype !== "float64") throw new DTypeError(`normal: dtype must be a float, got ${dtype}`);
  return draw("normal", k, checkShape("normal", shape), "normal", dtype);
}

/** Raw random 32-bit words as int32. A batched key draws its batch at once. */
export function randomBits(k: Key, shape: readonly number[]): Tensor {
  checkKey("randomBits", k);
  return draw("randomBits", k, checkShape("randomBits", shape), "bits", "int32");
}

/**
 * Fills `out` (float32/float64/int32 array) with the distribution's values under `key`: the two
 * words of one key, or 2B words of B keys (a batched draw: `out` in B equal consecutive blocks,
 * block i drawn with key i, as its own draw would be).
 */
export function fillRandom(
  key: readonly number[],
  dist: "bits" | "uniform" | "normal",
  out: Float32Array | Float64Array | Int32Array,
): void {
  if (key.length !== 2) {
    const b = key.length / 2, per = out.length / b;
    if (!Number.isInteger(b) || b < 1 || !Number.isInteger(per)) {
      throw new DomainError(
        `random: ${key.length} key words for ${out.length} elements; give 2 words per key and a multiple of the ` +
          `number of keys as the element count`,
      );
    }
    for (let i = 0; i < b; i++) fillRandom([key[2 * i], key[2 * i + 1]], dist, out.subarray(i * per, (i + 1) * per));
    return;
  }
  const k2 = key as unknown as readonly [number, number];
  const n = out.length;
  const f64 = out instanceof Float64Array;
  const uniforms = (count: number): Float64Array => {
    const u = new Float64Array(count);
    if (f64) {
      const w = randomWords(k2, 2 * count);
      for (let j = 0; j < count; j++) u[j] = ((w[2 * j] >>> 6) * 134217728 + (w[2 * j + 1] >>> 5)) / 9007199254740992;
    } else {
      const w = randomWords(k2, count);
      for (let j = 0; j < count; j++) u[j] = (w[j] >>> 9) / 8388608;
    }
    return u;
  };
  if (dist === "bits") {
    const w = randomWords(k2, n);
    for (let j = 0; j < n; j++) out[j] = w[j] | 0;
  } else if (dist === "uniform") {
    out.set(uniforms(n));
  } else {
    const u = uniforms(2 * n);
    for (let j = 0; j < n; j++) out[j] = Math.sqrt(-2 * Math.log(1 - u[j])) * Math.cos(2 * Math.PI * u[n + j]);
  }
}
