// The manifold law kit as a researcher uses it: a hypersphere of radius 2 and the oblique manifold
// written from scratch on `ManifoldBase` pass in float64 and float32; a variant broken in one law
// is caught with a DomainError naming the law, the measured error against the tolerance, the
// counterexample and the seed that replays it.
import assert from "node:assert/strict";
import { add, div, DomainError, type Key, mul, norm, normal, sub, sum, type Tensor } from "../mod.ts";
import { type Manifold, ManifoldBase, type Point, type RandomOptions, sphere } from "../manifolds/mod.ts";
import {
  arbitraryAmbient,
  arbitraryMatrix,
  arbitraryPoint,
  arbitraryTangent,
  checkManifoldLaws,
  manifoldLaws,
} from "../testing.ts";

/** { x : ‖x‖ = R } ⊂ ℝⁿ with the Euclidean metric. */
class RadiusSphere extends ManifoldBase {
  readonly kind = "radius_sphere";
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;
  constructor(readonly n: number, readonly R: number) {
    super();
    this.shape = [n];
    this.dim = n - 1;
    this.name = `radius_sphere(${n}, ${R})`;
  }
  random(k: Key, o: RandomOptions = {}): Point<this> {
    return this.project(normal(k, this.shape, { dtype: o.dtype ?? "float32" }));
  }
  randomTangent(k: Key, x: Point<this>): Tensor {
    return this.toTangent(x, normal(k, this.shape, { dtype: x.dtype as "float32" | "float64" }));
  }
  project(a: Tensor): Point<this> { // R a / ‖a‖
    return this.point(mul(div(a, norm(a)), this.R));
  }
  toTangent(x: Point<this>, u: Tensor): Tensor { // u − x ⟨x, u⟩ / R²
    return sub(u, mul(x, div(sum(mul(x, u)), this.R * this.R)));
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    return this.toTangent(x, g);
  }
  inner(_x: Point<this>, u: Tensor, v: Tensor): Tensor {
    return sum(mul(u, v));
  }
  retract(x: Point<this>, v: Tensor): Point<this> {
    return this.project(add(x, v));
  }
  transport(_x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    return this.toTangent(y, v);
  }
  constraintViolation(x: Tensor): Tensor {
    return sub(norm(x), this.R).abs();
  }
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    return div(sum(mul(x, u)), this.R).abs();
  }
}

/** OB(n, k): k unit columns in ℝⁿ, every operation the sphere's column by column. */
class MyOblique extends ManifoldBase {
  readonly kind = "my_oblique";
  readonly name: string;
  readonly shape: readonly number[];
  readonly dim: number;
  constructor(readonly n: number, readonly k: number) {
    super();
    this.shape = [n, k];
    this.dim = k * (n - 1);
    this.name = `my_oblique(${n}, ${k})`;
  }
  random(k: Key, o: RandomOptions = {}): Point<this> {
    return this.project(normal(k, this.shape, { dtype: o.dtype ?? "float32" }));
  }
  randomTangent(k: Key, x: Point<this>): Tensor {
    return this.toTangent(x, normal(k, this.shape, { dtype: x.dtype as "float32" | "float64" }));
  }
  project(a: Tensor): Point<this> {
    return this.point(div(a, norm(a, { axis: 0, keepdims: true })));
  }
  toTangent(x: Point<this>, u: Tensor): Tensor { // U − X diag(XᵀU)
    return sub(u, mul(x, sum(mul(x, u), { axis: 0, keepdims: true })));
  }
  egradToRgrad(x: Point<this>, g: Tensor): Tensor {
    return this.toTangent(x, g);
  }
  inner(_x: Point<this>, u: Tensor, v: Tensor): Tensor {
    return sum(mul(u, v));
  }
  override componentInner(_x: Point<this>, u: Tensor): Tensor {
    return sum(mul(u, u), { axis: 0, keepdims: true });
  }
  retract(x: Point<this>, v: Tensor): Point<this> {
    return this.project(add(x, v));
  }
  transport(_x: Point<this>, y: Point<this>, v: Tensor): Tensor {
    return this.toTangent(y, v);
  }
  constraintViolation(x: Tensor): Tensor {
    return norm(sub(sum(mul(x, x), { axis: 0 }), 1));
  }
  tangentViolation(x: Point<this>, u: Tensor): Tensor {
    return norm(sum(mul(x, u), { axis: 0 }));
  }
}

/** `m` with some members replaced (the rest inherited), named after what was broken. */
function broken<M extends Manifold>(m: M, what: string, members: Record<string, unknown>): M {
  const v = Object.create(m);
  Object.defineProperty(v, "name", { value: `${m.name}[${what}]` });
  for (const [k, f] of Object.entries(members)) Object.defineProperty(v, k, { value: f });
  return v;
}

async function lawError(m: Manifold, opts: Parameters<typeof checkManifoldLaws>[1] = {}): Promise<string> {
  let caught: unknown;
  try {
    await checkManifoldLaws(m, { numRuns: 3, seed: 11, ...opts });
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DomainError, `expected a DomainError, got ${String(caught)}`);
  return caught.message;
}

const S = new RadiusSphere(5, 2), O = new MyOblique(4, 3);

Deno.test("the kit passes manifolds written from scratch: a sphere of radius 2 and the oblique manifold, float64 and float32", async () => {
  for (const m of [S, O]) {
    await checkManifoldLaws(m, { seed: 1 });
    await checkManifoldLaws(m, { seed: 1, dtype: "float32" });
  }
});

Deno.test("the kit catches retractions that are not first order: R(x, v) = P(x + v/2) and P(x + 2v)", async () => {
  for (const m of [S, O]) {
    for (const c of [0.5, 2]) {
      const bad = broken(m, `R(x, v) = P(x + ${c}v)`, {
        retract(this: Manifold, x: Tensor, v: Tensor) {
          return this.project(add(x, mul(v, c)));
        },
      });
      const msg = await lawError(bad);
      assert.match(msg, /law "first order" fails: ‖R\(x, tu\) − \(x \+ tu\)‖ = [\d.e-]+ > 4t² = 0\.01\d* at t = 0\.05/);
      assert.match(msg, /counterexample \{"x":Tensor\(.*replay: \{ seed: 11 \}/s);
      // the counterexample's u is the one drawn; the law's step is along u/‖u‖ₓ, and the message gives ‖u‖ₓ
      const u = JSON.parse(msg.match(/"u":Tensor\((\[.*?\])\s*,\s*shape/)?.[1] ?? "null");
      const n = Number(msg.match(/u the counterexample's u \/ ([\d.e-]+) \(its ‖·‖ₓ\)/)?.[1]);
      assert.ok(Math.abs(Math.hypot(...(u as number[]).flat()) - n) < 1e-4 * n, `${n} vs u ${JSON.stringify(u)}`);
    }
  }
});

Deno.test("the kit catches a projection that is not idempotent, and one that leaves the manifold", async () => {
  for (const m of [S, O]) {
    const flip = broken(m, "project flips", {
      project(this: Manifold, a: Tensor) {
        return mul(Object.getPrototypeOf(this).project.call(this, a), -1);
      },
    });
    assert.match(
      await lawError(flip),
      /law "project" fails: ‖project\(project\(a\)\) − project\(a\)‖ = [\d.e-]+ > 1e-8/,
    );
    const off = broken(m, "project ×1.1", {
      project(this: Manifold, a: Tensor) {
        return mul(Object.getPrototypeOf(this).project.call(this, a), 1.1);
      },
    });
    assert.match(await lawError(off), /law "(random|project)" fails: violation/);
  }
});

Deno.test("the kit catches a transport that leaves the tangent space, and one that is not the identity at y = x", async () => {
  for (const m of [S, O]) {
    const ambient = broken(m, "transport = id", { transport: (_x: Tensor, _y: Tensor, v: Tensor) => v });
    assert.match(
      await lawError(ambient),
      /law "transport" fails: tangentViolation\(y, transport\(x, y, v\)\) = [\d.e-]+ > /,
    );
    // before: passed (every vector is tangent once it is 0)
    const zero = broken(m, "transport = 0", { transport: (_x: Tensor, _y: Tensor, v: Tensor) => mul(v, 0) });
    assert.match(await lawError(zero), /law "transport" fails: ‖transport\(x, x, v\) − v‖ = [\d.e-]+ > /);
  }
});

Deno.test("the kit catches a randomTangent that is not tangent, a wrong dim, a wrong Riemannian gradient", async () => {
  for (const m of [S, O]) {
    // before: passed (a Gaussian not projected; the retraction law then measured along it)
    const raw = broken(m, "randomTangent unprojected", {
      randomTangent(this: Manifold, k: Key, x: Tensor) {
        return normal(k, this.shape, { dtype: x.dtype as "float64" });
      },
    });
    assert.match(await lawError(raw), /law "randomTangent" fails: tangentViolation\(x, randomTangent\(x\)\) = /);
    assert.match(
      await lawError(broken(m, "dim + 1", { dim: m.dim + 1 })),
      new RegExp(`law "dim" fails: toTangent has rank ${m.dim}, but dim = ${m.dim + 1}`),
    );
    const twice = broken(m, "rgrad × 2", {
      egradToRgrad(this: Manifold, x: Point<Manifold>, g: Tensor) {
        return mul(this.toTangent(x, g), 2);
      },
    });
    assert.match(await lawError(twice), /law "egradToRgrad" fails: \|⟨rgrad, v⟩ₓ − ⟨g, v⟩\| = /);
  }
});

Deno.test("the kit catches a retraction off the manifold with the large-step law off, and an inner product that is not one", async () => {
  const plus = broken(S, "R(x, v) = x + v", { retract: (x: Tensor, v: Tensor) => add(x, v) });
  // before: passed with largeStep: false (no other law looked at where R lands)
  assert.match(
    await lawError(plus, { largeStep: false }),
    /law "retract" fails: violation\(R\(x, 1u\)\) = [\d.e-]+ > 1e-7/,
  );
  assert.match(await lawError(plus), /law "large step" fails: violation\(R\(x, 10u\)\)/);
  // before: reported as a NaN in the first-order law, which normalises u by the norm
  const cubic = broken(S, "⟨u, v⟩ = Σ u²v", { inner: (_x: Tensor, u: Tensor, v: Tensor) => sum(mul(mul(u, u), v)) });
  assert.match(await lawError(cubic), /law "inner" fails: \|⟨u, v⟩ − ⟨v, u⟩\| = /);
});

Deno.test("the kit names a manifold that ignores the dtype of the run (before: a tolerance miss, or nothing)", async () => {
  const f32 = broken(S, "random always float32", {
    random(this: RadiusSphere, k: Key) {
      return RadiusSphere.prototype.random.call(this, k, { dtype: "float32" });
    },
  });
  assert.match(
    await lawError(f32),
    /law "random" fails: random\(key, \{ dtype: "float64" \}\) is float32 in a float64 run/,
  );
  const up = broken(S, "project in float64", {
    project(this: RadiusSphere, a: Tensor) {
      return RadiusSphere.prototype.project.call(this, a.astype("float64"));
    },
  });
  assert.match(
    await lawError(up, { dtype: "float32" }),
    /law "random" fails: random\(key, \{ dtype: "float32" \}\) is float64/,
  );
  const upOnlyProject = broken(sphere(4), "project in float64", {
    project: (a: Tensor) => sphere(4).project(a.astype("float64")),
  });
  assert.match(
    await lawError(upOnlyProject, { dtype: "float32" }),
    /law "project" fails: project\(a\) is float64 in a float32 run/,
  );
});

Deno.test("the kit reports an exception in the manifold's own code under the law that ran it", async () => {
  const throwing = broken(S, "inner throws", {
    inner: () => (undefined as unknown as { x: Tensor }).x.abs(),
  });
  const msg = await lawError(throwing);
  assert.match(msg, /^radius_sphere\(5, 2\)\[inner throws\]: law ".*" throws TypeError: /);
  assert.match(msg, /point shape \[5\], dim 4, float64/);
});

Deno.test("the kit's manifold options: unknown names and wrong kinds are DomainErrors; tol, numRuns, seed, dtype act", async () => {
  await assert.rejects(() => checkManifoldLaws(S, { numRun: 2 } as never), {
    name: "DomainError",
    message: /checkManifoldLaws: unknown option "numRun"; did you mean "numRuns"\?/,
  });
  assert.throws(() => manifoldLaws(S, { tolerance: 1e-3 } as never), /manifoldLaws: unknown option "tolerance"/);
  assert.throws(() => manifoldLaws(S, { seed: 3 }), /manifoldLaws: numRuns and seed go to fast-check here/);
  await assert.rejects(
    () => checkManifoldLaws(S, { tol: "1e-3" as never }),
    /option tol must be a finite number ≥ 0, got "1e-3"/,
  );
  await assert.rejects(
    () => checkManifoldLaws(S, { dtype: "float16" as never }),
    /option dtype must be "float32" or "float64"/,
  );
  await assert.rejects(() => checkManifoldLaws(S, { numRuns: 1.5 }), /option numRuns must be a positive integer/);
  await assert.rejects(() => checkManifoldLaws(S, { seed: Number.NaN }), /option seed must be an integer/);
  assert.throws(
    () => arbitraryPoint(S, { dtyp: "float64" } as never),
    /arbitraryPoint: unknown option "dtyp"; did you mean "dtype"\?/,
  );
  assert.throws(() => arbitraryTangent(S, { scale: 2 } as never), /arbitraryTangent: unknown option "scale"/);
  assert.throws(() => arbitraryMatrix([2, 2], { std: 2 } as never), /arbitraryMatrix: unknown option "std"/);
  assert.throws(() => arbitraryAmbient(S, { dtype: "int32" } as never), /option dtype must be "float32" or "float64"/);
  // the same seed, the same failure; the message says the dtype it ran in
  const bad = broken(sphere(4), "R(x, v) = P(x + v/2)", {
    retract(this: Manifold, x: Tensor, v: Tensor) {
      return this.project(add(x, mul(v, 0.5)));
    },
  });
  const a = await lawError(bad, { seed: 5 }), b = await lawError(bad, { seed: 5 });
  assert.equal(a, b);
  assert.match(await lawError(bad, { dtype: "float32" }), /float32/);
  // firstOrderConstant bounds ‖R(x, tu) − (x + tu)‖ ≤ C t²: the unit sphere's projection retraction errs by about t²/2
  assert.match(await lawError(sphere(4), { firstOrderConstant: 0.1 }), /law "first order" fails: .* > 0\.1t² = /);
  // tol: a projection off by a factor 1 + 1e-6 fails at the default 1e-8 and passes at 1e-4
  const loose = broken(S, "project × (1 + 1e-6)", {
    project(this: Manifold, a: Tensor) {
      return mul(Object.getPrototypeOf(this).project.call(this, a), 1 + 1e-6);
    },
  });
  assert.match(await lawError(loose), /violation/);
  await checkManifoldLaws(loose, { tol: 1e-4, seed: 5, numRuns: 2 });
  // numRuns: calls per law
  let calls = 0;
  const counting = broken(S, "counted", {
    constraintViolation(this: Manifold, x: Tensor) {
      calls++;
      return Object.getPrototypeOf(this).constraintViolation.call(this, x);
    },
  });
  const [first] = manifoldLaws(counting);
  assert.equal(first.name, "random points satisfy the constraint, random tangents are tangent");
  await checkManifoldLaws(counting, { numRuns: 4, seed: 1, largeStep: false });
  assert.ok(calls >= 4);
});
