/**
 * Jacobi methods on WebGPU, one workgroup per matrix, with the CPU kernels' conventions:
 * - SVD by one-sided (Hestenes) Jacobi on the columns of A (of Aᵀ when wide): each round rotates
 *   ⌊q/2⌋ disjoint column pairs at once (the round-robin ordering), each pair's three dot products
 *   reduced by its own group of threads; S descending, the largest-magnitude entry of each column
 *   of U positive, exactly zero singular values get vectors completed to an orthonormal set.
 * - eigh by two-sided cyclic Jacobi on (A + Aᵀ)/2 in the same parallel ordering: a round applies
 *   n/2 rotations to rows, then to columns and to V, and sets each rotated 2 × 2 block exactly
 *   (a_pq = 0); eigenvalues ascending, the largest-magnitude entry of each eigenvector positive.
 * Inputs are scaled by a power of two (max |a| ∈ [1, 2)). A sweep with no rotation ends the
 * iteration; after MAX_SWEEPS the matrix fails with `notConverged`.
 * @module
 */
import { entry, header, scanBad, WRITE_STATUS } from "./linalg_wgsl.ts";
import { memoCode } from "./wgsl.ts";

/** Sweeps before a matrix is reported as not converged. */
const MAX_SWEEPS = 60;

/** WGSL: the pair (i, j) of round `round` at position `s` of the circle method on q2 (even) items. */
const PAIR = `fn pairOf(round: u32, s: u32, q2: u32) -> vec2<u32> {
  let m = q2 - 1u;
  let a = select((s - 1u + round) % m + 1u, 0u, s == 0u);
  let b = (q2 - 2u - s + round) % m + 1u;
  return vec2<u32>(min(a, b), max(a, b));
}`;

/**
 * One-sided Jacobi SVD (uniforms m, n, count; bindings A, U, SV (singular values), VH, S (scratch:
 * the q columns being orthogonalized as contiguous vectors of length p, V as q vectors of
 * length q, σ, valid flags), ST).
 */
export function svdCode(wgs: number): string {
  return memoCode(`la-svd|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "UO", type: "f32", rw: true },
        { name: "SO", type: "f32", rw: true },
        { name: "VO", type: "f32", rw: true },
        { name: "S", type: "f32", rw: true },
        { name: "ST", type: "u32", rw: true },
      ], ["m", "n", "count"])
    }
var<workgroup> pa: array<f32, ${wgs}>;
var<workgroup> pb: array<f32, ${wgs}>;
var<workgroup> pg: array<f32, ${wgs}>;
var<workgroup> rc: array<f32, ${wgs}>;
var<workgroup> rs: array<f32, ${wgs}>;
var<workgroup> rotated: atomic<u32>;
${scanBad("A")}
${PAIR}
${entry(wgs)}
  let m = u.m; let n = u.n; let tall = m >= n;
  let p = max(m, n); let q = min(m, n);
  let xb = b * (p * q + q * q + 2u * q); let vb = xb + p * q; let sb = vb + q * q; let fb = sb + q;
  let ub = b * m * q; let hb = b * q * n;
  var kind = 0u; var idx = 0u; let val = 0.0;
  let bad = firstBadA(t, b * m * n, m * n);
  if (bad != NONE) {
    kind = 1u; idx = bad;
  } else {
    var mx = 0.0;
    for (var e = t; e < m * n; e += WGS) { mx = max(mx, abs(A[b * m * n + e])); }
    let scale = pow2Scale(wmax(t, mx));
    // vector i, entry r: column i of A (tall) or row i (wide)
    for (var e = t; e < p * q; e += WGS) {
      let i = e / p; let r = e % p;
      S[xb + e] = scale * select(A[b * m * n + i * n + r], A[b * m * n + r * n + i], tall);
    }
    for (var e = t; e < q * q; e += WGS) { S[vb + e] = select(0.0, 1.0, e / q == e % q); }
    storageBarrier();
    let q2 = q + (q & 1u);
    let npairs = q2 / 2u;
    let tol = 4.0 * sqrt(f32(p)) * 1.1920929e-7;
    var sweep = 0u;
    loop {
      if (sweep >= ${MAX_SWEEPS}u || q < 2u) { break; }
      if (t == 0u) { atomicStore(&rotated, 0u); }
      for (var round = 0u; round < q2 - 1u; round++) {
        for (var pc = 0u; pc < npairs; pc += WGS) {
          let ch = min(WGS, npairs - pc);
          let g = WGS / ch;
          let local = t / g; let lane = t % g;
          let pr = pairOf(round, pc + local, q2);
          let live = local < ch && pr.y < q;
          var sa = 0.0; var sbb = 0.0; var sg = 0.0;
          if (live) {
            let io = xb + pr.x * p; let jo = xb + pr.y * p;
            for (var r = lane; r < p; r += g) {
              let x = S[io + r]; let y = S[jo + r];
              sa += x * x; sbb += y * y; sg += x * y;
            }
          }
          pa[t] = sa; pb[t] = sbb; pg[t] = sg;
          workgroupBarrier();
          if (live && lane == 0u) {
            var a = 0.0; var bb = 0.0; var gg = 0.0;
            for (var l = 0u; l < g; l++) { a += pa[t + l]; bb += pb[t + l]; gg += pg[t + l]; }
            var c = 1.0; var s = 0.0;
            if (a >= 1e-30 && bb >= 1e-30 && abs(gg) > tol * sqrt(a) * sqrt(bb)) {
              let zeta = (bb - a) / (2.0 * gg);
              var tt = 0.0;
              if (abs(zeta) > 1e15) { tt = 1.0 / (2.0 * zeta); } else {
                tt = select(-1.0, 1.0, zeta >= 0.0) / (abs(zeta) + sqrt(1.0 + zeta * zeta));
              }
              c = 1.0 / sqrt(1.0 + tt * tt); s = c * tt;
              atomicStore(&rotated, 1u);
            }
            rc[local] = c; rs[local] = s;
          }
          workgroupBarrier();
          if (live) {
            let c = rc[local]; let s = rs[local];
            if (s != 0.0) {
              let io = xb + pr.x * p; let jo = xb + pr.y * p;
              for (var r = lane; r < p; r += g) {
                let x = S[io + r]; let y = S[jo + r];
                S[io + r] = c * x - s * y; S[jo + r] = s * x + c * y;
              }
              let vi = vb + pr.x * q; let vj = vb + pr.y * q;
              for (var r = lane; r < q; r += g) {
                let x = S[vi + r]; let y = S[vj + r];
                S[vi + r] = c * x - s * y; S[vj + r] = s * x + c * y;
              }
            }
          }
          storageBarrier();
        }
      }
      if (t == 0u) { wu = atomicLoad(&rotated); }
      if (workgroupUniformLoad(&wu) == 0u) { break; }
      sweep++;
    }
    if (sweep >= ${MAX_SWEEPS}u) { kind = 4u; } else {
      // σᵢ = ‖xᵢ‖, xᵢ normalized (σ = 0 when the squared norm underflows: completed below)
      for (var i = 0u; i < q; i++) {
        var ss = 0.0;
        for (var r = t; r < p; r += WGS) { let x = S[xb + i * p + r]; ss += x * x; }
        let s2 = wsum(t, ss);
        let sig = select(0.0, sqrt(s2), s2 >= 1e-30);
        for (var r = t; r < p; r += WGS) { S[xb + i * p + r] = select(0.0, S[xb + i * p + r] / sig, sig > 0.0); }
        if (t == 0u) { S[sb + i] = sig; S[fb + i] = select(0.0, 1.0, sig > 0.0); }
        storageBarrier();
      }
      // complete: each missing vector is the e_k with the largest component outside the others,
      // orthogonalized twice against the valid vectors
      for (var i = 0u; i < q; i++) {
        if (t == 0u) { wf = S[sb + i]; }
        if (workgroupUniformLoad(&wf) == 0.0) {
          var best = -1.0; var bk = NONE;
          for (var k = t; k < p; k += WGS) {
            var s = 1.0;
            for (var j = 0u; j < q; j++) { if (S[fb + j] > 0.0) { let z = S[xb + j * p + k]; s -= z * z; } }
            if (s > best) { best = s; bk = k; }
          }
          let kk = wargmax(t, best, bk);
          for (var r = t; r < p; r += WGS) { S[xb + i * p + r] = select(0.0, 1.0, r == kk); }
          storageBarrier();
          for (var twice = 0u; twice < 2u; twice++) {
            for (var j = 0u; j < q; j++) {
              var d = 0.0;
              for (var r = t; r < p; r += WGS) { d += S[xb + i * p + r] * S[xb + j * p + r]; }
              let dd = wsum(t, d) * select(0.0, 1.0, S[fb + j] > 0.0 && j != i);
              for (var r = t; r < p; r += WGS) { S[xb + i * p + r] -= dd * S[xb + j * p + r]; }
              storageBarrier();
            }
          }
          var nn = 0.0;
          for (var r = t; r < p; r += WGS) { let z = S[xb + i * p + r]; nn += z * z; }
          let nrm = sqrt(wsum(t, nn));
          for (var r = t; r < p; r += WGS) { S[xb + i * p + r] /= nrm; }
          storageBarrier();
          if (t == 0u) { S[fb + i] = 1.0; }
          storageBarrier();
        }
      }
      // outputs: column rank(i) of U / row rank(i) of Vh, sign from U's largest entry
      for (var i = 0u; i < q; i++) {
        let si = S[sb + i];
        var rank = 0u;
        for (var j = 0u; j < q; j++) {
          let sj = S[sb + j];
          if (sj > si || (sj == si && j < i)) { rank++; }
        }
        // U's column: xᵢ (tall) or Vᵢ (wide)
        let ob = select(vb + i * q, xb + i * p, tall);
        var bv = -1.0; var bi = NONE;
        for (var r = t; r < m; r += WGS) { let v = abs(S[ob + r]); if (v > bv) { bv = v; bi = r; } }
        let big = wargmax(t, bv, bi);
        let flip = select(1.0, -1.0, S[ob + big] < 0.0);
        if (t == 0u) { SO[b * q + rank] = si / scale; }
        for (var r = t; r < m; r += WGS) { UO[ub + r * q + rank] = flip * S[ob + r]; }
        let hbv = select(xb + i * p, vb + i * q, tall);
        for (var c = t; c < n; c += WGS) { VO[hb + rank * n + c] = flip * S[hbv + c]; }
        storageBarrier();
      }
    }
  }
  if (kind != 0u) {
    for (var e = t; e < m * q; e += WGS) { UO[ub + e] = nan(); }
    for (var e = t; e < q; e += WGS) { SO[b * q + e] = nan(); }
    for (var e = t; e < q * n; e += WGS) { VO[hb + e] = nan(); }
  }
  ${WRITE_STATUS}
}`);
}

/**
 * Two-sided Jacobi eigh (uniforms n, count, the asymmetry tolerance as f32 bits, and `raw`: skip
 * the sorting and sign convention, leaving V the product of the rotations; bindings A,
 * W (eigenvalues), V (eigenvectors), S (scratch: the working matrix, V's columns as contiguous
 * vectors, and two n × n work areas), ST). A relative asymmetry above the tolerance fails with
 * kind 5 and the asymmetry as the status value.
 */
export function eighCode(wgs: number): string {
  return memoCode(`la-eigh|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "WO", type: "f32", rw: true },
        { name: "VO", type: "f32", rw: true },
        { name: "S", type: "f32", rw: true },
        { name: "ST", type: "u32", rw: true },
      ], ["n", "count", "symTol", "raw"])
    }
var<workgroup> rc: array<f32, ${wgs}>;
var<workgroup> rs: array<f32, ${wgs}>;
var<workgroup> rp: array<f32, ${wgs}>;
var<workgroup> rq: array<f32, ${wgs}>;
var<workgroup> rotated: atomic<u32>;
${scanBad("A")}
${PAIR}
${entry(wgs)}
  let n = u.n; let nn = n * n; let ab = b * nn;
  let wb = b * 4u * nn; let vb = wb + nn; let gb = vb + nn; let hb = gb + nn;
  var kind = 0u; var idx = 0u; var val = 0.0;
  let bad = firstBadA(t, ab, nn);
  if (bad != NONE) { kind = 1u; idx = bad; } else {
    var mx = 0.0; var asym = 0.0;
    for (var e = t; e < nn; e += WGS) {
      let i = e / n; let j = e % n;
      mx = max(mx, abs(A[ab + e]));
      asym = max(asym, abs(A[ab + e] - A[ab + j * n + i]));
    }
    let amax = wmax(t, mx);
    let amx = wmax(t, asym);
    let rel = select(amx / amax, 0.0, amax == 0.0);
    if (rel > bitcast<f32>(u.symTol)) { kind = 5u; val = rel; }
  }
  if (kind == 0u) {
    var mx = 0.0;
    for (var e = t; e < nn; e += WGS) { mx = max(mx, abs(A[ab + e])); }
    let scale = pow2Scale(wmax(t, mx));
    for (var e = t; e < nn; e += WGS) {
      let i = e / n; let j = e % n;
      S[wb + e] = 0.5 * (A[ab + e] + A[ab + j * n + i]) * scale;
      S[vb + e] = select(0.0, 1.0, i == j);
    }
    storageBarrier();
    let n2 = n + (n & 1u);
    let npairs = n2 / 2u;
    var sweep = 0u;
    loop {
      if (sweep >= ${MAX_SWEEPS}u || n < 2u) { break; }
      if (t == 0u) { atomicStore(&rotated, 0u); }
      for (var round = 0u; round < n2 - 1u; round++) {
        for (var pc = 0u; pc < npairs; pc += WGS) {
          let ch = min(WGS, npairs - pc);
          // rotation of each pair: a_pq → 0 (Rutishauser's t; t = 0 when a_pq is negligible)
          if (t < ch) {
            let pr = pairOf(round, pc + t, n2);
            var c = 1.0; var s = 0.0; var tt = 0.0; var app = 0.0; var aqq = 0.0; var apq = 0.0;
            if (pr.y < n) {
              app = S[wb + pr.x * n + pr.x]; aqq = S[wb + pr.y * n + pr.y];
              apq = S[wb + pr.x * n + pr.y];
              if (abs(apq) > max(1.1920929e-7 * sqrt(abs(app)) * sqrt(abs(aqq)), 1e-30)) {
                let theta = (aqq - app) / (2.0 * apq);
                if (abs(theta) > 1e15) { tt = 1.0 / (2.0 * theta); } else {
                  tt = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(1.0 + theta * theta));
                }
                c = 1.0 / sqrt(1.0 + tt * tt); s = c * tt;
                atomicStore(&rotated, 1u);
              }
            }
            rc[t] = c; rs[t] = s; rp[t] = app - tt * apq; rq[t] = aqq + tt * apq;
          }
          workgroupBarrier();
          // rows p, q of every rotated pair: Jᵀ A
          for (var e = t; e < ch * n; e += WGS) {
            let l = e / n; let k = e % n;
            let s = rs[l];
            if (s != 0.0) {
              let c = rc[l]; let pr = pairOf(round, pc + l, n2);
              let x = S[wb + pr.x * n + k]; let y = S[wb + pr.y * n + k];
              S[wb + pr.x * n + k] = c * x - s * y; S[wb + pr.y * n + k] = s * x + c * y;
            }
          }
          storageBarrier();
          // columns p, q: A J, and V J
          for (var e = t; e < ch * n; e += WGS) {
            let l = e / n; let k = e % n;
            let s = rs[l];
            if (s != 0.0) {
              let c = rc[l]; let pr = pairOf(round, pc + l, n2);
              let x = S[wb + k * n + pr.x]; let y = S[wb + k * n + pr.y];
              S[wb + k * n + pr.x] = c * x - s * y; S[wb + k * n + pr.y] = s * x + c * y;
              let vx = S[vb + pr.x * n + k]; let vy = S[vb + pr.y * n + k];
              S[vb + pr.x * n + k] = c * vx - s * vy; S[vb + pr.y * n + k] = s * vx + c * vy;
            }
          }
          storageBarrier();
          // the rotated 2 × 2 blocks exactly: diag(a_pp − t a_pq, a_qq + t a_pq), a_pq = 0
          if (t < ch && rs[t] != 0.0) {
            let pr = pairOf(round, pc + t, n2);
            S[wb + pr.x * n + pr.x] = rp[t]; S[wb + pr.y * n + pr.y] = rq[t];
            S[wb + pr.x * n + pr.y] = 0.0; S[wb + pr.y * n + pr.x] = 0.0;
          }
          storageBarrier();
        }
      }
      if (t == 0u) { wu = atomicLoad(&rotated); }
      if (workgroupUniformLoad(&wu) == 0u) { break; }
      sweep++;
    }
    if (sweep >= ${MAX_SWEEPS}u) { kind = 4u; } else {
      // one Newton–Schulz step on the eigenvector rows, V ← 1.5 V − 0.5 (V Vᵀ) V: removes the
      // rounding the thousands of rotations left in VᵀV − I (ε·count → ε²)
      for (var e = t; e < nn; e += WGS) {
        let i = e / n; let j = e % n;
        var g = 0.0;
        for (var r = 0u; r < n; r++) { g += S[vb + i * n + r] * S[vb + j * n + r]; }
        S[gb + e] = g;
      }
      storageBarrier();
      for (var e = t; e < nn; e += WGS) {
        let i = e / n; let c = e % n;
        var h = 0.0;
        for (var j = 0u; j < n; j++) { h += S[gb + i * n + j] * S[vb + j * n + c]; }
        S[hb + e] = 1.5 * S[vb + e] - 0.5 * h;
      }
      storageBarrier();
      for (var e = t; e < nn; e += WGS) { S[vb + e] = S[hb + e]; }
      storageBarrier();
      for (var i = 0u; i < n; i++) {
        let wi = S[wb + i * n + i];
        var rank = 0u;
        for (var j = 0u; j < n; j++) {
          let wj = S[wb + j * n + j];
          if (wj < wi || (wj == wi && j < i)) { rank++; }
        }
        // raw: the accumulated rotations as they are (near the identity for a nearly diagonal A)
        if (u.raw != 0u) { rank = i; }
        var bv = -1.0; var bi = NONE;
        for (var r = t; r < n; r += WGS) { let v = abs(S[vb + i * n + r]); if (v > bv) { bv = v; bi = r; } }
        let big = wargmax(t, bv, bi);
        let flip = select(select(1.0, -1.0, S[vb + i * n + big] < 0.0), 1.0, u.raw != 0u);
        if (t == 0u) { WO[b * n + rank] = wi / scale; }
        for (var r = t; r < n; r += WGS) { VO[ab + r * n + rank] = flip * S[vb + i * n + r]; }
        storageBarrier();
      }
    }
  }
  if (kind != 0u) {
    for (var e = t; e < n; e += WGS) { WO[b * n + e] = nan(); }
    for (var e = t; e < nn; e += WGS) { VO[ab + e] = nan(); }
  }
  ${WRITE_STATUS}
}`);
}
