/** Dense float64 helpers and matrix families shared by the linalg kernel tests. */
import fc from "fast-check";
import assert from "node:assert/strict";
import { type FloatArray, qrKernel } from "../core/linalg/kernels.ts";

export type M = Float64Array;

/** mulberry32 → standard normals (Box–Muller); deterministic from the seed. */
export function normals(seed: number, count: number): M {
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

export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): M {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < k; t++) {
      const v = a[i * k + t];
      for (let j = 0; j < n; j++) c[i * n + j] += v * b[t * n + j];
    }
  }
  return c;
}

export function transpose(a: ArrayLike<number>, m: number, n: number): M {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) c[j * m + i] = a[i * n + j];
  return c;
}

export function eye(n: number): M {
  const e = new Float64Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = 1;
  return e;
}

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export function fro(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Slice matrix number b of a batch. */
export function at(a: FloatArray, b: number, size: number): M {
  return Float64Array.from(a.subarray(b * size, (b + 1) * size));
}

/** Random orthonormal columns (m×k) from the QR kernel. */
export function orthonormal(m: number, k: number, seed: number): M {
  return qrKernel(normals(seed, m * k), { m, n: k }).q as M;
}

/** U diag(s) Vᵀ with random orthonormal U, V: singular values known exactly (up to rounding). */
export function withSingularValues(m: number, n: number, s: number[], seed: number): M {
  const k = s.length;
  const u = orthonormal(m, k, seed), v = orthonormal(n, k, seed + 1);
  const us = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let c = 0; c < k; c++) us[i * k + c] = u[i * k + c] * s[c];
  return matmul(us, transpose(v, n, k), m, k, n);
}

export type Kind = "gaussian" | "lowRank" | "repeated" | "graded" | "zeroColumn";

/** A matrix family: gaussian, product of thin factors, repeated singular values, graded columns. */
export function family(kind: Kind, m: number, n: number, seed: number): M {
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

export const kinds: Kind[] = ["gaussian", "lowRank", "repeated", "graded", "zeroColumn"];
export const shapeArb = fc.record({
  m: fc.integer({ min: 1, max: 12 }),
  n: fc.integer({ min: 1, max: 12 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  kind: fc.constantFrom(...kinds),
});

/** ‖QᵀQ − I‖_max for Q m×k (columns). */
export function colOrthError(q: ArrayLike<number>, m: number, k: number): number {
  return maxDiff(matmul(transpose(q, m, k), q, k, m, k), eye(k));
}

export const TOL = 1e-13;
