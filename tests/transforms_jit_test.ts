/**
 * jit (issue 11, step 6): `jit(f)` equals `f` bit for bit on the CPU (random elementwise chains in
 * float32, float64 and int32, their gradients, reductions, matmuls, sorting, linear algebra); one
 * trace per signature (shapes, dtypes, structure, static arguments); dead code removed, constants
 * folded, chains fused; `jit(grad(f))`, `grad(jit(f))`, `vmap(jit(f))`, `jit(vmap(f))`; a
 * value-reading function keeps running as itself; scopes do not free a graph's constants; the
 * manifold and adapter laws hold with the methods jitted and vmapped.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { jitGraphs } from "../autodiff/jit.ts";
import { checkAdapterLaws, checkManifoldLaws } from "../testing.ts";

/** Same elements, compared with Object.is (NaN equals NaN, 0 differs from −0). */
function identical(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  const x = a.dataSync(), y = b.dataSync();
  for (let i = 0; i < x.length; i++) assert.ok(Object.is(x[i], y[i]), `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
}

type Op = (x: Tensor, y: Tensor) => Tensor;
const FLOAT_OPS: Op[] = [
  (x) => T.exp(T.mul(x, 0.3)),
  (x) => T.log(T.add(T.abs(x), 0.5)),
  (x) => T.tanh(x),
  (x) => T.sin(x),
  (x) => T.sqrt(T.abs(x)),
  (x) => T.erf(x),
  (x) => T.log1p(T.abs(x)),
  (x, y) => T.add(x, y),
  (x, y) => T.mul(x, y),
  (x, y) => T.sub(x, T.mul(y, 0.5)),
  (x, y) => T.div(x, T.add(T.abs(y), 1)),
  (x, y) => T.maximum(x, y),
  (x, y) => T.where(T.greater(x, y), x, T.neg(y)),
  (x) => T.astype(T.astype(T.mul(x, 3), "int32"), x.dtype),
  (x) => T.pow(T.abs(x), 1.5),
  (x) => T.sign(x),
];

Deno.test("jit(f) equals f bit for bit on the CPU: random elementwise chains (float32, float64), with scalars and broadcasts", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: FLOAT_OPS.length - 1 }), { minLength: 1, maxLength: 40 }),
      fc.constantFrom("float32" as const, "float64" as const),
      fc.integer({ min: 1, max: 70 }),
      fc.integer({ min: 0, max: 1e6 }),
      (ops, dtype, n, seed) => {
        const [k1, k2] = T.split(T.key(seed));
        const x = T.astype(T.normal(k1, [n]), dtype), y = T.astype(T.normal(k2, [n]), dtype);
        const f = (a: Tensor, b: Tensor) => {
          let h = a;
          ops.forEach((o, i) => (h = FLOAT_OPS[o](h, i % 3 === 0 ? b : T.sum(b))));
          return h;
        };
        const jf = T.jit(f);
        identical(jf(x, y), f(x, y), "trace");
        const [k3, k4] = T.split(T.key(seed + 1));
        const x2 = T.astype(T.normal(k3, [n]), dtype), y2 = T.astype(T.normal(k4, [n]), dtype);
        identical(jf(x2, y2), f(x2, y2), "replay");
        const g = T.grad((a: Tensor) => T.sum(f(a, y)));
        const jg = T.jit(g);
        jg(x);
        identical(jg(x2), g(x2), "jit(grad(f))");
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("jit(f) equals f bit for bit: int32 arithmetic, reductions, matmul, sorting, linear algebra, a pytree in and out", () => {
  const ints = (t: Tensor) => T.sum(T.mul(T.add(t, 3), T.sub(t, 7)), { axis: 0 });
  const xi = T.tensor([[1, 2, 3], [4, 5, 2147483]], { dtype: "int32" });
  const ji = T.jit(ints);
  ji(xi);
  identical(ji(T.mul(xi, 2)), ints(T.mul(xi, 2)), "int32");
  const model = (p: { w: Tensor; b: Tensor }, x: Tensor) => {
    const h = T.tanh(T.add(T.matmul(x, p.w), p.b));
    const s = T.sort(h, { axis: -1 });
    return { loss: T.mean(T.square(s)), top: T.topk(h, 2).values, q: T.linalg.qr(T.matmul(T.transpose(h), h)).R };
  };
  const jm = T.jit(model);
  const p = { w: T.normal(T.key(1), [5, 4]), b: T.normal(T.key(2), [4]) };
  const x = T.normal(T.key(3), [6, 5]);
  jm(p, x);
  const x2 = T.normal(T.key(4), [6, 5]);
  const a = jm(p, x2), b = model(p, x2);
  identical(a.loss, b.loss, "loss");
  identical(a.top, b.top, "topk");
  identical(a.q, b.q, "qr");
  const step = T.jit((q: { w: Tensor; b: Tensor }, xx: Tensor) => T.grad((r: typeof q) => model(r, xx).loss)(q));
  step(p, x);
  const gj = step(p, x2), ge = T.grad((r: typeof p) => model(r, x2).loss)(p);
  identical(gj.w, ge.w, "grad w");
  identical(gj.b, ge.b, "grad b");
});

Deno.test("jit traces once per signature: shapes, dtypes, structure and static arguments; other calls replay", () => {
  let traces = 0;
  const f = T.jit((x: Tensor, opts: { scale: number }) => {
    traces++;
    return T.mul(x, opts.scale);
  });
  f(T.ones([2]), { scale: 2 });
  f(T.ones([2]), { scale: 2 });
  assert.equal(traces, 1);
  assert.deepEqual(f(T.tensor([1, 2]), { scale: 2 }).arraySync(), [2, 4]);
  assert.equal(traces, 1);
  f(T.ones([3]), { scale: 2 }); // new shape
  f(T.ones([2], { dtype: "float64" }), { scale: 2 }); // new dtype
  assert.deepEqual(f(T.tensor([1, 2]), { scale: 3 }).arraySync(), [3, 6]); // a number in the arguments is a key
  assert.equal(traces, 4);
  let t2 = 0;
  const g = T.jit((x: Tensor, act: (t: Tensor) => Tensor) => {
    t2++;
    return act(x);
  }, { staticArgnums: [1] });
  assert.deepEqual(g(T.tensor([-1, 1]), T.relu).arraySync(), [0, 1]);
  assert.deepEqual(g(T.tensor([-2, 2]), T.relu).arraySync(), [0, 2]);
  assert.deepEqual(g(T.tensor([0, 0]), T.exp).arraySync(), [1, 1]);
  assert.equal(t2, 2);
  // the same tensor twice and two different tensors are different signatures
  const h = T.jit((a: Tensor, b: Tensor) => T.sub(a, b));
  assert.deepEqual(h(T.tensor([1]), T.tensor([1])).arraySync(), [0]);
  const same = T.tensor([5]);
  assert.deepEqual(h(same, same).arraySync(), [0]);
  assert.deepEqual(h(T.tensor([3]), T.tensor([1])).arraySync(), [2]);
});

Deno.test("jit's graph: dead code removed, constants folded, elementwise chains fused into one loop", () => {
  const w = T.tensor([1, 2, 3]);
  const f = T.jit((x: Tensor) => {
    T.exp(T.mul(x, 100)); // unused: removed
    const c = T.mul(T.add(w, 1), T.sum(w)); // depends only on constants: folded
    return T.sum(T.tanh(T.add(T.mul(T.sin(x), c), 1)));
  });
  f(T.tensor([0.1, 0.2, 0.3]));
  const [g] = jitGraphs(f);
  assert.ok(g !== "eager");
  // with WebAssembly SIMD (sin included) the sum joins the chain's kernel; else the JavaScript loop, then the reduction
  const wasm = g.steps.length === 1;
  assert.deepEqual(
    g.steps,
    wasm
      ? [{ kind: "fused", size: 5, wasm: true, reduce: "sum" }]
      : [{ kind: "fused", size: 4 }, { kind: "prim", prim: "reduce" }],
  );
  assert.ok(g.consts >= 1);
});

Deno.test("grad(jit(f)), vmap(jit(f)), jit(vmap(f)) and nested jits agree with the plain functions", () => {
  const f = (x: Tensor) => T.sum(T.mul(T.sin(x), x));
  const jf = T.jit(f);
  const x = T.tensor([0.5, -1, 2], { dtype: "float64" });
  jf(x);
  identical(T.grad(jf)(x) as Tensor, T.grad(f)(x) as Tensor, "grad(jit(f))");
  identical(
    T.grad(T.grad((v: Tensor) => jf(T.mul(v, v))))(T.tensor(0.7, { dtype: "float64" })) as Tensor,
    T.grad(T.grad((v: Tensor) => f(T.mul(v, v))))(T.tensor(0.7, { dtype: "float64" })) as Tensor,
    "second order",
  );
  const xs = T.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float64" });
  identical(T.vmap(jf)(xs), T.vmap(f)(xs), "vmap(jit(f))");
  const jv = T.jit(T.vmap(f));
  jv(xs);
  identical(jv(T.mul(xs, 2)), T.vmap(f)(T.mul(xs, 2)), "jit(vmap(f))");
  const per = T.jit(T.vmap(T.grad(f)));
  per(xs);
  identical(per(T.mul(xs, 3)), T.vmap(T.grad(f))(T.mul(xs, 3)), "jit(vmap(grad(f)))");
  const outer = T.jit((v: Tensor) => T.add(jf(v), 1));
  outer(x);
  identical(outer(T.mul(x, 2)), T.add(f(T.mul(x, 2)), 1), "nested jit");
});

Deno.test("a function that reads values keeps running as itself (or throws under strict); scopes do not free a graph's constants", () => {
  const f = T.jit((x: Tensor) => (T.sum(x).item() > 0 ? T.mul(x, 2) : T.neg(x)));
  assert.deepEqual(f(T.tensor([1, 2])).arraySync(), [2, 4]);
  assert.deepEqual(f(T.tensor([-1, -2])).arraySync(), [1, 2]);
  assert.deepEqual(jitGraphs(f), ["eager"]);
  // strict: the first call says why instead of running eagerly; a replayable function is unaffected
  const strict = T.jit((x: Tensor) => (T.sum(x).item() > 0 ? T.mul(x, 2) : T.neg(x)), { strict: true });
  assert.throws(
    () => strict(T.tensor([1, 2])),
    (e: Error) => e instanceof T.DomainError && /staticArgnums/.test(e.message),
  );
  assert.deepEqual(T.jit((x: Tensor) => T.mul(x, 2), { strict: true })(T.tensor([1, 2])).arraySync(), [2, 4]);
  const g = T.jit((x: Tensor) => T.add(T.mul(x, T.arange(3, undefined, 1, { dtype: "float32" })), T.ones([3])));
  for (let i = 0; i < 3; i++) {
    const y = T.scope(() => g(T.full([3], i)));
    assert.deepEqual(y.arraySync(), [1, 1 + i, 1 + 2 * i]);
  }
});

Deno.test("the manifold laws hold with the manifold's methods jitted, and vmapped over a batch", async () => {
  const methods = [
    "project",
    "toTangent",
    "retract",
    "transport",
    "egradToRgrad",
    "inner",
    "norm",
    "componentInner",
    "exp",
  ];
  const wrap = (M: T.manifolds.Manifold, how: "jit" | "vmap") => {
    const W = Object.create(M) as Record<string, unknown>;
    for (const k of methods) {
      const m = (M as unknown as Record<string, unknown>)[k];
      if (typeof m !== "function") continue;
      const call = (...a: unknown[]) => (m as (...a: unknown[]) => unknown).apply(M, a);
      if (how === "jit") W[k] = T.jit(call);
      else {
        W[k] = (...a: unknown[]) => {
          const axes = a.map((v) => (v instanceof T.Tensor ? 0 : null));
          const two = a.map((v) => (v instanceof T.Tensor ? T.stack([v, v]) : v));
          const r = T.vmap(call, { inAxes: axes })(...two) as Tensor;
          const first = T.squeeze(T.slice(r, [[0, 1]]), 0);
          const mf = (r as { manifold?: unknown }).manifold;
          return mf ? T.manifolds.asPoint(first, mf) : first;
        };
      }
    }
    return W as unknown as T.manifolds.Manifold;
  };
  for (const M of [T.manifolds.sphere(4), T.manifolds.stiefel(5, 2), T.manifolds.oblique(3, 2)]) {
    await checkManifoldLaws(wrap(M, "jit"), { numRuns: 6, seed: 1 });
    await checkManifoldLaws(wrap(M, "vmap"), { numRuns: 6, seed: 2 });
  }
});

Deno.test("the adapter laws hold with apply/merge/unmerge/regularizer jitted, and apply vmapped over a batch", async () => {
  const { lora, dora, hra, oft } = T.adapters;
  type A = Parameters<typeof checkAdapterLaws>[0];
  const wrap = (ad: A, how: "jit" | "vmap"): A => {
    const W = Object.create(ad) as Record<string, unknown>;
    const bound = (k: string) => (...a: unknown[]) =>
      (ad as unknown as Record<string, (...a: unknown[]) => unknown>)[k](...a);
    if (how === "jit") {
      for (const k of ["apply", "merge", "unmerge", "regularizer"]) W[k] = T.jit(bound(k));
    } else {
      const apply = bound("apply");
      W.apply = (p: unknown, f: unknown, x: Tensor) => {
        const r = T.vmap(apply, { inAxes: [null, null, 0] })(p, f, T.stack([x, T.mul(x, 2)])) as Tensor;
        return T.squeeze(T.slice(r, [[0, 1]]), 0);
      };
    }
    return W as unknown as A;
  };
  for (const ad of [lora({ r: 2, alpha: 4 }), hra({ r: 2 }), oft({ r: 2 })] as A[]) {
    await checkAdapterLaws(wrap(ad, "jit"), { numRuns: 2, seed: 3 });
    await checkAdapterLaws(wrap(ad, "vmap"), { numRuns: 2, seed: 4 });
  }
  const d = dora({ r: 2, alpha: 3 }) as A;
  await checkAdapterLaws(wrap(d, "jit"), { numRuns: 2, seed: 5, detachedGradients: ["A", "B"] });
  await checkAdapterLaws(wrap(d, "vmap"), { numRuns: 2, seed: 6, detachedGradients: ["A", "B"] });
});

Deno.test("jit on WebGPU: a jitted gradient step replays the same kernels (same values as eager)", async () => {
  if (!(await T.webgpuAvailable())) {
    console.warn("transforms_jit_test: no WebGPU adapter; skipped");
    return;
  }
  const loss = (w: Tensor, x: Tensor) => T.mean(T.square(T.tanh(T.matmul(x, w))));
  const step = T.jit((w: Tensor, x: Tensor) => T.sub(w, T.mul(T.grad(loss)(w, x), 0.1)));
  const w = await T.toBackend(T.normal(T.key(1), [8, 4]), "webgpu");
  const x = await T.toBackend(T.normal(T.key(2), [16, 8]), "webgpu");
  const w1 = step(w, x);
  const w2 = step(w1, x); // replayed
  const e2 = T.sub(w1, T.mul(T.grad(loss)(w1, x), 0.1));
  const [a, b] = [await w2.data(), await e2.data()];
  assert.equal(w2.backend.name, "webgpu");
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-7 * (1 + Math.abs(b[i])), `element ${i}`);
  assert.equal(jitGraphs(step).length, 1);
});

Deno.test("scan traces its body once and replays it for the other steps (and still runs it under grad)", () => {
  let calls = 0;
  const body = (c: Tensor, x: Tensor): [Tensor, Tensor] => {
    calls++;
    const h = T.tanh(T.add(T.mul(c, 0.9), x));
    return [h, T.sum(h)];
  };
  const xs = T.normal(T.key(5), [6, 3]);
  const [c, ys] = T.scan(body, T.zeros([3]), xs);
  assert.equal(calls, 1);
  let h = T.zeros([3]);
  for (let i = 0; i < 6; i++) h = T.tanh(T.add(T.mul(h, 0.9), T.squeeze(T.slice(xs, [[i, i + 1]]), 0)));
  identical(c, h, "carry");
  assert.deepEqual(ys.shape, [6]);
  calls = 0;
  T.grad((v: Tensor) => T.sum(T.scan(body, v, xs)[1]))(T.zeros([3]));
  assert.equal(calls, 6);
});
