/**
 * The Euclidean optimizers' update on the CPU runs as a `jit` trace (`fusedOnCpu`: each leaf's
 * elementwise chain one fused kernel); its results must be bit for bit the eager formula's, written
 * here with the same operations in the same order: adam (with L2 decay), adamw, sgd with Nesterov
 * momentum, float32 and float64, over several steps (the first traces, the rest replay), and when
 * the parameter tree's structure changes (a second trace).
 */
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import {
  add,
  astype,
  div,
  type DType,
  full,
  key,
  mul,
  neg,
  normal,
  pow,
  split,
  sqrt,
  sub,
  type Tensor,
  treeLeaves,
  treeMap,
  zerosLike,
} from "../mod.ts";
import * as optim from "../optim/mod.ts";
import { fusedOnCpu, fusedTraceCount } from "../manifolds/optimizer.ts";

/** Same elements, compared with Object.is. */
function identical(a: Tensor, b: Tensor, what: string): void {
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(x[i], y[i]), `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
}

/** Adam's formula on one leaf at step t (1-based), as `manifolds/adam.ts` computes it eagerly. */
function adamLeaf(
  x: Tensor,
  g: Tensor,
  m: Tensor,
  v: Tensor,
  t: number,
  o: { lr: number; wd: number; decoupled: boolean },
): [Tensor, Tensor, Tensor] {
  const ft = full([], t, { dtype: "float64" });
  const at = (s: Tensor) => astype(s, x.dtype);
  const bc1 = at(sub(1, pow(0.9, ft))), bc2 = at(sub(1, pow(0.999, ft)));
  const negLr = at(neg(full([], o.lr, { dtype: "float64" })));
  if (o.wd && !o.decoupled) g = add(g, mul(x, o.wd));
  const m2 = add(mul(m, 0.9), mul(g, 1 - 0.9));
  const v2 = add(mul(v, 0.999), mul(mul(g, g), 1 - 0.999));
  let d = div(div(m2, bc1), add(sqrt(div(v2, bc2)), 1e-8));
  if (o.wd && o.decoupled) d = add(d, mul(x, o.wd));
  return [add(x, mul(d, negLr)), m2, v2];
}

/** SGD with Nesterov momentum μ on one leaf. */
function sgdLeaf(x: Tensor, g: Tensor, b: Tensor, lr: number, mu: number): [Tensor, Tensor] {
  const b2 = add(mul(b, mu), g);
  const d = add(g, mul(b2, mu));
  return [add(x, mul(d, astype(neg(full([], lr, { dtype: "float64" })), x.dtype))), b2];
}

function problem(dtype: DType, seed: number) {
  const [a, b, c] = split(key(seed), 3);
  const params = { w: normal(a, [37, 29], { dtype }), b: normal(b, [29], { dtype }) };
  const grads = Array.from({ length: 4 }, (_, i) => treeMap((p: Tensor) => mul(p, 0.1 * (i + 1)), params));
  return { params, grads: grads.map((g, i) => ({ ...g, w: add(g.w, normal(split(c, 4)[i], [37, 29], { dtype })) })) };
}

for (const dtype of ["float32", "float64"] as DType[]) {
  for (
    const [what, opts] of [
      ["adam with L2 decay", { lr: 1e-2, wd: 0.01, decoupled: false }],
      ["adamw", { lr: 3e-3, wd: 0.1, decoupled: true }],
    ] as const
  ) {
    Deno.test(`the fused ${what} update (${dtype}) is bit for bit the eager formula`, () => {
      const opt = opts.decoupled
        ? optim.adamw({ lr: opts.lr, weightDecay: opts.wd })
        : optim.adam({ lr: opts.lr, weightDecay: opts.wd });
      const { params, grads } = problem(dtype, 1);
      let p: any = params, s = opt.init(p);
      let ref = treeLeaves(params), mu = ref.map(zerosLike), nu = ref.map(zerosLike);
      grads.forEach((g, step) => {
        ({ params: p, state: s } = opt.update(g, s, p));
        const gl = treeLeaves(g);
        const next = ref.map((x, i) => adamLeaf(x, gl[i], mu[i], nu[i], step + 1, opts));
        [ref, mu, nu] = [next.map((r) => r[0]), next.map((r) => r[1]), next.map((r) => r[2])];
        treeLeaves(p).forEach((x, i) => identical(x, ref[i], `${what}, step ${step}, leaf ${i}`));
        s.mu.forEach((m, i) => identical(m, mu[i], `${what}, step ${step}, first moment ${i}`));
        s.nu.forEach((v, i) => identical(v, nu[i], `${what}, step ${step}, second moment ${i}`));
        assert.equal(s.count.item(), step + 1);
      });
    });
  }

  Deno.test(`the fused sgd update with Nesterov momentum (${dtype}) is bit for bit the eager formula`, () => {
    const opt = optim.sgd({ lr: 0.05, momentum: 0.9, nesterov: true });
    const { params, grads } = problem(dtype, 2);
    let p: any = params, s = opt.init(p);
    let ref = treeLeaves(params), mom = ref.map(zerosLike);
    grads.forEach((g, step) => {
      ({ params: p, state: s } = opt.update(g, s, p));
      const gl = treeLeaves(g);
      const next = ref.map((x, i) => sgdLeaf(x, gl[i], mom[i], 0.05, 0.9));
      [ref, mom] = [next.map((r) => r[0]), next.map((r) => r[1])];
      treeLeaves(p).forEach((x, i) => identical(x, ref[i], `sgd, step ${step}, leaf ${i}`));
      s.momentum.forEach((b, i) => identical(b, mom[i], `sgd, step ${step}, momentum ${i}`));
    });
  });
}

Deno.test("the fused update follows a change of the parameters' structure and shapes (a second trace)", () => {
  const opt = optim.adam({ lr: 1e-2 });
  const { params, grads } = problem("float32", 3);
  const one = opt.update(grads[0], opt.init(params), params);
  // a different tree (one leaf) with the same optimizer: its own trace, its own right answer
  const w = { w: params.w };
  const two = opt.update({ w: grads[0].w }, opt.init(w), w);
  const [x] = adamLeaf(params.w, grads[0].w, zerosLike(params.w), zerosLike(params.w), 1, {
    lr: 1e-2,
    wd: 0,
    decoupled: false,
  });
  identical(one.params.w, x, "first tree");
  identical(two.params.w, x, "second tree");
  assert.deepEqual(Object.keys(two.params), ["w"]);
});

Deno.test("a params tree with null, bigint or number leaves beside the tensors updates as the eager formula", () => {
  // null and bigint leaves made the jit signature throw (a TypeError from a WeakMap / JSON.stringify)
  for (const extra of [null, 7n, 3, "name", true, undefined]) {
    const opt = optim.sgd({ lr: 0.05, momentum: 0.9, nesterov: true });
    const { params, grads } = problem("float32", 4);
    let p: any = { ...params, extra }, s = opt.init(p);
    let ref = treeLeaves(params), mom = ref.map(zerosLike);
    grads.forEach((g, step) => {
      ({ params: p, state: s } = opt.update({ ...g, extra }, s, p));
      const gl = treeLeaves(g);
      const next = ref.map((x, i) => sgdLeaf(x, gl[i], mom[i], 0.05, 0.9));
      [ref, mom] = [next.map((r) => r[0]), next.map((r) => r[1])];
      treeLeaves(p).forEach((x, i) => identical(x, ref[i], `extra ${String(extra)}, step ${step}, leaf ${i}`));
      assert.equal(p.extra, extra);
    });
  }
});

Deno.test("a number leaf that changes at every step does not trace (and keep) one graph per step", () => {
  const opt = optim.adam({ lr: 1e-2 });
  const update = fusedOnCpu(opt.update);
  const { params, grads } = problem("float32", 5);
  let p: any = { ...params, step: 0 }, s = opt.init(p);
  let ref = treeLeaves(params), mu = ref.map(zerosLike), nu = ref.map(zerosLike);
  grads.forEach((g, step) => {
    ({ params: p, state: s } = update({ ...g, step }, s, { ...p, step }));
    const next = ref.map((x, i) =>
      adamLeaf(x, treeLeaves(g)[i], mu[i], nu[i], step + 1, { lr: 1e-2, wd: 0, decoupled: false })
    );
    [ref, mu, nu] = [next.map((r) => r[0]), next.map((r) => r[1]), next.map((r) => r[2])];
    treeLeaves(p).forEach((x, i) => identical(x, ref[i], `step ${step}, leaf ${i}`));
    assert.equal(p.step, step);
  });
  assert.equal(fusedTraceCount(update), 0, "a trace per value of the step leaf");
  // the same tree without the number traces once (what the count above would otherwise show)
  const plain = fusedOnCpu(opt.update);
  let q: any = params, t = opt.init(q);
  for (const g of grads) ({ params: q, state: t } = plain(g, t, q));
  assert.ok(fusedTraceCount(plain) >= 1 && fusedTraceCount(plain) <= 2, `${fusedTraceCount(plain)} traces`);
});

Deno.test("the fused update of 2,000 small leaves (one run of same-sized chains) is the eager formula", () => {
  // all leaves' chains joined one generated loop, which overflowed the stack (RangeError)
  const opt = optim.adam({ lr: 1e-2 });
  const ks = split(key(6), 2000);
  const params = ks.map((k) => normal(k, [4]));
  let p: Tensor[] = params, s = opt.init(p);
  let ref = params, mu = ref.map(zerosLike), nu = ref.map(zerosLike);
  for (let step = 0; step < 2; step++) {
    const g = p.map((x) => mul(x, 0.5));
    ({ params: p, state: s } = opt.update(g, s, p));
    const next = ref.map((x, i) =>
      adamLeaf(x, mul(ref[i], 0.5), mu[i], nu[i], step + 1, { lr: 1e-2, wd: 0, decoupled: false })
    );
    [ref, mu, nu] = [next.map((r) => r[0]), next.map((r) => r[1]), next.map((r) => r[2])];
    p.forEach((x, i) => identical(x, ref[i], `step ${step}, leaf ${i}`));
  }
});

Deno.test("parameters whose shapes change at every step keep a bounded number of traces, with the eager values", () => {
  const opt = optim.sgd({ lr: 0.05, momentum: 0.9, nesterov: true });
  const update = fusedOnCpu(opt.update);
  for (let n = 1; n <= 40; n++) {
    const w = normal(key(n), [n]), g = mul(w, 0.5);
    const { params, state } = update({ w: g }, opt.init({ w }), { w });
    const [x, b] = sgdLeaf(w, g, zerosLike(w), 0.05, 0.9);
    identical(params.w, x, `shape [${n}]`);
    identical(state.momentum[0], b, `shape [${n}], momentum`);
  }
  const traces = fusedTraceCount(update);
  assert.ok(traces >= 1 && traces <= 16, `${traces} traces kept for 40 shapes`);
});
