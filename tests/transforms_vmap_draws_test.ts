/**
 * Random draws under vmap with one key per example (issue 11): a batched draw is one `random`
 * kernel for the whole batch (it was one per example, then a stack), each example's bits exactly
 * its own key's draw, for every draw, float32 and float64, nested vmaps, and on WebGPU where an
 * adapter is present. And `foldIn` of per-example int32 data under vmap.
 */
import assert from "node:assert/strict";
import {
  BackendError,
  DTypeError,
  foldIn,
  jit,
  jitInfo,
  type Key,
  key,
  normal,
  randomBits,
  ShapeError,
  split,
  stack,
  type Tensor,
  tensor,
  toBackend,
  uniform,
  useBackend,
  vmap,
} from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { assertSame, countDraws, vals } from "./random_helpers.ts";

type Draw = (k: Key) => Tensor;
const draws: [string, Draw][] = [];
for (const dtype of ["float32", "float64"] as const) {
  for (const shape of [[], [1], [3], [2, 3], [4, 5]]) {
    draws.push([`uniform ${dtype} [${shape}]`, (k) => uniform(k, shape, { dtype })]);
    draws.push([`normal ${dtype} [${shape}]`, (k) => normal(k, shape, { dtype })]);
  }
  draws.push([`uniform ${dtype} [-2, 3)`, (k) => uniform(k, [7], { dtype, min: -2, max: 3 })]);
}
for (const shape of [[], [1], [5], [3, 2]]) draws.push([`bits [${shape}]`, (k) => randomBits(k, shape)]);
draws.push(["uniform float16", (k) => uniform(k, [5], { dtype: "float16" })]);
draws.push(["normal float16", (k) => normal(k, [2, 2], { dtype: "float16" })]);

Deno.test("vmap over keys: every draw is one random kernel for the batch, bit for bit the loop over the keys", () => {
  const keys = split(key(42), 6);
  for (const [what, d] of draws) {
    const [batched, kernels] = countDraws(() => vmap(d)(keys));
    assert.equal(kernels, 1, `${what}: one kernel for 6 examples`);
    assertSame(batched, stack(keys.map(d)), what);
  }
  // shared keys (inAxes null) draw once, unbatched, and repeat
  const xs = tensor([[1, 2, 3], [4, 5, 6]]);
  const [shared, n] = countDraws(() =>
    vmap((x: Tensor, k: Key) => x.add(normal(k, [3])), { inAxes: [0, null] })(xs, key(1))
  );
  assert.equal(n, 1);
  assertSame(shared, xs.add(normal(key(1), [3])), "shared key");
});

Deno.test("vmap over keys: nested vmaps draw a Key[a][b] grid in one kernel; keys split inside vmap too", () => {
  const grid = split(key(3), 4).map((k) => split(k, 3));
  for (const [what, d] of draws.filter(([w]) => !w.includes("float16"))) {
    const [out, kernels] = countDraws(() => vmap(vmap(d))(grid));
    assert.equal(kernels, 1, `${what}: one kernel for 4 × 3 examples`);
    assertSame(out, stack(grid.map((r) => stack(r.map(d)))), `${what} nested`);
    // the inner batch along axis 1 of the key array: example (i, j) draws with grid[j][i]
    const [cols, k2] = countDraws(() => vmap(vmap(d), { inAxes: 1 })(grid));
    assert.equal(k2, 1, `${what}: inAxes 1`);
    assertSame(cols, stack([0, 1, 2].map((i) => stack(grid.map((r) => d(r[i]))))), `${what} along axis 1`);
  }
  // keys derived inside (split, foldIn) of a batched key: still one kernel, the same bits
  const keys = split(key(5), 4);
  const derived = (k: Key) => normal(foldIn(split(k, 3)[2], 9), [4], { dtype: "float64" });
  const [out, n] = countDraws(() => vmap(derived)(keys));
  assert.equal(n, 1);
  assertSame(out, stack(keys.map(derived)), "split then foldIn inside");
  // an inner vmap over keys split from an outer batched key: one kernel for all 4 × 2
  const inner = (k: Key) => vmap((kk: Key) => uniform(kk, [3]))(split(k, 2));
  const [both, m] = countDraws(() => vmap(inner)(keys));
  assert.equal(m, 1);
  assertSame(both, stack(keys.map(inner)), "split then vmap");
});

Deno.test("vmap over keys: keys batched unevenly across levels still draw each example's bits", () => {
  // an inner key array mixing an outer-batched key with a plain one: one draw over both levels (tests/random_vmap_uneven_test.ts counts it)
  const outer = split(key(8), 3), plain = key(9);
  const f = (k: Key) => vmap((kk: Key) => uniform(kk, [2]))([k, plain]);
  assertSame(vmap(f)(outer), stack(outer.map(f)), "uneven");
});

Deno.test("jit(vmap(draw)) traces one random application, a constant of the graph keyed by the keys", () => {
  const keys = split(key(7), 16);
  const f = (k: Key) => normal(k, [8], { dtype: "float64" }).mul(2);
  const jv = jit(vmap(f));
  const want = stack(keys.map(f));
  const [traced, n1] = countDraws(() => jv(keys));
  assertSame(traced, want, "traced");
  assert.equal(n1, 1, "the trace draws once (it drew 16 times, then stacked)");
  const [again, n] = countDraws(() => jv(keys));
  assertSame(again, want, "replayed");
  assert.equal(n, 0, "the draw depends on the keys only (part of the signature): a constant of the graph");
  const [info] = jitInfo(jv);
  assert.equal(info.mode, "graph");
  assert.equal(info.consts, 1, String(info));
});

Deno.test("foldIn of per-example int32 data under vmap equals the unbatched foldIn of each example", () => {
  const ids = tensor([3, 0, -1, 2147483647, 11], { dtype: "int32" });
  const idv = vals(ids);
  const k = key(12), keys = split(key(13), 5);
  const words = (ks: Key[]) => ks.map((x) => [...x.words]);
  // a shared key, per-example data
  const perData: Key[] = vmap((i: Tensor) => foldIn(k, i))(ids);
  assert.deepEqual(words(perData), idv.map((i) => [...foldIn(k, i).words]));
  // per-example keys and data
  const zipped: Key[] = vmap((kk: Key, i: Tensor) => foldIn(kk, i))(keys, ids);
  assert.deepEqual(words(zipped), keys.map((kk, j) => [...foldIn(kk, idv[j]).words]));
  // per-example keys, shared data (a tensor given inAxes null)
  const seven = tensor(7, { dtype: "int32" });
  const shared: Key[] = vmap((kk: Key, i: Tensor) => foldIn(kk, i), { inAxes: [0, null] })(keys, seven);
  assert.deepEqual(words(shared), keys.map((kk) => [...foldIn(kk, 7).words]));
  // outside vmap a 0-d int32 tensor is its integer
  assert.deepEqual(foldIn(k, seven).words, foldIn(k, 7).words);
  // drawing from the folded keys: one kernel, each example's bits
  const draw = (i: Tensor) => uniform(foldIn(k, i), [3], { dtype: "float64" });
  const [drawn, n] = countDraws(() => vmap(draw)(ids));
  assert.equal(n, 1);
  assertSame(drawn, stack(idv.map((i) => uniform(foldIn(k, i), [3], { dtype: "float64" }))), "drawn");
  // nested: data batched at two levels, keys at the outer one
  const grid = tensor([[1, 2, 3], [4, 5, 6]], { dtype: "int32" });
  const two = split(key(14), 2);
  const nested = vmap((kk: Key, row: Tensor) => vmap((i: Tensor) => normal(foldIn(kk, i), [2]))(row))(two, grid);
  const loop = stack(two.map((kk, r) => stack([0, 1, 2].map((c) => normal(foldIn(kk, 3 * r + c + 1), [2])))));
  assertSame(nested, loop, "nested");
});

Deno.test("jit of a per-example foldIn stays one graph (keys and integers are its inputs), same bits", () => {
  const ids = tensor([4, 8, 15], { dtype: "int32" }), keys = split(key(16), 3);
  const f = (kk: Key, i: Tensor) => uniform(foldIn(kk, i), [2]);
  const jf = jit(vmap(f));
  const want = stack(keys.map((kk, j) => uniform(foldIn(kk, [4, 8, 15][j]), [2])));
  assertSame(jf(keys, ids), want, "first call");
  assertSame(jf(keys, tensor([4, 8, 15], { dtype: "int32" })), want, "second call");
  assertSame(
    jf(keys, tensor([1, 2, 3], { dtype: "int32" })),
    stack(keys.map((kk, j) => uniform(foldIn(kk, j + 1), [2]))),
    "other ids",
  );
  const other = split(key(17), 3);
  assertSame(
    jf(other, ids),
    stack(other.map((kk, j) => uniform(foldIn(kk, [4, 8, 15][j]), [2]))),
    "other keys",
  );
  const infos = jitInfo(jf);
  assert.deepEqual(infos.map((i) => [i.mode, i.reason]), [["graph", undefined]]);
});

Deno.test("foldIn with tensor data: errors name the dtype, shape or escaped vmap and the fix", () => {
  const k = key(0);
  assert.throws(
    () => foldIn(k, tensor(1.5)),
    (e: unknown) =>
      e instanceof DTypeError && /foldIn: data must be an int32 tensor.*float32.*astype\("int32"\)/.test(e.message),
  );
  assert.throws(
    () => vmap((i: Tensor) => foldIn(k, i))(tensor([[1, 2]], { dtype: "int32" })),
    (e: unknown) => e instanceof ShapeError && /foldIn: data must be one integer.*got shape \[2\]/.test(e.message),
  );
  let leaked: Tensor | undefined;
  vmap((i: Tensor) => (leaked = i))(tensor([1, 2], { dtype: "int32" }));
  assert.throws(
    () => foldIn(k, leaked!),
    (e: unknown) =>
      e instanceof ShapeError && /foldIn: data \[\] is batched by a vmap that has returned/.test(e.message),
  );
});

const gpuOk = await webgpuAvailable();
Deno.test({
  name: "WebGPU: a batched draw is one kernel, bit for bit the loop over the keys (float32, bits)",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await useBackend("webgpu");
    try {
      const keys = split(key(21), 5);
      const cases: [string, Draw][] = [
        ["uniform [7]", (k) => uniform(k, [7])],
        ["uniform [2, 3]", (k) => uniform(k, [2, 3])],
        ["normal [5]", (k) => normal(k, [5])],
        ["normal []", (k) => normal(k, [])],
        ["bits [3]", (k) => randomBits(k, [3])],
      ];
      for (const [what, d] of cases) {
        const [batched, n] = countDraws(() => vmap(d)(keys));
        assert.equal(n, 1, `${what}: one dispatch`);
        const loop = stack(keys.map(d));
        assert.equal(batched.backend.name, "webgpu");
        assert.deepEqual(Array.from(await batched.data()), Array.from(await loop.data()), what);
        const cpu = await useCpu(() => stack(keys.map(d)));
        if (!what.startsWith("normal")) assert.deepEqual(Array.from(await batched.data()), vals(cpu), `${what} = cpu`);
      }
      const grid = split(key(22), 3).map((k) => split(k, 4));
      const nested = vmap(vmap((k: Key) => uniform(k, [3])))(grid);
      const want = await toBackend(stack(grid.map((r) => stack(r.map((k) => uniform(k, [3]))))), "webgpu");
      assert.deepEqual(Array.from(await nested.data()), Array.from(await want.data()), "nested");
      // foldIn reads its integers on the host: WebGPU data is refused, naming the fix
      const ids = tensor([1, 2], { dtype: "int32" });
      assert.throws(
        () => vmap((i: Tensor) => foldIn(key(0), i))(ids),
        (e: unknown) =>
          e instanceof BackendError &&
          /foldIn: the data \[2\] lives on the webgpu backend.*toBackend\(ids, "cpu"\)/.test(e.message),
      );
      const onCpu: Key[] = vmap((i: Tensor) => foldIn(key(0), i))(await toBackend(ids, "cpu"));
      assert.deepEqual(onCpu[1].words, foldIn(key(0), 2).words);
    } finally {
      await useBackend("cpu");
    }
  },
});

async function useCpu<T>(f: () => T): Promise<T> {
  await useBackend("cpu");
  try {
    return f();
  } finally {
    await useBackend("webgpu");
  }
}
