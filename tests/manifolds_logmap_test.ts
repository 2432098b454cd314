// The Riemannian logarithm and geodesic distance (optional `log` / `dist`) of sphere, euclidean,
// oblique, product and orthogonal, against geoopt's Sphere.logmap/dist and the closed forms written
// out below in plain float64 JavaScript (geoopt is not installable here), their gradients (checkGrad
// away from the singular points), the DomainErrors at the cut locus, and the new manifold laws.
import "../mod.ts";
import assert from "node:assert/strict";
import { checkGrad, DomainError, key, mul, reshape, split, sum, type Tensor, tensor } from "../mod.ts";
import { svdvals } from "../core/linalg/mod.ts";
import { atan2Pos } from "../manifolds/sphere.ts";
import {
  euclidean,
  grassmann,
  type Manifold,
  oblique,
  orthogonal,
  type Point,
  product,
  sphere,
  stiefel,
} from "../manifolds/mod.ts";
import { checkManifoldLaws } from "../testing.ts";

const arr = (t: Tensor) => Array.from(t.dataSync() as Float64Array | Float32Array, Number);
const num = (t: Tensor) => arr(t)[0];
const maxDiff = (a: number[], b: number[]) => {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
};
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

// geoopt 0.5.1 Sphere (EPS = 1e-7 in float64, 1e-4 in float32):
//   dist(x, y) = acos(clamp(⟨x, y⟩, −1 + EPS, 1 − EPS))
//   logmap(x, y) = u · dist / max(‖u‖, EPS) where dist > EPS (else u), u = proju(x, y − x)
function geooptSphereDist(x: number[], y: number[], eps = 1e-7): number {
  return Math.acos(Math.min(1 - eps, Math.max(-1 + eps, dot(x, y))));
}
function geooptSphereLog(x: number[], y: number[], eps = 1e-7): number[] {
  const d = y.map((yi, i) => yi - x[i]);
  const xd = dot(x, d);
  const u = d.map((di, i) => di - xd * x[i]);
  const dist = geooptSphereDist(x, y, eps);
  const nu = Math.max(Math.sqrt(dot(u, u)), eps);
  return dist > eps ? u.map((ui) => (ui * dist) / nu) : u;
}

/** A point at geodesic distance `theta` from x along a random direction (as a plain tensor). */
function along<M extends Manifold>(m: M, x: Point<M>, k: ReturnType<typeof key>, theta: number): Point<M> {
  const u = m.randomTangent(k, x);
  return m.exp!(x, mul(u, theta / num(m.norm(x, u))));
}

Deno.test("sphere: log and dist are geoopt's Sphere.logmap / dist (float64 1e-12, float32 1e-5)", () => {
  const S = sphere(6);
  const [k1, k2] = split(key(11));
  let worst = 0, worst32 = 0;
  for (const dtype of ["float64", "float32"] as const) {
    const x = S.random(k1, { dtype });
    // float32: from θ = 0.3 on (below, acos of the rounded float32 ⟨x, y⟩ is itself off by ~1e-7/θ)
    for (const theta of dtype === "float64" ? [1e-3, 0.3, 1, 2, 3, 3.1] : [0.3, 1, 2, 3, 3.1]) {
      const y = along(S, x, k2, theta);
      const xa = arr(x), ya = arr(y);
      const dLog = maxDiff(arr(S.log(x, y)), geooptSphereLog(xa, ya));
      const dDist = Math.abs(num(S.dist(x, y)) - geooptSphereDist(xa, ya));
      if (dtype === "float64") {
        worst = Math.max(worst, dLog, dDist);
        // the exact answer too: log(x, exp(x, v)) = v
        assert.ok(Math.abs(num(S.dist(x, y)) - theta) <= 1e-12, `dist ${num(S.dist(x, y))} vs ${theta}`);
      } else worst32 = Math.max(worst32, dLog, dDist);
    }
  }
  // acos's own rounding at θ = 3.1 (|d acos/dc| = 1/sin θ ≈ 24) dominates both differences
  assert.ok(worst <= 1e-12, `float64 max difference ${worst}`);
  assert.ok(worst32 <= 1e-5, `float32 max difference ${worst32}`);
});

Deno.test("sphere: accurate below geoopt's clamp (θ down to 1e-12), 0 at y = x, DomainError at y = −x", () => {
  const S = sphere(4);
  const [k1, k2] = split(key(3));
  const x = S.random(k1, { dtype: "float64" });
  for (const theta of [1e-12, 1e-8, 1e-5]) {
    const u = S.randomTangent(k2, x);
    const v = mul(u, theta / num(S.norm(x, u)));
    const y = S.exp(x, v);
    // y is rounded to ~1e-16 absolute, so θ is known to that: atan2 keeps it, acos(1 − θ²/2) loses √ε
    const dDist = Math.abs(num(S.dist(x, y)) - theta), dLog = maxDiff(arr(S.log(x, y)), arr(v));
    assert.ok(dDist <= 1e-15 && dLog <= 1e-15, `θ = ${theta}: dist off by ${dDist}, log by ${dLog}`);
    // geoopt clamps ⟨x, y⟩ to 1 − 1e-7: its dist is ≥ 4.47e-4 here
    assert.ok(geooptSphereDist(arr(x), arr(y)) > 4e-4);
  }
  assert.equal(maxDiff(arr(S.log(x, x)), [0, 0, 0, 0]), 0);
  assert.equal(num(S.dist(x, x)), 0);
  const minus = S.project(mul(x, -1));
  assert.throws(() => S.log(x, minus), (e) => e instanceof DomainError && /antipodal/.test(e.message));
  assert.throws(() => S.dist(x, minus), DomainError);
});

Deno.test("oblique: log/dist are the sphere's per column, dist = √Σθⱼ²; DomainError at an antipodal column", () => {
  const OB = oblique(5, 3);
  const [k1, k2] = split(key(5));
  const x = OB.random(k1, { dtype: "float64" }), y = OB.random(k2, { dtype: "float64" });
  const xa = arr(x), ya = arr(y);
  const col = (a: number[], j: number) => [0, 1, 2, 3, 4].map((i) => a[i * 3 + j]);
  const want = new Array<number>(15);
  let d2 = 0;
  for (let j = 0; j < 3; j++) {
    const l = geooptSphereLog(col(xa, j), col(ya, j));
    l.forEach((v, i) => (want[i * 3 + j] = v));
    d2 += geooptSphereDist(col(xa, j), col(ya, j)) ** 2;
  }
  const dLog = maxDiff(arr(OB.log(x, y)), want), dDist = Math.abs(num(OB.dist(x, y)) - Math.sqrt(d2));
  assert.ok(dLog <= 1e-12 && dDist <= 1e-12, `log ${dLog}, dist ${dDist}`);
  const flip = OB.project(mul(x, tensor([[1, -1, 1]], { dtype: "float64" })));
  assert.throws(() => OB.log(x, flip), (e) => e instanceof DomainError && /antipodal columns/.test(e.message));
});

Deno.test("euclidean and product: y − x, ‖y − x‖, and factor by factor", () => {
  const E = euclidean([2, 3]);
  const [k1, k2, k3] = split(key(8), 3);
  const x = E.random(k1, { dtype: "float64" }), y = E.random(k2, { dtype: "float64" });
  const diff = arr(y).map((v, i) => v - arr(x)[i]);
  assert.equal(maxDiff(arr(E.log(x, y)), diff), 0);
  assert.ok(Math.abs(num(E.dist(x, y)) - Math.sqrt(dot(diff, diff))) <= 1e-15);

  const M = product(sphere(3), euclidean([2]), orthogonal(3, { special: true }));
  assert.equal(typeof M.log, "function");
  const p = M.random(k3, { dtype: "float64" }), q = M.random(k1, { dtype: "float64" });
  const [ps, pe, po] = M.split(p), [qs, qe, qo] = M.split(q);
  const [S, E2, O] = M.factors;
  const parts = [
    S.log!(ps as Point<typeof S>, qs as Point<typeof S>),
    E2.log!(pe as Point<typeof E2>, qe as Point<typeof E2>),
    O.log!(po as Point<typeof O>, qo as Point<typeof O>),
  ];
  assert.ok(maxDiff(arr(M.log!(p, q)), arr(M.combine(parts))) <= 1e-15);
  const ds = [S.dist!(ps as never, qs as never), E2.dist!(pe as never, qe as never), O.dist!(po as never, qo as never)];
  const want = Math.sqrt(ds.reduce((a, d) => a + num(d) ** 2, 0));
  assert.ok(Math.abs(num(M.dist!(p, q)) - want) <= 1e-14);
  // a factor without a logarithm: the product has none
  assert.equal(product(sphere(3), stiefel(4, 2)).log, undefined);
  assert.equal(product(sphere(3), stiefel(4, 2)).dist, undefined);
  assert.equal((stiefel(5, 2) as Manifold).log, undefined);
});

// SO(3): R = XᵀY, θ = acos((tr R − 1)/2), log R = θ/(2 sin θ) (R − Rᵀ) (Rodrigues)
function rodriguesLog(r: number[]): number[] {
  const c = (r[0] + r[4] + r[8] - 1) / 2;
  const t = Math.acos(Math.min(1, Math.max(-1, c)));
  const f = t / (2 * Math.sin(t));
  return r.map((_, k) => f * (r[k] - r[(k % 3) * 3 + Math.floor(k / 3)]));
}
const matmul3 = (a: number[], b: number[], ta = false) =>
  Array.from({ length: 9 }, (_, k) => {
    const i = Math.floor(k / 3), j = k % 3;
    let s = 0;
    for (let l = 0; l < 3; l++) s += (ta ? a[l * 3 + i] : a[i * 3 + l]) * b[l * 3 + j];
    return s;
  });

Deno.test("orthogonal: X·log(XᵀY) is Rodrigues' logarithm on SO(3) (1e-12) and exp's inverse on O(6)", () => {
  const SO3 = orthogonal(3, { special: true });
  let worst = 0, worst32 = 0;
  for (let s = 0; s < 6; s++) {
    const [k1, k2] = split(key(100 + s));
    for (const dtype of ["float64", "float32"] as const) {
      const x = SO3.random(k1, { dtype }), y = SO3.random(k2, { dtype });
      const xa = arr(x), r = matmul3(xa, arr(y), true);
      const want = matmul3(xa, rodriguesLog(r));
      const d = maxDiff(arr(SO3.log(x, y)), want);
      const w = rodriguesLog(r), dd = Math.abs(num(SO3.dist(x, y)) - Math.sqrt(dot(w, w)));
      if (dtype === "float64") worst = Math.max(worst, d, dd);
      else worst32 = Math.max(worst32, d, dd);
    }
  }
  assert.ok(worst <= 1e-12, `float64 max difference ${worst}`);
  assert.ok(worst32 <= 5e-5, `float32 max difference ${worst32}`);

  const O6 = orthogonal(6);
  const [k1, k2] = split(key(7));
  const x = O6.random(k1, { dtype: "float64" });
  for (const len of [1e-6, 0.5, 2, 4]) {
    const u = O6.randomTangent(k2, x);
    const v = mul(u, len / num(O6.norm(x, u)));
    // ‖Ω‖_F = 4 keeps every rotation angle below π (each plane counts twice in ‖Ω‖²_F)
    const back = O6.log(x, O6.exp(x, v));
    assert.ok(maxDiff(arr(back), arr(v)) <= 1e-12, `‖v‖ = ${len}: ${maxDiff(arr(back), arr(v))}`);
    assert.ok(Math.abs(num(O6.dist(x, O6.exp(x, v))) - len) <= 1e-12);
  }
});

Deno.test("orthogonal: DomainError where XᵀY has the eigenvalue −1 (other component, half-turn)", () => {
  const O3 = orthogonal(3);
  const id = O3.project(tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1]], { dtype: "float64" }));
  const refl = O3.project(tensor([[1, 0, 0], [0, 1, 0], [0, 0, -1]], { dtype: "float64" }));
  assert.throws(() => O3.log(id, refl), (e) => e instanceof DomainError && /eigenvalue −1/.test(e.message));
  const SO3 = orthogonal(3, { special: true });
  const half = SO3.project(tensor([[-1, 0, 0], [0, -1, 0], [0, 0, 1]], { dtype: "float64" }));
  assert.throws(() => SO3.dist(SO3.project(id), half), DomainError);
  assert.equal(num(O3.dist(id, id)), 0);
});

Deno.test("grassmann: dist is √Σ acos(σᵢ(XᵀY))², log inverts exp, Gr(n, 1) is ± the sphere's; DomainError at a right angle", () => {
  let worst = 0;
  for (const [n, p] of [[6, 2], [7, 3], [5, 1]]) {
    const G = grassmann(n, p);
    const [k1, k2, k3] = split(key(40 + n), 3);
    const x = G.random(k1, { dtype: "float64" }), y = G.random(k2, { dtype: "float64" });
    // principal angles: θᵢ = acos σᵢ(XᵀY)
    const want = Math.sqrt(arr(svdvals(x.mT.matmul(y))).reduce((a, c) => a + Math.acos(Math.min(1, c)) ** 2, 0));
    worst = Math.max(worst, Math.abs(num(G.dist(x, y)) - want));
    // log(x, exp(x, v)) = v for a horizontal v with every singular value below π/2
    const u = G.randomTangent(k3, x);
    const v = mul(u, 1.2 / arr(svdvals(u))[0]);
    worst = Math.max(worst, maxDiff(arr(G.log(x, G.exp(x, v))), arr(v)));
    if (p === 1) {
      // a line: the sphere's logarithm towards whichever of ±y is nearer
      const xa = arr(x), ya = arr(y), sgn = dot(xa, ya) < 0 ? -1 : 1;
      worst = Math.max(worst, maxDiff(arr(G.log(x, y)), geooptSphereLog(xa, ya.map((c) => sgn * c))));
    }
  }
  assert.ok(worst <= 1e-12, `max difference ${worst}`);
  const G = grassmann(3, 1);
  const e1 = G.project(tensor([[1], [0], [0]], { dtype: "float64" }));
  const e2 = G.project(tensor([[0], [1], [0]], { dtype: "float64" }));
  assert.throws(() => G.log(e1, e2), (e) => e instanceof DomainError && /right angle/.test(e.message));
});

Deno.test("gradients flow through log and dist (checkGrad, away from the singular points)", () => {
  const [k1, k2, k3] = split(key(21), 3);
  const check = <M extends Manifold>(m: M, theta: number) => {
    const x = m.random(k1, { dtype: "float64" });
    const y = along(m, x, k2, theta);
    const w = m.randomTangent(k3, x);
    const proj = (a: Tensor) => m.project(a);
    const r1 = checkGrad((a, b) => sum(mul(m.log!(proj(a), proj(b)), w)), [x, y]);
    const r2 = checkGrad((a, b) => m.dist!(proj(a), proj(b)), [x, y]);
    assert.ok(r1 <= 1 && r2 <= 1, `${m.name}: ${r1}, ${r2}`);
  };
  // the atan2 under sphere/oblique/grassmann, off the unit circle (s² + c² ≠ 1) too
  const sc = (a: number[]) => tensor(a, { dtype: "float64" });
  assert.ok(checkGrad((s, c) => sum(atan2Pos(s, c)), [sc([1e-3, 0.5, 2, 3]), sc([2, -0.7, 1, -3])]) <= 1);
  assert.ok(Math.abs(num(atan2Pos(sc([2]), sc([-0.7]))) - Math.atan2(2, -0.7)) <= 1e-15);
  check(sphere(4), 0.7);
  check(sphere(4), 1e-3); // the θ/sin θ series branch
  check(oblique(4, 2), 0.9);
  check(orthogonal(4), 1.3);
  check(orthogonal(3, { special: true }), 2.5);
  check(product(sphere(3), euclidean([2])), 0.8);
  check(grassmann(5, 2), 0.6);
  // at y = x the distance is 0 with a zero (not NaN) gradient
  const S = sphere(3), x = S.random(k1, { dtype: "float64" });
  const r = checkGrad((a) => sum(mul(S.log(x, S.project(a)), reshape(tensor([1, 2, 3], { dtype: "float64" }), [3]))), [
    x,
  ]);
  assert.ok(r <= 1);
});

Deno.test("manifold laws with log/dist pass in float64 and float32, and catch a wrong log", async () => {
  const ms: Manifold[] = [
    sphere(5),
    euclidean([2, 3]),
    oblique(4, 3),
    orthogonal(4),
    orthogonal(3, { special: true }),
    product(sphere(3), euclidean([2])),
    grassmann(5, 2),
  ];
  for (const m of ms) {
    for (const dtype of ["float64", "float32"] as const) await checkManifoldLaws(m, { dtype, numRuns: 8, seed: 4 });
  }
  const S = sphere(4);
  const longLog = Object.assign(Object.create(S), {
    log: (x: Tensor, y: Tensor) => mul(S.log(x as never, y as never), 1.01),
  });
  await assert.rejects(
    () => checkManifoldLaws(longLog, { numRuns: 5, seed: 1 }),
    (e) => e instanceof DomainError && /exp ∘ log|log ∘ exp|dist/.test(e.message),
  );
  const longDist = Object.assign(Object.create(S), {
    dist: (x: Tensor, y: Tensor) => mul(S.dist(x as never, y as never), 1.1),
  });
  await assert.rejects(
    () => checkManifoldLaws(longDist, { numRuns: 5, seed: 2 }),
    (e) => e instanceof DomainError && /‖log\(x, y\)‖ₓ/.test(e.message),
  );
});
