/**
 * Householder QR on WebGPU, one workgroup per matrix: A = Q R with Q (m × k) orthonormal columns,
 * R (k × n) upper triangular with a non-negative diagonal, k = min(m, n) — the CPU kernel's
 * convention. The matrix is scaled by a power of two (max |a| ∈ [1, 2)) so squares neither
 * overflow nor underflow in float32; each reflector (LAPACK's dlarfg) is applied to the trailing
 * columns with the workgroup split over columns and row phases (a tall matrix uses every thread),
 * and Q is formed backwards from the reflectors (dorgqr). Any m and n work; the cost per matrix is
 * O(mnk) on one workgroup, which suits the small and tall-skinny matrices adapters and Stiefel
 * points have.
 * @module
 */
import type { Storage } from "../backend.ts";
import type { WebGPUBackend } from "./backend.ts";
import { describe, type FailureLog } from "./linalg_status.ts";
import { entry, groupSize, header, runPerMatrix, scanBad, WRITE_STATUS } from "./linalg_wgsl.ts";
import { Uniforms } from "./runtime.ts";
import { checkLoops, loopEstimates } from "./linalg_tuning.ts";
import { memoCode } from "./wgsl.ts";

/**
 * QR kernel (uniforms m, n, count; bindings A, Q, R, S (scratch: the scaled matrix with the
 * reflectors below its diagonal, Q's work copy, τ), ST).
 */
function qrCode(wgs: number): string {
  return memoCode(`la-qr|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "Q", type: "f32", rw: true },
        { name: "R", type: "f32", rw: true },
        { name: "S", type: "f32", rw: true },
        { name: "ST", type: "u32", rw: true },
      ], ["m", "n", "count"])
    }
var<workgroup> wv: array<f32, ${wgs}>;
${scanBad("A")}
// H = I − τ v vᵀ (v = S[xb + r·ldx + j] below row j, 1 at row j) applied to columns [c0, c1) of
// the matrix at S[mb] (leading dimension ld), rows j … m−1
fn reflect(t: u32, xb: u32, ldx: u32, j: u32, tau: f32, mb: u32, ld: u32, cs: u32, ce: u32) {
  let m = u.m;
  for (var c0 = cs; c0 < ce; c0 += WGS) {
    let nc = min(WGS, ce - c0);
    let phases = WGS / nc;
    let p = t / nc; let c = c0 + t % nc;
    var acc = 0.0;
    if (p < phases) {
      for (var r = j + p; r < m; r += phases) {
        let v = select(S[xb + r * ldx + j], 1.0, r == j);
        acc += v * S[mb + r * ld + c];
      }
    }
    red[t] = acc;
    workgroupBarrier();
    if (t < nc) {
      var s = 0.0;
      for (var q = 0u; q < phases; q++) { s += red[q * nc + t]; }
      wv[t] = s * tau;
    }
    workgroupBarrier();
    let rows = m - j;
    for (var e = t; e < rows * nc; e += WGS) {
      let r = j + e / nc; let cc = e % nc;
      let v = select(S[xb + r * ldx + j], 1.0, r == j);
      S[mb + r * ld + c0 + cc] -= wv[cc] * v;
    }
    storageBarrier();
  }
}
${entry(wgs)}
  let m = u.m; let n = u.n; let k = min(m, n);
  let xb = b * (m * n + m * k + k); let qb = xb + m * n; let tb = qb + m * k;
  var kind = 0u; var idx = 0u; let val = 0.0;
  let bad = firstBadA(t, b * m * n, m * n);
  if (bad != NONE) {
    kind = 1u; idx = bad;
    for (var e = t; e < m * k; e += WGS) { Q[b * m * k + e] = nan(); }
    for (var e = t; e < k * n; e += WGS) { R[b * k * n + e] = nan(); }
  } else {
    var mx = 0.0;
    for (var e = t; e < m * n; e += WGS) { mx = max(mx, abs(A[b * m * n + e])); }
    let scale = pow2Scale(wmax(t, mx));
    for (var e = t; e < m * n; e += WGS) { S[xb + e] = A[b * m * n + e] * scale; }
    for (var e = t; e < m * k; e += WGS) { S[qb + e] = select(0.0, 1.0, e / k == e % k); }
    storageBarrier();
    for (var j = 0u; j < k; j++) {
      var ss = 0.0;
      for (var r = j + 1u + t; r < m; r += WGS) { let x = S[xb + r * n + j]; ss += x * x; }
      let xn2 = wsum(t, ss);
      let alpha = S[xb + j * n + j];
      var tau = 0.0;
      if (xn2 > 0.0) {
        let beta = select(sqrt(alpha * alpha + xn2), -sqrt(alpha * alpha + xn2), alpha >= 0.0);
        tau = (beta - alpha) / beta;
        let f = 1.0 / (alpha - beta);
        for (var r = j + 1u + t; r < m; r += WGS) { S[xb + r * n + j] *= f; }
        storageBarrier();
        if (t == 0u) { S[xb + j * n + j] = beta; }
        reflect(t, xb, n, j, tau, xb, n, j + 1u, n);
      }
      if (t == 0u) { S[tb + j] = tau; }
    }
    storageBarrier();
    // Q = H₀ H₁ ⋯ H_{k−1} [I; 0], the reflectors applied last first
    for (var jj = 0u; jj < k; jj++) {
      let j = k - 1u - jj;
      let tau = S[tb + j];
      reflect(t, xb, n, j, tau, qb, k, j, k);
    }
    // R = diag(±1) X / scale, Q = Q diag(±1): R's diagonal made non-negative
    for (var e = t; e < k * n; e += WGS) {
      let i = e / n; let c = e % n;
      let flip = select(1.0, -1.0, S[xb + i * n + i] < 0.0);
      R[b * k * n + e] = select(0.0, flip * S[xb + e] / scale, c >= i);
    }
    for (var e = t; e < m * k; e += WGS) {
      let c = e % k;
      let flip = select(1.0, -1.0, S[xb + c * n + c] < 0.0);
      Q[b * m * k + e] = flip * S[qb + e];
    }
  }
  ${WRITE_STATUS}
}`);
}

/** Registers `qr`. */
export function registerQr(gpu: WebGPUBackend, log: FailureLog): void {
  gpu.kernels.set("qr", ([x], [xa], _p, [qo, ro]): Storage[] => {
    const nd = xa.shape.length;
    const m = xa.shape[nd - 2], n = xa.shape[nd - 1], k = Math.min(m, n);
    const cnt = xa.shape.slice(0, -2).reduce((a, b) => a * b, 1);
    checkLoops("qr", xa.shape, loopEstimates.qr(m, n));
    const q = gpu.alloc(qo), r = gpu.alloc(ro);
    if (cnt > 0) {
      const scratch = gpu.runtime.alloc(cnt * (m * n + m * k + k) * 4);
      const region = log.region(cnt);
      runPerMatrix(
        gpu,
        qrCode(groupSize(Math.max(m, n))),
        [gpu.buf(x)],
        [q, r, scratch, region],
        new Uniforms().u(m, n, cnt).u32,
        cnt,
      );
      gpu.runtime.free(scratch);
      log.fold(region, cnt, `qr|${xa.shape}`, describe("qr", xa.shape, n));
    }
    return [gpu.wrap(q, qo), gpu.wrap(r, ro)];
  });
}
