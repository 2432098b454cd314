/**
 * Cholesky and LU with partial pivoting for a batch of matrices, one workgroup per matrix,
 * right-looking (the trailing update spread over the workgroup's threads), plus the checks of a
 * triangular solve. The statuses follow the CPU kernels (core/linalg/kernels.ts): a non-finite
 * entry anywhere in the matrix, Cholesky's first non-positive pivot, the solve's first zero
 * diagonal entry. Meant for orders up to a few hundred; larger ones go through the blocked
 * versions (linalg_blocked.ts), which call these on their diagonal blocks.
 * @module
 */
import { entry, header, scanBad, WRITE_STATUS } from "./linalg_wgsl.ts";
import { memoCode } from "./wgsl.ts";

/**
 * Cholesky A = L Lᵀ of the lower triangle of each n×n matrix (uniforms n, count; bindings A, L,
 * ST). A failed matrix (non-finite, or a pivot ≤ 0 or NaN at column j) gets NaN everywhere.
 */
export function choleskyCode(wgs: number): string {
  return memoCode(`la-chol|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "L", type: "f32", rw: true },
        { name: "ST", type: "u32", rw: true },
      ], ["n", "count"])
    }
${scanBad("A")}
${entry(wgs)}
  let n = u.n; let base = b * n * n; let nn = n * n;
  var kind = 0u; var idx = 0u; let val = 0.0;
  let bad = firstBadA(t, base, nn);
  if (bad != NONE) { kind = 1u; idx = bad; } else {
    for (var e = t; e < nn; e += WGS) { L[base + e] = select(0.0, A[base + e], e % n <= e / n); }
    storageBarrier();
    for (var j = 0u; j < n; j++) {
      let jj = base + j * n + j;
      if (t == 0u) {
        let d = L[jj];
        if (d > 0.0) { L[jj] = sqrt(d); wu = NONE; } else { wu = j; }
      }
      let f = workgroupUniformLoad(&wu);
      if (f != NONE) { kind = 2u; idx = f; break; }
      storageBarrier();
      let ljj = L[jj];
      for (var i = j + 1u + t; i < n; i += WGS) { L[base + i * n + j] = L[base + i * n + j] / ljj; }
      storageBarrier();
      // L[i][k] −= L[i][j] L[k][j] for j < k ≤ i
      let r = n - j - 1u;
      for (var e = t; e < r * r; e += WGS) {
        let ii = e / r; let kk = e % r;
        if (kk <= ii) {
          let i = j + 1u + ii; let k = j + 1u + kk;
          L[base + i * n + k] -= L[base + i * n + j] * L[base + k * n + j];
        }
      }
      storageBarrier();
    }
  }
  if (kind != 0u) { for (var e = t; e < nn; e += WGS) { L[base + e] = nan(); } }
  ${WRITE_STATUS}
}`);
}

/**
 * LU with partial pivoting, P A = L U packed (uniforms n, count; bindings A, LU, PERM (i32),
 * SIGN (f32), ST). The pivot is the first entry of largest magnitude; an exactly zero column is
 * skipped (U gets a zero on its diagonal) as in LAPACK's getrf. Only a non-finite entry fails.
 */
export function luCode(wgs: number): string {
  return memoCode(`la-lu|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "LU", type: "f32", rw: true },
        { name: "PERM", type: "i32", rw: true },
        { name: "SIGN", type: "f32", rw: true },
        { name: "ST", type: "u32", rw: true },
      ], ["n", "count"])
    }
${scanBad("A")}
${entry(wgs)}
  let n = u.n; let base = b * n * n; let nn = n * n; let pb = b * n;
  var kind = 0u; var idx = 0u; let val = 0.0;
  var sg = 1.0;
  for (var i = t; i < n; i += WGS) { PERM[pb + i] = i32(i); }
  let bad = firstBadA(t, base, nn);
  if (bad != NONE) {
    kind = 1u; idx = bad;
    for (var e = t; e < nn; e += WGS) { LU[base + e] = nan(); }
  } else {
    for (var e = t; e < nn; e += WGS) { LU[base + e] = A[base + e]; }
    storageBarrier();
    for (var k = 0u; k < n; k++) {
      var bv = -1.0; var bi = NONE;
      for (var i = k + t; i < n; i += WGS) {
        let v = abs(LU[base + i * n + k]);
        if (v > bv) { bv = v; bi = i; }
      }
      let piv = wargmax(t, bv, bi);
      if (piv == NONE) { continue; }
      if (t == 0u) { wf = abs(LU[base + piv * n + k]); }
      if (workgroupUniformLoad(&wf) == 0.0) { continue; }
      if (piv != k) {
        for (var j = t; j < n; j += WGS) {
          let x = LU[base + k * n + j];
          LU[base + k * n + j] = LU[base + piv * n + j];
          LU[base + piv * n + j] = x;
        }
        if (t == 0u) { let p = PERM[pb + k]; PERM[pb + k] = PERM[pb + piv]; PERM[pb + piv] = p; }
        sg = -sg;
        storageBarrier();
      }
      let pk = LU[base + k * n + k];
      for (var i = k + 1u + t; i < n; i += WGS) { LU[base + i * n + k] = LU[base + i * n + k] / pk; }
      storageBarrier();
      let r = n - k - 1u;
      for (var e = t; e < r * r; e += WGS) {
        let i = k + 1u + e / r; let j = k + 1u + e % r;
        LU[base + i * n + j] -= LU[base + i * n + k] * LU[base + k * n + j];
      }
      storageBarrier();
    }
  }
  if (t == 0u) { SIGN[b] = sg; }
  ${WRITE_STATUS}
}`);
}

/**
 * The checks of a triangular solve op(A)⁻¹B, per system (uniforms n, k, count, aBatched, unit;
 * bindings A, B, ST): a non-finite entry of A (kind 1) or else of B (kind 6), else the first zero
 * diagonal entry of A (kind 3) unless the diagonal is taken as ones.
 */
export function triangularCheckCode(wgs: number): string {
  return memoCode(`la-trs-check|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "B", type: "f32" },
        { name: "ST", type: "u32", rw: true },
      ], ["n", "k", "count", "aBatched", "unit"])
    }
${scanBad("A")}
${scanBad("B")}
${entry(wgs)}
  let n = u.n; let aBase = select(0u, b * n * n, u.aBatched != 0u);
  var kind = 0u; var idx = 0u; let val = 0.0;
  let badA = firstBadA(t, aBase, n * n);
  let badB = firstBadB(t, b * n * u.k, n * u.k);
  if (badA != NONE) { kind = 1u; idx = badA; } else if (badB != NONE) { kind = 6u; idx = badB; } else if (u.unit == 0u) {
    var z = NONE;
    for (var i = t; i < n; i += WGS) { if (z == NONE && A[aBase + i * n + i] == 0.0) { z = i; } }
    let zi = wmin(t, z);
    if (zi != NONE) { kind = 3u; idx = zi; }
  }
  ${WRITE_STATUS}
}`);
}
