// The adapter law kit as a researcher uses it: adapters of one's own written after the `Adapter`
// guide pass, and one deliberately broken per law is caught with a DomainError that names the law,
// the measured error against the tolerance, the sizes and the seed that replays it.
import assert from "node:assert/strict";
import { customVjp, DomainError, mul, normal, type Tensor, zeros } from "../mod.ts";
import { type Adapter, countScalars, frozenLinear, type LinearBase, zeroLike } from "../adapters/mod.ts";
import { adam, type Point, riemannianAdam, type Sphere, sphere, type Stiefel, stiefel } from "../manifolds/mod.ts";
import { adapterLaws, checkAdapterLaws } from "../testing.ts";

// LoRA-FA: A drawn once and frozen, B trained
type FaFrozen = LinearBase & { A: Tensor };
const loraFa = (r: number): Adapter<{ B: Tensor }, FaFrozen> => ({
  kind: "lora_fa",
  identityAtInit: true,
  init: (k, { weight, bias }) => {
    const dtype = weight.dtype === "float64" ? "float64" : "float32", [out, inF] = weight.shape;
    const A = normal(k, [r, inF], { dtype }).div(Math.sqrt(inF));
    return { params: { B: zeros([out, r], { dtype }) }, frozen: { weight, bias, A } };
  },
  apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(f.A.mT).matmul(p.B.mT)),
  merge: (p, f) => f.weight.add(p.B.matmul(f.A)),
  unmerge: (p, f, merged) => merged.sub(p.B.matmul(f.A)),
  regularizer: zeroLike,
  trainableCount: countScalars,
});

// LoRA with A on the Stiefel manifold; `over` replaces members to break one law at a time
type SP = { A: Point<Stiefel>; B: Tensor };
const stiefelLora = (r: number, over: Partial<Adapter<SP>> = {}): Adapter<SP> => ({
  kind: "stiefel_lora",
  identityAtInit: true,
  init: (k, { weight, bias }) => {
    const dtype = weight.dtype === "float64" ? "float64" : "float32";
    const A = stiefel(weight.shape[1], r).random(k, { dtype });
    return { params: { A, B: zeros([weight.shape[0], r], { dtype }) }, frozen: { weight, bias } };
  },
  apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(p.A).matmul(p.B.mT)),
  merge: (p, f) => f.weight.add(p.B.matmul(p.A.mT)),
  unmerge: (p, _f, merged) => merged.sub(p.B.matmul(p.A.mT)),
  regularizer: zeroLike,
  trainableCount: countScalars,
  orthogonalFactors: (p) => [p.A],
  ...over,
});

// a rank-1 update along a unit vector u ∈ S^{in−1}, no orthogonalFactors: only u's manifold says
type UP = { u: Point<Sphere>; b: Tensor };
const sphereRank1: Adapter<UP> = {
  kind: "sphere_rank1",
  identityAtInit: true,
  init: (k, { weight, bias }) => ({
    params: {
      u: sphere(weight.shape[1]).random(k, { dtype: "float64" }),
      b: zeros([weight.shape[0]], { dtype: "float64" }),
    },
    frozen: { weight, bias },
  }),
  apply: (p, f, x) =>
    frozenLinear(x, f.weight, f.bias).add(x.matmul(p.u.reshape([-1, 1])).matmul(p.b.reshape([1, -1]))),
  merge: (p, f) => f.weight.add(p.b.reshape([-1, 1]).matmul(p.u.reshape([1, -1]))),
  unmerge: (p, _f, m) => m.sub(p.b.reshape([-1, 1]).matmul(p.u.reshape([1, -1]))),
  regularizer: zeroLike,
  trainableCount: countScalars,
};

/** The DomainError `checkAdapterLaws` throws, after checking its class. */
async function lawError(ad: Adapter<SP> | Adapter<UP>, opts: Parameters<typeof checkAdapterLaws>[1] = {}) {
  let caught: unknown;
  try {
    await checkAdapterLaws(ad, { numRuns: 2, seed: 7, ...opts });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DomainError, `expected a DomainError, got ${String(caught)}`);
  return caught.message;
}

async function silently<T>(f: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await f();
  } finally {
    console.warn = warn;
  }
}

Deno.test("the kit passes adapters written after the guide: LoRA-FA, Stiefel LoRA (also after Riemannian Adam), a sphere rank-1", async () => {
  await checkAdapterLaws(loraFa(2), { seed: 1 });
  await checkAdapterLaws(stiefelLora(2), { seed: 1 });
  await checkAdapterLaws(stiefelLora(3), { seed: 2, optimizer: riemannianAdam({ lr: 1e-2 }), orthoTol: 1e-12 });
  await checkAdapterLaws(sphereRank1, { seed: 3, optimizer: riemannianAdam({ lr: 0.1 }), orthoTol: 1e-12 });
  await checkAdapterLaws(loraFa(3), { seed: 4, out: 5, in: 7, batch: 2, bias: false, numRuns: 4 });
});

Deno.test("the kit catches a layer that is not the base layer at init, with the error against its tolerance", async () => {
  const ad = stiefelLora(2, {
    init: (k, { weight, bias }) => {
      const A = stiefel(weight.shape[1], 2).random(k, { dtype: "float64" });
      return { params: { A, B: normal(k, [weight.shape[0], 2], { dtype: "float64" }) }, frozen: { weight, bias } };
    },
  });
  const msg = await lawError(ad);
  assert.match(
    msg,
    /^stiefel_lora: law "identity at init" fails: max\|apply\(init, x\) − base layer\(x\)\| = [\d.e-]+ > tol 1e-9/,
  );
  assert.match(msg, /on a float64 6 × 8 base layer with a bias, x of \[3, 8\].*replay: \{ seed: 7 \}/);
});

Deno.test("the kit catches apply ≠ x·merge(p, f)ᵀ + bias", async () => {
  const ad = stiefelLora(2, {
    apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(p.A).matmul(p.B.mT).mul(1.001)),
  });
  assert.match(await lawError(ad), /law "apply = merge" fails: max\|apply\(p, f, x\) − x·merge\(p, f\)ᵀ \+ bias\| = /);
});

Deno.test("the kit catches an apply that drops x's leading batch axes (it reshaped them away unseen)", async () => {
  const ad = stiefelLora(2, {
    apply: (p, f, x) => {
      const x2 = x.reshape([-1, x.shape[x.ndim - 1]]);
      return frozenLinear(x2, f.weight, f.bias).add(x2.matmul(p.A).matmul(p.B.mT));
    },
  });
  assert.match(
    await lawError(ad),
    /law "batch axes" fails: apply on x of \[1, batch, in\] has shape \[3, 6\], .* \[1, 3, 6\]/,
  );
});

Deno.test("the kit catches an apply of the wrong shape by its shapes, not a broadcasting error", async () => {
  const ad = stiefelLora(2, { apply: (p, _f, x) => x.matmul(p.A) });
  assert.match(
    await lawError(ad),
    /law "identity at init" fails: apply\(init, x\) has shape \[3, 2\], base layer\(x\) \[3, 6\]/,
  );
});

Deno.test("the kit catches unmerge(merge(W)) ≠ W", async () => {
  const ad = stiefelLora(2, { unmerge: (p, _f, merged) => merged.sub(p.B.matmul(p.A.mT).mul(0.5)) });
  assert.match(await lawError(ad), /law "unmerge ∘ merge" fails: max\|unmerge\(p, f, merge\(p, f\)\) − f\.weight\| = /);
});

Deno.test("the kit catches a wrong hand-written gradient (customVjp) and names the parameter", async () => {
  const ad = stiefelLora(2, {
    apply: (p, f, x) => {
      const scaled = customVjp((t: Tensor) => t, (ct) => [mul(ct, 1.1)]);
      return frozenLinear(x, f.weight, f.bias).add(scaled(x.matmul(p.A).matmul(p.B.mT)));
    },
  });
  const msg = await lawError(ad);
  assert.match(msg, /law "gradients" fails: .*gradient mismatch at input \d .*autodiff .* finite differences/);
  assert.match(msg, /\(inputs: 0 = A \[8, 2\], 1 = B \[6, 2\], 2 = x \[3, 8\]\)/);
  assert.doesNotMatch(msg, /no gradient at all/); // a wrong gradient, not a missing one
});

Deno.test("the kit says why a parameter inside frozenLinear's weight gets no gradient", async () => {
  // the update merged into the weight that frozenLinear holds constant: autodiff 0 for A and B
  const ad = stiefelLora(2, { apply: (p, f, x) => frozenLinear(x, f.weight.add(p.B.matmul(p.A.mT)), f.bias) });
  const msg = await lawError(ad);
  assert.match(msg, /law "gradients" fails: .*autodiff 0, finite differences/);
  assert.match(msg, /A, B get no gradient at all: .*inside frozenLinear's weight .*frozenLinear\(x, W, b\)\.add/);
});

Deno.test("the kit catches a toPeft that leaves a parameter out (savePeftAdapter would not save it)", async () => {
  // before: every law passed, savePeftAdapter wrote A alone, and a reader got tensors.B undefined
  const ad = stiefelLora(2, { toPeft: (p, o) => ({ [`${o?.prefix ? `${o.prefix}.` : ""}lora_A.weight`]: p.A.mT }) });
  assert.match(
    await lawError(ad),
    /law "toPeft" fails: toPeft\(p\) does not change when parameter B \[6, 2\] does \(it gives lora_A\.weight \[2, 8\]\); .*so B would not be saved/,
  );
  const unprefixed = stiefelLora(2, { toPeft: (p) => ({ "lora_A.weight": p.A.mT, "lora_B.weight": p.B }) });
  assert.match(
    await lawError(unprefixed),
    /toPeft\(p, \{ prefix: "m" \}\) gives names not under "m\.": lora_A\.weight/,
  );
  const noType = stiefelLora(2, { peftConfig: () => ({ r: 2 }) as never });
  assert.match(await lawError(noType), /law "peftConfig" fails: peftConfig\(\) gives peft_type undefined/);
});

Deno.test("the kit catches manifold parameters stepped off their manifold by a Euclidean optimizer", async () => {
  await silently(async () => {
    assert.match(
      await lawError(stiefelLora(2), { optimizer: adam({ lr: 0.1 }) }),
      /law "orthogonality" fails: ‖QᵀQ − I‖_F = [\d.e-]+ > 1e-9 after 3 optimizer steps/,
    );
    assert.match(
      await lawError(sphereRank1, { optimizer: adam({ lr: 0.1 }), steps: 2 }),
      /law "on the manifold" fails: parameter u is [\d.e-]+ > 1e-9 off sphere\(8\) after 2 optimizer steps/,
    );
  });
});

Deno.test("the kit catches bookkeeping: a wrong trainableCount, a non-scalar regularizer, params not in the base dtype", async () => {
  assert.match(
    await lawError(stiefelLora(2, { trainableCount: (p) => countScalars(p) - 1 })),
    /law "trainableCount" fails: 27 ≠ 28/,
  );
  // before: a ShapeError from item() inside the gradient check
  assert.match(
    await lawError(stiefelLora(2, { regularizer: (p) => p.B })),
    /law "regularizer" fails: regularizer\(p\) has shape \[6, 2\], not a scalar/,
  );
  const f32 = stiefelLora(2, {
    init: (k, { weight, bias }) => ({
      params: { A: stiefel(weight.shape[1], 2).random(k, { dtype: "float32" }), B: zeros([weight.shape[0], 2]) },
      frozen: { weight, bias },
    }),
  });
  // before: "apply = merge" failing by 7e-9, with nothing saying why
  assert.match(
    await lawError(f32),
    /law "dtype" fails: init made parameter A \[8, 2\] float32 for a float64 base layer/,
  );
});

Deno.test("the kit reports an exception in the adapter's own code under the law that ran it", async () => {
  const ad = stiefelLora(2, { merge: (_p, f) => (f as unknown as { nope: Tensor }).nope.add(1) });
  const msg = await lawError(ad);
  assert.match(
    msg,
    /^stiefel_lora: law "apply\(p, f, x\) = x·merge\(p, f\)ᵀ \+ bias, batch axes kept" throws TypeError: /,
  );
  assert.match(msg, /at .*testing_adapter_laws_test\.ts/); // the frame in the adapter
});

Deno.test("the kit is reproducible: the same seed gives the same failure; seed and numRuns are used", async () => {
  const ad = stiefelLora(2, { unmerge: (p, _f, merged) => merged.sub(p.B.matmul(p.A.mT).mul(0.9)) });
  const a = await lawError(ad, { seed: 123 }), b = await lawError(ad, { seed: 123 });
  assert.equal(a, b);
  assert.match(a, /replay: \{ seed: 123 \}/);
  // numRuns: a law that fails only on some cases is found within numRuns draws and not with 1
  let calls = 0;
  const counting = stiefelLora(2, {
    trainableCount: (p) => {
      calls++;
      return countScalars(p);
    },
  });
  await checkAdapterLaws(counting, { numRuns: 5, seed: 1 });
  assert.equal(calls, 5);
});

Deno.test("the kit's options: unknown names and wrong kinds are DomainErrors; sizes, bias, tol, detachedGradients act", async () => {
  const good = stiefelLora(2);
  await assert.rejects(() => checkAdapterLaws(good, { numRun: 2 } as never), {
    name: "DomainError",
    message: /checkAdapterLaws: unknown option "numRun"; did you mean "numRuns"\?/,
  });
  await assert.rejects(() => checkAdapterLaws(good, { rtol: 1e-3 } as never), /unknown option "rtol"/);
  assert.throws(
    () => adapterLaws(good, { seeds: 1 } as never),
    /adapterLaws: unknown option "seeds"; did you mean "seed"\?/,
  );
  await assert.rejects(
    () => checkAdapterLaws(good, { gradCheck: { rtl: 1e-3 } as never }),
    /checkAdapterLaws: gradCheck: unknown option "rtl"; did you mean "rtol"\?/,
  );
  // adapterLaws returns properties: numRuns and seed are fast-check's there, not silently dropped
  assert.throws(() => adapterLaws(good, { numRuns: 5 }), /adapterLaws: numRuns and seed go to fast-check here/);
  await assert.rejects(() => checkAdapterLaws(good, 3 as never), /the options must be an object/);
  await assert.rejects(
    () => checkAdapterLaws(good, { numRuns: 0 }),
    /option numRuns must be a positive integer, got 0/,
  );
  await assert.rejects(
    () => checkAdapterLaws(good, { tol: "1e-3" as never }),
    /option tol must be a finite number ≥ 0, got "1e-3"/,
  );
  await assert.rejects(() => checkAdapterLaws(good, { in: 2.5 }), /option in must be a positive integer/);
  await assert.rejects(() => checkAdapterLaws(good, { optimizer: {} as never }), /option optimizer must have init/);
  // sizes and bias reach the base layer and the message
  const shaped = await lawError(stiefelLora(2, { unmerge: (_p, _f, m) => m.mul(2) }), {
    out: 4,
    in: 5,
    batch: 2,
    bias: false,
  });
  assert.match(shaped, /on a float64 4 × 5 base layer without a bias, x of \[2, 5\]/);
  // tol: a 1e-3 relative error passes at tol 1e-2 and fails at the default
  const off = stiefelLora(2, { unmerge: (p, _f, m) => m.sub(p.B.matmul(p.A.mT)).mul(1 + 1e-3) });
  await checkAdapterLaws(off, { tol: 1e-2, seed: 1 });
  assert.match(await lawError(off), /unmerge ∘ merge/);
  // detachedGradients: a name that is not a parameter key is refused, not silently ignored
  assert.match(
    await lawError(good, { detachedGradients: ["a"] }),
    /detachedGradients names "a", not a key of params \(the keys are "A", "B"\)/,
  );
});

Deno.test("the kit's dtype option: float32 base layers; an adapter that hard-codes float64 is caught", async () => {
  await checkAdapterLaws(loraFa(2), { dtype: "float32", seed: 1 });
  await checkAdapterLaws(stiefelLora(2), { dtype: "float32", seed: 2, optimizer: riemannianAdam({ lr: 1e-2 }) });
  // sphereRank1 builds its params in float64 whatever the base: fine on a float64 layer, not on a float32 one
  await checkAdapterLaws(sphereRank1, { seed: 3 });
  const msg = await lawError(sphereRank1, { dtype: "float32" });
  assert.match(msg, /law "dtype" fails: init made parameter b \[6\] float64 for a float32 base layer/);
  assert.match(msg, /on a float32 6 × 8 base layer/);
  // an apply that computes in float64 on float32 inputs
  const up = stiefelLora(2, { apply: (p, f, x) => stiefelLora(2).apply(p, f, x).astype("float64") });
  assert.match(
    await lawError(up, { dtype: "float32" }),
    /law "dtype" fails: apply\(p, f, x\) is float64 for x and a base layer of float32/,
  );
  await assert.rejects(
    () => checkAdapterLaws(loraFa(2), { dtype: "float16" as never }),
    /option dtype must be "float32" or "float64"/,
  );
});
