/**
 * customVjp (and checkpoint and linalg.polar, built on it) under vmap (issue 11): a tensor that an
 * enclosing vmap batches, read from the function's closure, is a DomainError naming the fix (as one
 * grad tracks already was); with the batched tensors passed as arguments, the hand-written rule is
 * batched, so grad outside vmap, vmap outside grad and nested vmaps give the loop's gradients (grad
 * outside vmap gave zeros: it saw only the per-example application).
 */
import assert from "node:assert/strict";
import {
  checkpoint,
  customVjp,
  DomainError,
  grad,
  linalg,
  mul,
  sin,
  square,
  stack,
  sum,
  take,
  type Tensor,
  tensor,
  vmap,
} from "../mod.ts";

const f64 = (v: number[] | number[][] | number[][][]) => tensor(v, { dtype: "float64" });
/** Row `i` of `x` (axis 0 dropped). */
const row = (x: Tensor, i: number) => take(x, [i], 0).reshape(x.shape.slice(1));
const vals = (t: Tensor) => Array.from(t.dataSync(), Number);

function near(a: Tensor, b: Tensor, tol: number, what: string) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const x = vals(a), y = vals(b);
  x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) <= tol * (1 + Math.abs(y[i])), `${what}[${i}]: ${v} vs ${y[i]}`));
}

const xs = f64([[1, 2], [3, 4], [5, 6]]);
const w0 = f64([0.5, -1]);
// sum(v · w) with its rule written by hand, scaled by 2 so a fallback to autodiff would show
const dot2 = customVjp(
  (v: Tensor, w: Tensor) => sum(mul(v, w)),
  (ct, _out, v, w) => [mul(ct, mul(w, 2)), mul(ct, mul(v, 2))],
);

Deno.test("customVjp reading a tensor vmap batches from its closure: a DomainError naming vmap and the fix", () => {
  const rule = (x: Tensor) => customVjp((w: Tensor) => sum(mul(x, w)), (ct) => [mul(ct, x)]);
  const batchedRead = (e: unknown) =>
    e instanceof DomainError &&
    /customVjp: the function reads a tensor \[2\] that an enclosing vmap batches \(3 examples\) from its closure.*pass it as an argument/
      .test(e.message);
  assert.throws(() => vmap((x: Tensor) => rule(x)(w0))(xs), batchedRead);
  assert.throws(() => vmap((x: Tensor) => grad(rule(x))(w0))(xs), batchedRead);
  assert.throws(() => grad((w: Tensor) => sum(vmap((x: Tensor) => rule(x)(w))(xs)))(w0), batchedRead);
  // a name given to customVjp names the error; an outer level's tensor read inside an inner vmap
  const named = (x: Tensor) => customVjp((w: Tensor) => sum(mul(x, w)), (ct) => [mul(ct, x)], "myRule");
  assert.throws(
    () => vmap((x: Tensor) => vmap((w: Tensor) => named(x)(w))(xs))(xs),
    (e: unknown) => e instanceof DomainError && /^myRule: .*enclosing vmap batches/.test(e.message),
  );
  // as arguments (batched or not) and a closure nothing batches are fine
  near(vmap((x: Tensor) => dot2(x, w0))(xs), f64([-1.5, -2.5, -3.5]), 0, "batched argument");
  const c = f64([3, 4]);
  near(
    vmap((x: Tensor) => customVjp((w: Tensor) => sum(mul(c, w)), (ct) => [mul(ct, c)])(x))(xs),
    f64([11, 25, 39]),
    0,
    "constant closure",
  );
});

Deno.test("customVjp under vmap: grad outside, grad inside and nested vmaps give the loop's gradients", () => {
  // d/dw Σᵢ dot2(xᵢ, w) by the rule: 2 Σᵢ xᵢ (the rule's factor 2 shows it is used)
  const outside = grad((w: Tensor) => sum(vmap((x: Tensor) => dot2(x, w))(xs)))(w0);
  near(outside, f64([18, 24]), 0, "grad of a vmapped sum (was [0, 0])");
  const inside = vmap((x: Tensor) => grad((w: Tensor) => dot2(x, w))(w0))(xs);
  near(inside, mul(xs, 2), 0, "per-example gradients");
  // gradient with respect to the batched argument, from outside
  const dx = grad((a: Tensor) => sum(vmap((x: Tensor) => dot2(x, w0))(a)))(xs);
  near(dx, stack([0, 1, 2].map(() => mul(w0, 2))), 0, "gradient of the batched argument");
  // two levels: Σᵢⱼ dot2(xᵢ·xⱼ, w) → 2 Σᵢⱼ xᵢ·xⱼ
  const nested = grad((w: Tensor) => sum(vmap((x: Tensor) => vmap((y: Tensor) => dot2(mul(x, y), w))(xs))(xs)))(w0);
  near(nested, f64([162, 288]), 0, "nested vmaps");
  // the batched argument along another axis
  const cols = grad((w: Tensor) => sum(vmap((x: Tensor) => dot2(x, w), { inAxes: [1] })(xs.transpose())))(w0);
  near(cols, f64([18, 24]), 0, "inAxes 1");
});

Deno.test("checkpoint and linalg.polar (customVjp inside) under grad of vmap equal the loop", () => {
  const body = (w: Tensor, x: Tensor) => sum(sin(mul(w, x)));
  const plain = grad((w: Tensor) => sum(vmap((x: Tensor) => body(w, x))(xs)))(w0);
  const remat = grad((w: Tensor) => sum(vmap((x: Tensor) => checkpoint(body)(w, x))(xs)))(w0);
  near(remat, plain, 1e-15, "checkpoint (was [0, 0])");
  // a batched tensor read from checkpoint's closure: it runs recorded (as for a grad-tracked one), right
  const warn = console.warn;
  console.warn = () => {};
  try {
    const closed = grad((w: Tensor) => sum(vmap((x: Tensor) => checkpoint((v: Tensor) => body(v, x))(w))(xs)))(w0);
    near(closed, plain, 1e-15, "checkpoint reading the batched x from its closure (was [0, 0])");
  } finally {
    console.warn = warn;
  }
  const ms = f64([[[2, 1], [0, 3]], [[1, 0.5], [0.25, 1]], [[3, -1], [2, 2]]]);
  const loss = (m: Tensor) => sum(square(mul(linalg.polar(m).U, f64([[1, 2], [3, 4]]))));
  const viaVmap = grad((a: Tensor) => sum(vmap(loss)(a)))(ms);
  const loop = stack([0, 1, 2].map((i) => grad(loss)(row(ms, i))));
  near(viaVmap, loop, 1e-12, "polar");
  assert.ok(vals(loop).some((v) => Math.abs(v) > 1e-3), "a gradient that is not zero");
});
