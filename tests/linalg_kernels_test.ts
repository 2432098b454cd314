import assert from "node:assert/strict";
import fc from "fast-check";
import { eighKernel, qrKernel, svdKernel, symmetryError } from "../core/linalg/kernels.ts";

import {
  colOrthError,
  eye,
  family,
  fro,
  type M,
  matmul,
  maxDiff,
  normals,
  orthonormal,
  shapeArb,
  TOL,
  transpose,
  withSingularValues,
} from "./linalg_helpers.ts";

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
