import assert from "node:assert/strict";
import { gemm } from "../core/backend/cpu/matmul.ts";
import {
  restrideJobs,
  restrideTaskJobs,
  setDirectPanels,
  setMatmulSpin,
  setMatmulThreads,
  setOuter,
  setPassBytes,
} from "../core/backend/cpu/wasm/gemm.ts";
import { DomainError } from "../core/errors.ts";
import { heapArray } from "../core/backend/cpu/wasm/heap.ts";
import { type F, values, withSetting } from "./gemm_helpers.ts";

/** op(A)·op(B) (m × n, inner k) of a and b with the given transposes, into a fresh C in the Wasm memory. */
function product(a: F, ta: boolean, b: F, tb: boolean, m: number, n: number, k: number, inHeap: boolean): F {
  const f64 = a instanceof Float64Array;
  const c = inHeap
    ? heapArray(f64 ? "float64" : "float32", m * n, false) as F
    : f64
    ? new Float64Array(m * n)
    : new Float32Array(m * n);
  c.fill(7); // never read: every element is written
  gemm(a, 0, ta, b, 0, tb, c, 0, m, n, k);
  return c.slice();
}

/** a and b in the Wasm memory (or plain arrays), filled with `values`. */
function operands(dtype: "float32" | "float64", lenA: number, lenB: number, inHeap: boolean, seed: number): [F, F] {
  const make = (len: number, s: number): F => {
    const x = (inHeap ? heapArray(dtype, len, false) : null) as F | null;
    const out = x ?? (dtype === "float32" ? new Float32Array(len) : new Float64Array(len));
    out.set(values(len, s));
    return out;
  };
  return [make(lenA, seed), make(lenB, seed + 1)];
}

/** Runs `f` with the reference path (every operand packed: no in-place operand, no restriding copy). */
const packed = <T>(f: () => T): T => withSetting(setDirectPanels, 0, f);

/**
 * Runs `f` without the outer-product kernel (`gemm_outer.ts`), which takes the rank-r gradients of long k
 * that these tests give the restriding copy.
 */
const tiled = <T>(f: () => T): T => withSetting(setOuter, false, f);

Deno.test("cpu gemm: an in-place op(B) with 4 KiB-multiple rows restrided in Wasm keeps the packed path's bits", () =>
  tiled(() => {
    // op(B) row-major with rows whose byte length makes them share few L1 sets (1024, 128 and 1020 float32
    // columns, 512, 64 and 510 float64) is copied with longer rows (by the module's copyRows when it is in the memory). Odd m and k, every op(A) layout, a partial
    // last column panel (n not a multiple of the tile), the rank-8 gradient shapes (m ≤ 16) and their swapped
    // form gᵀ·u (n ≤ 16, transA), on one thread and two, with operands in the memory and outside it.
    const cases: [number, number, number, boolean][] = [];
    for (const m of [1, 3, 8, 13, 16]) {
      for (const k of [1, 7, 64, 301]) for (const ta of [false, true]) cases.push([m, 0, k, ta]);
    }
    for (const dtype of ["float32", "float64"] as const) {
      const es = dtype === "float32" ? 4 : 8;
      // (4080-byte rows also conflict: a partial last panel, and rows not a whole number of 64-byte moves)
      for (const rowBytes of [4096, 512, 4080]) {
        const w = rowBytes / es;
        for (const [m, , k, ta] of cases) {
          for (const inHeap of [true, false]) {
            const [a, b] = operands(dtype, m * k, k * w, inHeap, m * 31 + k);
            // C = op(A)·B (m × w) and its swapped form Cᵀ = Bᵀ·op(A)ᵀ (w × m)
            for (
              const [label, x, tx, y, ty, mm, nn] of [
                ["op(A)·B", a, ta, b, false, m, w],
                ["Bᵀ·op(A)ᵀ", b, true, a, !ta, w, m],
              ] as const
            ) {
              const want = packed(() => product(x, tx, y, ty, mm, nn, k, inHeap));
              const before = restrideJobs();
              for (const threads of [1, 2]) {
                setMatmulThreads(threads);
                try {
                  const got = product(x, tx, y, ty, mm, nn, k, inHeap);
                  assert.deepEqual(
                    got,
                    want,
                    `${dtype} ${label} ${mm}×${nn}×${k} ta=${ta} heap=${inHeap} threads=${threads}`,
                  );
                } finally {
                  setMatmulThreads(navigator.hardwareConcurrency);
                }
              }
              // the path under test was taken for the rank-r product with op(B) in the memory (a row-major op(A),
              // as one row always is, is read in place instead; float64 products of more than 12 rows pack op(B); those of k ≤ 8 and 16 rows or more take the
              // row-streaming kernel; products
              // under 1024 multiply-adds take a scalar loop)
              if (
                inHeap && label === "op(A)·B" && ta && m > 1 && (es === 4 || m <= 8) && m * w * k >= 1024 &&
                (k > 8 || m < 16)
              ) {
                assert.ok(restrideJobs() > before, `${dtype} ${label} ${mm}×${nn}×${k}: op(B) not restrided in Wasm`);
              }
            }
          }
        }
      }
    }
  }));

Deno.test("cpu gemm: a restrided op(B) split into passes keeps the bits", () =>
  tiled(() => {
    for (const dtype of ["float32", "float64"] as const) {
      const w = 4096 / (dtype === "float32" ? 4 : 8), m = 8, k = 200;
      const [a, b] = operands(dtype, m * k, k * w, true, 5);
      const want = packed(() => product(a, true, b, false, m, w, k, true));
      for (const bytes of [1 << 20, 1 << 19, 1 << 18]) {
        const old = setPassBytes(bytes);
        try {
          assert.deepEqual(product(a, true, b, false, m, w, k, true), want, `${dtype}, passes of ${bytes} bytes`);
        } finally {
          setPassBytes(old);
        }
      }
    }
  }));

Deno.test({
  name: "cpu gemm: tasks on threads that restride their own columns of op(B) give the bits of one thread",
  ignore: navigator.hardwareConcurrency < 2,
  fn: () =>
    tiled(() => {
      // the rank-8 gradients of a LoRA step: (gB)ᵀ·x = op(A)·B (8 rows, 1024 float32 columns of 4 KiB rows), and
      // gᵀ·u = Bᵀ·op(A)ᵀ, computed as uᵀ·g into scratch whose columns each task then transposes into C; a partial
      // last panel (1020 columns; 2·m·n·k over THREAD_MIN_FLOPS); float32 and float64 (512 columns of 4 KiB rows);
      // with and without polling (setMatmulSpin), which changes when the threads claim tasks, not what they compute
      for (const dtype of ["float32", "float64"] as const) {
        const es = dtype === "float32" ? 4 : 8;
        for (const [m, n, k] of [[8, 4096 / es, 512], [11, 4080 / es, 401]]) {
          // two operand pairs, alternated: the restriding copy's scratch (and Cᵀ's) holds the other pair's, so a
          // column a task failed to copy or transpose would be read stale and differ
          const pairs = [operands(dtype, m * k, k * n, true, m + k), operands(dtype, m * k, k * n, true, m + k + 7)];
          for (const swapped of [false, true]) {
            const run = ([a, b]: [F, F]) =>
              swapped ? product(b, true, a, false, n, m, k, true) : product(a, true, b, false, m, n, k, true);
            const what = `${dtype} ${swapped ? `${n}×${m}` : `${m}×${n}`}×${k}${swapped ? " (Bᵀ·op(A)ᵀ)" : ""}`;
            setMatmulThreads(1);
            let want: F[];
            try {
              want = pairs.map(run);
            } finally {
              setMatmulThreads(navigator.hardwareConcurrency);
            }
            for (const spin of [0, 1000]) {
              setMatmulSpin(spin);
              try {
                // the thread chooser runs every 8th product of a size on the other mode at least: 64 tries suffice
                const before = restrideTaskJobs();
                for (let t = 0; t < 64 && restrideTaskJobs() === before; t++) {
                  assert.deepEqual(run(pairs[t % 2]), want[t % 2], `${what}, try ${t}`);
                }
                assert.ok(restrideTaskJobs() > before, `${what}: no product restrided op(B) in its tasks`);
              } finally {
                setMatmulSpin(1000);
              }
            }
          }
        }
      }
    }),
});

Deno.test("cpu gemm: setMatmulSpin takes microseconds in [0, 1e6] and names itself otherwise", () => {
  for (const bad of [-1, NaN, Infinity, 2e6, "10" as unknown as number]) {
    assert.throws(
      () => setMatmulSpin(bad),
      (e: unknown) => e instanceof DomainError && /setMatmulSpin/.test(e.message),
    );
  }
  setMatmulSpin(0);
  setMatmulSpin(1000);
});
