import assert from "node:assert/strict";
import { type Key, ones, stopGradient, type Tensor } from "../mod.ts";
import { checkAdapterLaws } from "../testing.ts";
import {
  boft,
  dora,
  type Frozen,
  hra,
  type LinearBase,
  loha,
  lokr,
  lora,
  type LoraParams,
  oft,
  polar,
  sorsa,
  vera,
} from "../adapters/mod.ts";
import { adam, landing, riemannianAdam } from "../manifolds/mod.ts";

Deno.test("adapter laws: lora (kaiming, gaussian, rslora, pissa, olora)", async () => {
  await checkAdapterLaws(lora({ r: 2, alpha: 4 }));
  await checkAdapterLaws(lora({ r: 2, alpha: 3, init: "pissa" }), { numRuns: 2 });
  await checkAdapterLaws(lora({ r: 3, alpha: 6, init: "olora" }), { numRuns: 2 });
  await checkAdapterLaws(lora({ r: 3, alpha: 2, rslora: true, init: "gaussian" }), { bias: false });
});

Deno.test("adapter laws: dora (A, B gradients detached as in PEFT)", async () => {
  await checkAdapterLaws(dora({ r: 2, alpha: 3 }), { detachedGradients: ["A", "B"] });
});

Deno.test("adapter laws: hra (even r, odd r, Gram–Schmidt)", async () => {
  await checkAdapterLaws(hra({ r: 4, lambda: 0.1 }));
  await checkAdapterLaws(hra({ r: 3 }));
  await checkAdapterLaws(hra({ r: 2, gramSchmidt: true }));
});

Deno.test("adapter laws: loha (factored and dense forward), lokr, vera", async () => {
  await checkAdapterLaws(loha({ r: 2, alpha: 4 }));
  await checkAdapterLaws(loha({ r: 3 }), { out: 4, in: 4 });
  await checkAdapterLaws(lokr({ r: 2, alpha: 4 }));
  await checkAdapterLaws(lokr({ r: 1, decomposeBoth: true }), { out: 8, in: 12 });
  await checkAdapterLaws(vera({ r: 3 }));
});

Deno.test("adapter laws catch broken adapters", async () => {
  const good = lora({ r: 2, alpha: 4 });
  const broken = [
    { ...good, merge: (p: LoraParams, f: Frozen) => good.merge(p, f).mul(1.001) },
    { ...good, unmerge: (p: LoraParams, f: Frozen, m: Tensor) => good.unmerge(p, f, m).add(1e-6) },
    { ...good, trainableCount: (p: LoraParams) => good.trainableCount(p) - 1 },
    {
      ...good,
      init: (k: Key, b: LinearBase) => ({
        ...good.init(k, b),
        params: { ...good.init(k, b).params, B: ones([6, 2], { dtype: "float64" }) },
      }),
    },
    { ...good, apply: (p: LoraParams, f: Frozen, x: Tensor) => good.apply({ ...p, A: stopGradient(p.A) }, f, x) },
  ];
  for (const [i, ad] of broken.entries()) {
    await assert.rejects(() => checkAdapterLaws(ad, { numRuns: 1 }), /law ".*" fails/, `broken adapter ${i} passed`);
  }
});

Deno.test("adapter laws: oft (Neumann, exact, shared block) and boft (1 and 2 butterfly factors)", async () => {
  await checkAdapterLaws(oft({ blockSize: 4 }));
  await checkAdapterLaws(oft({ r: 2, cayley: "exact", blockShare: true }));
  await checkAdapterLaws(oft({ blockSize: 2, terms: 3 }), { numRuns: 1 });
  await checkAdapterLaws(boft({ blockSize: 4 }));
  await checkAdapterLaws(boft({ blockSize: 2, butterflyFactors: 2 }));
  await checkAdapterLaws(boft({ blockNum: 4, butterflyFactors: 3 }), { in: 16, numRuns: 1 });
});

Deno.test("adapter laws: exactly orthogonal HRA on the oblique and Stiefel manifolds, after Riemannian Adam", async () => {
  const optimizer = riemannianAdam({ lr: 0.05 });
  await checkAdapterLaws(hra({ r: 4, lambda: 0.1, manifold: "oblique" }), { optimizer, orthoTol: 1e-12 });
  await checkAdapterLaws(hra({ r: 3, manifold: "stiefel" }), { optimizer, orthoTol: 1e-12 });
});

Deno.test("adapter laws: sorsa, polar (Riemannian Adam keeps X, Y orthonormal; landing keeps them near)", async () => {
  await checkAdapterLaws(sorsa({ r: 3, gamma: 0.1, peakLr: 0.5 }));
  await checkAdapterLaws(polar({ r: 2, alpha: 4 }), { optimizer: riemannianAdam({ lr: 0.05 }), orthoTol: 1e-12 });
  await checkAdapterLaws(polar({ r: 3, theta: "diagonal" }), {
    // landing is retraction-free: under Adam each step moves X, Y by about lr per entry
    optimizer: landing({ lambda: 1, base: adam({ lr: 1e-3 }) }),
    orthoTol: 0.05,
  });
  await checkAdapterLaws(polar({ r: 2, theta: "identity" }));
});

Deno.test("adapter laws: a manifold parameter not listed in orthogonalFactors is still held on its manifold", async () => {
  // polar without orthogonalFactors: X, Y are Stiefel points, which the laws find by their manifold
  const { orthogonalFactors: _dropped, ...unlisted } = polar({ r: 2 });
  await checkAdapterLaws(unlisted, { numRuns: 1, optimizer: riemannianAdam({ lr: 0.05 }), orthoTol: 1e-12 });
  // a Euclidean optimizer (silenced: it warns on manifold points) steps X, Y off St(n, 2): the law says which
  const warn = console.warn;
  console.warn = () => {};
  try {
    await assert.rejects(
      () => checkAdapterLaws(unlisted, { numRuns: 1, optimizer: adam({ lr: 0.05 }) }),
      /polar: law "on the manifold" fails: parameter X is .* off stiefel\(6, 2.*after 3 optimizer steps/,
    );
  } finally {
    console.warn = warn;
  }
});
