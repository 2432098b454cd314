import assert from "node:assert/strict";
import fc from "fast-check";
import {
  add,
  checkGrad,
  DomainError,
  DTypeError,
  eye,
  grad,
  matmul,
  mul,
  ShapeError,
  slice,
  sub,
  sum,
  type Tensor,
  tensor,
} from "../mod.ts";
import {
  cayley,
  cholesky,
  det,
  eigh,
  expm,
  inv,
  lu,
  luFactor,
  matrixNorm,
  newtonSchulz,
  polar,
  qr,
  slogdet,
  solve,
  solveTriangular,
  svd,
  svdvals,
} from "../core/linalg/mod.ts";
import { normals } from "./linalg_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const f64 = (data: number[] | Float64Array, shape: number[]): Tensor => tensor(Float64Array.from(data), { shape });

const randn = (seed: number, shape: number[]) => f64(normals(seed, shape.reduce((a, b) => a * b, 1)), shape);
const mT = (x: Tensor) => x.mT;

function maxRelDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let scale = 0, d = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
  return d / Math.max(scale, 1e-300);
}

function assertClose(got: Tensor | ArrayLike<number>, want: ArrayLike<number>, tol: number, what = ""): void {
  const g = "dataSync" in got ? (got as Tensor).dataSync() : got;
  const e = maxRelDiff(g as ArrayLike<number>, want);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

// ---------------------------------------------------------------------------------------------
// PyTorch fixtures: every value and gradient to 1e-8 relative
// ---------------------------------------------------------------------------------------------

interface Tens {
  shape: number[];
  data: number[];
}
interface Entry {
  value: number;
  grad: Tens;
}
const fixtures = JSON.parse(
  await Deno.readTextFile(new URL("../../shared/fixtures/linalg.json", import.meta.url)),
) as Record<string, Record<string, Tens & Entry>>;

function fixture(name: "tall" | "square") {
  const fx = fixtures[name];
  const t = (k: string) => f64(fx[k].data, fx[k].shape);
  return { fx, A: t("A"), G1: t("G1"), G2: t("G2"), G3: t("G3"), gs: t("gs") };
}

/** Columns [0, r) of the last axis. */
const cols = (x: Tensor, a: number, b: number) => slice(x, [null, [a, b]]);
const rows = (x: Tensor, a: number, b: number) => slice(x, [[a, b], null]);

function losses(name: "tall" | "square"): Record<string, (a: Tensor) => Tensor> {
  const { A, G1, G2, G3, gs } = fixture(name);
  const n = A.shape[1];
  const out: Record<string, (a: Tensor) => Tensor> = {
    svdvals_dot_gs: (a) => sum(mul(svdvals(a), gs)),
    svd_top2_projectors: (a) => {
      const { U, S, Vh } = svd(a);
      const ur = cols(U, 0, 2), vr = mT(rows(Vh, 0, 2));
      return add(add(sum(mul(matmul(ur, mT(ur)), G1)), sum(mul(matmul(vr, mT(vr)), G2))), sum(mul(S, gs)));
    },
    qr_projector_and_gram: (a) => {
      const { Q, R } = qr(a);
      return add(sum(mul(matmul(Q, mT(Q)), G1)), sum(mul(matmul(mT(R), R), G2)));
    },
    polar_factor_dot: (a) => {
      const { U, Vh } = svd(a);
      return sum(mul(matmul(U, Vh), G3));
    },
  };
  if (name === "square") {
    const id = eye(n, { dtype: "float64" });
    const gram = (a: Tensor) => add(matmul(a, mT(a)), id);
    Object.assign(out, {
      expm_skew_dot: (a: Tensor) => sum(mul(expm(sub(a, mT(a))), G1)),
      cayley_dot: (a: Tensor) => {
        const s = sub(a, mT(a));
        return sum(mul(solve(add(id, s), sub(id, s)), G1));
      },
      eigh_top2: (a: Tensor) => {
        const { eigenvalues: w, eigenvectors: v } = eigh(add(a, mT(a)));
        const top = cols(v, n - 2, n);
        const ramp = f64(Array.from({ length: n }, (_, i) => i), [n]);
        return add(sum(mul(w, ramp)), sum(mul(matmul(top, mT(top)), G1)));
      },
      logdet_gram: (a: Tensor) => slogdet(gram(a)).logabsdet,
      inv_gram_dot: (a: Tensor) => sum(mul(inv(gram(a)), G1)),
    });
  }
  return out;
}

for (const name of ["tall", "square"] as const) {
  for (const [entry, f] of Object.entries(losses(name))) {
    Deno.test(`fixture ${name}.${entry}: value and gradient match PyTorch to 1e-8`, () => {
      const { fx, A } = fixture(name);
      const want = fx[entry] as unknown as Entry;
      assertClose([f(A).item()], [want.value], 1e-10, "value");
      assertClose(grad(f)(A) as Tensor, want.grad.data, 1e-8, "gradient");
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Gradients against finite differences on random inputs
// ---------------------------------------------------------------------------------------------

Deno.test("checkGrad: qr (tall, square, wide)", () => {
  for (const [m, n, seed] of [[6, 3, 1], [4, 4, 2], [3, 5, 3]]) {
    const w1 = randn(seed + 10, [m, Math.min(m, n)]), w2 = randn(seed + 20, [Math.min(m, n), n]);
    checkGrad((a) => {
      const { Q, R } = qr(a);
      return add(sum(mul(Q, w1)), sum(mul(R, w2)));
    }, [randn(seed, [m, n])]);
  }
});

Deno.test("checkGrad: svd with U, S and Vh cotangents (tall, wide, square), batched", () => {
  for (const [m, n, seed] of [[6, 3, 4], [3, 5, 5], [4, 4, 6]]) {
    const k = Math.min(m, n);
    const wu = randn(seed + 1, [2, m, k]), ws = randn(seed + 2, [2, k]), wv = randn(seed + 3, [2, k, n]);
    // a sign-invariant loss: each (uᵢ, vᵢ) pair enters as uᵢ vᵢᵀ or squared
    checkGrad((a) => {
      const { U, S, Vh } = svd(a);
      const uu = mul(U, U), vv = mul(Vh, Vh);
      return add(add(sum(mul(uu, wu)), sum(mul(S, ws))), sum(mul(vv, wv)));
    }, [randn(seed, [2, m, n])]);
  }
});

Deno.test("checkGrad: eigh, cholesky, solveTriangular (all variants), lu", () => {
  const x = randn(7, [4, 4]);
  const sym = add(x, mT(x));
  const wv = randn(8, [4, 4]), wl = randn(9, [4]);
  checkGrad((a) => {
    const { eigenvalues, eigenvectors } = eigh(add(a, mT(a)));
    return add(sum(mul(eigenvalues, wl)), sum(mul(mul(eigenvectors, eigenvectors), wv)));
  }, [sym]);
  const spd = add(matmul(x, mT(x)), mul(eye(4, { dtype: "float64" }), 0.5));
  checkGrad((a) => sum(mul(cholesky(add(a, mT(a))), wv)), [spd]);
  const b = randn(10, [4, 2]);
  for (const lower of [true, false]) {
    for (const transpose of [false, true]) {
      for (const unitDiagonal of [false, true]) {
        const t = add(x, mul(eye(4, { dtype: "float64" }), 4));
        checkGrad((a, bb) => sum(mul(solveTriangular(a, bb, { lower, transpose, unitDiagonal }), b)), [t, b]);
      }
    }
  }
  checkGrad((a) => sum(mul(luFactor(a).lu, wv)), [x]);
  const { P, L, U } = lu(x);
  assertClose(matmul(P, matmul(L, U)), x.dataSync(), 1e-14, "A = PLU");
});

Deno.test("checkGrad: solve, inv, det, slogdet, expm, polar, cayley, newtonSchulz", () => {
  const a = add(randn(11, [4, 4]), mul(eye(4, { dtype: "float64" }), 2));
  const b = randn(12, [4, 3]), w = randn(13, [4, 4]);
  checkGrad((x, y) => sum(mul(solve(x, y), b)), [a, b]);
  checkGrad((x) => sum(mul(solve(x, f64([1, 2, 3, 4], [4])), f64([1, -1, 2, 0.5], [4]))), [a]);
  checkGrad((x) => sum(mul(inv(x), w)), [a]);
  checkGrad((x) => det(x), [a]);
  checkGrad((x) => slogdet(x).logabsdet, [a]);
  checkGrad((x) => sum(mul(expm(x), w)), [mul(a, 0.3)]);
  checkGrad((x) => sum(mul(expm(x), w)), [mul(a, 3)]); // scaling and squaring path
  checkGrad((x) => sum(mul(polar(x).U, w)), [a]);
  checkGrad((x) => sum(mul(polar(x).P, w)), [a]);
  checkGrad((x) => sum(mul(cayley(sub(x, mT(x))), w)), [a]);
  checkGrad((x) => sum(mul(newtonSchulz(x, { steps: 3 }), randn(14, [4, 2]))), [randn(15, [4, 2])]);
});

Deno.test("gradient of a gradient through the factorizations (logdet Hessian-vector product)", () => {
  // d/dA ⟨∇ logdet(A), V⟩ = −A⁻ᵀ Vᵀ A⁻ᵀ
  const a = add(randn(16, [3, 3]), mul(eye(3, { dtype: "float64" }), 3)), v = randn(17, [3, 3]);
  const hvp = grad((x: Tensor) => sum(mul(grad((y: Tensor) => slogdet(y).logabsdet)(x) as Tensor, v)))(a) as Tensor;
  const ai = inv(a), ait = mT(ai);
  const want = mul(matmul(matmul(ait, mT(v)), ait), -1);
  assertClose(hvp, want.dataSync(), 1e-10, "hvp");
  checkGrad((x) => sum(mul(grad((y: Tensor) => sum(mul(svdvals(y), f64([1, 2, 3], [3]))))(x) as Tensor, v)), [a]);
});

Deno.test("gauge-invariant losses with repeated singular values and eigenvalues get finite, right gradients", () => {
  // A = Q diag(2, 2, 1) Wᵀ: the projector onto the top-2 singular subspace is well defined
  const q = qr(randn(18, [5, 3])).Q, w = qr(randn(19, [3, 3])).Q;
  const a = matmul(mul(q, f64([2, 2, 1], [3])), mT(w));
  const g1 = randn(20, [5, 5]);
  const loss = (x: Tensor) => {
    const u = cols(svd(x).U, 0, 2);
    return sum(mul(matmul(u, mT(u)), g1));
  };
  const g = (grad(loss)(a) as Tensor).dataSync();
  assert.ok(g.every(Number.isFinite));
  checkGrad(loss, [a], { eps: 1e-6, rtol: 1e-4, atol: 1e-6 });
  // eigh: Σ λ² is basis independent; gradient 2A
  const s = matmul(mul(q, f64([1, 1, -2], [3])), mT(q));
  const ge = grad((x: Tensor) => {
    const { eigenvalues, eigenvectors } = eigh(x);
    return add(sum(mul(eigenvalues, eigenvalues)), mul(sum(mul(eigenvectors, eigenvectors)), 0));
  })(s) as Tensor;
  assertClose(ge, mul(s, 2).dataSync(), 1e-10, "∇Σλ² = 2A");
});

// ---------------------------------------------------------------------------------------------
// Forward values, batches, dtypes, errors
// ---------------------------------------------------------------------------------------------

Deno.test("values: examples from the docs, batches and float32", () => {
  assertClose(svdvals(f64([3, 0, 0, -4], [2, 2])), [4, 3], 1e-15);
  assertClose(eigh(f64([2, 1, 1, 2], [2, 2])).eigenvalues, [1, 3], 1e-15);
  assertClose(cholesky(f64([4, 2, 2, 5], [2, 2])), [2, 0, 1, 2], 1e-15);
  assertClose(solve(f64([1, 2, 3, 4], [2, 2]), f64([5, 11], [2])), [1, 2], 1e-14);
  assertClose(det(f64([1, 2, 3, 4], [2, 2])), [-2], 1e-15);
  const sl = slogdet(f64([1, 2, 3, 4], [2, 2]));
  assert.equal(sl.sign.item(), -1);
  assertClose(sl.logabsdet, [Math.log(2)], 1e-15);
  assertClose(expm(f64([0, 1, -1, 0], [2, 2])), [Math.cos(1), Math.sin(1), -Math.sin(1), Math.cos(1)], 1e-14);
  assertClose(cayley(f64([0, 1, -1, 0], [2, 2])), [0, -1, 1, 0], 1e-15);
  const p = polar(f64([2, 0, 0, -3], [2, 2]));
  assertClose(p.U, [1, 0, 0, -1], 1e-15);
  assertClose(p.P, [2, 0, 0, 3], 1e-15);
  assertClose(newtonSchulz(f64([2, 0, 0, 1], [2, 2]), { steps: 25 }), [1, 0, 0, 1], 1e-12);
  assertClose(matrixNorm(f64([3, 0, 0, 4], [2, 2]), 2), [4], 1e-15);
  assertClose(matrixNorm(f64([3, 0, 0, 4], [2, 2]), "nuc"), [7], 1e-15);
  assertClose(matrixNorm(f64([3, 0, 0, 4], [2, 2])), [5], 1e-15);
  // det of a singular matrix is 0, slogdet −∞
  assert.equal(det(f64([1, 2, 2, 4], [2, 2])).item(), 0);
  assert.equal(slogdet(f64([1, 2, 2, 4], [2, 2])).logabsdet.item(), -Infinity);
  // batches: per-matrix results
  const a = randn(21, [3, 4, 4]);
  const s = svdvals(a), d = det(a), x = inv(a);
  for (let b = 0; b < 3; b++) {
    const ab = slice(a, [[b, b + 1], null, null]).reshape([4, 4]);
    assertClose(slice(s, [[b, b + 1], null]).reshape([4]), svdvals(ab).dataSync(), 1e-15, "batched svdvals");
    assertClose(slice(d, [[b, b + 1]]).reshape([]), det(ab).dataSync(), 1e-13, "batched det");
    assertClose(matmul(ab, slice(x, [[b, b + 1], null, null]).reshape([4, 4])), eye(4).dataSync(), 1e-12, "inv");
  }
  // shared matrix, batched right-hand sides
  const bs = randn(22, [3, 4, 2]);
  const xs = solve(slice(a, [[0, 1], null, null]).reshape([4, 4]), bs);
  assert.deepEqual(xs.shape, [3, 4, 2]);
  // float32 in, float32 out
  const a32 = tensor([[3, 1], [1, 2]]);
  for (const t of [svd(a32).S, qr(a32).R, eigh(a32).eigenvectors, cholesky(a32), inv(a32), expm(a32)]) {
    assert.equal(t.dtype, "float32");
  }
  assertClose(matmul(a32, inv(a32)), [1, 0, 0, 1], 1e-6, "float32 inverse");
});

Deno.test("errors: shapes, dtypes, non-finite, singular, not symmetric, not positive definite", () => {
  assert.throws(() => svd(f64([1, 2, 3], [3])), ShapeError);
  assert.throws(() => eigh(f64([1, 2, 3, 4, 5, 6], [2, 3])), ShapeError);
  assert.throws(() => det(f64([1, 2, 3, 4, 5, 6], [3, 2])), ShapeError);
  assert.throws(() => svd(tensor([[1, 2], [3, 4]], { dtype: "int32" })), DTypeError);
  assert.throws(() => solve(f64([1, 2, 3, 4], [2, 2]), f64([1, 2, 3], [3])), ShapeError);
  assert.throws(
    () => svd(f64([1, NaN, 3, 4], [2, 2])),
    (e: Error) => e instanceof DomainError && /non-finite/.test(e.message),
  );
  assert.throws(() => qr(f64([1, 2, Infinity, 4], [2, 2])), DomainError);
  assert.throws(
    () => solve(f64([1, 2, 2, 4], [2, 2]), f64([1, 1], [2])),
    (e: Error) => e instanceof DomainError && /singular/.test(e.message),
  );
  assert.throws(() => inv(f64([0, 0, 0, 0], [2, 2])), DomainError);
  assert.throws(
    () => eigh(f64([1, 2, 3, 4], [2, 2])),
    (e: Error) => e instanceof DomainError && /not symmetric/.test(e.message),
  );
  assert.throws(
    () => cholesky(f64([1, 2, 2, 1], [2, 2])),
    (e: Error) => e instanceof DomainError && /positive definite/.test(e.message),
  );
  assert.throws(() => expm(f64([1, NaN, 0, 1], [2, 2])), DomainError);
  assert.throws(() => matrixNorm(f64([1, 0, 0, 1], [2, 2]), 3), ShapeError);
});

Deno.test("svdvals of a vector names svdvals in its ShapeError (the svd primitive's shape check said 'svd:')", () => {
  assert.throws(
    () => svdvals(f64([1, 2, 3], [3])),
    (e: Error) => e instanceof ShapeError && /^svdvals: needs a matrix/.test(e.message),
  );
  assert.throws(() => svd(f64([1, 2, 3], [3])), (e: Error) => /^svd: needs a matrix/.test(e.message));
});

Deno.test("property: solve, inv and det agree with each other on random well-conditioned matrices", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
      // eigenvalues of randn/√n lie near the unit disk: A is well conditioned
      const a = add(mul(randn(seed, [n, n]), 1 / Math.sqrt(n)), mul(eye(n, { dtype: "float64" }), 3));
      const b = randn(seed + 1, [n, 2]);
      const x = solve(a, b);
      assertClose(matmul(a, x), b.dataSync(), 1e-12, "A solve(A, B) = B");
      assertClose(matmul(inv(a), b), x.dataSync(), 1e-11, "inv(A) B = solve(A, B)");
      const sl = slogdet(a);
      assertClose([sl.sign.item() * Math.exp(sl.logabsdet.item())], [det(a).item()], 1e-12, "slogdet vs det");
      const w = eigh(matmul(a, mT(a))).eigenvalues.dataSync();
      const logdetGram = Array.from(w).reduce((acc, v) => acc + Math.log(v), 0);
      assert.ok(Math.abs(2 * sl.logabsdet.item() - logdetGram) <= 1e-11 * Math.max(1, Math.abs(logdetGram)));
    }),
    { numRuns: 40 },
  );
});

Deno.test("expm under jit is a graph (the squaring count stays a tensor), bit for bit the eager result, vmapped too", async () => {
  const { jit, jitInfo, key, vmap } = await import("../mod.ts");
  const { stiefel } = await import("../manifolds/mod.ts");
  const f = (a: Tensor) => expm(a);
  const jf = jit(f);
  for (const s of [0.1, 3, 50]) {
    const a = tensor([[0, s, 1], [-s, 0, 0.5], [-1, -0.5, 0]], { dtype: "float64" });
    assert.deepEqual([...jf(a).dataSync()], [...f(a).dataSync()], `‖A‖ ~ ${s}`);
  }
  const batch = tensor([[[0, 1], [-1, 0]], [[0, 40], [-40, 0]]], { dtype: "float64" });
  const jv = jit(vmap(f));
  assert.deepEqual([...jv(batch).dataSync()], [...vmap(f)(batch).dataSync()], "vmapped");
  // a Stiefel step with the exp retraction: one graph, the eager point
  const M = stiefel(4, 2, { retraction: "exp" });
  const x = M.random(key(3), { dtype: "float64" }), v = M.randomTangent(key(4), x);
  const step = jit((p: typeof x, d: Tensor) => M.retract(p, d));
  assert.deepEqual([...step(x, v).dataSync()], [...M.retract(x, v).dataSync()]);
  for (const j of [jitInfo(jf), jitInfo(jv), jitInfo(step)]) assert.deepEqual(j.map((i) => i.mode), ["graph"]);
});
