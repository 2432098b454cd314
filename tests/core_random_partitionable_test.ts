/**
 * The partitionable layout (`key(seed, { layout: "partitionable" })`) against JAX 0.10.2 with
 * `jax_threefry_partitionable=True` (tests/data/random_partitionable.json, made by
 * tests/scripts/random_reference.py): keys, split, nested split, foldIn, randomBits, float32 and
 * float64 uniform, under vmap over split keys, under jit with fresh keys, and on WebGPU when
 * available; the layout is kept by derived keys and keys of both layouts never mix.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import {
  DomainError,
  foldIn,
  jit,
  jitInfo,
  type Key,
  key,
  normal,
  randomBits,
  split,
  type Tensor,
  uniform,
  useBackend,
  vmap,
} from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

interface Draws {
  bits: Record<string, number[]>;
  uniform32: Record<string, number[]>;
  uniform64: Record<string, number[]>;
}
interface Case {
  seed: number;
  key: number[];
  split: Record<string, number[][]>;
  nestedSplit: number[][];
  foldIn: Record<string, number[]>;
  draws: Draws;
  splitDraws: Draws[];
}
const ref: { jax: string; cases: Case[] } = JSON.parse(
  await readFile(new URL("./data/random_partitionable.json", import.meta.url), "utf8"),
);
const SHAPES = [[], [1], [7], [3, 5]];
const P = { layout: "partitionable" } as const;

/** uint32 words of an int32 bits tensor or of a float32 tensor's bit patterns. */
async function words(t: Tensor): Promise<number[]> {
  const d = await t.data();
  if (d instanceof Float32Array) return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
  return Array.from(d as Int32Array, (v) => v >>> 0);
}

async function checkDraws(k: Key, want: Draws, what: string, f64 = true): Promise<void> {
  for (const s of SHAPES) {
    const name = JSON.stringify(s);
    const bits = randomBits(k, s);
    assert.deepEqual(bits.shape, s);
    assert.deepEqual(await words(bits), want.bits[name], `${what} randomBits ${name}`);
    assert.deepEqual(await words(uniform(k, s)), want.uniform32[name], `${what} uniform f32 ${name}`);
    if (f64) {
      assert.deepEqual(Array.from(await uniform(k, s, { dtype: "float64" }).data()), want.uniform64[name], name);
    }
  }
}

Deno.test(`partitionable keys, split, nested split and foldIn are JAX ${ref.jax}'s (partitionable=True)`, () => {
  assert.equal(ref.cases.length, 3);
  for (const c of ref.cases) {
    const k = key(c.seed, P);
    assert.equal(k.layout, "partitionable");
    assert.deepEqual([...k.words], c.key, `key(${c.seed})`);
    for (const [n, want] of Object.entries(c.split)) {
      const ks = split(k, Number(n));
      assert.deepEqual(ks.map((e) => [...e.words]), want, `split(key(${c.seed}), ${n})`);
      assert.ok(ks.every((e) => e.layout === "partitionable"), "split keeps the layout");
    }
    assert.deepEqual(split(split(k, 2)[1], 3).map((e) => [...e.words]), c.nestedSplit, `nested ${c.seed}`);
    for (const [d, want] of Object.entries(c.foldIn)) {
      const f = foldIn(k, Number(d));
      assert.deepEqual([...f.words], want, `foldIn(key(${c.seed}), ${d})`);
      assert.equal(f.layout, "partitionable");
    }
    // the classic layout is the default, and its split is another
    assert.equal(key(c.seed).layout, undefined);
    assert.deepEqual(key(c.seed).words, k.words);
    assert.notDeepEqual(split(key(c.seed), 2).map((e) => [...e.words]), c.split["2"]);
    assert.deepEqual(foldIn(key(c.seed), 7).words, foldIn(k, 7).words, "foldIn is the same in both");
  }
});

Deno.test("partitionable randomBits and uniform (float32, float64) are JAX's, odd sizes included", async () => {
  for (const c of ref.cases) {
    const k = key(c.seed, P);
    await checkDraws(k, c.draws, `key(${c.seed})`);
    const ks = split(k, 5);
    for (let i = 0; i < 5; i++) await checkDraws(ks[i], c.splitDraws[i], `split(key(${c.seed}), 5)[${i}]`);
    // the classic layout draws other bits from the same words
    assert.notDeepEqual(await words(randomBits(key(c.seed), [7])), c.draws.bits["[7]"]);
  }
});

Deno.test("vmap over partitionable split keys draws JAX's bits per key, in one draw or nested", async () => {
  for (const c of ref.cases) {
    const ks = split(key(c.seed, P), 5);
    for (const s of [[7], [3, 5], []]) {
      const name = JSON.stringify(s);
      const bits = vmap((k: Key) => randomBits(k, s))(ks);
      assert.deepEqual(bits.shape, [5, ...s]);
      assert.deepEqual(await words(bits), c.splitDraws.flatMap((d) => d.bits[name]), `vmap bits ${name}`);
      const u = vmap((k: Key) => uniform(k, s))(ks);
      assert.deepEqual(await words(u), c.splitDraws.flatMap((d) => d.uniform32[name]), `vmap uniform ${name}`);
    }
    // keys split inside the vmap keep the layout; returned keys come back partitionable
    const inner: Key[][] = vmap((k: Key) => split(k, 2))(ks);
    assert.deepEqual(inner[3].map((e) => [...e.words]), split(ks[3], 2).map((e) => [...e.words]));
    assert.equal(inner[3][1].layout, "partitionable");
    const nested = vmap(vmap((k: Key) => randomBits(k, [7])))([ks.slice(0, 2), ks.slice(2, 4)]);
    assert.deepEqual(await words(nested), c.splitDraws.slice(0, 4).flatMap((d) => d.bits["[7]"]), "nested vmap");
  }
  // a batch of keys of both layouts draws each with its own layout
  const mixed = [key(0), key(0, P)];
  const both = vmap((k: Key) => randomBits(k, [7]))(mixed);
  assert.deepEqual(await words(both), [...await words(randomBits(key(0), [7])), ...ref.cases[0].draws.bits["[7]"]]);
});

Deno.test("jit with fresh partitionable keys replays one graph with JAX's bits; the layout is in the signature", async () => {
  const f = jit((k: Key) => {
    const [a, b] = split(k, 2);
    return {
      bits: randomBits(k, [3, 5]),
      u: uniform(k, [7]),
      sub: randomBits(split(k, 5)[3], [7]),
      folded: foldIn(b, 7),
      a,
    };
  });
  for (const c of ref.cases) {
    const r = f(key(c.seed, P)) as { bits: Tensor; u: Tensor; sub: Tensor; folded: Key; a: Key };
    assert.deepEqual(await words(r.bits), c.draws.bits["[3,5]"], `jit bits ${c.seed}`);
    assert.deepEqual(await words(r.u), c.draws.uniform32["[7]"], `jit uniform ${c.seed}`);
    assert.deepEqual(await words(r.sub), c.splitDraws[3].bits["[7]"], `jit split draw ${c.seed}`);
    assert.deepEqual([...r.a.words], c.split["2"][0]);
    assert.equal(r.a.layout, "partitionable");
    assert.deepEqual(r.folded.words, foldIn(split(key(c.seed, P), 2)[1], 7).words);
    assert.equal(r.folded.layout, "partitionable");
  }
  assert.equal(jitInfo(f).length, 1, "fresh keys replay the graph");
  // a classic key traces again and draws the classic bits
  const r = f(key(0)) as { bits: Tensor; a: Key };
  assert.equal(jitInfo(f).length, 2, "the layout is part of the signature");
  assert.deepEqual(await words(r.bits), await words(randomBits(key(0), [3, 5])));
  assert.deepEqual(r.a.words, split(key(0), 2)[0].words);
  assert.equal(r.a.layout, undefined);
  const again = f(key(42, P)) as { bits: Tensor };
  assert.deepEqual(await words(again.bits), ref.cases[1].draws.bits["[3,5]"]);
  assert.equal(jitInfo(f).length, 2);
});

Deno.test("jit over vmapped partitionable draws, and keys of both layouts in one call, keep each key's layout", async () => {
  const perKey = jit((k: Key) => vmap((e: Key) => uniform(e, [3, 5]))(split(k, 5)));
  for (const c of ref.cases) {
    const u = perKey(key(c.seed, P)) as Tensor;
    assert.deepEqual(await words(u), c.splitDraws.flatMap((d) => d.uniform32["[3,5]"]), `jit(vmap) ${c.seed}`);
  }
  assert.equal(jitInfo(perKey).length, 1);
  const two = jit((a: Key, b: Key) => [randomBits(a, [7]), randomBits(split(b, 5)[2], [7])]);
  const classic7 = (k: Key) => words(randomBits(k, [7]));
  for (const c of ref.cases) {
    const [x, y] = two(key(c.seed), key(c.seed, P)) as Tensor[];
    assert.deepEqual(await words(x), await classic7(key(c.seed)), "classic argument");
    assert.deepEqual(await words(y), c.splitDraws[2].bits["[7]"], "partitionable argument");
    const [z, w] = two(key(c.seed, P), key(c.seed)) as Tensor[];
    assert.deepEqual(await words(z), c.draws.bits["[7]"], "partitionable first");
    assert.deepEqual(await words(w), await classic7(split(key(c.seed), 5)[2]), "classic second");
  }
  assert.equal(jitInfo(two).length, 2, "one trace per layout signature");
});

Deno.test("partitionable normal is Box–Muller on the partitionable uniforms; bad layouts are refused", async () => {
  const k = key(3, P);
  const z = normal(k, [9]);
  const u = await uniform(k, [18], { dtype: "float64" }).data();
  const z64 = await normal(k, [9], { dtype: "float64" }).data();
  for (let j = 0; j < 9; j++) {
    const want = Math.sqrt(-2 * Math.log(1 - u[j])) * Math.cos(2 * Math.PI * u[9 + j]);
    assert.ok(Math.abs(z64[j] - want) < 1e-12, `normal ${j}`);
  }
  assert.notDeepEqual(Array.from(await z.data()), Array.from(await normal(key(3), [9]).data()));
  assert.throws(
    () => key(0, { layout: "fast" as "classic" }),
    (e: unknown) => e instanceof DomainError && /key: layout "fast".*"partitionable"/.test(e.message),
  );
});

const gpuOk = await webgpuAvailable();
Deno.test({
  name: "WebGPU: partitionable bits and float32 uniforms are JAX's (single and batched draws)",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await useBackend("webgpu");
    try {
      for (const c of ref.cases) {
        const k = key(c.seed, P);
        await checkDraws(k, c.draws, `webgpu key(${c.seed})`, false);
        const ks = split(k, 5);
        const b = vmap((e: Key) => randomBits(e, [3, 5]))(ks);
        assert.equal(b.backend.name, "webgpu");
        assert.deepEqual(await words(b), c.splitDraws.flatMap((d) => d.bits["[3,5]"]), "batched bits");
        const u = vmap((e: Key) => uniform(e, [7]))(ks);
        assert.deepEqual(await words(u), c.splitDraws.flatMap((d) => d.uniform32["[7]"]), "batched uniform");
        const zg = Array.from(await normal(k, [11]).data());
        await useBackend("cpu");
        const zc = Array.from(await normal(k, [11]).data());
        await useBackend("webgpu");
        zg.forEach((v, j) => assert.ok(Math.abs(v - zc[j]) < 1e-5 * (1 + Math.abs(zc[j])), `normal ${j}`));
      }
    } finally {
      await useBackend("cpu");
    }
  },
});
