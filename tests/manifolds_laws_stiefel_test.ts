import "../mod.ts";
import { checkManifoldLaws } from "../testing.ts";
import { stiefel } from "../manifolds/mod.ts";

const cases = [
  { m: stiefel(6, 3, { metric: "euclidean", retraction: "qr" }) },
  { m: stiefel(6, 3, { metric: "euclidean", retraction: "polar" }) },
  { m: stiefel(6, 3, { metric: "canonical", retraction: "cayley" }) },
  { m: stiefel(5, 2, { metric: "canonical", retraction: "qr" }) },
  { m: stiefel(4, 4, { metric: "euclidean", retraction: "cayley" }) },
  { m: stiefel(7, 1, { metric: "canonical", retraction: "polar" }) },
  // the fixed-point Cayley iteration is accurate for small steps only (error O(‖W‖ˢ⁺²), ‖W‖ < 2)
  { m: stiefel(6, 2, { retraction: "cayley", cayleyIterations: 2 }), largeStep: false as const, stepScale: 1e-3 },
];

for (const { m, largeStep, stepScale } of cases) {
  for (const dtype of ["float64", "float32"] as const) {
    Deno.test(`manifold laws: ${m.name} ${dtype}`, async () => {
      await checkManifoldLaws(m, { dtype, numRuns: 12, largeStep, stepScale });
    });
  }
}
