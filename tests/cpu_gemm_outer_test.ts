import assert from "node:assert/strict";
import {
  outerJobs,
  setDirectPanels,
  setMatmulSpin,
  setMatmulThreads,
  setOuter,
  workerTaskCount,
} from "../core/backend/cpu/wasm/gemm.ts";
import { type D, type F, filled, product, withSetting } from "./gemm_helpers.ts";

/** The reference: the tiled kernels with every operand packed (no outer-product kernel, nothing in place). */
const reference = <T>(f: () => T): T => withSetting(setOuter, false, () => withSetting(setDirectPanels, 0, f));

/** `f` on `threads` threads, then back to every core. */
function onThreads<T>(threads: number, f: () => T): T {
  setMatmulThreads(threads);
  try {
    return f();
  } finally {
    setMatmulThreads(navigator.hardwareConcurrency);
  }
}

/**
 * The rank-r gradient products with the long operand [k × long] and the short one [k × r], both
 * row-major: tall `longᵀ·short` (C long × r) and wide `shortᵀ·long` (C r × long).
 */
function gradients(dtype: D, long: number, r: number, k: number, seed: number) {
  const g = filled(dtype, k * long, seed), u = filled(dtype, k * r, seed + 1);
  return {
    tall: () => product(dtype, g, true, u, false, long, r, k),
    wide: () => product(dtype, u, true, g, false, r, long, k),
    g,
    u,
  };
}

Deno.test("cpu gemm: the outer-product kernel (rank-r gradients, long k) gives the tiled kernels' bits", () => {
  // gᵀ·u and (gB)ᵀ·x: r of one, two and four vectors (one group of one or two vectors, or two groups of two;
  // the wide form of four only from k = 256 on), long dimensions that are whole cache lines and not (a
  // task's last range partial), k of whole blocks of 4 steps and not, odd row counts (the kernel's two-row
  // loop and its last row), NaN and -0 in the operands, one thread and two
  for (const dtype of ["float32", "float64"] as const) {
    const lanes = dtype === "float32" ? 4 : 2;
    for (const r of [lanes, 2 * lanes, 4 * lanes]) {
      for (const long of [64, 101, 1024]) {
        for (const k of [64, 67, 130, 512]) {
          const p = gradients(dtype, long, r, k, long + k + r);
          p.g[3] = Number.NaN;
          p.u[r + 1] = -0;
          for (const shape of ["tall", "wide"] as const) {
            const what = `${dtype} ${shape} long=${long} r=${r} k=${k}`;
            const want = reference(p[shape]);
            for (const threads of [1, 2]) {
              const before = outerJobs();
              assert.deepEqual(onThreads(threads, p[shape]), want, `${what} threads=${threads}`);
              const taken = shape === "tall" || r < 4 * lanes || k >= 256;
              assert.equal(outerJobs(), before + (taken ? 1 : 0), `${what}: taken ${!taken}, expected ${taken}`);
            }
          }
        }
      }
    }
  }
});

Deno.test({
  name: "cpu gemm: the outer-product kernel's tasks on two threads give the bits of one thread",
  ignore: navigator.hardwareConcurrency < 2,
  fn: () => {
    // LoRA's gradients of 512 tokens (float32 r = 8, float64 r = 4, over 1024 columns; 2·m·n·k at
    // least THREAD_MIN_FLOPS), two operand sets alternated so that a range a task skipped (or, wide,
    // did not transpose) shows stale values; with and without polling
    for (const dtype of ["float32", "float64"] as const) {
      const [long, r] = dtype === "float32" ? [1024, 8] : [1024, 4];
      const sets = [gradients(dtype, long, r, 512, 1), gradients(dtype, long, r, 512, 2)];
      for (const shape of ["tall", "wide"] as const) {
        const want = onThreads(1, () => sets.map((s) => s[shape]()));
        for (const spin of [0, 1000]) {
          setMatmulSpin(spin);
          try {
            // the thread chooser runs every 8th product of a size on the other mode at least
            const before = workerTaskCount();
            for (let t = 0; t < 64 && workerTaskCount() === before; t++) {
              assert.deepEqual(sets[t % 2][shape](), want[t % 2], `${dtype} ${shape}, try ${t}`);
            }
            assert.ok(workerTaskCount() > before, `${dtype} ${shape}: no task ran on a worker`);
          } finally {
            setMatmulSpin(1000);
          }
        }
      }
    }
  },
});

Deno.test("cpu gemm: products outside the outer-product kernel's shapes keep to the tiled path", () => {
  // k under 64, r not one, two or four whole vectors, the wide form of four vectors under k = 256,
  // op(A) row-major (x·Aᵀ reads x along k), a short long side
  const none: [string, () => F][] = [];
  const add = (what: string, dtype: D, a: F, ta: boolean, b: F, m: number, n: number, k: number) =>
    none.push([what, () => product(dtype, a, ta, b, false, m, n, k)]);
  const f32 = "float32";
  add("k = 63", f32, filled(f32, 63 * 256, 1), true, filled(f32, 63 * 8, 2), 256, 8, 63);
  add("r = 6", f32, filled(f32, 128 * 256, 1), true, filled(f32, 128 * 6, 2), 256, 6, 128);
  add("r = 20", f32, filled(f32, 128 * 256, 1), true, filled(f32, 128 * 20, 2), 256, 20, 128);
  add("r = 12", f32, filled(f32, 128 * 256, 1), true, filled(f32, 128 * 12, 2), 256, 12, 128);
  add("wide r = 16, k = 128", f32, filled(f32, 128 * 16, 1), true, filled(f32, 128 * 256, 2), 16, 256, 128);
  add("op(A) row-major", f32, filled(f32, 256 * 128, 1), false, filled(f32, 128 * 8, 2), 256, 8, 128);
  add("long = 48", f32, filled(f32, 128 * 48, 1), true, filled(f32, 128 * 8, 2), 48, 8, 128);
  for (const [what, run] of none) {
    const before = outerJobs();
    run();
    assert.equal(outerJobs(), before, `${what}: computed by the outer-product kernel`);
  }
});
