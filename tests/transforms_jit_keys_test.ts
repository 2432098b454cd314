/**
 * Keys are arguments of a jitted function, as tensors are (issue 11; `jax.jit` traces key arrays): a
 * new key per call replays one graph instead of tracing again (every key used to be a constant of its
 * own trace, so a training step with a fresh dropout key per step traced every step and its cache grew
 * by a graph per step), `split`/`foldIn` inside derive the replay's keys, `foldIn(k, i)` of an int32
 * tensor stays traced (it used to read the value and run eagerly), returned keys are the call's, and
 * every draw is bit for bit the eager one.
 */
import assert from "node:assert/strict";
import {
  add,
  foldIn,
  grad,
  jit,
  jitInfo,
  type Key,
  key,
  less,
  mul,
  normal,
  randomBits,
  split,
  sum,
  type Tensor,
  tensor,
  uniform,
  useBackend,
  vmap,
} from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { jitCacheSize, MAX_SIGNATURES } from "../autodiff/jit.ts";

const same = (a: Tensor, b: Tensor, what: string) => assert.deepEqual([...a.dataSync()], [...b.dataSync()], what);
const keysOf = (n: number, seed = 3) => split(key(seed), n);

Deno.test("jit: a new key per call replays one graph, bit for bit the eager draws", () => {
  const f = (k: Key, x: Tensor) => {
    const [a, b, c] = split(k, 3);
    return [add(x, uniform(a, [5])), normal(b, [2, 3], { dtype: "float64" }), randomBits(c, [4])];
  };
  const jf = jit(f);
  const x = tensor([1, 2, 3, 4, 5]);
  for (const [i, k] of keysOf(6).entries()) {
    const got = jf(k, x) as Tensor[], want = f(k, x);
    got.forEach((t, j) => same(t, want[j], `call ${i}, output ${j}`));
  }
  const info = jitInfo(jf);
  assert.equal(info.length, 1, "one signature for every key");
  assert.equal(info[0].mode, "graph");
  assert.equal(info[0].signature, "(key, f32[5])");
  assert.equal(info[0].steps.filter((s) => s.primitive === "random").length, 3, "the draws are steps, not constants");
});

Deno.test("jit: keys inside pytrees and several key arguments are numbered apart", () => {
  const f = (batch: { k: Key; x: Tensor }, k2: Key) => add(uniform(batch.k, [3]), mul(normal(k2, [3]), 10));
  const jf = jit(f);
  const ks = keysOf(4, 9), x = tensor([0, 0, 0]);
  for (let i = 0; i < 3; i++) same(jf({ k: ks[i], x }, ks[i + 1]), f({ k: ks[i], x }, ks[i + 1]), `call ${i}`);
  same(jf({ k: ks[1], x }, ks[0]), f({ k: ks[1], x }, ks[0]), "swapped");
  assert.equal(jitInfo(jf).length, 1);
});

Deno.test("jit: foldIn of a number and of an int32 tensor argument stays traced", () => {
  const f = (k: Key, step: Tensor) => uniform(foldIn(foldIn(k, 7), step), [4]);
  const jf = jit(f);
  for (let s = 0; s < 4; s++) {
    const step = tensor(s * 1000 - 1, { dtype: "int32" });
    same(jf(key(s), step), f(key(s), step), `step ${s}`);
  }
  const [info] = jitInfo(jf);
  assert.equal(info.mode, "graph", info.reason);
  assert.equal(jitInfo(jf).length, 1);
});

Deno.test("jit: a tensor computed inside the trace can be folded in (its replayed value is used)", () => {
  const f = (k: Key, n: Tensor) => normal(foldIn(k, add(n, tensor(1, { dtype: "int32" }))), [3]);
  const jf = jit(f);
  for (let s = 0; s < 3; s++) {
    const n = tensor(s, { dtype: "int32" });
    same(jf(key(1), n), f(key(1), n), `n ${s}`);
  }
  assert.equal(jitInfo(jf)[0].mode, "graph");
});

Deno.test("jit: returned keys are derived from the call's key (a loop threading its key matches eager)", () => {
  const step = (k: Key, x: Tensor): [Key, Tensor] => {
    const [next, draw] = split(k);
    return [next, add(x, uniform(draw, [3]))];
  };
  const jstep = jit(step);
  let ke = key(5), kj = key(5), xe = tensor([0, 0, 0]), xj = xe;
  for (let i = 0; i < 5; i++) {
    [ke, xe] = step(ke, xe);
    [kj, xj] = jstep(kj, xj) as [Key, Tensor];
    assert.deepEqual(kj.words, ke.words, `key after step ${i}`);
    assert.equal(Object.getPrototypeOf(kj), Object.prototype, "a plain key");
    same(xj, xe, `value after step ${i}`);
  }
  assert.equal(jitInfo(jstep).length, 1);
});

Deno.test("jit(vmap): per-example keys split inside and per-example foldIn stay one graph", () => {
  const f = (k: Key, x: Tensor) => vmap((kk: Key, xx: Tensor) => add(xx, normal(kk, [3])))(split(k, 4), x);
  const jf = jit(f);
  const x = tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 0]]);
  for (const k of keysOf(3)) same(jf(k, x), f(k, x), "split per example");
  assert.deepEqual(jitInfo(jf).map((i) => i.mode), ["graph"]);

  const g = (k: Key, ids: Tensor) => vmap((i: Tensor) => uniform(foldIn(k, i), [2]))(ids);
  const jg = jit(g);
  for (let s = 0; s < 3; s++) {
    const ids = tensor([s, 10 + s, 100 + s], { dtype: "int32" });
    same(jg(key(s), ids), g(key(s), ids), `foldIn per example ${s}`);
  }
  assert.deepEqual(jitInfo(jg).map((i) => i.mode), ["graph"]);
});

Deno.test("jit: a dropout training step with a fresh key per step traces once and matches eager", () => {
  const loss = (w: Tensor, k: Key, x: Tensor) => {
    const keep = less(uniform(k, x.shape), 0.5).astype("float32");
    return sum(mul(mul(x, keep), w));
  };
  const g = grad(loss);
  const jg = jit(g);
  const w = tensor([1, 2, 3, 4, 5, 6]), x = tensor([0.5, -1, 2, 3, -4, 1]);
  let k = key(0);
  for (let i = 0; i < 6; i++) {
    const [next, drop] = split(k);
    k = next;
    same(jg(w, drop, x) as Tensor, g(w, drop, x) as Tensor, `step ${i}`);
  }
  assert.equal(jitInfo(jg).length, 1);
});

Deno.test("jit: reading a traced key's words runs eagerly (correct for every key); a static key is a constant", () => {
  const f = (k: Key) => tensor([k.words[0] % 7]);
  const jf = jit(f);
  for (const k of keysOf(3)) same(jf(k), f(k), "eager per key");
  const [info] = jitInfo(jf);
  assert.equal(info.mode, "eager");
  assert.match(info.reason ?? "", /Key\.words/);

  const s = jit((k: Key, x: Tensor) => add(x, uniform(k, [2])), { staticArgnums: [0] });
  const x = tensor([0, 0]);
  for (const k of keysOf(2)) same(s(k, x), add(x, uniform(k, [2])), "static key");
  assert.equal(jitInfo(s).length, 2, "a static key traces per value");
  assert.equal(jitInfo(s)[0].steps.filter((st) => st.primitive === "random").length, 0, "its draw is folded");
});

Deno.test("jit: a key the function closes over stays a constant; one stashed by a trace keeps its words elsewhere", () => {
  const fixed = key(42);
  const f = jit((x: Tensor) => add(x, uniform(fixed, [2])));
  const x = tensor([1, 1]);
  same(f(x), add(x, uniform(fixed, [2])), "closure key");
  assert.equal(jitInfo(f)[0].steps.filter((s) => s.primitive === "random").length, 0, "folded");

  // a key stashed during the trace: the graph recorded how it was derived from the argument, so a
  // replay derives it from the new argument (as jax.jit replays what it traced); a later trace that
  // uses the stashed key sees the words it had
  let leaked: Key | undefined;
  const g = jit((k: Key, x: Tensor) => {
    leaked ??= split(k)[1];
    return add(x, uniform(leaked, [2]));
  });
  same(g(key(1), x), add(x, uniform(split(key(1))[1], [2])), "first call");
  same(g(key(2), x), add(x, uniform(split(key(2))[1], [2])), "replayed from the new key");
  const h = jit((k: Key, x: Tensor) => add(x, add(uniform(leaked!, [2]), uniform(k, [2]))));
  for (const k of keysOf(2)) same(h(k, x), add(x, add(uniform(split(key(1))[1], [2]), uniform(k, [2]))), "in another");
});

const gpuOk = await webgpuAvailable();
Deno.test({
  name: "jit on WebGPU: a new key per call replays one graph with the CPU's bits",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await useBackend("webgpu");
    try {
      const f = (k: Key, x: Tensor) => {
        const [a, b] = split(k);
        return [add(x, uniform(a, [4])), randomBits(foldIn(b, 3), [3])];
      };
      const jf = jit(f);
      const x = tensor([1, 2, 3, 4]);
      for (const k of keysOf(3, 11)) {
        const got = jf(k, x) as Tensor[], want = f(k, x);
        for (let j = 0; j < 2; j++) {
          assert.deepEqual([...await got[j].data()], [...await want[j].data()], `output ${j}`);
        }
      }
      assert.equal(jitInfo(jf).length, 1);
    } finally {
      await useBackend("cpu");
    }
  },
});

Deno.test("jit: a number that changes every call keeps the cache bounded and warns once, naming the fix", () => {
  const f = jit(function scaled(x: Tensor, s: number) {
    return mul(x, s);
  });
  const x = tensor([1, 2]);
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    for (let i = 0; i < MAX_SIGNATURES + 10; i++) same(f(x, i), mul(x, i), `call ${i}`);
  } finally {
    console.warn = warn;
  }
  assert.equal(jitCacheSize(f), MAX_SIGNATURES);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /jit: scaled has traced more than 256 signatures .*\(f32\[2\], 256\).*pass it as a tensor/);
  same(f(x, MAX_SIGNATURES + 9), mul(x, MAX_SIGNATURES + 9), "the newest still replays");
});
