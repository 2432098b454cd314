// deno-lint-ignore-file no-explicit-any
import "../mod.ts";
import assert from "node:assert/strict";
import { grad, key, mul, ShapeError, split, sum, type Tensor, tensor } from "../mod.ts";
import { adam, adamw, riemannianAdam } from "../manifolds/adam.ts";
import { riemannianSgd, riemannianSgd as rsgd, sgd as sgd2 } from "../manifolds/sgd.ts";
import { constantSchedule, warmupCosineSchedule } from "../manifolds/schedules.ts";
import { euclidean } from "../manifolds/euclidean.ts";
import { sphere } from "../manifolds/sphere.ts";
import { oblique } from "../manifolds/oblique.ts";
import type { Optimizer } from "../manifolds/optimizer.ts";
import { manifoldOf } from "../manifolds/point.ts";

const f64 = (a: number[]) => tensor(a, { dtype: "float64" });
const arr = (t: Tensor) => Array.from(t.dataSync());

function run<S>(opt: Optimizer<S>, params: unknown, steps: number, g: (p: any) => unknown) {
  let state = opt.init(params);
  let p = params;
  for (let i = 0; i < steps; i++) ({ params: p, state } = opt.update(g(p), state, p));
  return p as any;
}

Deno.test("sgd with momentum and Nesterov matches the PyTorch recurrences", () => {
  const g = (p: any) => ({ w: mul(p.w, 2) }); // ∇‖w‖²
  for (const nesterov of [false, true]) {
    const out = run(sgd2({ lr: 0.1, momentum: 0.9, nesterov, weightDecay: 0.01 }), { w: f64([1, -2]) }, 3, g);
    let w = [1, -2], b = [0, 0];
    for (let t = 0; t < 3; t++) {
      const gr = w.map((x) => 2 * x + 0.01 * x);
      b = b.map((bi, i) => 0.9 * bi + gr[i]);
      const d = nesterov ? gr.map((gi, i) => gi + 0.9 * b[i]) : b;
      w = w.map((x, i) => x - 0.1 * d[i]);
    }
    arr(out.w).forEach((v, i) => assert.ok(Math.abs(v - w[i]) < 1e-12, `${nesterov}: ${v} vs ${w[i]}`));
  }
});

Deno.test("adam and adamw match their definitions", () => {
  const g = (p: any) => mul(p, 2);
  for (
    const [name, opt, dec] of [["adam", adam({ lr: 0.1, weightDecay: 0.1 }), false], [
      "adamw",
      adamw({ lr: 0.1, weightDecay: 0.1 }),
      true,
    ]] as const
  ) {
    const out = run(opt, f64([1, -3]), 4, g);
    let w = [1, -3], m = [0, 0], v = [0, 0];
    for (let t = 1; t <= 4; t++) {
      const gr = w.map((x) => 2 * x + (dec ? 0 : 0.1 * x));
      m = m.map((mi, i) => 0.9 * mi + 0.1 * gr[i]);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * gr[i] * gr[i]);
      w = w.map((x, i) => {
        const d = (m[i] / (1 - 0.9 ** t)) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
        return x - 0.1 * (d + (dec ? 0.1 * x : 0));
      });
    }
    arr(out).forEach((x, i) => assert.ok(Math.abs(x - w[i]) < 1e-12, `${name}: ${x} vs ${w[i]}`));
  }
});

Deno.test("Riemannian optimizers on Euclidean leaves are exactly sgd / adam", () => {
  const [k1, k2] = split(key(7));
  const E = euclidean([4, 3]);
  const a = E.random(k1), b = tensor(Array.from(E.random(k2).dataSync()), { shape: [4, 3] });
  const A = E.random(key(3));
  const loss = (p: any) => sum(mul(mul(p.a, p.b), A)).add(sum(mul(p.a, p.a)));
  const g = (p: any) => grad(loss)(p);
  const pairs: [Optimizer<any>, Optimizer<any>][] = [
    [sgd2({ lr: 0.05, momentum: 0.9, nesterov: true }), rsgd({ lr: 0.05, momentum: 0.9, nesterov: true })],
    [adam({ lr: 0.01 }), riemannianAdam({ lr: 0.01 })],
  ];
  for (const [plain, riem] of pairs) {
    const p1 = run(plain, { a, b }, 5, g), p2 = run(riem, { a, b }, 5, g);
    assert.deepEqual(arr(p1.a), arr(p2.a));
    assert.deepEqual(arr(p1.b), arr(p2.b));
    assert.equal(manifoldOf(p2.a), E); // tagged leaves stay points
    assert.equal(manifoldOf(p2.b), undefined);
  }
});

Deno.test("Riemannian SGD and Adam keep sphere and oblique leaves on their manifolds", () => {
  const S = sphere(5), OB = oblique(4, 3);
  const params = { s: S.random(key(1), { dtype: "float64" }), o: OB.random(key(2), { dtype: "float64" }) };
  const c = tensor([1, 2, 3, 4, 5], { dtype: "float64" });
  const loss = (p: any) => sum(mul(p.s, c)).add(sum(mul(p.o, p.o.mul(p.o))));
  const opts: Optimizer<any>[] = [riemannianSgd({ lr: 0.1, momentum: 0.5 }), riemannianAdam({ lr: 0.1 })];
  for (const opt of opts) {
    let state = opt.init(params);
    let p: any = params;
    for (let i = 0; i < 20; i++) ({ params: p, state } = opt.update(grad(loss)(p), state, p));
    assert.ok(S.constraintViolation(p.s).item() < 1e-12);
    assert.ok(OB.constraintViolation(p.o).item() < 1e-12);
    assert.equal(manifoldOf(p.s), S);
  }
  // Adam's second moment: one scalar per sphere point, one per oblique column
  const st = riemannianAdam().init(params);
  assert.deepEqual(st.nu.map((v) => v.shape), [[1, 3], []]);
});

Deno.test("Riemannian SGD on the sphere minimises a linear function to −c/‖c‖", () => {
  const S = sphere(3);
  const c = tensor([3, 0, 4], { dtype: "float64" });
  let x: any = S.random(key(0), { dtype: "float64" });
  const opt = riemannianSgd({ lr: 0.1, momentum: 0.5 });
  let state = opt.init(x);
  for (let i = 0; i < 200; i++) ({ params: x, state } = opt.update(c, state, x));
  arr(x).forEach((v, i) => assert.ok(Math.abs(v + [0.6, 0, 0.8][i]) < 1e-8));
});

Deno.test("schedules: constant and warmup cosine", () => {
  assert.equal(constantSchedule(0.3)(1000), 0.3);
  const lr = warmupCosineSchedule({ initValue: 0, peakValue: 1, warmupSteps: 10, decaySteps: 110, endValue: 0.1 });
  assert.equal(lr(0), 0);
  assert.equal(lr(5), 0.5);
  assert.equal(lr(10), 1);
  assert.ok(Math.abs(lr(60) - 0.55) < 1e-12);
  assert.ok(Math.abs(lr(110) - 0.1) < 1e-12);
  assert.ok(Math.abs(lr(500) - 0.1) < 1e-12);
  // a schedule drives the optimizer's rate per step
  const out = run(sgd2({ lr: (t) => (t === 0 ? 1 : 0) }), f64([1]), 3, () => f64([1]));
  assert.deepEqual(arr(out), [0]);
});

Deno.test("optimizers reject gradients that do not match the parameters", () => {
  const opt = adam();
  const st = opt.init({ a: f64([1, 2]) });
  assert.throws(() => opt.update({ a: f64([1, 2, 3]) }, st, { a: f64([1, 2]) }), ShapeError);
  assert.throws(() => opt.update([], st, { a: f64([1, 2]) }), ShapeError);
});
