/**
 * Golub–Kahan SVD of one matrix: Householder bidiagonalization, then implicit-shift QR on the
 * bidiagonal with the rotations applied to the singular vectors.
 * @module
 */
import { axpy, EPS, hypot, TINY } from "./kernel_util.ts";
import { applyReflectorMany, householder } from "./reflectors.ts";
import { RotationLog } from "./rotation_log.ts";
import { formQt } from "./qr_kernel.ts";
import { BLOCK, done, formQtBlocked, work } from "./householder_blocked.ts";
import { wasmRank1Rows, wasmSumRows } from "../backend/cpu/wasm/reflect.ts";

/** The rotation logs of U and V, kept from call to call (their buffers only ever grow). */
const LOG_U = new RotationLog(), LOG_V = new RotationLog();

/**
 * Golub–Kahan SVD of the p×q matrix X (p ≥ q) given by its columns as rows (xt is q×p; destroyed):
 * Householder bidiagonalization X = U B Vᵀ, then implicit-shift QR on the bidiagonal B (the
 * LINPACK dsvdc iteration: Wilkinson-type shift from the trailing 2×2 of BᵀB, zero-chasing, and
 * deflation where |e_k| ≤ ε(|s_k| + |s_{k+1}|)). Writes ut (q×p, rows = left vectors), s (q,
 * non-negative, unsorted) and vt (q×q, rows = right vectors). Returns false on no convergence.
 */
export function golubKahan(
  xt: Float64Array,
  p: number,
  q: number,
  ut: Float64Array,
  s: Float64Array,
  vt: Float64Array,
): boolean {
  const e = new Float64Array(q);
  const tauL = new Float64Array(q), tauR = new Float64Array(q);
  const rv = work(q * q); // right reflectors, row k = [1, u₁, …] on coords k+1 …
  const w = work(p);
  // Bidiagonalize: left reflector on column k (contiguous row k of xt), right reflector on row k.
  for (let k = 0; k < q; k++) {
    const ko = k * p + k, len = p - k;
    const tl = householder(xt, ko, len);
    tauL[k] = tl;
    s[k] = xt[ko];
    if (tl !== 0) applyReflectorMany(xt, ko, xt, (k + 1) * p + k, p, q - k - 1, len, tl);
    if (k < q - 2) {
      // u = X[k, k+1:] (strided in xt), reflect it to β e₁
      const ul = q - k - 1, uo = k * q;
      for (let t = 0; t < ul; t++) rv[uo + t] = xt[(k + 1 + t) * p + k];
      const tr = householder(rv, uo, ul);
      tauR[k] = tr;
      e[k] = rv[uo];
      rv[uo] = 1;
      if (tr !== 0) rightReflect(xt, p, k, ul, rv, uo, tr, w);
    } else if (k === q - 2) {
      e[k] = xt[(k + 1) * p + k];
    }
  }
  e[q - 1] = 0;
  // U from the left reflectors; V = G₀G₁⋯G_{q−3}, G_k on coords k+1 … (both as rows: vectors)
  formVectors(xt, p, q, tauL, ut, rv, tauR, vt);

  // Implicit-shift QR on the bidiagonal (s on the diagonal, e above it). Its rotations are recorded
  // and applied to the vector rows of U and V once it has converged.
  const logU = LOG_U, logV = LOG_V;
  logU.clear();
  logV.clear();
  const csU = new Float64Array(q), snU = new Float64Array(q);
  const csV = new Float64Array(q), snV = new Float64Array(q);
  let pa = q; // active size
  let steps = 0;
  const maxSteps = 100 + 75 * q;
  while (pa > 0) {
    if (steps > maxSteps) {
      done(rv, w);
      return false;
    }
    let k: number, kase: number;
    for (k = pa - 2; k >= 0; k--) {
      if (Math.abs(e[k]) <= TINY + EPS * (Math.abs(s[k]) + Math.abs(s[k + 1]))) {
        e[k] = 0;
        break;
      }
    }
    if (k === pa - 2) {
      kase = 4;
    } else {
      let ks: number;
      for (ks = pa - 1; ks > k; ks--) {
        const t = (ks !== pa ? Math.abs(e[ks]) : 0) + (ks !== k + 1 ? Math.abs(e[ks - 1]) : 0);
        if (Math.abs(s[ks]) <= TINY + EPS * t) {
          s[ks] = 0;
          break;
        }
      }
      if (ks === k) kase = 3;
      else if (ks === pa - 1) kase = 1;
      else {
        kase = 2;
        k = ks;
      }
    }
    k++;
    if (kase === 1) {
      // deflate a negligible s[pa−1]: chase e[pa−2] up with rotations from the right
      let f = e[pa - 2];
      e[pa - 2] = 0;
      for (let j = pa - 2; j >= k; j--) {
        const t = hypot(s[j], f);
        const cs = t === 0 ? 1 : s[j] / t, sn = t === 0 ? 0 : f / t;
        s[j] = t;
        if (j !== k) {
          f = -sn * e[j - 1];
          e[j - 1] = cs * e[j - 1];
        }
        logV.one(j, pa - 1, cs, sn);
      }
    } else if (kase === 2) {
      // split at a negligible s[k−1]: chase e[k−1] down with rotations from the left
      let f = e[k - 1];
      e[k - 1] = 0;
      for (let j = k; j < pa; j++) {
        const t = hypot(s[j], f);
        const cs = t === 0 ? 1 : s[j] / t, sn = t === 0 ? 0 : f / t;
        s[j] = t;
        f = -sn * e[j];
        e[j] = cs * e[j];
        logU.one(j, k - 1, cs, sn);
      }
    } else if (kase === 3) {
      // one QR step on rows/columns k … pa−1, shift from the trailing 2×2 of BᵀB
      steps++;
      const scale = Math.max(
        Math.abs(s[pa - 1]),
        Math.abs(s[pa - 2]),
        Math.abs(e[pa - 2]),
        Math.abs(s[k]),
        Math.abs(e[k]),
      );
      const sp = s[pa - 1] / scale, spm1 = s[pa - 2] / scale, epm1 = e[pa - 2] / scale;
      const sk = s[k] / scale, ek = e[k] / scale;
      const bb = ((spm1 + sp) * (spm1 - sp) + epm1 * epm1) / 2;
      const cc = sp * epm1 * (sp * epm1);
      let shift = 0;
      if (bb !== 0 || cc !== 0) {
        shift = Math.sqrt(bb * bb + cc);
        if (bb < 0) shift = -shift;
        shift = cc / (bb + shift);
      }
      let f = (sk + sp) * (sk - sp) + shift;
      let g = sk * ek;
      for (let j = k; j < pa - 1; j++) {
        let t = hypot(f, g);
        let cs = t === 0 ? 1 : f / t, sn = t === 0 ? 0 : g / t;
        if (j !== k) e[j - 1] = t;
        f = cs * s[j] + sn * e[j];
        e[j] = cs * e[j] - sn * s[j];
        g = sn * s[j + 1];
        s[j + 1] = cs * s[j + 1];
        csV[j] = cs;
        snV[j] = sn;
        t = hypot(f, g);
        cs = t === 0 ? 1 : f / t;
        sn = t === 0 ? 0 : g / t;
        s[j] = t;
        f = cs * e[j] + sn * s[j + 1];
        s[j + 1] = -sn * e[j] + cs * s[j + 1];
        g = sn * e[j + 1];
        e[j + 1] = cs * e[j + 1];
        csU[j] = cs;
        snU[j] = sn;
      }
      e[pa - 2] = f;
      logV.chain(k, pa - 1, csV, snV);
      logU.chain(k, pa - 1, csU, snU);
    } else {
      // converged: s[k] is a singular value; make it non-negative
      if (s[k] < 0) {
        s[k] = -s[k];
        logV.one(k, k, -1, 0); // row k of V negated
      } else if (s[k] === 0) s[k] = 0; // −0 → 0
      pa--;
    }
  }
  logU.apply(ut, p, q);
  logV.apply(vt, q, q);
  done(rv, w);
  return true;
}

/**
 * U (as rows, `ut`, q×p) from the left reflectors in `xt` and V (`vt`, q×q) from the right ones in
 * `rv` (row k = [1, u₁, …] on coordinates k+1 …): blocked (compact WY through the GEMM) once q is a
 * whole block, else reflector by reflector.
 */
function formVectors(
  xt: Float64Array,
  p: number,
  q: number,
  tauL: Float64Array,
  ut: Float64Array,
  rv: Float64Array,
  tauR: Float64Array,
  vt: Float64Array,
): void {
  if (q < BLOCK + 2) {
    formQt(xt, p, q, tauL, ut);
    vt.fill(0, 0, q * q);
    for (let c = 0; c < q; c++) vt[c * q + c] = 1;
    for (let k = q - 3; k >= 0; k--) {
      const t = tauR[k];
      if (t !== 0) applyReflectorMany(rv, k * q, vt, (k + 1) * q + k + 1, q, q - k - 1, q - k - 1, t);
    }
    return;
  }
  formQtBlocked(xt, p, q, tauL, ut);
  // V = [1, 0; 0, V'] with V' (q−1)×(q−1) the thin Q of the q−2 right reflectors in QR storage
  const n1 = q - 1;
  const rx = work(n1 * n1), qv = work(n1 * n1), tau = new Float64Array(n1);
  rx.fill(0);
  for (let k = 0; k < q - 2; k++) {
    for (let t = 1; t < q - k - 1; t++) rx[k * n1 + k + t] = rv[k * q + t];
    tau[k] = tauR[k];
  }
  formQtBlocked(rx, n1, n1, tau, qv);
  vt.fill(0, 0, q * q);
  vt[0] = 1;
  for (let c = 0; c < n1; c++) vt.set(qv.subarray(c * n1, c * n1 + n1), (c + 1) * q + 1);
  done(rx, qv);
}

/**
 * Right Householder update of the bidiagonalization, in the columns-as-rows storage xt (q×p):
 * rows i > k of X get X[i, k+1:] −= τ (X[i, k+1:]·u) uᵀ. With wᵢ = Σ_t u_t xt[k+1+t][i], that is
 * xt[k+1+t][i] −= τ u_t wᵢ: four column rows per pass for both the product and the update.
 */
function rightReflect(
  xt: Float64Array,
  p: number,
  k: number,
  ul: number,
  rv: Float64Array,
  uo: number,
  tau: number,
  w: Float64Array,
): void {
  const wl = p - k - 1, base = (k + 1) * p + k + 1;
  // w = Σ_t u_t · row_t, then row_t −= τ u_t w (in Wasm where the buffers live in its memory)
  if (!wasmSumRows(rv, uo, xt, base, p, ul, wl, w, 0)) sumRowsJs(xt, p, base, ul, rv, uo, w, wl);
  if (wasmRank1Rows(rv, uo, xt, base, p, ul, wl, w, 0, -tau)) return;
  let t = 0;
  for (; t + 3 < ul; t += 4) {
    const u0 = -tau * rv[uo + t], u1 = -tau * rv[uo + t + 1];
    const u2 = -tau * rv[uo + t + 2], u3 = -tau * rv[uo + t + 3];
    const o0 = base + t * p, o1 = o0 + p, o2 = o1 + p, o3 = o2 + p;
    for (let i = 0; i < wl; i++) {
      const wi = w[i];
      xt[o0 + i] += u0 * wi;
      xt[o1 + i] += u1 * wi;
      xt[o2 + i] += u2 * wi;
      xt[o3 + i] += u3 * wi;
    }
  }
  for (; t < ul; t++) axpy(-tau * rv[uo + t], w, 0, xt, base + t * p, wl);
}

/** w[0 …< wl] = Σ_t u_t · xt[base + t·p …] over `ul` rows (four rows per pass). */
function sumRowsJs(
  xt: Float64Array,
  p: number,
  base: number,
  ul: number,
  rv: Float64Array,
  uo: number,
  w: Float64Array,
  wl: number,
): void {
  w.fill(0, 0, wl);
  let t = 0;
  for (; t + 3 < ul; t += 4) {
    const u0 = rv[uo + t], u1 = rv[uo + t + 1], u2 = rv[uo + t + 2], u3 = rv[uo + t + 3];
    const o0 = base + t * p, o1 = o0 + p, o2 = o1 + p, o3 = o2 + p;
    for (let i = 0; i < wl; i++) w[i] += u0 * xt[o0 + i] + u1 * xt[o1 + i] + u2 * xt[o2 + i] + u3 * xt[o3 + i];
  }
  for (; t < ul; t++) axpy(rv[uo + t], xt, base + t * p, w, 0, wl);
}
