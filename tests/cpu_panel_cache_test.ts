/**
 * The Wasm GEMM's cache of packed panels (`core/backend/cpu/wasm/panels.ts`): products of the public
 * `matmul` that read an operand again with the same layout reuse its packed panels, bit for bit the
 * uncached product; a recycled array never serves stale panels; a budget too small for both operands
 * of a product keeps the first; callers that change arrays in place (not opted in) are never cached.
 */
import assert from "node:assert/strict";
import { gemm } from "../core/backend/cpu/matmul.ts";
import { getHeap } from "../core/backend/cpu/wasm/heap.ts";
import { setMatmulThreads } from "../core/backend/cpu/wasm/gemm.ts";
import { panelStats, setPanelBytes } from "../core/backend/cpu/wasm/panels.ts";
import { matmulT } from "../core/ops/matmul.ts";
import { add, type DType, key, matmul, normal, scope, type Tensor } from "../mod.ts";

const shared = getHeap()?.shared === true;

const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i}: ${a[i]} vs ${b[i]}`);
  }
};

/** Shapes of the products the cache is for: LoRA's x·Wᵀ (both operands packed), the MLP's xᵀ·∂h, odd sizes. */
const CASES: [string, (x: Tensor, w: Tensor) => Tensor, [number, number], [number, number]][] = [
  ["x·Wᵀ", (x, w) => matmulT(x, w, false, true), [96, 200], [600, 200]],
  ["xᵀ·g", (x, g) => matmulT(x, g, true, false), [64, 333], [64, 140]],
  ["x·W, wide", (x, w) => matmul(x, w), [37, 91], [91, 610]],
];

Deno.test({
  name: "panel cache: products read again give the uncached product's bits (float32, float64; 1 and 2 threads)",
  ignore: !shared,
  fn: () => {
    for (const dtype of ["float32", "float64"] as DType[]) {
      for (const threads of [1, 2]) {
        setMatmulThreads(threads);
        try {
          for (const [name, f, sx, sw] of CASES) {
            const x = normal(key(1), sx, { dtype }), w = normal(key(2), sw, { dtype });
            const old = setPanelBytes(0);
            const want = f(x, w).dataSync();
            setPanelBytes(old);
            panelStats();
            for (let r = 0; r < 5; r++) {
              same(f(x, w).dataSync(), want, `${name} ${dtype} ${threads} threads, product ${r}`);
            }
            assert.ok(panelStats().hits >= 3, `${name}: the third and later products read cached panels`);
          }
        } finally {
          setMatmulThreads(navigator.hardwareConcurrency);
        }
      }
    }
  },
});

Deno.test({
  name: "panel cache: weights released by scope and recycled for new weights never read stale panels",
  ignore: !shared,
  fn: () => {
    const x = normal(key(3), [96, 200]);
    let w = normal(key(4), [600, 200]);
    for (let step = 0; step < 12; step++) {
      const want = new Float32Array(96 * 600); // the GEMM without the cache, on copies
      gemm(x.dataSync(), 0, false, w.dataSync(), 0, true, want, 0, 96, 600, 200);
      scope(() => {
        for (let r = 0; r < 3; r++) same(matmulT(x, w, false, true).dataSync(), want, `step ${step}, product ${r}`);
      });
      w = scope(() => add(w, normal(key(100 + step), [600, 200])), { release: w });
    }
  },
});

Deno.test({
  name: "panel cache: a budget that cannot hold both operands of a product keeps the first (B never evicts A)",
  ignore: !shared,
  fn: () => {
    const x = normal(key(5), [96, 200]), w = normal(key(6), [600, 200]);
    const prod = () => matmulT(x, w, false, true).dataSync();
    const old = setPanelBytes(0); // (empty)
    setPanelBytes(1 << 30);
    try {
      // the bytes of both operands' entries
      const x2 = add(x, 0), w2 = add(w, 0);
      panelStats();
      for (let r = 0; r < 2; r++) matmulT(x2, w2, false, true).dataSync();
      const both = panelStats();
      assert.equal(both.made, 2);
      setPanelBytes(both.bytes - 64);
      const want = prod();
      for (let r = 0; r < 4; r++) same(prod(), want, `product ${r}`);
      panelStats();
      prod();
      prod();
      const s = panelStats();
      assert.equal(s.hits, 2, "one operand's panels are read from the cache by each later product");
      assert.equal(s.evicted, 0, "nothing is evicted once the first operand is kept");
    } finally {
      setPanelBytes(old);
    }
  },
});

Deno.test({
  name: "panel cache: the GEMM called without opting in (as the blocked QR does) reads arrays changed in place afresh",
  ignore: !shared,
  fn: () => {
    const m = 64, n = 96, k = 150;
    const A = new Float32Array(m * k), B = new Float32Array(n * k), C = new Float32Array(m * n);
    panelStats();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < A.length; i++) A[i] = ((i * 7 + round * 13) % 31) / 8 - 2;
      for (let i = 0; i < B.length; i++) B[i] = ((i * 5 + round * 3) % 29) / 8 - 1.5;
      gemm(A, 0, false, B, 0, true, C, 0, m, n, k);
      for (const [i, j] of [[0, 0], [m - 1, n - 1], [17, 53]]) {
        let s = 0;
        for (let p = 0; p < k; p++) s = Math.fround(s + A[i * k + p] * B[j * k + p]);
        assert.ok(Math.abs(C[i * n + j] - s) <= 1e-4 * (1 + Math.abs(s)), `round ${round} (${i}, ${j})`);
      }
    }
    assert.equal(panelStats().made, 0, "nothing cached");
  },
});
