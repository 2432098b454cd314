/**
 * Parity of the Euclidean optimizers and optax-style transformations with PyTorch and optax: 30
 * float64 steps from stored parameters and gradients (tests/data/optim_reference.json, made by
 * tests/scripts/optim_reference.py), every iterate within 1e-12 (relative, |x − y| / max(1, |y|)) of
 * torch.optim.SGD / Adam / AdamW and optax.sgd / adam / adamw / chain / clip_by_global_norm /
 * masked / scale_by_learning_rate / add_decayed_weights (the script checks that torch and optax
 * agree where both have the algorithm); `amsgrad` and `dampening` against torch alone (optax's
 * amsgrad is another algorithm, its sgd has no dampening). Each optimizer runs on the fused CPU path (`fusedOnCpu`) and
 * eagerly (a `null` leaf beside the tensors makes the step run as it is); on WebGPU (float32, where
 * rates and bias corrections are float32 too) every case within 5e-6 of the same references.
 */
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { stack, type Tensor, tensor, toBackend, treeLeaves, useBackend, vmap } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import * as optim from "../optim/mod.ts";

const ref = JSON.parse(readFileSync(new URL("./data/optim_reference.json", import.meta.url), "utf8"));
const f64 = (a: any) => tensor(a, { dtype: "float64" });
const TOL = 1e-12;

function flat(tree: { a: Tensor; b: Tensor }): number[] {
  return [...tree.a.dataSync(), ...tree.b.dataSync()] as number[];
}

function lrOf(spec: any): optim.LearningRate {
  if (typeof spec === "function") return spec;
  return typeof spec === "number" ? spec : optim.warmupCosineSchedule(spec);
}

/** Tangent's counterpart of a case's `tangent` spec: an optimizer or a transformation. */
function build(spec: any): optim.Optimizer<any> | optim.GradientTransformation<any> {
  const piece = ([name, a, b]: [string, any, any]): any => {
    switch (name) {
      case "clipByGlobalNorm":
        return optim.clipByGlobalNorm(a);
      case "scaleByLearningRate":
        return optim.scaleByLearningRate(lrOf(a));
      case "addDecayedWeights":
        return optim.addDecayedWeights(a);
      case "adam":
        return optim.adam({ lr: a });
      case "adamw":
        return optim.adamw({ lr: a, weightDecay: b });
    }
    throw new Error(`unknown piece ${name}`);
  };
  const { kind, lr, ...rest } = spec;
  switch (kind) {
    case "sgd":
      return optim.sgd({ lr: lrOf(lr), ...rest });
    case "adam":
      return optim.adam({ lr: lrOf(lr), ...rest });
    case "adamw":
      return optim.adamw({ lr: lrOf(lr), ...rest });
    case "chain":
      return optim.chain(...spec.pieces.map(piece));
    case "masked":
      return optim.masked(piece(spec.inner), spec.mask);
  }
  throw new Error(`unknown kind ${kind}`);
}

/** The largest relative difference from the reference over 30 steps, on the fused or eager path. */
function maxDiff(c: any, eager: boolean): number {
  const opt: any = build(c.lrOverride ? { ...c.tangent, lr: c.lrOverride } : c.tangent);
  const extra = eager ? { extra: null } : {};
  let params: any = { a: f64(ref.params.a), b: f64(ref.params.b), ...extra };
  let state = opt.init(params);
  let worst = 0;
  ref.grads.forEach((g: any, k: number) => {
    const grads = { a: f64(g.a), b: f64(g.b), ...extra };
    if (opt.kind === "transformation") {
      const r = opt.update(grads, state, params);
      params = optim.applyUpdates(params, r.updates);
      state = r.state;
    } else {
      ({ params, state } = opt.update(grads, state, params));
    }
    const got = flat(params), want: number[] = c.iterates[k];
    assert.equal(got.length, want.length);
    got.forEach((x, i) => {
      const d = Math.abs(x - want[i]) / Math.max(1, Math.abs(want[i]));
      assert.ok(Number.isFinite(x), `${c.name}: step ${k + 1}, element ${i} is ${x}`);
      worst = Math.max(worst, d);
    });
  });
  if (eager) assert.equal(params.extra, null);
  return worst;
}

const report: string[] = [];
for (const c of ref.cases) {
  for (const eager of [false, true]) {
    const path = eager ? "eager" : "fused";
    Deno.test(`${c.name} (${path}) matches ${c.references.join(" and ")} over 30 float64 steps`, () => {
      const d = maxDiff(c, eager);
      if (Deno.env.get("OPTIM_PARITY_REPORT")) {
        report.push(`${c.name.padEnd(34)} ${path}  vs ${c.references.join("+").padEnd(12)} ${d.toExponential(2)}`);
        console.log(report[report.length - 1]);
      }
      assert.ok(d <= TOL, `${c.name} (${path}): max relative difference ${d} > ${TOL}`);
    });
  }
}

Deno.test("the reference has every case (a script that stopped early fails here)", () => {
  assert.equal(ref.cases.length, 24);
  for (const c of ref.cases) assert.equal(c.iterates.length, 30, c.name);
  assert.equal(ref.grads.length, 30);
  // a zero gradient and a clipped one are in the sequence
  assert.ok(ref.grads.some((g: any) => [...g.a.flat(), ...g.b].every((x: number) => x === 0)));
});

Deno.test("clipByGlobalNorm matches optax.clip_by_global_norm: norm 0, below, at and above maxNorm", () => {
  for (const c of ref.clip) {
    const t = optim.clipByGlobalNorm(c.maxNorm);
    const g = { a: f64(c.grads.slice(0, 12)), b: f64(c.grads.slice(12)) };
    const u = t.update(g, t.init(g), g).updates as { a: Tensor; b: Tensor };
    const got = flat(u);
    got.forEach((x, i) => {
      assert.ok(Number.isFinite(x), `norm ${c.norm}: element ${i} is ${x}`);
      assert.ok(
        Math.abs(x - c.updates[i]) <= 1e-15 * Math.max(1, Math.abs(c.updates[i])),
        `norm ${c.norm}: ${x} vs ${c.updates[i]}`,
      );
    });
  }
});

Deno.test("clipByGlobalNorm differs from torch's clip_grad_norm_ (no 1e-6 in the denominator): documented", () => {
  const c = ref.torchClip;
  const t = optim.clipByGlobalNorm(c.maxNorm);
  const g = { a: f64(c.grads.slice(0, 12)), b: f64(c.grads.slice(12)) };
  const got = flat(t.update(g, t.init(g), g).updates as any);
  const d = Math.max(...got.map((x, i) => Math.abs(x - c.updates[i])));
  assert.ok(d > 1e-9 && d < 1e-5, `torch's clip differs by ${d}`);
});

Deno.test("masked freezes the leaves it masks out, where optax.masked passes their updates through: documented", () => {
  const t = optim.masked(optim.scaleByLearningRate(0.1), { a: true, b: false });
  const p = { a: f64(ref.params.a), b: f64(ref.params.b) };
  const g = { a: f64(ref.grads[0].a), b: f64(ref.grads[0].b) };
  const u = t.update(g, t.init(p), p).updates as { a: Tensor; b: Tensor };
  const want = ref.maskedPassthrough.updates;
  flat(u).slice(0, 12).forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= 1e-15, `a[${i}]`));
  // optax: b's update is its gradient; Tangent: zero
  assert.deepEqual(want.slice(12), ref.grads[0].b);
  assert.ok([...u.b.dataSync()].every((x) => x === 0), `b's updates ${[...u.b.dataSync()]}`);
  assert.equal(treeLeaves(u).length, 2);
});

const gpuOk = await webgpuAvailable();
await useBackend("cpu");

Deno.test({
  name: "webgpu (float32): every case follows the float64 references to float32 accuracy",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const f32 = (a: any) => toBackend(tensor(a, { dtype: "float32" }), "webgpu");
    const lines: string[] = [];
    let worstAll = 0;
    for (const c of ref.cases) {
      await useBackend("webgpu");
      try {
        const opt: any = build(c.tangent);
        let params: any = { a: await f32(ref.params.a), b: await f32(ref.params.b) };
        let state = opt.init(params);
        let worst = 0;
        for (let k = 0; k < ref.grads.length; k++) {
          const g = ref.grads[k];
          const grads = { a: await f32(g.a), b: await f32(g.b) };
          if (opt.kind === "transformation") {
            const r = opt.update(grads, state, params);
            params = optim.applyUpdates(params, r.updates);
            state = r.state;
          } else {
            ({ params, state } = opt.update(grads, state, params));
          }
          assert.equal(params.a.backend.name, "webgpu");
          const got = [...await params.a.data(), ...await params.b.data()];
          got.forEach((x, i) => {
            const y = c.iterates[k][i];
            assert.ok(Number.isFinite(x), `${c.name}: step ${k + 1}, element ${i} is ${x}`);
            worst = Math.max(worst, Math.abs(x - y) / Math.max(1, Math.abs(y)));
          });
        }
        lines.push(`${c.name.padEnd(34)} webgpu ${worst.toExponential(2)}`);
        worstAll = Math.max(worstAll, worst);
        assert.ok(worst <= 5e-6, `${c.name} on webgpu: max relative difference ${worst}`);
      } finally {
        await useBackend("cpu");
      }
    }
    if (Deno.env.get("OPTIM_PARITY_REPORT")) console.log(lines.join("\n"));
  },
});

Deno.test("masked gives frozen leaves a zero update even when their gradient is not finite", () => {
  // a frozen leaf's gradient times 0 was NaN for an infinite or NaN gradient, which applyUpdates then
  // wrote into the frozen parameters; optax.masked would pass the gradient itself through
  const t = optim.masked(optim.scaleByLearningRate(0.1), { a: true, b: false });
  const p = { a: f64([1, 2]), b: f64([3, 4, 5]) };
  const g = { a: f64([1, 1]), b: f64([Infinity, NaN, -2]) };
  const u = t.update(g, t.init(p), p).updates as { a: Tensor; b: Tensor };
  assert.deepEqual([...u.b.dataSync()], [0, 0, 0]);
  assert.deepEqual([...optim.applyUpdates(p, u).b.dataSync()], [3, 4, 5]);
});

Deno.test("chain(addDecayedWeights(wd), adam) is adam({ weightDecay: wd }), torch Adam's weight_decay", () => {
  const c = ref.cases.find((c: any) => c.name === "adam weight decay");
  const spec = { kind: "chain", pieces: [["addDecayedWeights", 0.1], ["adam", 0.01]] };
  for (const eager of [false, true]) {
    const d = maxDiff({ ...c, tangent: spec }, eager);
    assert.ok(d <= TOL, `${eager ? "eager" : "fused"}: ${d}`);
  }
});

Deno.test("under vmap (two copies of the problem, the step batched) every case still matches", () => {
  const two = (a: any) => stack([f64(a), f64(a)]);
  for (const c of ref.cases) {
    const opt: any = build(c.tangent);
    let params: any = { a: two(ref.params.a), b: two(ref.params.b) };
    let state = vmap((p: any) => opt.init(p))(params);
    const step = vmap((g: any, s: any, p: any) => {
      if (opt.kind !== "transformation") {
        const r = opt.update(g, s, p);
        return [r.params, r.state];
      }
      const r = opt.update(g, s, p);
      return [optim.applyUpdates(p, r.updates), r.state];
    });
    let worst = 0;
    ref.grads.forEach((g: any, k: number) => {
      [params, state] = step({ a: two(g.a), b: two(g.b) }, state, params) as any;
      const a = params.a.dataSync(), b = params.b.dataSync();
      for (const copy of [0, 1]) {
        const got = [...a.slice(12 * copy, 12 * copy + 12), ...b.slice(5 * copy, 5 * copy + 5)] as number[];
        got.forEach((x, i) => {
          const y = c.iterates[k][i];
          worst = Math.max(worst, Number.isNaN(x) ? Infinity : Math.abs(x - y) / Math.max(1, Math.abs(y)));
        });
      }
    });
    assert.ok(worst <= TOL, `${c.name} under vmap: max relative difference ${worst}`);
  }
});

Deno.test("a schedule written on numbers (read from the count) gives the same steps as the built-in one", () => {
  for (const name of ["adam warmup-cosine", "adamw warmup-cosine", "sgd momentum warmup-cosine"]) {
    const c = ref.cases.find((c: any) => c.name === name);
    const s = optim.warmupCosineSchedule(c.tangent.lr);
    const d = maxDiff({ ...c, tangent: { ...c.tangent, lr: 0 }, lrOverride: (t: number) => s(t) }, false);
    assert.ok(d <= TOL, `${name}: ${d}`);
  }
});
