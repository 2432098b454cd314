import assert from "node:assert/strict";
import fc from "fast-check";
import {
  choleskyKernel,
  detFromLu,
  eighKernel,
  luKernel,
  luSolveKernel,
  qrKernel,
  slogdetFromLu,
  svdKernel,
  triangularSolveKernel,
} from "../core/linalg/kernels.ts";

import { at, colOrthError, eye, fro, type M, matmul, maxDiff, normals, TOL, transpose } from "./linalg_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Cholesky, LU, solves, determinants
// ---------------------------------------------------------------------------------------------

function spd(n: number, seed: number): M {
  const b = normals(seed, n * n);
  const a = matmul(b, transpose(b, n, n), n, n, n);
  for (let i = 0; i < n; i++) a[i * n + i] += 0.1;
  return a;
}

Deno.test("choleskyKernel: LLᵀ = A, lower with positive diagonal; non-SPD reports the failing column", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
      const a = spd(n, seed);
      const { l, failures } = choleskyKernel(a, { n });
      assert.deepEqual(failures, []);
      assert.ok(maxDiff(matmul(l, transpose(l, n, n), n, n, n), a) <= TOL * fro(a));
      for (let i = 0; i < n; i++) {
        assert.ok(l[i * n + i] > 0);
        for (let j = i + 1; j < n; j++) assert.equal(l[i * n + j], 0);
      }
    }),
    { numRuns: 100 },
  );
  const bad = choleskyKernel(new Float64Array([1, 0, 0, 0, -1, 0, 0, 0, 1, 1, 2, 2, 1, 0, 0, 0, 0, 0]), { n: 3 });
  assert.deepEqual(bad.failures, [
    { batch: 0, kind: "notPositiveDefinite", index: 1 },
    { batch: 1, kind: "notPositiveDefinite", index: 1 },
  ]);
  assert.ok(bad.l.every((v) => Number.isNaN(v)));
  assert.deepEqual(choleskyKernel(new Float64Array(4), { n: 2 }).failures, [
    { batch: 0, kind: "notPositiveDefinite", index: 0 },
  ]);
});

function unpackLu(lu: ArrayLike<number>, n: number): { l: M; u: M } {
  const l = new Float64Array(n * n), u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j < i) l[i * n + j] = lu[i * n + j];
      else u[i * n + j] = lu[i * n + j];
    }
    l[i * n + i] = 1;
  }
  return { l, u };
}

function permSign(perm: ArrayLike<number>): number {
  const seen = new Uint8Array(perm.length);
  let sign = 1;
  for (let i = 0; i < perm.length; i++) {
    if (seen[i]) continue;
    let len = 0;
    for (let j = i; !seen[j]; j = perm[j]) (seen[j] = 1), len++;
    if (len % 2 === 0) sign = -sign;
  }
  return sign;
}

Deno.test("luKernel: PA = LU, |L| ≤ 1, sign = det P; det and slogdet agree", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n, seed) => {
      const a = normals(seed, n * n);
      const { lu, perm, sign, pivots, failures } = luKernel(a, { n });
      assert.deepEqual(failures, []);
      const { l, u } = unpackLu(lu, n);
      const pa = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pa[i * n + j] = a[perm[i] * n + j];
      assert.ok(maxDiff(matmul(l, u, n, n, n), pa) <= TOL * fro(a));
      assert.ok(l.every((v) => Math.abs(v) <= 1));
      assert.equal(sign[0], permSign(perm));
      for (let k = 0; k < n; k++) assert.ok(pivots[k] >= k && pivots[k] < n);
      const det = detFromLu(lu, sign, { n })[0];
      const { sign: sg, logabsdet } = slogdetFromLu(lu, sign, { n });
      assert.ok(Math.abs(sg[0] * Math.exp(logabsdet[0]) - det) <= 1e-12 * Math.abs(det));
      // det(A) = Π λ(A) is hard to get independently; use det(AᵀA) = Π σ² from the SVD
      const s = svdKernel(a, { m: n, n }).s;
      const logProd = s.reduce((acc, v) => acc + Math.log(v), 0);
      // both sides are accurate to about ε·cond(A)
      const cond = s[0] / s[n - 1];
      assert.ok(Math.abs(logabsdet[0] - logProd) <= 1e-14 * n * cond * Math.max(1, Math.abs(logProd)));
    }),
    { numRuns: 100 },
  );
});

Deno.test("luKernel: examples, exact singularity reported, det 0 and logabsdet −∞", () => {
  const f = luKernel(new Float64Array([1, 2, 3, 4]), { n: 2 });
  assert.deepEqual(Array.from(f.perm), [1, 0]);
  assert.deepEqual(Array.from(f.sign), [-1]);
  assert.ok(maxDiff(f.lu, [3, 4, 1 / 3, 2 / 3]) < 1e-15);
  assert.ok(Math.abs(detFromLu(f.lu, f.sign, { n: 2 })[0] + 2) < 1e-15);
  const sing = luKernel(new Float64Array([1, 2, 3, 2, 4, 6, 1, 0, 1]), { n: 3 }); // row 2 = 2·row 1
  assert.deepEqual(sing.failures, [{ batch: 0, kind: "singular", index: 2 }]);
  assert.equal(detFromLu(sing.lu, sing.sign, { n: 3 })[0], 0);
  const sl = slogdetFromLu(sing.lu, sing.sign, { n: 3 });
  assert.equal(sl.sign[0], 0);
  assert.equal(sl.logabsdet[0], -Infinity);
  const zeroCol = luKernel(new Float64Array([0, 1, 0, 2]), { n: 2 });
  assert.deepEqual(zeroCol.failures, [{ batch: 0, kind: "singular", index: 0 }]);
});

Deno.test("luSolveKernel and triangularSolveKernel: residuals for every variant, shared-A batches", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (n, k, seed) => {
        const a = normals(seed, n * n), b = normals(seed + 1, 2 * n * k);
        for (let i = 0; i < n; i++) a[i * n + i] += 3 * Math.sign(a[i * n + i] || 1); // well conditioned
        const f = luKernel(a, { n });
        for (const transpose_ of [false, true]) {
          const { x, failures } = luSolveKernel(f.lu, f.pivots, b, { n, k, transpose: transpose_ });
          assert.deepEqual(failures, []);
          const op = transpose_ ? transpose(a, n, n) : a;
          for (let bi = 0; bi < 2; bi++) {
            const r = matmul(op, at(x, bi, n * k), n, n, k);
            assert.ok(maxDiff(r, at(b, bi, n * k)) <= 1e-12 * fro(a) * Math.max(1, fro(at(x, bi, n * k))));
          }
        }
        for (const lower of [true, false]) {
          for (const tr of [false, true]) {
            for (const unit of [false, true]) {
              const t = a.slice();
              for (let i = 0; i < n; i++) {
                for (let j = 0; j < n; j++) {
                  if (lower ? j > i : j < i) t[i * n + j] = 0;
                }
                if (unit) t[i * n + i] = 1;
              }
              // the solver must not read the other triangle or (with unitDiagonal) the diagonal
              const poisoned = t.slice();
              for (let i = 0; i < n; i++) {
                for (let j = 0; j < n; j++) if (lower ? j > i : j < i) poisoned[i * n + j] = 1e300;
                if (unit) poisoned[i * n + i] = 7;
              }
              const { x, failures } = triangularSolveKernel(poisoned, b, {
                n,
                k,
                lower,
                transpose: tr,
                unitDiagonal: unit,
              });
              assert.deepEqual(failures, []);
              const op = tr ? transpose(t, n, n) : t;
              for (let bi = 0; bi < 2; bi++) {
                const r = matmul(op, at(x, bi, n * k), n, n, k);
                assert.ok(maxDiff(r, at(b, bi, n * k)) <= 1e-12 * fro(t) * Math.max(1, fro(at(x, bi, n * k))));
              }
            }
          }
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("solves report singular factors and non-finite inputs", () => {
  const t = triangularSolveKernel(new Float64Array([1, 0, 5, 0]), new Float64Array([1, 1]), {
    n: 2,
    k: 1,
    lower: true,
  });
  assert.deepEqual(t.failures, [{ batch: 0, kind: "singular", index: 1 }]);
  const sing = luKernel(new Float64Array([1, 2, 2, 4]), { n: 2 });
  const s = luSolveKernel(sing.lu, sing.pivots, new Float64Array([1, 1]), { n: 2, k: 1 });
  assert.deepEqual(s.failures, [{ batch: 0, kind: "singular", index: 1 }]);
  const nb = luSolveKernel(new Float64Array([1, 0, 0, 1]), new Int32Array([0, 1]), new Float64Array([1, Infinity]), {
    n: 2,
    k: 1,
  });
  assert.deepEqual(nb.failures, [{ batch: 0, kind: "nonFinite", index: 1, input: "b" }]);
  assert.ok(nb.x.every((v) => Number.isNaN(v)));
  const na = triangularSolveKernel(new Float64Array([NaN, 0, 0, 1]), new Float64Array([1, 1]), {
    n: 2,
    k: 1,
    lower: true,
  });
  assert.deepEqual(na.failures, [{ batch: 0, kind: "nonFinite", index: 0, input: "a" }]);
});

// ---------------------------------------------------------------------------------------------
// Batches, float32, bad input
// ---------------------------------------------------------------------------------------------

Deno.test("batched kernels equal the per-matrix results exactly", () => {
  const m = 5, n = 3, batch = 3;
  const a = normals(42, batch * m * n);
  const sq = new Float64Array(batch * n * n);
  for (let b = 0; b < batch; b++) sq.set(spd(n, b), b * n * n);
  const qrB = qrKernel(a, { m, n }), svdB = svdKernel(a, { m, n }), eigB = eighKernel(sq, { n });
  const chB = choleskyKernel(sq, { n }), luB = luKernel(sq, { n });
  for (let b = 0; b < batch; b++) {
    const ab = at(a, b, m * n), sb = at(sq, b, n * n);
    const qr1 = qrKernel(ab, { m, n }), svd1 = svdKernel(ab, { m, n }), eig1 = eighKernel(sb, { n });
    assert.deepEqual(at(qrB.q, b, m * n), qr1.q);
    assert.deepEqual(at(qrB.r, b, n * n), qr1.r);
    assert.deepEqual(at(svdB.u, b, m * n), svd1.u);
    assert.deepEqual(at(svdB.s, b, n), svd1.s);
    assert.deepEqual(at(svdB.vh, b, n * n), svd1.vh);
    assert.deepEqual(at(eigB.eigenvalues, b, n), eig1.eigenvalues);
    assert.deepEqual(at(eigB.eigenvectors, b, n * n), eig1.eigenvectors);
    assert.deepEqual(at(chB.l, b, n * n), choleskyKernel(sb, { n }).l);
    assert.deepEqual(at(luB.lu, b, n * n), luKernel(sb, { n }).lu);
  }
  assert.equal(detFromLu(luB.lu, luB.sign, { n }).length, batch);
  assert.throws(() => qrKernel(new Float64Array(7), { m: 2, n: 2 }), RangeError);
  assert.throws(() => svdKernel(new Float64Array(8), { m: 2, n: 2, batch: 3 }), RangeError);
  assert.throws(() => luSolveKernel(luB.lu, luB.pivots, new Float64Array(2 * n), { n, k: 1 }), RangeError);
  const empty = svdKernel(new Float64Array(0), { m: 0, n: 3, batch: 2 });
  assert.ok(empty.u.length === 0 && empty.s.length === 0 && empty.vh.length === 0);
});

Deno.test("float32 in, float32 out, accurate to float32 rounding", () => {
  const m = 9, n = 4;
  const a64 = normals(5, m * n), a = Float32Array.from(a64), ad = Float64Array.from(a);
  const { q, r } = qrKernel(a, { m, n });
  assert.ok(q instanceof Float32Array && r instanceof Float32Array);
  assert.ok(maxDiff(matmul(q, r, m, n, n), ad) < 1e-5 && colOrthError(q, m, n) < 1e-6);
  const { u, s, vh } = svdKernel(a, { m, n });
  assert.ok(u instanceof Float32Array && s instanceof Float32Array && vh instanceof Float32Array);
  // values computed in float64 from the float32 input, then rounded once
  const s64 = svdKernel(ad, { m, n }).s;
  assert.deepEqual(s, Float32Array.from(s64));
  const sym = Float32Array.from(spd(4, 1));
  const e = eighKernel(sym, { n: 4 });
  assert.ok(e.eigenvalues instanceof Float32Array && e.eigenvectors instanceof Float32Array);
  const l = choleskyKernel(sym, { n: 4 }).l;
  assert.ok(l instanceof Float32Array && maxDiff(matmul(l, transpose(l, 4, 4), 4, 4, 4), sym) < 1e-5);
  const f = luKernel(sym, { n: 4 });
  assert.ok(f.lu instanceof Float32Array && detFromLu(f.lu, f.sign, { n: 4 }) instanceof Float32Array);
});

Deno.test("non-finite input is reported per matrix; the other matrices are unaffected", () => {
  const n = 3;
  const a = new Float64Array(2 * n * n);
  a.set(spd(n, 1), 0);
  a.set(spd(n, 2), n * n);
  a[n * n + 4] = NaN;
  const expect = [{ batch: 1, kind: "nonFinite", index: 4 }];
  const q = qrKernel(a, { m: n, n }), s = svdKernel(a, { m: n, n }), e = eighKernel(a, { n });
  const c = choleskyKernel(a, { n }), f = luKernel(a, { n });
  for (const res of [q, s, e, c, f]) assert.deepEqual(res.failures, expect);
  assert.ok(at(s.s, 1, n).every(Number.isNaN) && at(s.s, 0, n).every(Number.isFinite));
  assert.ok(at(e.eigenvectors, 1, n * n).every(Number.isNaN));
  assert.ok(at(q.q, 1, n * n).every(Number.isNaN) && at(c.l, 1, n * n).every(Number.isNaN));
  assert.deepEqual(svdKernel(new Float64Array([1, Infinity]), { m: 1, n: 2 }).failures, [
    { batch: 0, kind: "nonFinite", index: 1 },
  ]);
});

// ---------------------------------------------------------------------------------------------
// PyTorch fixtures (../shared/fixtures/linalg.json): loss values through the kernels
// ---------------------------------------------------------------------------------------------

interface Tens {
  shape: number[];
  data: number[];
}
const fixtures = JSON.parse(
  await Deno.readTextFile(new URL("../../shared/fixtures/linalg.json", import.meta.url)),
) as Record<string, Record<string, Tens & { value: number }>>;

function closeRel(got: number, want: number, tol = 1e-12): void {
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `got ${got}, want ${want}`);
}

function dotSum(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** P = X[:, :r] X[:, :r]ᵀ for X m×k. */
function projector(x: ArrayLike<number>, m: number, k: number, r: number): M {
  const p = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let c = 0; c < r; c++) s += x[i * k + c] * x[j * k + c];
      p[i * m + j] = s;
    }
  }
  return p;
}

for (const name of ["tall", "square"] as const) {
  Deno.test(`fixtures (${name}): SVD, QR and polar losses match PyTorch to 1e-12`, () => {
    const fx = fixtures[name];
    const [m, n] = fx.A.shape, k = Math.min(m, n);
    const a = Float64Array.from(fx.A.data);
    for (const method of ["jacobi", "gk"] as const) {
      const { u, s, vh } = svdKernel(a, { m, n, method });
      closeRel(dotSum(s, fx.gs.data), fx.svdvals_dot_gs.value);
      const v = transpose(vh, k, n);
      const top2 = dotSum(projector(u, m, k, 2), fx.G1.data) + dotSum(projector(v, n, k, 2), fx.G2.data) +
        dotSum(s, fx.gs.data);
      closeRel(top2, fx.svd_top2_projectors.value);
      closeRel(dotSum(matmul(u, vh, m, k, n), fx.G3.data), fx.polar_factor_dot.value);
    }
    const { q, r } = qrKernel(a, { m, n });
    const qr = dotSum(projector(q, m, k, k), fx.G1.data) + dotSum(matmul(transpose(r, k, n), r, n, k, n), fx.G2.data);
    closeRel(qr, fx.qr_projector_and_gram.value);
  });
}

Deno.test("fixtures (square): eigh, logdet, inverse and Cayley losses match PyTorch to 1e-12", () => {
  const fx = fixtures.square;
  const n = fx.A.shape[0];
  const a = Float64Array.from(fx.A.data), at_ = transpose(a, n, n);
  // eigh_top2: w, V = eigh(A + Aᵀ): Σ w·[0, 1, …] + Σ (V[:, −2:] V[:, −2:]ᵀ) ∘ G1
  const { eigenvalues: w, eigenvectors: v } = eighKernel(a.map((x, t) => x + at_[t]), { n });
  const vTop = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) (vTop[i * 2] = v[i * n + n - 2]), (vTop[i * 2 + 1] = v[i * n + n - 1]);
  const eighLoss = w.reduce((acc, x, i) => acc + i * x, 0) + dotSum(projector(vTop, n, 2, 2), fx.G1.data);
  closeRel(eighLoss, fx.eigh_top2.value);
  // logdet(A Aᵀ + I) by Cholesky and by LU
  const g = matmul(a, at_, n, n, n);
  for (let i = 0; i < n; i++) g[i * n + i] += 1;
  const { l } = choleskyKernel(g, { n });
  let ld = 0;
  for (let i = 0; i < n; i++) ld += 2 * Math.log(l[i * n + i]);
  closeRel(ld, fx.logdet_gram.value);
  const f = luKernel(g, { n });
  closeRel(slogdetFromLu(f.lu, f.sign, { n }).logabsdet[0], fx.logdet_gram.value);
  // Σ inv(A Aᵀ + I) ∘ G1
  const inv = luSolveKernel(f.lu, f.pivots, eye(n), { n, k: n }).x;
  closeRel(dotSum(inv, fx.G1.data), fx.inv_gram_dot.value);
  // Cayley: S = A − Aᵀ, Σ solve(I + S, I − S) ∘ G1
  const ipS = eye(n).map((x, t) => x + a[t] - at_[t]), imS = eye(n).map((x, t) => x - a[t] + at_[t]);
  const fc_ = luKernel(ipS, { n });
  closeRel(dotSum(luSolveKernel(fc_.lu, fc_.pivots, imS, { n, k: n }).x, fx.G1.data), fx.cayley_dot.value);
});
