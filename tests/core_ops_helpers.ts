/** Naive reference helpers shared by the core ops tests. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Tensor, tensor } from "../mod.ts";
import { arbitraryBroadcastShapes, tensorOfShape } from "../testing/arbitraries.ts";

export const f64 = (v: ArrayLike<number>, shape: readonly number[]) =>
  tensor(Float64Array.from(v), { shape, dtype: "float64" });
export const vals = (t: Tensor) => [...t.dataSync()];
export const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}
/** The multi-index of flat position `i` in `shape`. */
export const unravel = (i: number, shape: readonly number[]) =>
  strides(shape).map((s, k) => Math.floor(i / s) % shape[k]);

/** NumPy broadcasting, written out: the result shape and each operand's flat index per output element. */
export function naiveBroadcast(shapes: readonly (readonly number[])[]): [number[], number[][]] {
  const n = Math.max(...shapes.map((s) => s.length));
  const out = Array.from({ length: n }, (_, i) => Math.max(...shapes.map((s) => s[s.length - n + i] ?? 1)));
  const index = shapes.map((s) =>
    Array.from({ length: size(out) }, (_, f) => {
      const idx = unravel(f, out).slice(n - s.length).map((v, k) => (s[k] === 1 ? 0 : v));
      return idx.reduce((acc, v, k) => acc + v * strides(s)[k], 0);
    })
  );
  return [out, index];
}

/** Asserts two number lists agree to a relative tolerance (NaN equals NaN). */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-12, atol = 1e-12): void {
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `element ${i}: ${a} vs ${e}`);
  }
}

/**
 * Operands of op(A)·op(B): broadcasting batch axes (`maxRank` of them, extents up to 3), m and n in
 * 1..`maxMN`, k in `minK`..`maxMN`, random transposes.
 */
export function arbitraryMatmulCase(
  maxRank: number,
  maxMN: number,
  minK: number,
): fc.Arbitrary<[Tensor, Tensor, boolean, boolean]> {
  return fc.tuple(
    arbitraryBroadcastShapes({ maxRank, maxDim: 3 }),
    fc.integer({ min: 1, max: maxMN }),
    fc.integer({ min: minK, max: maxMN }),
    fc.integer({ min: 1, max: maxMN }),
    fc.boolean(),
    fc.boolean(),
  ).chain(([[ba, bb], m, k, n, tA, tB]) =>
    fc.tuple(
      tensorOfShape([...ba, ...(tA ? [k, m] : [m, k])]),
      tensorOfShape([...bb, ...(tB ? [n, k] : [k, n])]),
      fc.constant(tA),
      fc.constant(tB),
    )
  );
}
