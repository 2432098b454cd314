/**
 * jacfwd / jacrev / hessian, checkpoint, scan, foriLoop and typed grad (issue 11, step 4):
 * jacfwd = jacrev on random functions; the Hessian of a quadratic is its (symmetrised) matrix;
 * checkpoint changes what is recorded (memory), not gradients; scan and foriLoop equal their
 * unrolled loops, values and gradients.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { makeLeaf, Trace, withTrace } from "../core/primitive.ts";

const f64 = (a: T.NestedArray) => T.tensor(a, { dtype: "float64" });

function near(a: Tensor, b: Tensor, tol: number, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < y.length; i++) {
    assert.ok(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])), `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
  }
}

Deno.test("jacfwd equals jacrev (random functions and shapes), and both match a known Jacobian", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 1e6 }),
      (n, m, seed) => {
        const [k1, k2] = T.split(T.key(seed));
        const W = T.astype(T.normal(k1, [m, n]), "float64");
        const x = T.astype(T.normal(k2, [n]), "float64");
        const f = (v: Tensor) => T.tanh(T.add(T.matmul(W, T.sin(v)), T.sum(T.square(v))));
        near(T.jacfwd(f)(x), T.jacrev(f)(x), 1e-12, "jacfwd vs jacrev");
        assert.deepEqual(T.jacrev(f)(x).shape, [m, n]);
      },
    ),
    { numRuns: 15 },
  );
  near(T.jacrev((x: Tensor) => T.mul(x, x))(f64([1, 2])), f64([[2, 0], [0, 4]]), 0, "jacrev of x²");
  // a matrix input: J has shape [...y, ...x]
  const J = T.jacfwd((a: Tensor) => T.sum(T.mul(a, a), { axis: 1 }))(f64([[1, 2], [3, 4]]));
  assert.deepEqual(J.shape, [2, 2, 2]);
  near(J, f64([[[2, 4], [0, 0]], [[0, 0], [6, 8]]]), 0, "jacfwd of row norms");
  // a pytree argument gives a pytree of Jacobians
  const jt = T.jacrev((p: { a: Tensor; b: Tensor }) => T.mul(p.a, p.b))({ a: f64([1, 2]), b: f64([3, 4]) });
  near(jt.a, f64([[3, 0], [0, 4]]), 0, "pytree a");
  near(jt.b, f64([[1, 0], [0, 2]]), 0, "pytree b");
});

Deno.test("hessian of a quadratic ½xᵀAx is (A + Aᵀ)/2; of a cubic, the analytic one", () => {
  const A = f64([[2, 1, 0], [3, 4, -1], [0, 5, 6]]);
  const H = T.hessian((x: Tensor) => T.mul(T.sum(T.mul(x, T.matmul(A, x))), 0.5))(f64([0.3, -1, 2]));
  near(H, T.mul(T.add(A, T.transpose(A)), 0.5), 1e-14, "hessian of a quadratic");
  const Hc = T.hessian((x: Tensor) => T.sum(T.mul(T.mul(x, x), x)))(f64([1, -2]));
  near(Hc, f64([[6, 0], [0, -12]]), 1e-14, "hessian of Σx³");
});

Deno.test("checkpoint: same values and gradients (first and second order), one recorded application, f run again backward", () => {
  let runs = 0;
  const block = (x: Tensor, w: Tensor) => {
    runs++;
    let h = x;
    for (let i = 0; i < 6; i++) h = T.tanh(T.mul(h, w));
    return h;
  };
  const ck = T.checkpoint(block);
  const x = f64([0.3, -0.7, 1.2]), w = f64([1.5, 0.5, -1]);
  const loss = (b: (x: Tensor, w: Tensor) => Tensor) => (a: Tensor, v: Tensor) => T.sum(T.square(b(a, v)));
  const [g1, g2] = T.grad(loss(block), { argnums: [0, 1] })(x, w);
  runs = 0;
  const [c1, c2] = T.grad(loss(ck), { argnums: [0, 1] })(x, w);
  assert.equal(runs, 2, "checkpointed block runs forward and again in the backward pass");
  near(c1, g1, 0, "gradient x");
  near(c2, g2, 0, "gradient w");
  // second order through the recomputation
  const h = T.grad((a: Tensor) => T.sum(T.grad(loss(ck))(a, w)))(x);
  near(h, T.grad((a: Tensor) => T.sum(T.grad(loss(block))(a, w)))(x), 1e-14, "grad of grad");
  // memory: a trace records the whole block as one application instead of its 12 primitives
  const count = (b: (x: Tensor, w: Tensor) => Tensor) => {
    const tr = new Trace();
    const [leaf] = makeLeaf(x, tr);
    withTrace(tr, () => b(leaf, w));
    return tr.nodes.length;
  };
  assert.equal(count(ck), 1);
  assert.ok(count(block) >= 12);
});

Deno.test("scan: values and gradients equal the unrolled loop; pytree carry and outputs; reverse; length without xs", () => {
  const xs = f64([[1, 2], [3, 4], [5, 6]]);
  const body = (c: { h: Tensor; n: Tensor }, x: Tensor): [{ h: Tensor; n: Tensor }, Tensor] => {
    const h = T.tanh(T.add(T.mul(c.h, 0.5), x));
    return [{ h, n: T.add(c.n, 1) }, T.sum(h)];
  };
  const init = { h: f64([0, 0]), n: f64(0) };
  const [c, ys] = T.scan(body, init, xs);
  let h = init.h;
  const want: number[] = [];
  for (let i = 0; i < 3; i++) {
    h = T.tanh(T.add(T.mul(h, 0.5), T.reshape(T.slice(xs, [[i, i + 1]]), [2])));
    want.push(T.sum(h).item());
  }
  near(c.h, h, 0, "final carry");
  assert.equal(c.n.item(), 3);
  near(ys, f64(want), 0, "stacked outputs");
  const lossScan = (v: Tensor) => T.sum(T.scan(body, { h: v, n: f64(0) }, xs)[1]);
  const lossLoop = (v: Tensor) => {
    let s = f64(0), hh = v;
    for (let i = 0; i < 3; i++) {
      hh = T.tanh(T.add(T.mul(hh, 0.5), T.reshape(T.slice(xs, [[i, i + 1]]), [2])));
      s = T.add(s, T.sum(hh));
    }
    return s;
  };
  near(T.grad(lossScan)(f64([0.1, 0.2])), T.grad(lossLoop)(f64([0.1, 0.2])), 1e-15, "gradient through scan");
  const [, rev] = T.scan((s: Tensor, x: Tensor) => [T.add(s, x), T.add(s, x)], f64(0), f64([1, 2, 3]), {
    reverse: true,
  });
  near(rev, f64([6, 5, 3]), 0, "reverse scan");
  const [fib] = T.scan((p: Tensor[], _x: undefined) => [[p[1], T.add(p[0], p[1])], p[0]], [f64(0), f64(1)], null, {
    length: 10,
  });
  assert.equal(fib[0].item(), 55);
  assert.throws(() => T.scan((cc: Tensor, x: Tensor) => [cc, x], f64(0), null), T.ShapeError);
});

Deno.test("foriLoop: equals the loop, differentiable", () => {
  const f = (x: Tensor) => T.foriLoop(0, 5, (i, c: Tensor) => T.add(T.mul(c, 0.5), i), x);
  let want = 1;
  for (let i = 0; i < 5; i++) want = want * 0.5 + i;
  assert.equal(f(f64(1)).item(), want);
  assert.equal(T.grad(f)(f64(1)).item(), 1 / 32);
});

Deno.test("grad and valueAndGrad are typed: the gradient has the differentiated argument's type", () => {
  const params = { w: f64([1, 2]), b: f64(0.5) };
  const loss = (p: { w: Tensor; b: Tensor }, x: Tensor) => T.sum(T.add(T.mul(p.w, x), p.b));
  const g: { w: Tensor; b: Tensor } = T.grad(loss)(params, f64([3, 4])); // no cast needed
  near(g.w, f64([3, 4]), 0, "dw");
  assert.equal(g.b.item(), 2);
  const [v, [gp, gx]] = T.valueAndGrad(loss, { argnums: [0, 1] })(params, f64([3, 4]));
  const typed: [{ w: Tensor; b: Tensor }, Tensor] = [gp, gx];
  assert.equal(v.item(), 12);
  near(typed[1], f64([1, 2]), 0, "dx");
});
