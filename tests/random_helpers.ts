/**
 * Shared helpers of the tests of random draws under transformations: exact comparison of draws and a
 * counter of the backend's `random` kernel calls.
 * @module
 */
import assert from "node:assert/strict";
import { getBackend, type Tensor } from "../mod.ts";
import type { Kernel } from "../core/backend/backend.ts";

/** The elements of `t` as plain numbers (bits compared exactly: NaN never occurs in draws). */
export const vals = (t: Tensor): number[] => Array.from(t.dataSync(), Number);

/** Asserts that `a` and `b` have the same shape, dtype and elements. */
export function assertSame(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  assert.equal(a.dtype, b.dtype, `${what}: dtype`);
  assert.deepEqual(vals(a), vals(b), `${what}: values`);
}

/** Runs `f` counting the current backend's `random` kernel calls. */
export function countDraws<T>(f: () => T): [T, number] {
  const kernels = getBackend().kernels;
  const real = kernels.get("random")!;
  let n = 0;
  kernels.set("random", ((...a: Parameters<Kernel>) => (n++, real(...a))) as Kernel);
  try {
    return [f(), n];
  } finally {
    kernels.set("random", real);
  }
}
