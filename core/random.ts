/**
 * Counter-based randomness: Threefry-2x32 (20 rounds, Salmon et al. 2011) with explicit keys,
 * laid out as JAX lays it out, so every backend produces the same bits. A key has one of JAX's two
 * layouts, chosen when it is made and kept by every key derived from it:
 * - `key(seed)`, the default: the classic layout, JAX's under `jax_threefry_partitionable=False`
 *   (JAX's default before 0.5): `key`, `split`, `foldIn`, `randomBits` and float32 `uniform` agree
 *   with `jax.random` bit for bit after `jax.config.update("jax_threefry_partitionable", False)`.
 * - `key(seed, { layout: "partitionable" })`: JAX's layout under `jax_threefry_partitionable=True`
 *   (the default of JAX 0.5 and later): `key`, `split`, `foldIn`, `randomBits`, float32 `uniform`
 *   and float64 `uniform` (JAX's under `jax_enable_x64`) agree with current JAX's bit for bit.
 *
 * `key` and `foldIn` are the same in both layouts. `normal` is Tangent's own in both (Box–Muller,
 * where JAX's is an inverse erf): the same law, other numbers; so is the classic float64 `uniform`.
 *
 * Classic words for n elements under key k: with M = ⌈n/2⌉, pair c ∈ [0, M) is
 * `threefry(k, (c, M + c < n ? M + c : 0))`; word j is the first output of pair j for j < M and the
 * second output of pair j − M otherwise; `split(k, n)`'s key i is words 2i, 2i + 1 of 2n words.
 *
 * Partitionable: counter pair j is `(⌊j/2³²⌋, j mod 2³²)` (JAX's `iota_2x32_shape`) and
 * `(a, b) = threefry(k, pair j)`; word j is `a ^ b`; `split(k, n)`'s key i is `(a, b)` of pair i;
 * the float64 uniform j is `((a·2³² + b) >>> 12) / 2⁵²`.
 *
 * From the words (either layout):
 * - `randomBits`: word j as int32.
 * - float32 `uniform`: `bitcast((w >>> 9) | 0x3f800000) − 1` ∈ [0, 1).
 * - classic float64 `uniform`: from words 2j, 2j+1 of 2n words: `((w₀ >>> 6)·2²⁷ + (w₁ >>> 5)) / 2⁵³`.
 * - `normal`: Box–Muller on the uniforms u of 2n elements: `√(−2 ln(1 − uⱼ)) · cos(2π u_{n+j})`.
 * @module
 */
import type { DType } from "./dtype.ts";
import { BackendError, DomainError, DTypeError, fmtShape, ShapeError } from "./errors.ts";
import { checkOptions } from "./options.ts";
import { bind1, jitTrace, liveVmapLevels } from "./primitive.ts";
import { randomP } from "./primitives.ts";
import { reshape, slice, stack } from "./ops/shape.ts";
import { fillRandom, foldInWords, type KeyLayout, randomWords, splitWords, threefry2x32 } from "./threefry.ts";
import { type KeySym, SymKey } from "./key_trace.ts";

export { fillRandom, randomWords, threefry2x32 };
export type { KeyLayout };
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
  /**
   * `"partitionable"` on a key of JAX's partitionable layout (from `key(seed, { layout:
   * "partitionable" })` and the keys derived from it); absent (or `"classic"`) on a classic key.
   */
  readonly layout?: KeyLayout;
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
  if (x instanceof BatchedKey || x instanceof SymKey) return true;
  if (x === null || typeof x !== "object" || Array.isArray(x) || x instanceof Tensor) return false;
  // a key holds its words and perhaps its layout only (a pytree node may have a `words` field)
  const names = Object.keys(x);
  if (names.length !== 1 && !(names.length === 2 && "layout" in x)) return false;
  const l = (x as { layout?: unknown }).layout;
  if (l !== undefined && l !== "classic" && l !== "partitionable") return false;
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
 * sizes) and two words per key, outer levels major (`[S₀, S₁, …]` keys). Examples batched unevenly
 * (one at an enclosing level, another not, or at other enclosing levels) are laid out over all of
 * their levels: an example not batched at one has the same key at every index of it, so each
 * example still draws its own key's bits. Null only when the examples' keys have two layouts (one
 * draw has one layout).
 */
function keyGrid(
  op: string,
  k: Key,
): { levels: { level: number; size: number }[]; words: number[]; syms: KeySym[]; layout: KeyLayout } | null {
  const bk = batchOf(op, k);
  if (!bk) return { levels: [], words: [...wordsOf(k)], syms: [symOf(k)], layout: layoutOf(k) };
  const subs = bk.keys.map((e) => keyGrid(op, e));
  if (subs.some((s) => s === null)) return null;
  const grids = subs as NonNullable<(typeof subs)[number]>[];
  const layout = grids[0].layout;
  if (grids.some((s) => s.layout !== layout)) return null;
  // the enclosing levels of all examples, outermost (lowest) first; each has one size
  const sizes = new Map<number, number>();
  for (const s of grids) for (const l of s.levels) sizes.set(l.level, l.size);
  const levels = [...sizes].sort((a, b) => a[0] - b[0]).map(([level, size]) => ({ level, size }));
  if (levels.length > 0 && levels[levels.length - 1].level >= bk.level) return null; // not nested as vmaps nest
  // example i's key index along each level (its stride there, 0 where it is not batched)
  const strides = grids.map((s) => {
    let stride = 1;
    const at = new Map<number, number>();
    for (let j = s.levels.length - 1; j >= 0; j--) {
      at.set(s.levels[j].level, stride);
      stride *= s.levels[j].size;
    }
    return levels.map((l) => at.get(l.level) ?? 0);
  });
  const per = levels.reduce((a, l) => a * l.size, 1), n = grids.length;
  const words = new Array<number>(2 * per * n), syms = new Array<KeySym>(per * n);
  const idx = new Array<number>(levels.length).fill(0);
  for (let s = 0; s < per; s++) {
    for (let i = 0; i < n; i++) {
      let e = 0;
      for (let j = 0; j < levels.length; j++) e += idx[j] * strides[i][j];
      words[2 * (s * n + i)] = grids[i].words[2 * e];
      words[2 * (s * n + i) + 1] = grids[i].words[2 * e + 1];
      syms[s * n + i] = grids[i].syms[e];
    }
    for (let j = levels.length - 1; j >= 0 && ++idx[j] === levels[j].size; j--) idx[j] = 0; // next index, outer-major
  }
  return { levels: [...levels, { level: bk.level, size: n }], words, syms, layout };
}

/**
 * One `random` application of `shape` under `k`. A key batched by vmaps draws the whole batch in one
 * application (`[S₀, …, B, ...shape]`, block i with key i: each example's bits are those of its own
 * key's draw), returned batched at those levels, also when the examples' keys are batched unevenly
 * across enclosing vmaps. Only a batch mixing keys of the two layouts draws per example.
 */
function draw(op: string, k: Key, shape: number[], dist: "bits" | "uniform" | "normal", dtype: DType): Tensor {
  const bk = batchOf(op, k);
  if (!bk) {
    const key = [...wordsOf(k)];
    return bind1(randomP, [], { key, shape, dist, dtype, ...traced([symOf(k)]), ...layoutParam(layoutOf(k)) });
  }
  const grid = keyGrid(op, k);
  if (!grid) {
    // keys of two layouts: batch axis first; batched at enclosing levels as the keys are
    return wrapAt(stack(bk.keys.map((e) => draw(op, e, shape, dist, dtype)), 0), bk.level);
  }
  const full = [...grid.levels.map((l) => l.size), ...shape];
  const params = { key: grid.words, shape: full, dist, dtype, ...traced(grid.syms), ...layoutParam(grid.layout) };
  let t = bind1(randomP, [], params);
  for (const l of grid.levels) t = wrapAt(t, l.level);
  return t;
}

/** A plain or traced key's layout. */
function layoutOf(k: Key): KeyLayout {
  return k.layout === "partitionable" ? "partitionable" : "classic";
}

/**
 * The `layout` param of a draw: set for the partitionable layout only, so a classic draw's params
 * (and the graphs `jit` caches) are as they were before layouts existed.
 */
function layoutParam(layout: KeyLayout): { layout?: "partitionable" } {
  return layout === "partitionable" ? { layout } : {};
}

/** A key's words, without noting a read of a traced key's (its derivation goes along). */
function wordsOf(k: Key): readonly [number, number] {
  return k instanceof SymKey ? k._w : k.words;
}

/** Where a plain or traced key's words come from. */
function symOf(k: Key): KeySym {
  return k instanceof SymKey ? k._sym : { kind: "const", words: k.words };
}

/** The `keyOf` param of a draw whose keys `jit` traces (none when none is traced). */
function traced(syms: KeySym[]): { keyOf?: KeySym[] } {
  return syms.some((s) => s.kind !== "const") ? { keyOf: syms } : {};
}

function symKey(w0: number, w1: number, sym: KeySym, layout: KeyLayout): Key {
  return new SymKey([w0 >>> 0, w1 >>> 0], sym, layout);
}

/**
 * A plain key of the words `w0`, `w1` (as uint32) in `layout`: frozen, with a `layout` field only
 * when partitionable, as `key` makes it. `jit` turns the keys a replay derives back into these.
 * @internal
 */
export function makeKey(w0: number, w1: number, layout: KeyLayout | undefined): Key {
  const words = Object.freeze([w0 >>> 0, w1 >>> 0]) as readonly [number, number];
  return Object.freeze(layout === "partitionable" ? { words, layout } : { words });
}

/**
 * A key from an integer seed (as `jax.random.PRNGKey(seed)` under `jax_enable_x64`: the high word is
 * the seed's bits above 32, so a negative seed or one of 2³² and beyond is JAX's x64 key; JAX without
 * x64 keeps only the low 32 bits there).
 *
 * `layout` picks how this key and every key derived from it (`split`, `foldIn`, under `vmap` and
 * `jit` too) lay out their draws: `"classic"` (the default) matches JAX with
 * `jax_threefry_partitionable=False` (JAX before 0.5), `"partitionable"` matches JAX with
 * `jax_threefry_partitionable=True` (the default of JAX 0.5 and later). The words of `key(seed)` are
 * the same in both; the layout is in `Key.layout`.
 * @example
 * ```ts
 * import { key, randomBits, split, normal } from "@tangent/tangent";
 * const [k1, k2] = split(key(0));
 * const x = normal(k1, [2, 3]);
 * // as current JAX (0.5+): jax.random.split(jax.random.PRNGKey(0))
 * const [p1] = split(key(0, { layout: "partitionable" }));
 * if (p1.layout !== "partitionable" || p1.words[0] !== 1797259609) throw new Error("JAX 0.5+'s split");
 * ```
 */
export function key(seed: number, opts: { layout?: KeyLayout } = {}): Key {
  checkOptions("key", opts, ["layout"], '{ layout: "partitionable" }');
  const layout = opts.layout ?? "classic";
  if (layout !== "classic" && layout !== "partitionable") {
    throw new DomainError(
      `key: layout ${JSON.stringify(layout)} is not one of "classic" (JAX with jax_threefry_partitionable=False, ` +
        `the default) or "partitionable" (JAX 0.5+'s default, jax_threefry_partitionable=True)`,
    );
  }
  if (!Number.isSafeInteger(seed)) throw new DTypeError(`key: seed must be a safe integer, got ${seed}`);
  const hi = Math.floor(seed / 2 ** 32), lo = seed - hi * 2 ** 32;
  return makeKey(hi, lo, layout);
}

/**
 * `n` independent keys derived from `k`, of `k`'s layout (as `jax.random.split`: a classic key's as
 * with `jax_threefry_partitionable=False`, JAX's default before 0.5; a key made with
 * `{ layout: "partitionable" }` as with True, the default of JAX 0.5 and later).
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
  const layout = layoutOf(k);
  const w = splitWords(wordsOf(k), n, layout);
  if (k instanceof SymKey) {
    const sym = (i: number): KeySym => ({ kind: "split", parent: k._sym, n, i, layout });
    return Array.from({ length: n }, (_, i) => symKey(w[2 * i], w[2 * i + 1], sym(i), layout));
  }
  return Array.from({ length: n }, (_, i) => makeKey(w[2 * i], w[2 * i + 1], layout));
}

/**
 * A key derived from `k` and an integer (as `jax.random.fold_in`, the same in both layouts), of
 * `k`'s layout. The integer may be an int32
 * tensor of one element: under `vmap`, one per example (`vmap((k, i) => foldIn(k, i))(keys, ids)`),
 * each example's key is `foldIn` of its key (or the shared one) and its own integer, bit for bit.
 * Its value is read on the host (CPU tensors); under `jit` the tensor is an input of the graph (the
 * replay folds in its value then), so the function stays traced.
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
  const [y0, y1] = foldInWords(wordsOf(k), data);
  return k instanceof SymKey
    ? symKey(y0, y1, { kind: "fold", parent: k._sym, data: data >>> 0 }, layoutOf(k))
    : makeKey(y0, y1, layoutOf(k));
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
    if (!data._bt) return jitTrace.trace ? foldTraced(k, data, 0) : foldIn(k, readData(data)[0]);
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
  const keyOf = (i: number) => (bk?.level === level ? bk.keys[i] : k);
  if (!value._bt && jitTrace.trace) {
    return batchedKey(level, Array.from({ length: size }, (_, i) => foldTraced(keyOf(i), value, i)));
  }
  const rows: (number | Tensor)[] = value._bt
    ? Array.from({ length: size }, (_, i) => reshape(slice(value, [[i, i + 1]]), []))
    : Array.from(readData(value));
  return batchedKey(level, rows.map((r, i) => foldIn(keyOf(i), r)));
}

/**
 * Inside a `jit` trace: `foldIn(k, data[at])` as a traced key whose replays fold in that element's
 * value then (the value read here, on the host, does not make the trace value-dependent).
 */
function foldTraced(k: Key, data: Tensor, at: number): Key {
  const bk = batchOf("foldIn", k);
  if (bk) return batchedKey(bk.level, bk.keys.map((e) => foldTraced(e, data, at)));
  checkHost(data);
  const v = data.backend.toHostSync(data._live("foldIn"), data)[at];
  const [y0, y1] = foldInWords(wordsOf(k), v);
  return symKey(y0, y1, { kind: "foldT", parent: symOf(k), data, at }, layoutOf(k));
}

/** The integers of foldIn's data, read on the host (keys are made there). */
function readData(t: Tensor): ArrayLike<number> {
  checkHost(t);
  return t._readSync("foldIn(k, data)");
}

function checkHost(t: Tensor): void {
  if (t.backend.name !== "cpu") {
    throw new BackendError(
      `foldIn: the data ${fmtShape(t.shape)} lives on the ${t.backend.name} backend, and keys are made on the host ` +
        `from integers read at once; keep the integers on the CPU (toBackend(ids, "cpu")) or pass numbers`,
    );
  }
}

function checkKey(op: string, k: Key): void {
  if (k instanceof BatchedKey || k instanceof SymKey) return;
  const w = (k as Partial<Key> | null | undefined)?.words;
  const l = (k as Partial<Key> | null | undefined)?.layout;
  if (
    !Array.isArray(w) || w.length !== 2 || !w.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32) ||
    (l !== undefined && l !== "classic" && l !== "partitionable")
  ) {
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
 * float32 draws on [0, 1) are `jax.random.uniform`'s bit for bit with
 * `jax_threefry_partitionable=False` (a partitionable key's: with True); with `min`/`max` they are `u·(max − min) + min` rounded after
 * each operation, where JAX's compiled draw rounds once (a fused multiply-add) and takes the range in
 * float32, so about a third of the elements differ from JAX's in the last bit. float64 draws of a
 * classic key are Tangent's own 53-bit layout (not JAX's); of a partitionable key, JAX's (52 bits,
 * `jax_enable_x64`) on [0, 1).
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

/**
 * Standard normal floats; float16 ones are float32's rounded. A batched key draws its batch at once.
 * Box–Muller on `uniform`'s bits: the same law as `jax.random.normal` (an inverse erf), other numbers.
 */
export function normal(k: Key, shape: readonly number[], opts: { dtype?: DType } = {}): Tensor {
  checkKey("normal", k);
  checkOptions("normal", opts, ["dtype"], '{ dtype: "float64" }');
  const dtype = opts.dtype ?? "float32";
  if (dtype === "float16") return normal(k, shape, { dtype: "float32" }).astype("float16");
  if (dtype !== "float32" && dtype !== "float64") throw new DTypeError(`normal: dtype must be a float, got ${dtype}`);
  return draw("normal", k, checkShape("normal", shape), "normal", dtype);
}

/**
 * Raw random 32-bit words as int32 (as `jax.random.bits(k, shape, "uint32")` viewed as int32, in the
 * key's layout). A batched key draws its batch at once.
 * @example
 * ```ts
 * import { key, randomBits } from "@tangent/tangent";
 * const classic = randomBits(key(0), [3]); // JAX before 0.5 (jax_threefry_partitionable=False)
 * const current = randomBits(key(0, { layout: "partitionable" }), [3]); // JAX 0.5+
 * if (classic.shape[0] !== 3 || current.dtype !== "int32") throw new Error("bits");
 * ```
 */
export function randomBits(k: Key, shape: readonly number[]): Tensor {
  checkKey("randomBits", k);
  return draw("randomBits", k, checkShape("randomBits", shape), "bits", "int32");
}
