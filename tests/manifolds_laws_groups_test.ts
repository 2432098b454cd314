import "../mod.ts";
import { checkManifoldLaws } from "../testing.ts";
import { grassmann, orthogonal, product, sphere, stiefel } from "../manifolds/mod.ts";

const cases = [
  orthogonal(4),
  orthogonal(3, { special: true }),
  orthogonal(4, { special: true, retraction: "exp" }),
  grassmann(6, 2),
  grassmann(5, 3, { retraction: "qr" }),
  product(stiefel(4, 2), sphere(3), orthogonal(2)),
];

for (const m of cases) {
  for (const dtype of ["float64", "float32"] as const) {
    Deno.test(`manifold laws: ${m.name} ${dtype}`, async () => {
      await checkManifoldLaws(m, { dtype, numRuns: 12 });
    });
  }
}
