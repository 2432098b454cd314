/**
 * vmap over random keys (issue 11): an array of keys given a numbered inAxes entry is one key per
 * example, and each example draws exactly what the loop over the keys draws (so float32 `uniform`,
 * `randomBits`, `split` and `foldIn` match `jax.vmap` over `jax.random.split` bit for bit, under
 * `jax_threefry_partitionable=False` as the single-key draws do). Then shared keys, nesting, keys
 * returned, jit, a per-example dropout gradient, and the errors.
 */
import assert from "node:assert/strict";
import {
  foldIn,
  grad,
  greater,
  jit,
  jitInfo,
  type Key,
  key,
  mul,
  normal,
  randomBits,
  scan,
  ShapeError,
  split,
  square,
  stack,
  sum,
  take,
  type Tensor,
  tensor,
  uniform,
  vmap,
  zeros,
} from "../mod.ts";

const keys5 = split(key(0), 5);

/** Row `i` of `x` (axis 0 dropped). */
const row = (x: Tensor, i: number) => take(x, [i], 0).reshape(x.shape.slice(1));

/** The elements of `t` as plain numbers. */
const vals = (t: Tensor) => Array.from(t.dataSync(), Number);

function assertSame(a: Tensor, b: Tensor, what: string) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  assert.deepEqual(vals(a), vals(b), `${what}: values`);
}

Deno.test("vmap over keys: uniform, normal and randomBits equal the loop over the keys, float32 and float64", () => {
  for (const dtype of ["float32", "float64", "float16"] as const) {
    const u = vmap((k: Key) => uniform(k, [2, 3], { dtype, min: -1, max: 2 }))(keys5);
    assertSame(u, stack(keys5.map((k) => uniform(k, [2, 3], { dtype, min: -1, max: 2 }))), `uniform ${dtype}`);
    const n = vmap((k: Key) => normal(k, [3], { dtype }))(keys5);
    assertSame(n, stack(keys5.map((k) => normal(k, [3], { dtype }))), `normal ${dtype}`);
  }
  assertSame(vmap((k: Key) => randomBits(k, [4]))(keys5), stack(keys5.map((k) => randomBits(k, [4]))), "bits");
  // the examples differ (not one key's draw repeated)
  const rows = vmap((k: Key) => normal(k, [3]))(keys5).dataSync();
  assert.notDeepEqual(Array.from(rows.slice(0, 3)), Array.from(rows.slice(3, 6)));
});

Deno.test("vmap over keys matches jax.vmap over jax.random.split bit for bit (float32 uniform, bits, split, foldIn)", () => {
  // jax 0.10.2, jax_threefry_partitionable=False, ks = jax.random.split(jax.random.PRNGKey(0), 5):
  // jax.vmap(lambda k: jax.random.uniform(k, (2,)))(ks)[:2]
  assert.deepEqual(vals(vmap((k: Key) => uniform(k, [2]))(keys5)).slice(0, 4), [
    0.7428994178771973,
    0.29292750358581543,
    0.09380412101745605,
    0.730025053024292,
  ]);
  // jax.vmap(lambda k: jax.random.bits(k, (3,)))(ks)[:2] (uint32; Tangent's int32 read as unsigned)
  assert.deepEqual(vals(vmap((k: Key) => randomBits(k, [3]))(keys5)).slice(0, 6).map((v) => v >>> 0), [
    2287280192,
    4110147843,
    172707785,
    744808397,
    1922351348,
    591000125,
  ]);
  // jax.vmap(lambda k: jax.random.split(k, 2))(ks)[1]
  const pairs = vmap((k: Key) => split(k, 2))(keys5);
  assert.deepEqual(pairs[1].map((k) => [...k.words]), [[744808397, 299353686], [591000125, 1754754195]]);
  // jax.vmap(lambda k: jax.random.uniform(jax.random.fold_in(k, 7), (2,)))(ks)[:2]
  assert.deepEqual(vals(vmap((k: Key) => uniform(foldIn(k, 7), [2]))(keys5)).slice(0, 4), [
    0.4749237298965454,
    0.07721257209777832,
    0.6775765419006348,
    0.14787065982818604,
  ]);
  // jax.vmap(lambda k: jax.random.uniform(jax.random.split(k, 3)[2], (4,)))(ks)[3]
  assert.deepEqual(vals(vmap((k: Key) => uniform(split(k, 3)[2], [4]))(keys5)).slice(12, 16), [
    0.6508829593658447,
    0.07850241661071777,
    0.05230510234832764,
    0.2861670255661011,
  ]);
});

Deno.test("vmap over keys: split and foldIn inside, keys returned as arrays (outAxes places the batch)", () => {
  const drawn = vmap((k: Key) => {
    const [a, b] = split(k);
    return [normal(a, [2]), uniform(foldIn(b, 3), [2], { dtype: "float64" })];
  })(keys5);
  assertSame(drawn[0], stack(keys5.map((k) => normal(split(k)[0], [2]))), "split inside");
  assertSame(drawn[1], stack(keys5.map((k) => uniform(foldIn(split(k)[1], 3), [2], { dtype: "float64" }))), "foldIn");
  // a returned Key[] comes back as Key[n][m] (JAX's [n, m] key array), a returned key as Key[n]
  const out = vmap((k: Key) => ({ pair: split(k, 2), one: foldIn(k, 9), same: key(4) }))(keys5);
  assert.equal(out.pair.length, 5);
  out.pair.forEach((p, i) => assert.deepEqual(p.map((k) => k.words), split(keys5[i], 2).map((k) => k.words)));
  assert.deepEqual(out.one.map((k: Key) => k.words), keys5.map((k) => foldIn(k, 9).words));
  assert.deepEqual(out.same.map((k: Key) => k.words), Array(5).fill(key(4).words)); // unbatched: repeated
  // returned keys are plain keys: usable outside
  assertSame(normal(out.pair[2][1], [3]), normal(split(keys5[2], 2)[1], [3]), "returned key");
  // outAxes 1: Key[m][n]
  const t = vmap((k: Key) => split(k, 3), { outAxes: 1 })(keys5);
  assert.equal(t.length, 3);
  assert.equal(t[0].length, 5);
  assert.deepEqual(t[2][4].words, split(keys5[4], 3)[2].words);
  // the identity hands the keys back
  assert.deepEqual(vmap((k: Key) => k)(keys5).map((k: Key) => k.words), keys5.map((k) => k.words));
});

Deno.test("vmap over keys: inAxes null shares a key, key arrays in pytrees and along another axis", () => {
  const xs = tensor([[1, 2], [3, 4], [5, 6]]);
  const shared = vmap((x: Tensor, k: Key) => mul(x, normal(k, [2])), { inAxes: [0, null] })(xs, key(1));
  assertSame(shared, stack([0, 1, 2].map((i) => mul(row(xs, i), normal(key(1), [2])))), "shared key");
  const ks = split(key(2), 3);
  const tree = vmap((a: { x: Tensor; k: Key }) => mul(a.x, uniform(a.k, [2])))({ x: xs, k: ks });
  assertSame(tree, stack([0, 1, 2].map((i) => mul(row(xs, i), uniform(ks[i], [2])))), "pytree");
  // a pytree node with a `words` field among others is not a key
  const cfg = vmap((a: { words: number[]; x: Tensor }) => a.x.mul(a.words[1]))({ words: [1, 2], x: xs });
  assertSame(cfg, xs.mul(2), "a words field");
  // Key[3][5] batched along axis 1: example i holds keys2d[j][i] for each j
  const keys2d = split(key(3), 3).map((k) => split(k, 5));
  const cols = vmap((row: Key[]) => stack(row.map((k) => normal(k, [2]))), { inAxes: 1 })(keys2d);
  assertSame(
    cols,
    stack([0, 1, 2, 3, 4].map((i) => stack(keys2d.map((r) => normal(r[i], [2]))))),
    "axis 1 of a key array",
  );
  // an array of two key arrays of one shape is one key array: a list spec batches each element apart
  const both = vmap((a: Key, b: Key) => normal(a, [1]).add(normal(b, [1])))(keys5, split(key(7), 5));
  assert.deepEqual(both.shape, [5, 1]);
  const tuple = vmap((p: Key[]) => normal(p[0], [1]).add(normal(p[1], [1])), { inAxes: [[0, 0]] })([
    keys5,
    split(key(7), 5),
  ]);
  assertSame(tuple, both, "a list spec over a pair of key arrays");
});

Deno.test("vmap over keys: nested vmaps (keys of two levels, an outer key inside an inner vmap)", () => {
  const keys2d = keys5.map((k) => split(k, 3));
  const grid = vmap(vmap((k: Key) => normal(k, [2])))(keys2d);
  assertSame(grid, stack(keys2d.map((r) => stack(r.map((k) => normal(k, [2]))))), "Key[5][3]");
  // an outer key closed over by an inner vmap: one draw per outer example, the same for every inner one
  const xs = tensor([[1, 2], [3, 4], [5, 6], [7, 8]]);
  const closed = vmap((k: Key) => vmap((x: Tensor) => x.add(normal(k, [2])))(xs))(keys5);
  assertSame(closed, stack(keys5.map((k) => xs.add(normal(k, [2])))), "closed over");
  const passed = vmap((k: Key) => vmap((x: Tensor, kk: Key) => x.add(normal(kk, [2])), { inAxes: [0, null] })(xs, k))(
    keys5,
  );
  assertSame(passed, closed, "inAxes null for the outer key");
  // keys split from an outer key, batched again by an inner vmap, and returned through both
  const inner = vmap((k: Key) => vmap((kk: Key) => uniform(kk, [2]))(split(k, 3)))(keys5);
  assertSame(inner, stack(keys5.map((k) => stack(split(k, 3).map((kk) => uniform(kk, [2]))))), "split then vmap");
  const back = vmap((k: Key) => vmap((kk: Key) => split(kk, 2))(split(k, 3)))(keys5);
  assert.deepEqual(back[4][1][0].words, split(split(keys5[4], 3)[1], 2)[0].words);
  assert.deepEqual(back[0][2][1].words, split(split(keys5[0], 3)[2], 2)[1].words);
  // an outer batched key given a number in the inner vmap is one key there: refused, naming the fix
  assert.throws(
    () => vmap((k: Key) => vmap((x: Tensor, kk: Key) => x.add(normal(kk, [2])))(xs, k))(keys5),
    (e: unknown) =>
      e instanceof ShapeError && /argument 1 is a single key.*enclosing vmap.*inAxes null/.test(e.message),
  );
});

Deno.test("vmap over keys under jit: jit(vmap(f)) traces once and replays, vmap(jit(f)) runs per call", () => {
  const f = (k: Key) => uniform(k, [3]).mul(2);
  const want = stack(keys5.map(f));
  const jv = jit(vmap(f));
  assertSame(jv(keys5), want, "jit(vmap) traced");
  assertSame(jv(keys5), want, "jit(vmap) replayed");
  assert.equal(jitInfo(jv)[0].mode, "graph");
  const other = split(key(11), 5);
  assertSame(jv(other), stack(other.map(f)), "jit(vmap) other keys (keys are keyed by value)");
  const jf = jit(f);
  const vj = vmap(jf);
  assertSame(vj(keys5), want, "vmap(jit)");
  assertSame(vj(other), stack(other.map(f)), "vmap(jit) again, other keys");
  // a jitted function returning keys inside a vmap gives this call's keys
  const jsplit = jit((k: Key) => split(k, 2));
  const js = vmap(jsplit);
  js(keys5);
  assert.deepEqual(js(other)[3][1].words, split(other[3], 2)[1].words);
  // a batched key makes the jitted function run as itself (as a batched tensor does): nothing cached per call
  assert.equal(jitInfo(jf).length, 0);
  assert.equal(jitInfo(jsplit).length, 0);
  jsplit(key(1)); // a plain key is traced, keyed by its words
  assert.equal(jitInfo(jsplit).length, 1);
});

Deno.test("vmap over keys through scan (a jitted body) carrying the key equals the loop", () => {
  const xs = tensor([1, 2, 3]);
  const run = (k: Key) =>
    scan(
      (c: Key, x: Tensor) => {
        const [a, b] = split(c);
        return [a, normal(b, []).add(x)] as [Key, Tensor];
      },
      k,
      xs,
    )[1];
  const ks = split(key(6), 4);
  assertSame(vmap(run)(ks), stack(ks.map(run)), "scan with a key carry");
});

Deno.test("vmap(grad(...)) with a per-example dropout key equals the loop of per-example gradients", () => {
  const dropout = (k: Key, h: Tensor, p: number) => mul(h, greater(uniform(k, h.shape), p).astype(h.dtype)).div(1 - p);
  const loss = (w: Tensor, x: Tensor, k: Key) => sum(square(dropout(k, mul(w, x), 0.5)));
  const w = tensor([0.5, -1, 2, 0.25, 1.5, -0.75]);
  const xs = tensor([[1, 2, 3, 4, 5, 6], [-1, 0.5, 2, 1, 0, 3], [2, 2, 2, 2, 2, 2], [0, 1, 0, 1, 0, 1]]);
  const ks = split(key(5), 4);
  const per = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, xs, ks);
  const loop = stack([0, 1, 2, 3].map((i) => grad(loss)(w, row(xs, i), ks[i])));
  assertSame(per, loop, "per-example dropout gradients");
  // the masks differ per example (some gradient entries are zero in one row and not in another)
  const rows = [0, 1, 2, 3].map((i) => vals(row(per, i)).map((v) => v === 0));
  assert.ok(rows.some((r) => JSON.stringify(r) !== JSON.stringify(rows[0])));
  // and grad of a vmapped mean loss is the mean of the per-example gradients
  const batchLoss = (w: Tensor) => sum(vmap((x: Tensor, k: Key) => loss(w, x, k))(xs, ks)).div(4);
  const g = grad(batchLoss)(w);
  const mean = loop.sum({ axis: 0 }).div(4);
  vals(g).forEach((v, i) => assert.ok(Math.abs(v - vals(mean)[i]) < 1e-5, `grad of vmap ${i}`));
});

Deno.test("vmap over keys: errors name vmap, the argument and the fix", () => {
  const xs = tensor([[1, 2], [3, 4], [5, 6], [7, 8]]);
  const f = (x: Tensor, k: Key) => x.add(normal(k, [2]));
  const err = (re: RegExp) => (e: unknown) => e instanceof ShapeError && re.test(e.message);
  // keys of another batch size than the tensors
  assert.throws(
    () => vmap(f)(xs, keys5),
    err(/vmap: batch sizes differ: argument 1 \(keys \[5\]\) along axis 0 has 5, argument 0 \[4, 2\].*split\(k, 4\)/),
  );
  assert.throws(
    () => vmap((k: Key, x: Tensor) => f(x, k))(keys5, xs),
    err(/vmap: batch sizes differ: argument 1 \[4, 2\] along axis 0 has 4, argument 0 \(keys \[5\]\).*split\(k, 4\)/),
  );
  // a single key with a number: batch an array, or share it with null
  assert.throws(() => vmap(f)(xs, key(0)), err(/vmap: argument 1 is a single key.*split\(k, n\).*inAxes null/));
  // an array mixing keys with other values
  assert.throws(
    () => vmap((p: [Tensor, Key]) => f(p[0], p[1]))([xs, key(0)]),
    err(/vmap: argument 0 is an array of a tensor \[4, 2\], a key.*mixes keys.*inAxes entry null/),
  );
  // key arrays of different shapes in one array
  assert.throws(
    () => vmap((p: Key[][]) => normal(p[0][0], [1]))([split(key(0), 2), split(key(1), 3)]),
    err(/vmap: argument 0 is an array of keys \[2\], keys \[3\].*differ in shape.*inAxes list/),
  );
  // an axis out of range for the key array
  assert.throws(() => vmap((k: Key) => normal(k, [1]), { inAxes: 1 })(keys5), err(/vmap: axis 1 of argument 0/));
  // a batched key returned with outAxes null
  assert.throws(() => vmap((k: Key) => k, { outAxes: null })(keys5), err(/vmap: the output holds keys that differ/));
  // a batched key kept past its vmap
  let leaked: Key | undefined;
  vmap((k: Key) => {
    leaked = k;
    return normal(k, [1]);
  })(keys5);
  assert.throws(
    () => normal(leaked!, [1]),
    err(/normal: the key was batched by a vmap \(5 examples\) that has returned/),
  );
  assert.throws(() => split(leaked!), err(/split: the key was batched by a vmap/));
  // a batched key's words are one pair per example: reading them is refused
  assert.throws(() => vmap((k: Key) => tensor([...k.words]))(keys5), err(/Key.words: this key is batched by vmap/));
});

const words = (k: Key) => [...k.words];

Deno.test("scan: keys in the per-step output y become an array of each step's key (it returned the first step's alone)", () => {
  const body = (k: Key, _x: Tensor): [Key, { k: Key; u: Tensor }] => {
    const [next, use] = split(k);
    return [next, { k: use, u: uniform(use, [2]) }];
  };
  const [last, ys] = scan(body, key(0), tensor([1, 2, 3]));
  let k = key(0);
  const want: Key[] = [];
  for (let i = 0; i < 3; i++) {
    const [next, use] = split(k);
    want.push(use);
    k = next;
  }
  assert.deepEqual(words(last), words(k));
  assert.ok(Array.isArray(ys.k) && ys.k.length === 3, "one key per step");
  assert.deepEqual(ys.k.map(words), want.map(words));
  assert.deepEqual(ys.u.dataSync(), stack(want.map((w) => uniform(w, [2]))).dataSync());
  // no steps: an empty array of keys beside the empty tensors
  const [, none] = scan(body, key(0), zeros([0]));
  assert.deepEqual(none.k, []);
  assert.deepEqual(none.u.shape, [0, 2]);
});
