import assert from "node:assert/strict";
import fc from "fast-check";
import {
  choleskyKernel,
  detFromLu,
  eighKernel,
  type FloatArray,
  luKernel,
  luSolveKernel,
  qrKernel,
  slogdetFromLu,
  svdKernel,
  symmetryError,
  triangularSolveKernel,
} from "../core/linalg/kernels.ts";

// ---------------------------------------------------------------------------------------------
// Dense helpers (float64, row-major) and matrix families
// ---------------------------------------------------------------------------------------------

type M = Float64Array;

/** mulberry32 → standard normals (Box–Muller); deterministic from the seed. */
function normals(seed: number, count: number): M {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): M {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < k; t++) {
      const v = a[i * k + t];
      for (let j = 0; j < n; j++) c[i * n + j] += v * b[t * n + j];
    }
  }
  return c;
}

function transpose(a: ArrayLike<number>, m: number, n: number): M {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[j * m + i] = a[i * n + j];
  return c;
}

function eye(n: number): M {
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = 1;
  return e;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function fro(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Slice matrix number b of a batch. */
function at(a: FloatArray, b: number, size: number): M {
  return Float64Array.from(a.subarray(b * size, (b + 1) * size));
}

/** Random orthonormal columns (m×k) from the QR kernel. */
function orthonormal(m: number, k: number, seed: number): M {
  return qrKernel(normals(seed, m * k), { m, n: k }).q as M;
}

/** U diag(s) Vᵀ with random orthonormal U, V: singular values known exactly (up to rounding). */
function withSingularValues(m: number, n: number, s: number[], seed: number): M {
  const k = s.length;
  const u = orthonormal(m, k, seed), v = orthonormal(n, k, seed + 1);
  const us = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) us[i * k + c] = u[i * k + c] * s[c];
  return matmul(us, transpose(v, n, k), m, k, n);
}

type Kind = "gaussian" | "lowRank" | "repeated" | "graded" | "zeroColumn";

/** A matrix family: gaussian, product of thin factors, repeated singular values, graded columns. */
function family(kind: Kind, m: number, n: number, seed: number): M {
  const k = Math.min(m, n);
  switch (kind) {
    case "gaussian":
      return normals(seed, m * n);
    case "lowRank": {
      const r = Math.max(1, Math.floor(k / 2));
      return matmul(normals(seed, m * r), normals(seed + 7, r * n), m, r, n);
    }
    case "repeated": {
      const s = Array.from({ length: k }, (_, i) => (i < Math.ceil(k / 2) ? 2 : i < k - 1 ? 0.5 : 0.5));
      return withSingularValues(m, n, s, seed);
    }
    case "graded": {
      const a = normals(seed, m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a[i * n + j] *= 10 ** (-2 * j);
      return a;
    }
    case "zeroColumn": {
      const a = normals(seed, m * n);
      for (let i = 0; i < m; i++) a[i * n + (seed >>> 0) % n] = 0;
      return a;
    }
  }
}

const kinds: Kind[] = ["gaussian", "lowRank", "repeated", "graded", "zeroColumn"];
const shapeArb = fc.record({
  m: fc.integer({ min: 1, max: 12 }),
  n: fc.integer({ min: 1, max: 12 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  kind: fc.constantFrom(...kinds),
});

/** ‖QᵀQ − I‖_max for Q m×k (columns). */
function colOrthError(q: ArrayLike<number>, m: number, k: number): number {
  return maxDiff(matmul(transpose(q, m, k), q, k, m, k), eye(k));
}

const TOL = 1e-13;

// ---------------------------------------------------------------------------------------------
// QR
// ---------------------------------------------------------------------------------------------

Deno.test("qrKernel: QR = A, QᵀQ = I, R upper with non-negative diagonal (tall, square, wide, rank-deficient)", () => {
  fc.assert(
    fc.property(shapeArb, ({ m, n, seed, kind }) => {
      const a = family(kind, m, n, seed), k = Math.min(m, n);
      const { q, r, failures } = qrKernel(a, { m, n });
      assert.deepEqual(failures, []);
      assert.ok(q instanceof Float64Array && q.length === m * k && r.length === k * n);
      assert.ok(maxDiff(matmul(q, r, m, k, n), a) <= TOL * Math.max(1, fro(a)));
      assert.ok(colOrthError(q, m, k) <= TOL);
      for (let i = 0; i < k; i++) {
        assert.ok(r[i * n + i] >= 0, "non-negative diagonal");
        for (let j = 0; j < Math.min(i, n); j++) assert.equal(r[i * n + j], 0);
      }
    }),
    { numRuns: 150 },
  );
});

Deno.test("qrKernel: a 2×2 example and the zero matrix", () => {
  const { q, r } = qrKernel(new Float64Array([3, 0, 4, 5]), { m: 2, n: 2 });
  assert.ok(maxDiff(r, [5, 4, 0, 3]) < 1e-15 && maxDiff(q, [0.6, -0.8, 0.8, 0.6]) < 1e-15);
  const z = qrKernel(new Float64Array(12), { m: 4, n: 3 });
  assert.ok(z.r.every((v) => v === 0));
  assert.ok(colOrthError(z.q, 4, 3) === 0);
});

// ---------------------------------------------------------------------------------------------
// SVD
// ---------------------------------------------------------------------------------------------

function checkSvd(a: M, m: number, n: number, method: "auto" | "jacobi" | "gk"): Float64Array {
  const k = Math.min(m, n);
  const { u, s, vh, failures } = svdKernel(a, { m, n, method });
  assert.deepEqual(failures, []);
  assert.ok(u.length === m * k && s.length === k && vh.length === k * n);
  const us = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) us[i * k + c] = u[i * k + c] * s[c];
  assert.ok(maxDiff(matmul(us, vh, m, k, n), a) <= TOL * Math.max(1, fro(a)), `USVh = A (${method})`);
  assert.ok(colOrthError(u, m, k) <= TOL, `UᵀU = I (${method})`);
  assert.ok(colOrthError(transpose(vh, k, n), n, k) <= TOL, `VhVhᵀ = I (${method})`);
  for (let i = 0; i < k; i++) {
    assert.ok(s[i] >= 0 && (i === 0 || s[i] <= s[i - 1]), "descending, non-negative");
    // sign convention: the largest-|.| entry of column i of U is positive (first on ties)
    let best = 0;
    for (let r = 1; r < m; r++) if (Math.abs(u[r * k + i]) > Math.abs(u[best * k + i])) best = r;
    assert.ok(u[best * k + i] > 0, "U sign convention");
  }
  return s as Float64Array;
}

Deno.test("svdKernel: USVh = A, orthonormal factors, descending S, both cores agree", () => {
  fc.assert(
    fc.property(shapeArb, ({ m, n, seed, kind }) => {
      const a = family(kind, m, n, seed);
      const sj = checkSvd(a, m, n, "jacobi");
      const sg = checkSvd(a, m, n, "gk");
      checkSvd(a, m, n, "auto");
      assert.ok(maxDiff(sj, sg) <= TOL * Math.max(1e-300, sj[0]));
      if (kind === "lowRank") {
        const r = Math.max(1, Math.floor(Math.min(m, n) / 2));
        for (let i = r; i < sj.length; i++) assert.ok(sj[i] <= 1e-14 * sj[0], "rank-deficient tail");
      }
      if (kind === "repeated") {
        const k = Math.min(m, n);
        for (let i = 0; i < k; i++) assert.ok(Math.abs(sj[i] - (i < Math.ceil(k / 2) ? 2 : 0.5)) <= 1e-14);
      }
    }),
    { numRuns: 100 },
  );
});

Deno.test("svdKernel: larger matrices through both cores (tall, wide, square, rank-deficient)", () => {
  for (
    const [m, n, kind] of [[80, 20, "gaussian"], [20, 80, "gaussian"], [70, 70, "lowRank"], [
      90,
      60,
      "repeated",
    ]] as const
  ) {
    const a = family(kind, m, n, m + n);
    const sj = checkSvd(a, m, n, "jacobi"), sg = checkSvd(a, m, n, "gk");
    assert.ok(maxDiff(sj, sg) <= 1e-13 * sj[0]);
  }
});

Deno.test("svdKernel: zero matrix, identity, exact scaling by 2^±600", () => {
  for (const method of ["jacobi", "gk"] as const) {
    const z = svdKernel(new Float64Array(15), { m: 5, n: 3, method });
    assert.ok(z.s.every((v) => v === 0));
    assert.ok(colOrthError(z.u, 5, 3) <= TOL && colOrthError(transpose(z.vh, 3, 3), 3, 3) <= TOL);
    const id = svdKernel(eye(4), { m: 4, n: 4, method });
    assert.ok(maxDiff(id.s, [1, 1, 1, 1]) === 0);
    const a = normals(3, 6 * 4);
    const s0 = svdKernel(a, { m: 6, n: 4, method }).s;
    for (const f of [2 ** 600, 2 ** -600]) {
      const s1 = svdKernel(a.map((v) => v * f), { m: 6, n: 4, method }).s;
      assert.ok(maxDiff(s1.map((v) => v / f), s0) <= 1e-15 * s0[0]);
    }
  }
});

Deno.test("svdKernel: near-rank-deficient graded matrix keeps small singular values (Jacobi)", () => {
  // A = U diag(1, 1e-5, 1e-10, 1e-14) Vᵀ: the Jacobi core recovers every value to ~1e-15 absolute
  const s = [1, 1e-5, 1e-10, 1e-14];
  const a = withSingularValues(9, 4, s, 11);
  const got = svdKernel(a, { m: 9, n: 4, method: "jacobi" }).s;
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(got[i] - s[i]) <= 2e-15, `σ${i}`);
});

// ---------------------------------------------------------------------------------------------
// eigh
// ---------------------------------------------------------------------------------------------

function symmetricFamily(kind: string, n: number, seed: number): { a: M; eig?: number[] } {
  if (kind === "repeated") {
    const eig = Array.from({ length: n }, (_, i) => (i < n / 2 ? -1 : 3));
    const q = orthonormal(n, n, seed);
    const ql = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < n; c++) ql[i * n + c] = q[i * n + c] * eig[c];
    const a = matmul(ql, transpose(q, n, n), n, n, n);
    const sym = a.map((_, t) => 0.5 * (a[t] + a[(t % n) * n + Math.floor(t / n)]));
    return { a: sym, eig: [...eig].sort((x, y) => x - y) };
  }
  if (kind === "diagonal") {
    const d = normals(seed, n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) a[i * n + i] = d[i];
    return { a, eig: Array.from(d).sort((x, y) => x - y) };
  }
  const x = normals(seed, n * n);
  return { a: x.map((_, t) => x[t] + x[(t % n) * n + Math.floor(t / n)]) };
}

function checkEigh(a: M, n: number): Float64Array {
  const { eigenvalues: w, eigenvectors: v, failures } = eighKernel(a, { n });
  assert.deepEqual(failures, []);
  const vl = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < n; c++) vl[i * n + c] = v[i * n + c] * w[c];
  assert.ok(maxDiff(matmul(vl, transpose(v, n, n), n, n, n), a) <= TOL * Math.max(1, fro(a)), "VΛVᵀ = A");
  assert.ok(colOrthError(v, n, n) <= TOL, "VᵀV = I");
  for (let c = 0; c < n; c++) {
    assert.ok(c === 0 || w[c] >= w[c - 1], "ascending");
    let best = 0;
    for (let r = 1; r < n; r++) if (Math.abs(v[r * n + c]) > Math.abs(v[best * n + c])) best = r;
    assert.ok(v[best * n + c] > 0, "eigenvector sign convention");
  }
  return w as Float64Array;
}

Deno.test("eighKernel: VΛVᵀ = A, VᵀV = I, ascending, repeated and diagonal spectra", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 14 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom("gaussian", "repeated", "diagonal"),
      (n, seed, kind) => {
        const { a, eig } = symmetricFamily(kind, n, seed);
        const w = checkEigh(a, n);
        if (eig) assert.ok(maxDiff(w, eig) <= 1e-14 * Math.max(1, Math.abs(eig[0]), Math.abs(eig[n - 1])));
        // trace = Σλ
        let tr = 0, sw = 0;
        for (let i = 0; i < n; i++) (tr += a[i * n + i]), (sw += w[i]);
        assert.ok(Math.abs(tr - sw) <= 1e-13 * Math.max(1, fro(a)));
      },
    ),
    { numRuns: 150 },
  );
  checkEigh(new Float64Array(9), 3);
  checkEigh(symmetricFamily("gaussian", 60, 5).a, 60);
});

Deno.test("eighKernel uses the symmetric part; symmetryError measures asymmetry", () => {
  const a = new Float64Array([2, 1, 1.5, 2]);
  const w = eighKernel(a, { n: 2 }).eigenvalues;
  assert.ok(maxDiff(w, [2 - 1.25, 2 + 1.25]) < 1e-15);
  assert.deepEqual(Array.from(symmetryError(a, { n: 2 })), [0.25]);
  assert.deepEqual(Array.from(symmetryError(new Float64Array([1, 2, 2, 1, 0, 0, 0, 0]), { n: 2 })), [0, 0]);
  assert.ok(Number.isNaN(symmetryError(new Float64Array([1, NaN, 0, 1]), { n: 2 })[0]));
});

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
