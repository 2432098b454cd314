/**
 * The laws every manifold satisfies, as fast-check properties: what `checkManifoldLaws` runs on each
 * built-in in float64 and float32, and what a user's own manifold should pass.
 *
 * With tol the dtype's tolerance (scaled by the sizes involved):
 * - random points satisfy the constraint: `violation(random()) ≤ tol`, and `randomTangent(x)` is tangent at x;
 *   `random`, `randomTangent`, `project` and `retract` keep the dtype of the run
 * - `project` lands on the manifold and is idempotent: `project(project(a)) = project(a)`
 * - `toTangent` gives tangent vectors and is idempotent
 * - `inner` is symmetric and positive, `norm² = inner(u, u)`, `componentInner ≥ 0` broadcasts
 * - `retract(x, 0) = x`
 * - the retraction is first order: `‖R(x, tu) − (x + tu)‖ ≤ C t²` for unit u (and, in float64,
 *   halving t divides the error by about 4)
 * - it stays on the manifold for large steps: `violation(R(x, 10u)) ≤ 10·tol`
 * - `R(x, u)` is on the manifold for a Gaussian tangent u (times `stepScale`), `transport(x, y, v)`
 *   lies in the tangent space at y = R(x, u), and `transport(x, x, v) = v` for tangent v
 * - `egradToRgrad` matches the metric: `⟨rgrad(x, g), v⟩ₓ = ⟨g, v⟩` for tangent v, rgrad tangent
 * - `exp` (where present) is on the manifold, `exp(x, 0) = x`, and first order
 * - `log` (where present): `log(x, x) = 0`, `log(x, y)` is tangent at x, and with `exp`:
 *   `exp(x, log(x, y)) ≈ y` for y = R(x, u) (as matrices, or by `dist` where exp returns another
 *   representative, as on Grassmann) and `log(x, exp(x, v)) ≈ v` for ‖v‖ₓ = 0.1
 * - `dist` (where present): `dist(x, y) = dist(y, x) ≥ 0`, `dist(x, x) = 0`, and `= ‖log(x, y)‖ₓ`
 * - `dim` is the rank of `toTangent` (the dimension of the tangent space)
 * @module
 */
import fc from "fast-check";
import type { IAsyncProperty } from "../testing/fast_check.ts";
import { DomainError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { add, broadcastTo, concat, div, min, mul, oneHot, sub, sum, tensor, zerosLike } from "../core/ops/mod.ts";
import { svdvals } from "../core/linalg/mod.ts";
import type { Tensor } from "../core/tensor.ts";
import { arbitraryAmbient, arbitraryTangent, checkFloatDTypeOption } from "./arbitraries.ts";
import { type FloatDType, type Manifold, safeSqrt } from "./manifold.ts";
import type { Point } from "./point.ts";

/** Options of `checkManifoldLaws`. */
export interface ManifoldLawOptions {
  /** Element type (default float64). */
  dtype?: FloatDType;
  /** Runs per property (default 20). */
  numRuns?: number;
  /**
   * fast-check seed (default: a random one, which a failure's message prints): the same seed draws the
   * same cases and reproduces the same failure.
   */
  seed?: number;
  /** Absolute tolerance on violations and identities (default 1e-8 in float64, 2e-4 in float32). */
  tol?: number;
  /** The "large" step of the stays-on-manifold law, times a Gaussian tangent (default 10; false skips). */
  largeStep?: number | false;
  /**
   * Scale of the tangent vectors the transport law retracts along (default 1: Gaussian tangents).
   * Use a small value for approximate retractions such as the fixed-point Cayley iteration.
   */
  stepScale?: number;
  /** The constant C of the first-order law `‖R(x, tu) − (x + tu)‖ ≤ C t²` (default 4). */
  firstOrderConstant?: number;
}

const MANIFOLD_LAW_KEYS = optionKeys<ManifoldLawOptions>({
  dtype: true,
  numRuns: true,
  seed: true,
  tol: true,
  largeStep: true,
  stepScale: true,
  firstOrderConstant: true,
});

/**
 * Throws a DomainError unless each named option of `opts` is absent or a number of the kind the
 * law suites need (`int`: a positive integer, `seed`: any integer, `pos`: a positive finite number).
 * @internal
 */
export function checkLawNumbers(
  op: string,
  opts: object,
  kinds: Readonly<Record<string, "int" | "seed" | "pos" | "nonneg">>,
): void {
  for (const [k, kind] of Object.entries(kinds)) {
    const v = (opts as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const ok = typeof v === "number" && Number.isFinite(v) &&
      (kind === "int"
        ? Number.isInteger(v) && v >= 1
        : kind === "seed"
        ? Number.isInteger(v)
        : kind === "pos"
        ? v > 0
        : v >= 0);
    if (!ok) {
      const want = kind === "int"
        ? "a positive integer"
        : kind === "seed"
        ? "an integer"
        : kind === "pos"
        ? "a positive finite number"
        : "a finite number ≥ 0";
      throw new DomainError(`${op}: option ${k} must be ${want}, got ${typeof v === "string" ? `"${v}"` : String(v)}`);
    }
  }
}

/**
 * Runs one law with fast-check and, on failure, throws a DomainError that leads with the law and
 * the measured error, then says where (`where`: sizes, dtype), the counterexample and how to
 * replay it (fast-check's seed and path); an exception of another kind (a TypeError in the code
 * under test) keeps its type, message and first stack frames.
 * @internal
 */
export async function runLaw(
  subject: string,
  where: string,
  name: string,
  // deno-lint-ignore no-explicit-any
  property: fc.IAsyncProperty<any>,
  params: { numRuns: number; seed?: number },
  showCounterexample: (c: unknown) => string,
): Promise<void> {
  const r = await fc.check(property, { numRuns: params.numRuns, seed: params.seed });
  if (!r.failed) return;
  const e = r.errorInstance;
  let what: string;
  if (e instanceof DomainError && e.message.startsWith(`${subject}: law `)) what = e.message.slice(subject.length + 2);
  else if (e instanceof Error) {
    const frames = (e.stack ?? "").split("\n").filter((l) => l.trim().startsWith("at ")).slice(0, 3);
    what = `law "${name}" throws ${e.constructor.name}: ${e.message}${frames.length ? `\n${frames.join("\n")}` : ""}`;
  } else what = `law "${name}" fails${e === undefined || e === null ? "" : `: ${String(e)}`}`;
  const ce = r.counterexample === null ? "" : `; counterexample ${showCounterexample(r.counterexample[0])}`;
  const replay = `replay: { seed: ${r.seed} } (fast-check path "${r.counterexamplePath}", after ${r.numRuns} run(s)` +
    `${r.numShrinks ? `, ${r.numShrinks} shrink(s)` : ""})`;
  const err = new DomainError(`${subject}: ${what}\n  ${where}${ce}; ${replay}`);
  err.cause = e;
  throw err;
}

/** One named law as a fast-check property. */
export interface ManifoldLaw {
  /** What the law says. */
  name: string;
  /** The property (asynchronous: values are read back with `await t.data()`). */
  property: IAsyncProperty<[unknown]>;
}

async function val(t: Tensor): Promise<number> {
  return Number((await t.data())[0]);
}

function fail(m: Manifold, law: string, detail: string): never {
  throw new DomainError(`${m.name}: law "${law}" fails: ${detail}`);
}

async function expectAtMost(m: Manifold, law: string, what: string, t: Tensor, bound: number): Promise<void> {
  const v = await val(t);
  if (!(v <= bound)) fail(m, law, `${what} = ${v} > ${bound}`);
}

// ‖a − b‖_F that keeps NaN (core `norm` maps NaN to 0)
const fro = (a: Tensor): Tensor => safeSqrt(sum(mul(a, a)));
const dist = (a: Tensor, b: Tensor): Tensor => fro(sub(a, b));

/**
 * The manifold laws as named fast-check properties (for running one by one, e.g. as test steps).
 * @param m the manifold
 * @param opts dtype, tolerance, large-step factor, first-order constant (numRuns and seed are fc.assert's here)
 * @example
 * ```ts
 * import "@tangent/tangent";
 * import fc from "fast-check";
 * import { manifoldLaws } from "@tangent/tangent/testing";
 * import { sphere } from "@tangent/tangent/manifolds";
 * for (const law of manifoldLaws(sphere(3))) await fc.assert(law.property, { numRuns: 3 });
 * ```
 */
export function manifoldLaws(m: Manifold, opts: ManifoldLawOptions = {}): ManifoldLaw[] {
  checkManifoldLawOptions("manifoldLaws", opts);
  if (opts.numRuns !== undefined || opts.seed !== undefined) {
    throw new DomainError(
      "manifoldLaws: numRuns and seed go to fast-check here, fc.assert(law.property, { numRuns, seed }); " +
        "checkManifoldLaws takes them as options",
    );
  }
  const dtype = opts.dtype ?? "float64";
  const tol = opts.tol ?? (dtype === "float64" ? 1e-8 : 2e-4);
  const large = opts.largeStep ?? 10;
  const C = opts.firstOrderConstant ?? 4;
  const stepScale = opts.stepScale ?? 1;
  const tangent = arbitraryTangent(m, { dtype });
  const ambient = arbitraryAmbient(m, { dtype });
  const laws: ManifoldLaw[] = [];
  const law = <T>(name: string, arb: fc.Arbitrary<T>, body: (v: T) => Promise<void>): void => {
    laws.push({ name, property: fc.asyncProperty(arb, body) as unknown as fc.IAsyncProperty<[unknown]> });
  };
  const unit = (x: Point<Manifold>, u: Tensor): Tensor => div(u, m.norm(x, u));
  const scale = async (u: Tensor): Promise<number> => 1 + (await val(fro(u)));

  // a result in another dtype than asked: named here, before it shows up as a tolerance miss
  const sameDType = (law: string, what: string, t: Tensor): void => {
    if (t.dtype !== dtype) fail(m, law, `${what} is ${t.dtype} in a ${dtype} run; keep the dtype of the inputs`);
  };

  law("random points satisfy the constraint, random tangents are tangent", tangent, async ({ x, u }) => {
    sameDType("random", `random(key, { dtype: "${dtype}" })`, x);
    sameDType("randomTangent", "randomTangent(key, x)", u);
    await expectAtMost(m, "random", "violation(random)", m.constraintViolation(x), tol);
    const s = await scale(u);
    await expectAtMost(m, "randomTangent", "tangentViolation(x, randomTangent(x))", m.tangentViolation(x, u), tol * s);
  });

  law("project lands on the manifold and is idempotent", ambient, async (a) => {
    const y = m.project(a);
    sameDType("project", "project(a)", y);
    await expectAtMost(m, "project", "violation(project(a))", m.constraintViolation(y), tol);
    await expectAtMost(m, "project", "‖project(project(a)) − project(a)‖", dist(m.project(y), y), tol);
  });

  law("toTangent gives tangent vectors and is idempotent", fc.tuple(tangent, ambient), async ([{ x }, a]) => {
    const u = m.toTangent(x, a), s = await scale(a);
    await expectAtMost(m, "toTangent", "tangentViolation(toTangent(a))", m.tangentViolation(x, u), tol * s);
    await expectAtMost(m, "toTangent", "‖toTangent(toTangent(a)) − toTangent(a)‖", dist(m.toTangent(x, u), u), tol * s);
  });

  law("inner is symmetric and positive", fc.tuple(tangent, ambient), async ([{ x, u }, a]) => {
    const v = m.toTangent(x, a), s = (await scale(u)) * (await scale(v));
    await expectAtMost(m, "inner", "|⟨u, v⟩ − ⟨v, u⟩|", sub(m.inner(x, u, v), m.inner(x, v, u)).abs(), tol * s);
    const uu = await val(m.inner(x, u, u));
    if (m.dim > 0 && !(uu > 0)) fail(m, "inner", `⟨u, u⟩ = ${uu} is not positive for a random tangent u`);
    const n = await val(m.norm(x, u));
    if (!(Math.abs(n * n - uu) <= tol * s)) fail(m, "inner", `norm² = ${n * n} ≠ ⟨u, u⟩ = ${uu}`);
    const c = broadcastTo(m.componentInner(x, u), m.shape);
    if (!((await val(min(c))) >= 0)) fail(m, "inner", "componentInner has a negative entry");
  });

  law("retract(x, 0) = x", tangent, async ({ x }) => {
    const r = m.retract(x, zerosLike(x));
    sameDType("retract", "retract(x, 0)", r);
    await expectAtMost(m, "retract(x, 0)", "‖R(x, 0) − x‖", dist(r, x), tol);
  });

  law("the retraction is first order", tangent, async ({ x, u }) => {
    if (m.dim === 0) return;
    const e = unit(x, u);
    const err = (t: number): Promise<number> => val(dist(m.retract(x, mul(e, t)), add(x, mul(e, t))));
    const t = 0.05, e1 = await err(t);
    if (!(e1 <= C * t * t + tol)) {
      const n = await val(m.norm(x, u)); // the counterexample shows u as drawn; the law steps along u/‖u‖ₓ
      fail(
        m,
        "first order",
        `‖R(x, tu) − (x + tu)‖ = ${e1} > ${C}t² = ${C * t * t} at t = ${t}, u the counterexample's u / ${n} (its ‖·‖ₓ)`,
      );
    }
    if (dtype === "float64" && e1 > 1e-9) {
      const e2 = await err(t / 2);
      if (!(e1 / e2 >= 3)) fail(m, "first order", `error ratio for t, t/2 is ${e1 / e2} (< 3): not O(t²)`);
    }
  });

  if (large !== false) {
    law("the retraction stays on the manifold for large steps", tangent, async ({ x, u }) => {
      const y = m.retract(x, mul(u, large));
      await expectAtMost(m, "large step", `violation(R(x, ${large}u))`, m.constraintViolation(y), 10 * tol);
    });
  }

  law(
    "retract lands on the manifold, transport in the destination's tangent space, transport(x, x, v) = v",
    fc.tuple(tangent, ambient),
    async ([{ x, u }, a]) => {
      const y = m.retract(x, mul(u, stepScale));
      await expectAtMost(m, "retract", `violation(R(x, ${stepScale}u))`, m.constraintViolation(y), 10 * tol);
      const v = m.toTangent(x, a), s = await scale(v);
      const w = m.transport(x, y, v);
      await expectAtMost(m, "transport", "tangentViolation(y, transport(x, y, v))", m.tangentViolation(y, w), tol * s);
      await expectAtMost(m, "transport", "‖transport(x, x, v) − v‖", dist(m.transport(x, x, v), v), tol * s);
    },
  );

  law("egradToRgrad matches the metric", fc.tuple(tangent, ambient), async ([{ x, u }, g]) => {
    const r = m.egradToRgrad(x, g), s = await scale(g);
    await expectAtMost(m, "egradToRgrad", "tangentViolation(rgrad)", m.tangentViolation(x, r), tol * s);
    const lhs = m.inner(x, r, u), rhs = mul(g, u).sum();
    await expectAtMost(m, "egradToRgrad", "|⟨rgrad, v⟩ₓ − ⟨g, v⟩|", sub(lhs, rhs).abs(), tol * s * (await scale(u)));
  });

  if (typeof m.exp === "function") {
    const exp = m.exp.bind(m) as (x: Point<Manifold>, v: Tensor) => Point<Manifold>;
    law("exp is on the manifold, exp(x, 0) = x, and first order", tangent, async ({ x, u }) => {
      await expectAtMost(m, "exp", "violation(exp(x, u))", m.constraintViolation(exp(x, u)), 10 * tol);
      await expectAtMost(m, "exp", "‖exp(x, 0) − x‖", dist(exp(x, zerosLike(x)), x), tol);
      if (m.dim === 0) return;
      const e = unit(x, u), t = 0.05;
      const e1 = await val(dist(exp(x, mul(e, t)), add(x, mul(e, t))));
      if (!(e1 <= C * t * t + tol)) {
        fail(m, "exp", `‖exp(x, tu) − (x + tu)‖ = ${e1} > ${C}t² = ${C * t * t} at t = ${t}, ‖u‖ₓ = 1`);
      }
    });
  }
  if (typeof m.log === "function") {
    const log = m.log.bind(m) as (x: Point<Manifold>, y: Point<Manifold>) => Tensor;
    const exp = typeof m.exp === "function"
      ? m.exp.bind(m) as (x: Point<Manifold>, v: Tensor) => Point<Manifold>
      : undefined;
    law("log(x, x) = 0, exp(x, log(x, y)) = y, log(x, exp(x, v)) = v for small v", tangent, async ({ x, u }) => {
      const lxx = log(x, x);
      sameDType("log", "log(x, x)", lxx);
      await expectAtMost(m, "log(x, x)", "‖log(x, x)‖", fro(lxx), tol);
      if (m.dim === 0) return;
      const y = m.retract(x, mul(u, stepScale)), s = await scale(u);
      const w = log(x, y);
      await expectAtMost(m, "log", "tangentViolation(x, log(x, y))", m.tangentViolation(x, w), tol * s);
      if (exp === undefined) return;
      // as points: the Frobenius distance, or (a quotient such as Grassmann, where exp may return another
      // basis of the same point) the manifold's own dist
      const z = exp(x, w), gap = dist(z, y);
      const same = typeof m.dist === "function" && (await val(gap)) > 10 * tol * s
        ? (m.dist.bind(m) as (a: Point<Manifold>, b: Point<Manifold>) => Tensor)(z, y)
        : gap;
      await expectAtMost(m, "exp ∘ log", "distance of exp(x, log(x, y)) to y", same, 10 * tol * s);
      const v = mul(unit(x, u), 0.1);
      await expectAtMost(m, "log ∘ exp", "‖log(x, exp(x, v)) − v‖ at ‖v‖ₓ = 0.1", dist(log(x, exp(x, v)), v), 10 * tol);
    });
  }
  if (typeof m.dist === "function") {
    const d = m.dist.bind(m) as (x: Point<Manifold>, y: Point<Manifold>) => Tensor;
    law("dist is symmetric, ≥ 0, 0 at x = y, and ‖log(x, y)‖ₓ", tangent, async ({ x, u }) => {
      const y = m.retract(x, mul(u, stepScale)), s = await scale(u);
      const dxy = await val(d(x, y)), dyx = await val(d(y, x));
      if (!(dxy >= 0)) fail(m, "dist", `dist(x, y) = ${dxy} is not ≥ 0`);
      if (!(Math.abs(dxy - dyx) <= 10 * tol * s)) fail(m, "dist", `dist(x, y) = ${dxy} ≠ dist(y, x) = ${dyx}`);
      await expectAtMost(m, "dist(x, x)", "dist(x, x)", d(x, x), tol);
      if (typeof m.log === "function") {
        const n = await val(m.norm(x, (m.log.bind(m) as (a: Point<Manifold>, b: Point<Manifold>) => Tensor)(x, y)));
        if (!(Math.abs(n - dxy) <= 10 * tol * s)) fail(m, "dist", `dist(x, y) = ${dxy} ≠ ‖log(x, y)‖ₓ = ${n}`);
      }
    });
  }
  law("dim is the rank of toTangent", tangent, async ({ x }) => {
    const size = m.shape.reduce((a, b) => a * b, 1);
    if (size > 400) return; // the size² projection matrix gets large
    const cols = Array.from({ length: size }, (_, i) => {
      const e = oneHot(tensor([i], { dtype: "int32" }), size).astype(x.dtype).reshape(m.shape);
      return m.toTangent(x, e).reshape([size, 1]);
    });
    const s = await svdvals(concat(cols, 1)).data();
    // singular values below the rank threshold (at least tol: a looser tol accepts a looser projection) count as 0
    const cut = Math.max(dtype === "float64" ? 1e-8 : 1e-3, opts.tol ?? 0) * Math.max(1, s[0]);
    const rank = Array.from(s).filter((v) => v > cut).length;
    if (rank !== m.dim) fail(m, "dim", `toTangent has rank ${rank}, but dim = ${m.dim}`);
  });
  return laws;
}

/**
 * Runs every manifold law on `m` (see the module doc). On the first failure it throws a DomainError
 * whose first line names the manifold, the law and the measured error against its tolerance (or the
 * exception the manifold threw, with its first stack frames), and whose second line gives the shape,
 * dim and dtype, the counterexample (the point, tangent and ambient tensors) and the fast-check
 * seed that replays it. Options are checked: an unknown name or a value of the wrong kind is a
 * DomainError.
 * @param m the manifold
 * @param opts dtype (default float64), numRuns (default 20), seed, tolerance, large-step factor
 * @example
 * ```ts
 * import "@tangent/tangent";
 * import { checkManifoldLaws } from "@tangent/tangent/testing";
 * import { sphere } from "@tangent/tangent/manifolds";
 * await checkManifoldLaws(sphere(4), { dtype: "float32", numRuns: 5 });
 * ```
 */
export async function checkManifoldLaws(m: Manifold, opts: ManifoldLawOptions = {}): Promise<void> {
  checkManifoldLawOptions("checkManifoldLaws", opts);
  const dtype = opts.dtype ?? "float64";
  const where = `point shape [${m.shape.join(", ")}], dim ${m.dim}, ${dtype}`;
  const { numRuns: _n, seed: _s, ...lawOpts } = opts;
  for (const { name, property } of manifoldLaws(m, lawOpts)) {
    await runLaw(m.name, where, name, property, { numRuns: opts.numRuns ?? 20, seed: opts.seed }, fc.stringify);
  }
}

function checkManifoldLawOptions(op: string, opts: ManifoldLawOptions): void {
  checkOptions(op, opts, MANIFOLD_LAW_KEYS, '{ dtype: "float32", numRuns: 5 }');
  checkFloatDTypeOption(op, opts.dtype);
  if (opts.largeStep !== false) checkLawNumbers(op, opts, { largeStep: "pos" });
  checkLawNumbers(op, opts, {
    numRuns: "int",
    seed: "seed",
    tol: "nonneg",
    stepScale: "pos",
    firstOrderConstant: "pos",
  });
}
