/**
 * Regressions found by the WebGPU audit (a new user comparing every WebGPU result with the CPU
 * backend's): each case gave another number, or another error, on WebGPU than on the CPU. Runs on
 * whatever adapter is present (llvmpipe in CI); skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_audit_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

const gpu = (t: Tensor) => T.toBackend(t, "webgpu");

Deno.test({
  name: "webgpu audit: pow at −∞ and −0 follows Math.pow as the cpu does (pow(−∞, 0.5) was NaN, pow(−0, 3) +0)",
  ...opt,
  fn: async () => {
    const xs = [-Infinity, Infinity, -0, 0, -2, 2, -1, 1, NaN];
    const ys = [0.5, -0.5, 2.5, -2.5, 3, -3, 2, 1, 0, Infinity, -Infinity, NaN, 0.3];
    const X: number[] = [], Y: number[] = [];
    for (const x of xs) for (const y of ys) X.push(x), Y.push(y);
    const want = T.pow(T.tensor(X), T.tensor(Y)).dataSync();
    const got = await T.pow(await gpu(T.tensor(X)), await gpu(T.tensor(Y))).data();
    for (let i = 0; i < X.length; i++) {
      const ok = Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= 2e-6 * Math.abs(want[i]);
      assert.ok(ok, `pow(${X[i]}, ${Y[i]}): webgpu ${got[i]}, cpu ${want[i]} (Math.pow ${Math.pow(X[i], Y[i])})`);
    }
  },
});

Deno.test({
  name: "webgpu audit: sin and cos of large float32 arguments equal the cpu's (sin(1e9) was −117159, sin(1e30) −∞)",
  ...opt,
  fn: async () => {
    const xs: number[] = [65536, -65536, 1e5, 1e6, 1e9, 3e9, 1e15, 1e30, -1e30, 3.4028234663852886e38];
    // log-uniform magnitudes from 1 to 2¹²⁸, both signs, and float32 neighbours of multiples of π/2
    for (let i = 0; i < 2000; i++) xs.push((i % 2 ? -1 : 1) * Math.exp(((i * 0.6180339887) % 1) * 88.7));
    for (const k of [1e6, 123456789, 4e9, 1e12]) xs.push(Math.fround(k * Math.PI / 2));
    for (let i = -400; i <= 400; i++) xs.push(i * 0.0251);
    const want = T.tensor(xs, { dtype: "float32" });
    const got = await gpu(want);
    for (const [name, f] of [["sin", T.sin], ["cos", T.cos]] as const) {
      const w = f(want).dataSync(), g = await f(got).data(), x = want.dataSync();
      for (let i = 0; i < xs.length; i++) {
        assert.ok(Math.abs(g[i] - w[i]) <= 2e-7, `${name}(${x[i]}): webgpu ${g[i]}, cpu ${w[i]}`);
      }
    }
    // the sphere's exp takes cos/sin of the step's norm: it stays on the sphere for huge steps too
    const S = T.manifolds.sphere(3);
    const p = S.project(await gpu(T.tensor([1, 0, 0])));
    for (const step of [1e6, 1e20, 3e38]) {
      const e = await S.exp(p, await gpu(T.tensor([0, step, 0]))).data();
      assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-5, `sphere exp by ${step} on webgpu: ${[...e]}`);
    }
  },
});

Deno.test({
  name:
    "logicalAnd of number tensors is the bool of their truth (nonzero, NaN included), as np.logical_and, on both backends (it threw naming where, or returned float32)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cases: [Tensor, Tensor, number[]][] = [
      [T.tensor([true, true, false, true]), T.tensor([2, 0, 1, NaN]), [1, 0, 0, 1]],
      [T.tensor([1.5, 0, NaN, -0]), T.tensor([1, 1, 1, 1], { dtype: "int32" }), [1, 0, 1, 0]],
      [T.tensor([[3], [0]], { dtype: "int32" }), T.tensor([true, false]), [1, 0, 0, 0]],
    ];
    for (const [a, b, want] of cases) {
      const outs = [T.logicalAnd(a, b)];
      if (gpuOk) outs.push(T.logicalAnd(await gpu(a), await gpu(b)));
      for (const r of outs) {
        assert.equal(r.dtype, "bool", `logicalAnd(${a.dtype}, ${b.dtype}) on ${r.backend.name}`);
        assert.deepEqual(Array.from(await r.data()), want, `logicalAnd(${a.dtype}, ${b.dtype}) on ${r.backend.name}`);
      }
    }
  },
});

Deno.test({
  name:
    "inv, det, slogdet, solve, cayley, polar, svdvals and matrixNorm name themselves in their DomainErrors on both backends (they said 'lu:', 'solve:' or 'svd:')",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const L = T.linalg;
    const nan = T.tensor([[1, NaN], [0, 1]]), singular = T.tensor([[1, 2], [2, 4]]);
    const cases: [string, (a: Tensor) => unknown, Tensor][] = [
      ["inv", L.inv, nan],
      ["inv", L.inv, singular],
      ["det", L.det, nan],
      ["slogdet", L.slogdet, nan],
      ["solve", (a) => L.solve(a, a), nan],
      ["solve", (a) => L.solve(a, a), singular],
      ["cayley", L.cayley, nan],
      ["lu", L.luFactor, nan],
      ["polar", (a) => L.polar(a).U, nan],
      ["svdvals", L.svdvals, nan],
      ["matrixNorm", (a) => L.matrixNorm(a, 2), nan],
      ["matrixNorm", (a) => L.matrixNorm(a, "nuc"), nan],
      ["svd", L.svd, nan],
    ];
    for (const backend of gpuOk ? ["cpu", "webgpu"] : ["cpu"]) {
      for (const [op, f, a] of cases) {
        const x = await T.toBackend(a, backend);
        await assert.rejects(
          async () => await Promise.all(T.treeLeaves(f(x)).map((t) => t.data())),
          (e: Error) => e instanceof T.DomainError && e.message.startsWith(`${op}: `),
          `${op} on ${backend}`,
        );
      }
    }
  },
});

Deno.test({
  name:
    "every built-in adapter's init puts its parameters beside a base on webgpu while the cpu is the default, and the step runs there (they were drawn on the cpu and apply threw 'matmul: inputs live on different backends')",
  ...opt,
  fn: async () => {
    const A = T.adapters;
    const made: [string, T.Adapter<unknown, T.Frozen>][] = [
      ["lora", A.lora({ r: 2 })],
      ["lora gaussian", A.lora({ r: 2, init: "gaussian" })],
      ["dora", A.dora({ r: 2 })],
      ["hra", A.hra({ r: 2 })],
      ["oft", A.oft({ blockSize: 4 })],
      ["oft exact", A.oft({ blockSize: 4, cayley: "exact" })],
      ["boft", A.boft({ blockSize: 4, butterflyFactors: 2 })],
      ["loha", A.loha({ r: 2 })],
      ["lokr", A.lokr({ r: 2 })],
      ["lokh", A.lokh({ r: 2 })],
      ["vera", A.vera({ r: 2 })],
      ["sorsa", A.sorsa({ r: 2 })],
      ["polar", A.polar({ r: 2 })],
    ] as [string, T.Adapter<unknown, T.Frozen>][];
    const weight = T.mul(T.normal(T.key(1), [8, 8]), 0.3), x = T.normal(T.key(2), [3, 8]);
    const [wg, xg] = [await gpu(weight), await gpu(x)];
    for (const [name, ad] of made) {
      // the reference: the same init with webgpu as the default
      await T.useBackend("webgpu");
      let want: Tensor[];
      try {
        want = T.treeLeaves(ad.init(T.key(3), { weight: wg }).params);
      } finally {
        await T.useBackend("cpu");
      }
      const { params, frozen } = ad.init(T.key(3), { weight: wg });
      const leaves = T.treeLeaves([params, frozen]);
      for (const l of leaves) {
        assert.equal(l.backend.name, "webgpu", `${name}: init made a tensor on ${l.backend.name}`);
      }
      const loss = (p: unknown) => T.sum(T.square(ad.apply(p, frozen, xg)));
      const [value, g] = T.valueAndGrad(loss)(params);
      assert.equal(value.backend.name, "webgpu", name);
      for (const l of T.treeLeaves(g)) assert.equal(l.backend.name, "webgpu", `${name}: gradient`);
      assert.ok(Number.isFinite((await value.data())[0]), name);
      const got = T.treeLeaves(params);
      for (const [i, w] of want.entries()) {
        const a = await got[i].data(), b = await w.data();
        for (let j = 0; j < b.length; j++) assert.ok(Math.abs(a[j] - b[j]) <= 1e-6, `${name}: leaf ${i}[${j}]`);
      }
    }
  },
});

Deno.test({
  name:
    "webgpu: every failing kernel before a read raises its own DomainError, one per read (the log kept only the first: a second bad take read as zeros, a singular inv as NaN, with no error)",
  ...opt,
  fn: async () => {
    const x = await gpu(T.tensor([[1, 2], [3, 4]]));
    const idx = async (v: number) => await gpu(T.tensor([v], { dtype: "int32" }));
    const a = T.take(x, await idx(5), 0), b = T.take(x, await idx(-9), 0);
    const c = T.linalg.inv(await gpu(T.zeros([2, 2])));
    const expect = [/^take: index 5 /, /^take: index -9 /, /^inv: matrix \[2, 2\] is singular/];
    for (const [i, t] of [a, b, c].entries()) {
      await assert.rejects(() => t.data(), (e: Error) => e instanceof T.DomainError && expect[i].test(e.message));
    }
    assert.deepEqual(Array.from(await T.add(x, 1).data()), [2, 3, 4, 5], "the log is empty after three reads");
    // more failures than the log holds: the last one kept says how many were not
    const many = await Promise.all(Array.from({ length: 70 }, (_, i) => idx(10 + i)));
    for (const i of many) T.take(x, i, 0);
    const seen: string[] = [];
    for (let i = 0; i < 80; i++) {
      try {
        await x.data();
      } catch (e) {
        seen.push((e as Error).message);
      }
    }
    assert.equal(seen.length, 64);
    assert.match(seen[0], /^take: index 10 /);
    assert.match(seen[63], /^take: index 73 .*and 6 later failures/);
  },
});

Deno.test({
  name:
    "slice takes a null start or stop as the axis' start or end (NumPy's x[:, -2:]) on both backends; it said 'range [-2,] is outside axis 1'",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const x = T.tensor([[1, 2, 3], [4, 5, 6]]);
    const cases: [Parameters<typeof T.slice>[1], number[]][] = [
      [[null, [-2, null]], [2, 3, 5, 6]],
      [[[0, 1], [null, -1]], [1, 2]],
      [[[null, null], [1, null]], [2, 3, 5, 6]],
    ];
    for (const t of gpuOk ? [x, await gpu(x)] : [x]) {
      for (const [ranges, want] of cases) {
        assert.deepEqual(
          Array.from(await T.slice(t, ranges).data()),
          want,
          `${JSON.stringify(ranges)} on ${t.backend.name}`,
        );
      }
      assert.throws(() => T.slice(t, [null, [2, 1]]), T.ShapeError);
    }
  },
});

Deno.test("take(x, i, { axis: 0 }) names the options object it was given where the axis goes (it said [object Object])", () => {
  assert.throws(
    () => T.take(T.ones([3, 2]), T.tensor([0], { dtype: "int32" }), { axis: 0 } as never),
    (e: Error) =>
      e instanceof T.ShapeError &&
      e.message === 'take: axis must be a number or a list of numbers, got the object {"axis":0}',
  );
});

Deno.test({
  name:
    "adapt and adaptModel run a method of one's own beside a base on webgpu while the cpu is the default (its init drew on the cpu and apply threw)",
  ...opt,
  fn: async () => {
    // a LoRA written as a user would, drawing with the default backend
    const mine: T.Adapter<{ A: Tensor; B: Tensor }> = {
      ...T.adapters.lora({ r: 2 }),
      kind: "mine",
      init: (k, { weight, bias }) => ({
        params: { A: T.mul(T.normal(k, [2, weight.shape[1]]), 0.1), B: T.zeros([weight.shape[0], 2]) },
        frozen: { weight, bias },
      }),
    } as T.Adapter<{ A: Tensor; B: Tensor }>;
    const weight = await gpu(T.mul(T.normal(T.key(1), [8, 8]), 0.3));
    const layer = T.adapters.adapt({ lin: { weight } }, { target: "lin", adapter: mine });
    for (const l of T.treeLeaves(layer.params)) assert.equal(l.backend.name, "webgpu");
    const model = await T.loadModel("../shared/fixtures/models/tiny_llama", { backend: "webgpu" });
    const peft = T.adaptModel(model, { target: "q_proj", adapter: mine });
    for (const l of T.treeLeaves(peft.params)) assert.equal(l.backend.name, "webgpu");
    const ids = await gpu(T.tensor([[1, 2, 3]], { dtype: "int32" }));
    assert.ok((await peft.apply(peft.params, ids).data()).every(Number.isFinite));
  },
});
