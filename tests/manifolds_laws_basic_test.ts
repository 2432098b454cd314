import "../mod.ts";
import { checkManifoldLaws } from "../testing.ts";
import { euclidean } from "../manifolds/euclidean.ts";
import { sphere } from "../manifolds/sphere.ts";
import { oblique } from "../manifolds/oblique.ts";
import { product } from "../manifolds/product.ts";
import type { Manifold } from "../manifolds/manifold.ts";

const cases: Manifold[] = [
  euclidean([3, 2]),
  sphere(5),
  sphere(1),
  oblique(6, 3),
  product(sphere(3), euclidean([2]), oblique(4, 2)),
];

for (const m of cases) {
  for (const dtype of ["float64", "float32"] as const) {
    Deno.test(`manifold laws: ${m.name} ${dtype}`, async () => {
      await checkManifoldLaws(m, { dtype, numRuns: 15 });
    });
  }
}
