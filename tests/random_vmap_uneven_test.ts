/**
 * Draws from keys batched unevenly across nested vmaps (issue 11): an inner key array mixing keys
 * batched by enclosing vmaps with plain keys (or keys batched at other enclosing vmaps) is one
 * `random` kernel for the whole grid, each example's bits exactly its own key's draw (it drew one
 * example at a time, then stacked). Only a batch mixing the two key layouts draws per example.
 */
import assert from "node:assert/strict";
import { jit, type Key, key, normal, randomBits, split, stack, type Tensor, tensor, uniform, vmap } from "../mod.ts";
import { assertSame, countDraws } from "./random_helpers.ts";

const draws: [string, (k: Key) => Tensor][] = [
  ["uniform float32 [2]", (k) => uniform(k, [2])],
  ["uniform float64 [3]", (k) => uniform(k, [3], { dtype: "float64" })],
  ["normal float32 [2, 2]", (k) => normal(k, [2, 2])],
  ["bits []", (k) => randomBits(k, [])],
];

Deno.test("vmap: an inner key array mixing outer-batched and plain keys draws in one kernel, each example's bits", () => {
  const outer = split(key(8), 3), plain = key(9);
  for (const [what, d] of draws) {
    for (
      const [order, mix] of [["[k, plain]", (k: Key) => [k, plain]], [
        "[plain, k, k]",
        (k: Key) => [plain, k, k],
      ]] as const
    ) {
      const f = (k: Key) => vmap(d)(mix(k));
      const [out, n] = countDraws(() => vmap(f)(outer));
      assert.equal(n, 1, `${what} ${order}: one kernel for the grid (was one per inner example)`);
      assertSame(out, stack(outer.map(f)), `${what} ${order}`);
      // and the loop of loops: every example is its own key's unbatched draw
      assertSame(out, stack(outer.map((k) => stack(mix(k).map(d)))), `${what} ${order}: loop`);
    }
  }
});

Deno.test("vmap: inner keys batched at different enclosing vmaps (and none) draw as one grid", () => {
  const a = split(key(1), 2), b = split(key(2), 3), c = key(3);
  const d = (k: Key) => uniform(k, [4], { dtype: "float64" });
  // level 1 over a, level 2 over b, level 3 over [ka, kb, c, kb]
  const f = (ka: Key) => vmap((kb: Key) => vmap(d)([ka, kb, c, kb]))(b);
  const [out, n] = countDraws(() => vmap(f)(a));
  assert.equal(n, 1);
  const loop = stack(a.map((ka) => stack(b.map((kb) => stack([ka, kb, c, kb].map(d))))));
  assertSame(out, loop, "three levels");
  // the inner batch along a non-leading axis of the output, a tensor batch beside the keys
  const g = (ka: Key, x: Tensor) => vmap((k: Key) => normal(k, [2]).mul(x), { outAxes: 1 })([c, ka, split(ka, 2)[1]]);
  const xs = tensor([1, 2]);
  const [out2, m] = countDraws(() => vmap(g)(a, xs));
  assert.equal(m, 1);
  assertSame(out2, stack(a.map((ka, i) => g(ka, tensor([1, 2][i])))), "outAxes 1");
});

Deno.test("jit(vmap) of unevenly batched keys: one draw in the trace, replays follow the call's keys", () => {
  const d = (k: Key) => uniform(k, [3]);
  const f = jit((ks: Key[]) => vmap((k: Key) => vmap(d)([k, key(9)]))(ks));
  const loop = (ks: Key[]) => stack(ks.map((k) => stack([k, key(9)].map(d))));
  const keys = split(key(4), 3);
  const [first, n] = countDraws(() => f(keys));
  assert.equal(n, 1);
  assertSame(first, loop(keys), "traced");
  const other = split(key(5), 3);
  assertSame(f(other), loop(other), "replayed with other keys");
});

Deno.test("vmap: a key array mixing the two layouts still draws each example with its own layout", () => {
  const classic = split(key(6), 2), part = split(key(6, { layout: "partitionable" }), 2);
  const f = (k: Key) => vmap((kk: Key) => uniform(kk, [3]))([k, part[0]]);
  const out = vmap(f)(classic);
  assertSame(out, stack(classic.map((k) => stack([uniform(k, [3]), uniform(part[0], [3])]))), "mixed layouts");
});
