/**
 * Shared helpers of the CPU GEMM tests: deterministic operands in the Wasm memory and a product into
 * a fresh C, so each test compares a path's bits with the reference path's.
 * @module
 */
import { gemm } from "../core/backend/cpu/matmul.ts";
import { heapArray } from "../core/backend/cpu/wasm/heap.ts";

/** A float32 or float64 operand. */
export type F = Float32Array | Float64Array;
/** The CPU GEMM's element types. */
export type D = "float32" | "float64";

/** Deterministic values in [-1, 1) (a linear congruential generator). */
export function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1);
}

/** An array of `len` elements in the Wasm memory (or a plain one where there is no shared memory). */
export function array(dtype: D, len: number): F {
  return (heapArray(dtype, len, false) as F | null) ??
    (dtype === "float32" ? new Float32Array(len) : new Float64Array(len));
}

/** An array of `len` elements in the Wasm memory filled with `values(len, seed)`. */
export function filled(dtype: D, len: number, seed: number): F {
  const x = array(dtype, len);
  x.set(values(len, seed));
  return x;
}

/** op(A)·op(B) (m × n, inner k) with the given transposes into a fresh C in the memory (filled with 7 first). */
export function product(dtype: D, a: F, ta: boolean, b: F, tb: boolean, m: number, n: number, k: number): F {
  const c = array(dtype, m * n).fill(7);
  gemm(a, 0, ta, b, 0, tb, c, 0, m, n, k);
  return c.slice();
}

/** `f` with `set(off)` in force, restoring the previous setting after. */
export function withSetting<S, T>(set: (s: S) => S, value: S, f: () => T): T {
  const old = set(value);
  try {
    return f();
  } finally {
    set(old);
  }
}
