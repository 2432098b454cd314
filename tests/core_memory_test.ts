/**
 * `scope`: tensors created inside and not returned are released (and throw if used again);
 * returned ones survive, wherever they sit in the returned pytree; tensors from outside the scope
 * are never released, even when the scope made aliases of them (reshape, autodiff leaves).
 */
import assert from "node:assert/strict";
import {
  add,
  BackendError,
  customVjp,
  grad,
  mul,
  ones,
  reshape,
  scope,
  stopGradient,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
} from "../mod.ts";

const vals = (t: Tensor) => [...t.dataSync()];
const released = (t: Tensor) =>
  assert.throws(
    () => t.dataSync(),
    (e: unknown) => e instanceof BackendError && /released by scope\(\)/.test(e.message),
  );

Deno.test("scope: tensors not returned are released and throw when used, naming the op", async () => {
  let inner: Tensor | undefined;
  const out = scope(() => {
    inner = add(ones([2]), 1);
    return mul(inner, 3);
  });
  assert.deepEqual(vals(out), [6, 6]);
  released(inner!);
  assert.throws(
    () => add(inner!, 1),
    (e: unknown) =>
      e instanceof BackendError &&
      e.message ===
        "binary: tensor of shape [2] was released by scope(); return it from the scope's function to keep it",
  );
  await assert.rejects(() => inner!.data(), /data: tensor of shape \[2\] was released by scope\(\)/);
  assert.throws(() => inner!.arraySync(), BackendError);
  assert.equal(String(inner), "Tensor(…, shape=[2], dtype=float32)");
  // metadata stays readable
  assert.deepEqual(inner!.shape, [2]);
});

Deno.test("scope: every tensor in the returned pytree survives", () => {
  let dropped: Tensor | undefined;
  const r = scope(() => {
    dropped = ones([1]);
    const a = ones([2]), b = add(a, 1);
    return { a, list: [b, { deep: mul(b, 2) }], n: 3, s: "x", view: reshape(b, [1, 2]) };
  });
  assert.deepEqual(vals(r.a), [1, 1]);
  assert.deepEqual(vals(r.list[0] as Tensor), [2, 2]);
  assert.deepEqual(vals((r.list[1] as { deep: Tensor }).deep), [4, 4]);
  assert.deepEqual(r.view.arraySync(), [[2, 2]]);
  assert.deepEqual([r.n, r.s], [3, "x"]);
  released(dropped!);
  // a returned alias keeps the storage of the tensor it views
  const v = scope(() => reshape(add(ones([4]), 1), [2, 2]));
  assert.deepEqual(v.arraySync(), [[2, 2], [2, 2]]);
});

Deno.test("scope: inputs from outside survive reshapes, grads and aliases made inside", () => {
  const x = tensor([1, 2, 3, 4]);
  const s = scope(() => sum(reshape(x, [2, 2])));
  assert.equal(s.item(), 10);
  assert.deepEqual(vals(x), [1, 2, 3, 4]);
  const g = scope(() => grad((a: Tensor) => sum(mul(a, a)))(x));
  assert.deepEqual(vals(g), [2, 4, 6, 8]);
  assert.deepEqual(vals(x), [1, 2, 3, 4]);
  scope(() => stopGradient(mul(x, 1)));
  const twice = customVjp((a: Tensor) => a, (ct: Tensor) => [mul(ct, 2)]);
  scope(() => grad((a: Tensor) => sum(twice(a)))(x));
  scope(() => {
    reshape(x, [4, 1]);
    return null;
  });
  assert.deepEqual(vals(x), [1, 2, 3, 4]);
  // a tensor from outside returned from a scope is still fine afterwards
  assert.equal(scope(() => x), x);
  assert.deepEqual(vals(x), [1, 2, 3, 4]);
});

Deno.test("scope: a training loop keeps only the parameters", () => {
  let w = tensor([1, -2], { dtype: "float64" });
  const intermediates: Tensor[] = [];
  for (let i = 0; i < 5; i++) {
    w = scope(() => {
      const [loss, g] = valueAndGrad((p: Tensor) => sum(mul(p, p)))(w);
      intermediates.push(loss, g);
      return add(w, mul(g, -0.25));
    });
  }
  assert.deepEqual(vals(w), [1 / 32, -2 / 32]);
  for (const t of intermediates) released(t);
});

Deno.test("scope: nested scopes hand returned tensors to the enclosing scope", () => {
  let kept: Tensor | undefined, lost: Tensor | undefined;
  const outer = scope(() => {
    kept = scope(() => ones([2]));
    lost = scope(() => add(ones([2]), 1));
    assert.deepEqual(vals(lost), [2, 2]); // alive until the outer scope ends
    return kept;
  });
  assert.equal(outer, kept);
  assert.deepEqual(vals(kept!), [1, 1]);
  released(lost!);
});

Deno.test("scope: an exception propagates and leaves the scope stack as it was", () => {
  let made: Tensor | undefined;
  assert.throws(() =>
    scope(() => {
      made = ones([2]);
      throw new Error("boom");
    }), /boom/);
  // nothing was released (the value may still be in use by the caller's error handling)
  assert.deepEqual(vals(made!), [1, 1]);
  // later tensors belong to no dead scope: a new scope releases only its own
  const before = ones([3]);
  const r = scope(() => add(before, 1));
  assert.deepEqual([vals(before), vals(r)], [[1, 1, 1], [2, 2, 2]]);
});

Deno.test("scope({ release }) frees the previous step's tensors but keeps what the result still holds", () => {
  const w = tensor([1, 2, 3]);
  const frozen = tensor([5]);
  const prev = { w, frozen };
  const next = scope(() => ({ w: add(prev.w, 1), frozen: prev.frozen }), { release: prev });
  assert.deepEqual(next.w.arraySync(), [2, 3, 4]);
  assert.deepEqual(next.frozen.arraySync(), [5]);
  assert.throws(() => w.dataSync(), /released by scope/);
});
