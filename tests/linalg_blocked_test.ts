/**
 * The blocked and Wasm paths of the CPU factorizations: compact-WY Householder QR and Q, the SVD's
 * rotation log and reflector kernels. They must agree with the unblocked JavaScript forms to
 * rounding (QR/SVD) or bit for bit (rotations), and factor matrices large enough to take them.
 */
import assert from "node:assert/strict";
import { qrKernel, svdKernel } from "../core/linalg/kernels.ts";
import { formQt, householderQr } from "../core/linalg/qr_kernel.ts";
import { formQtBlocked, householderQrBlocked, work } from "../core/linalg/householder_blocked.ts";
import { rot } from "../core/linalg/kernel_util.ts";
import { applyReflectorMany } from "../core/linalg/reflectors.ts";
import { RotationLog } from "../core/linalg/rotation_log.ts";
import { getHeap, heapArray } from "../core/backend/cpu/wasm/heap.ts";

/** Deterministic values in [−½, ½) (an LCG). */
function uniform(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** max |A − Q R| / max |A| and max |QᵀQ − I| for row-major A (m×n), Q (m×k), R (k×n). */
function qrErrors(a: ArrayLike<number>, q: ArrayLike<number>, r: ArrayLike<number>, m: number, n: number) {
  const k = Math.min(m, n);
  let rec = 0, orth = 0, mx = 0;
  for (let i = 0; i < m * n; i++) mx = Math.max(mx, Math.abs(a[i]));
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += q[i * k + p] * r[p * n + j];
      rec = Math.max(rec, Math.abs(s - a[i * n + j]));
    }
  }
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let p = 0; p < m; p++) s += q[p * k + i] * q[p * k + j];
      orth = Math.max(orth, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  return { rec: rec / mx, orth };
}

Deno.test("blocked Householder QR and Q equal the unblocked forms to rounding", () => {
  for (const [m, n] of [[300, 70], [97, 97], [64, 33], [40, 90]]) {
    const k = Math.min(m, n);
    const xt = uniform(n * m, m + n);
    const a = work(n * m), b = new Float64Array(n * m);
    a.set(xt);
    b.set(xt);
    const ta = new Float64Array(k), tb = new Float64Array(k);
    householderQrBlocked(a, m, n, ta);
    householderQr(b, m, n, tb);
    const qa = work(k * m), qb = new Float64Array(k * m);
    formQtBlocked(a, m, k, ta, qa);
    formQt(b, m, k, tb, qb);
    let d = 0;
    for (let i = 0; i < n * m; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    for (let i = 0; i < k * m; i++) d = Math.max(d, Math.abs(qa[i] - qb[i]));
    assert.ok(d < 1e-13, `${m}×${n}: blocked and unblocked differ by ${d}`);
  }
});

Deno.test("qrKernel and svdKernel on blocked sizes: reconstruction and orthogonality at rounding", () => {
  for (const [m, n] of [[2000, 40], [160, 120], [120, 160]]) {
    const a = uniform(m * n, 7);
    const { q, r } = qrKernel(a, { m, n });
    const e = qrErrors(a, q, r, m, n);
    assert.ok(e.rec < 1e-13 && e.orth < 1e-13, `qr ${m}×${n}: ${JSON.stringify(e)}`);
    const { u, s, vh } = svdKernel(a, { m, n });
    const k = Math.min(m, n);
    const us = Float64Array.from(u, (v, i) => v * s[i % k]);
    const f = qrErrors(a, us, vh, m, n);
    let ou = 0, ov = 0;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let su = 0, sv = 0;
        for (let p = 0; p < m; p++) su += u[p * k + i] * u[p * k + j];
        for (let p = 0; p < n; p++) sv += vh[i * n + p] * vh[j * n + p];
        ou = Math.max(ou, Math.abs(su - (i === j ? 1 : 0)));
        ov = Math.max(ov, Math.abs(sv - (i === j ? 1 : 0)));
      }
      if (i > 0) assert.ok(s[i] <= s[i - 1]);
    }
    assert.ok(f.rec < 1e-12 && ou < 1e-12 && ov < 1e-12, `svd ${m}×${n}: ${f.rec} ${ou} ${ov}`);
  }
});

Deno.test({
  name: "rotation log and reflector kernel in Wasm equal the JavaScript forms bit for bit",
  ignore: !getHeap()?.shared,
  fn: () => {
    for (const [count, len] of [[40, 37], [130, 64], [9, 3]]) {
      const rows = heapArray("float64", count * len, false) as Float64Array;
      rows.set(uniform(count * len, count));
      const want = rows.slice();
      const log = new RotationLog();
      const cs = new Float64Array(count), sn = new Float64Array(count);
      for (let t = 0; t < 40; t++) {
        const a = t % (count - 1), b = Math.min(count - 1, a + 1 + ((t * 7) % count));
        for (let j = a; j < b; j++) {
          cs[j] = Math.cos(j + t);
          sn[j] = Math.sin(j + t);
          rot(want, j * len, (j + 1) * len, len, cs[j], sn[j]);
        }
        log.chain(a, b, cs, sn);
        const x = (t * 5) % count, y = (t * 3 + 1) % count;
        if (x !== y) {
          log.one(x, y, 0.6, 0.8);
          rot(want, x * len, y * len, len, 0.6, 0.8);
        }
      }
      log.one(2, 2, -1, 0);
      for (let i = 0; i < len; i++) want[2 * len + i] = -want[2 * len + i];
      log.apply(rows, len, count);
      assert.deepEqual(rows, want, `${count}×${len}`);
    }
    // a reflector applied by the Wasm kernel (rows in the memory) and by the loop (plain rows)
    const m = 301, count = 9;
    const v = heapArray("float64", m, false) as Float64Array,
      c = heapArray("float64", count * m, false) as Float64Array;
    v.set(uniform(m, 1));
    c.set(uniform(count * m, 2));
    const v2 = v.slice(), c2 = c.slice();
    applyReflectorMany(v, 0, c, 0, m, count, m, 1.3);
    applyReflectorMany(v2, 0, c2, 0, m, count, m, 1.3);
    let d = 0;
    for (let i = 0; i < c.length; i++) d = Math.max(d, Math.abs(c[i] - c2[i]));
    assert.ok(d < 1e-13, `reflector: ${d}`);
    assert.equal(v[0], v2[0], "v₀ is restored");
  },
});
