/**
 * Non-tensor leaves in differentiated pytrees (issue 11): a plain number (boolean, string, key,
 * null) is a constant to autodiff: `f` gets it as it is, and every derivative Tangent returns (grad,
 * valueAndGrad, vjp, jvp's output tangent, jacrev, jacfwd, hessian) holds the same value in its
 * place, as structure. JAX differs, as the JSDoc of `valueAndGrad` says: `jax.grad` gives a Python
 * float leaf its true derivative and refuses an int leaf unless `allow_int`. And `hessian` of such a
 * pytree keeps that structure (with vmap broadcasting returned numbers, jacfwd turned them into
 * tensors: `flag: true` came back as a bool tensor, `scale: 3` as a tensor [3, 3]).
 */
import assert from "node:assert/strict";
import {
  DTypeError,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  key,
  mul,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
  vjp,
} from "../mod.ts";

type P = { w: Tensor; scale: number; flag: boolean; name: string; n: null };
const p = (): P => ({ w: tensor([1, 2], { dtype: "float64" }), scale: 3, flag: true, name: "x", n: null });
const loss = (q: P) => sum(mul(mul(q.w, q.w), q.scale));
const vals = (t: Tensor) => Array.from(t.dataSync(), Number);

/** The non-tensor leaves of a derivative of `p()`: as they were. */
function assertRest(g: Record<string, unknown>, what: string) {
  assert.equal(g.scale, 3, `${what}: a number leaf comes back as it is`);
  assert.equal(g.flag, true, `${what}: a boolean stays`);
  assert.equal(g.name, "x", `${what}: a string stays`);
  assert.equal(g.n, null, `${what}: null stays`);
}

Deno.test("grad / valueAndGrad / vjp: a number leaf is a constant, returned as it is in the gradient's place", () => {
  const g = grad(loss)(p());
  assert.deepEqual(vals(g.w), [6, 12], "the tensor's gradient uses the number as a constant");
  assertRest(g, "grad");
  const [v, g2] = valueAndGrad(loss)(p());
  assert.equal(v.item(), 15);
  assertRest(g2, "valueAndGrad");
  const [, pullback] = vjp(loss, p());
  assertRest(pullback(tensor(1, { dtype: "float64" }))[0] as Record<string, unknown>, "vjp");
  // under jit too, and a key leaf stays the key
  const k = key(1);
  const gj = jit(grad((q: { w: Tensor; s: number; k: typeof k }) => sum(mul(q.w, q.s))))({ w: tensor([1]), s: 2, k });
  assert.equal(gj.s, 2);
  assert.deepEqual(gj.k.words, k.words);
  assert.deepEqual(vals(gj.w), [2]);
  // an argument of numbers only is refused, naming the fix
  assert.throws(
    () => grad((xs: number[]) => tensor(xs).sum())([1, 2]),
    (e) => e instanceof DTypeError && /make the parameters tensors/.test(e.message),
  );
});

Deno.test("jvp: a number the function returns comes back as it is in the tangent", () => {
  const [out, tan] = jvp((x: Tensor) => [mul(x, 3), 5] as const, [tensor([1, 2])], [tensor([1, 0])]);
  assert.equal(out[1], 5);
  assert.equal(tan[1], 5);
  assert.deepEqual(vals(tan[0]), [3, 0]);
});

Deno.test("jacrev / jacfwd / hessian keep non-tensor leaves as structure; the tensors' blocks are exact", () => {
  const f = (q: P) => ({ y: mul(q.w, q.scale), c: 4 });
  for (const [name, jac] of [["jacrev", jacrev(f)], ["jacfwd", jacfwd(f)]] as const) {
    const J = jac(p()) as unknown as { y: Record<string, unknown> & { w: Tensor }; c: unknown };
    assert.equal(J.c, 4, `${name}: a number output stays`);
    assertRest(J.y, name);
    assert.deepEqual(J.y.w.arraySync(), [[3, 0], [0, 3]], name);
  }
  const H = hessian(loss)(p()) as unknown as Record<string, unknown> & { w: Record<string, unknown> & { w: Tensor } };
  assertRest(H, "hessian (rows)");
  assertRest(H.w, "hessian (columns)");
  assert.deepEqual(H.w.w.arraySync(), [[6, 0], [0, 6]]);
});
