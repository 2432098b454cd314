/**
 * The Wasm GEMM gives the same bits whatever the run's timing decides: where its operands and result
 * live (in the Wasm memory, as the array pool and `settle` place them, or plain arrays copied into
 * scratch), whether it runs on one thread or two (`engine.ts`'s `useWorkers` picks by measured speed),
 * and whether an operand's packed panels come from the cache. The products are those of the adapter
 * study's GPT-2 (64 sequences × 16 tokens, width 64, c_attn 64 → 192, MLP 256, vocabulary 12, 4 heads,
 * ranks 4 and 8) and a few odd sizes, every transpose.
 */
import assert from "node:assert/strict";
import { gemm } from "../core/backend/cpu/matmul.ts";
import { setMatmulThreads } from "../core/backend/cpu/wasm/gemm.ts";
import { heapArray, heapRelease } from "../core/backend/cpu/wasm/heap.ts";

/** Deterministic float32 values in [-0.37, 0.37) (a linear congruential generator). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from(
    { length: n },
    () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1) * 0.37,
  );
}

/** A copy of `v` in the Wasm memory (`heap`, where it is shared), else a plain array. */
function place(v: Float32Array, heap: boolean): Float32Array {
  const h = heap ? (heapArray("float32", v.length, false) as Float32Array | null) : null;
  if (!h) return v.slice();
  h.set(v);
  return h;
}

/** [m, n, k] of op(A)·op(B): the study model's products (forward and gradients) and odd sizes. */
const SHAPES: [number, number, number][] = [
  [1024, 192, 64], // x·W of c_attn
  [1024, 64, 192], // its input gradient
  [64, 192, 1024], // its weight gradient
  [1024, 256, 64], // MLP up
  [1024, 64, 256], // MLP down
  [1024, 12, 64], // tied lm head
  [1024, 8, 64], // x·Aᵀ, rank 8
  [1024, 192, 4], // (x·Aᵀ)·Bᵀ, rank 4 (row-streaming kernel)
  [1024, 192, 8],
  [8, 64, 1024], // a rank-8 factor's gradient
  [192, 4, 1024],
  [16, 16, 16], // one head's scores
  [37, 61, 5],
  [130, 7, 193],
];

Deno.test("cpu gemm: the same bits in and out of the Wasm memory, on 1 or 2 threads, with cached panels or not", () => {
  try {
    for (const [m, n, k] of SHAPES) {
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
        const av = values(m * k, m * 7 + k), bv = values(k * n, n * 13 + k);
        let want: Float32Array | null = null;
        for (const threads of [1, 2]) {
          setMatmulThreads(threads);
          // bit 0: A in the memory, bit 1: B, bit 2: C
          for (let where = 0; where < 8; where++) {
            for (const cache of [false, true]) {
              const A = place(av, (where & 1) !== 0), B = place(bv, (where & 2) !== 0);
              // cached: the panels are made on the second product and read from the third on
              for (let rep = 0; rep < (cache ? 3 : 1); rep++) {
                const C = place(new Float32Array(m * n).fill(3), (where & 4) !== 0);
                gemm(A, 0, ta, B, 0, tb, C, 0, m, n, k, cache);
                const got = C.slice();
                heapRelease(C);
                const what =
                  `${m}×${n}×${k} ta=${ta} tb=${tb} threads=${threads} where=${where} cache=${cache} #${rep}`;
                if (!want) want = got;
                else {
                  for (let i = 0; i < got.length; i++) {
                    if (!Object.is(got[i], want[i])) assert.fail(`${what}: element ${i}: ${got[i]} vs ${want[i]}`);
                  }
                }
              }
              heapRelease(A);
              heapRelease(B);
            }
          }
        }
      }
    }
  } finally {
    setMatmulThreads(navigator.hardwareConcurrency);
  }
});
