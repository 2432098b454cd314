/**
 * Eager float sums, maxima and minima of 4096 elements or more run through `jit`'s fused Wasm SIMD
 * reduction (`wasmReduce`): bit for bit the JavaScript reduction kernel, over the last axes, all
 * axes, leading or middle axes and axes that are not adjacent, with ±0, ±∞ and NaN among the values.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { reduceKernel, setWasmReduceMin } from "../core/backend/cpu/reduce.ts";
import { getHeap } from "../core/backend/cpu/wasm/heap.ts";
import { heapArray } from "../core/backend/cpu/wasm/heap.ts";
import { wasmReduce } from "../core/backend/cpu/wasm/fused.ts";
import type { ReduceOp } from "../core/primitives.ts";

const shared = getHeap()?.shared === true;

/** Values of every size and sign, with a few specials when `specials`. */
function values(n: number, f64: boolean, seed: number, specials: boolean): Float32Array | Float64Array {
  const a = f64 ? new Float64Array(n) : new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 2 ** ((s % 41) - 20);
  }
  if (specials) {
    for (const [i, v] of [[3, -0], [n >> 1, Infinity], [n - 2, -Infinity], [n >> 2, NaN]] as const) a[i] = v;
  }
  return a;
}

function jsReduce(op: ReduceOp, src: Float32Array | Float64Array, shape: number[], axes: number[], f64: boolean) {
  const old = setWasmReduceMin(Infinity);
  try {
    return reduceKernel(op, src, shape, axes, f64 ? "float64" : "float32");
  } finally {
    setWasmReduceMin(old);
  }
}

function same(a: ArrayLike<number>, b: ArrayLike<number>, what: string) {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: result ${i}: ${a[i]} vs ${b[i]}`);
  }
}

Deno.test({
  name: "wasm reduce: LoRA's 512×1024 loss sum and its axis sums give the JavaScript kernel's bits",
  ignore: !shared,
  fn: () => {
    for (const f64 of [false, true]) {
      const x = values(512 * 1024, f64, 7, false);
      const direct = f64 ? new Float64Array(1) : new Float32Array(1);
      assert.ok(wasmReduce("sum", x, direct, 1, 512 * 1024, 1), "the Wasm kernel runs");
      same(direct, jsReduce("sum", x, [512, 1024], [0, 1], f64), `wasmReduce's sum f64=${f64}`);
      for (const axes of [[0, 1], [1], [0]]) {
        for (const op of ["sum", "max", "min"] as ReduceOp[]) {
          same(
            reduceKernel(op, x, [512, 1024], axes, f64 ? "float64" : "float32"),
            jsReduce(op, x, [512, 1024], axes, f64),
            `${op} ${axes} f64=${f64}`,
          );
        }
      }
    }
  },
});

Deno.test({
  name:
    "wasm reduce: any shape and axes, in the Wasm memory or not, with ±0, ±∞ and NaN, give the JavaScript kernel's bits",
  ignore: !shared,
  fn: () => {
    const old = setWasmReduceMin(1); // every size through the Wasm kernel
    try {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 0, max: 15 }),
          fc.constantFrom<ReduceOp>("sum", "max", "min"),
          fc.boolean(),
          fc.boolean(),
          fc.boolean(),
          fc.integer(),
          (shape, mask, op, f64, specials, inHeap, seed) => {
            const n = shape.reduce((a, b) => a * b, 1);
            if (n > 200_000) return;
            const axes = shape.map((_, i) => i).filter((i) => mask & (1 << i));
            if (axes.length === 0) axes.push(shape.length - 1);
            let x = values(n, f64, seed, specials && n > 8);
            if (inHeap) {
              const h = heapArray(f64 ? "float64" : "float32", n, false) as Float32Array | Float64Array | null;
              if (h) {
                h.set(x);
                x = h;
              }
            }
            const got = reduceKernel(op, x, shape, axes, f64 ? "float64" : "float32");
            same(got, jsReduce(op, x, shape, axes, f64), `${op} of ${shape} over ${axes} f64=${f64}`);
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      setWasmReduceMin(old);
    }
  },
});
