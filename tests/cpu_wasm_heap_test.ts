/**
 * The CPU backend's shared WebAssembly memory: the allocator, and the kernels that read and write
 * tensors in place there (GEMM with operands packed or read directly, elementwise arithmetic), which
 * must give the same bits as the paths that copy plain arrays in and out.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { gemm } from "../core/backend/cpu/matmul.ts";
import { getHeap, heapAddress, heapArray, heapRelease, heapStats } from "../core/backend/cpu/wasm/heap.ts";
import { setDirectPanels, setMatmulThreads } from "../core/backend/cpu/wasm/gemm.ts";
import { simdBinary32, simdUnary32 } from "../core/backend/cpu/wasm/elementwise.ts";
import { binaryKernel, whereKernel } from "../core/backend/cpu/elementwise.ts";
import { arr } from "../core/backend/cpu/mod.ts";
import { matmulT } from "../core/ops/matmul.ts";
import * as T from "../mod.ts";

const shared = getHeap()?.shared === true;

/** Deterministic values in [−1, 1) (an LCG). */
function fill<T extends Float32Array | Float64Array>(a: T, seed: number): T {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** A copy of `a` in the shared memory (or a plain copy where there is none). */
function inHeap<T extends Float32Array | Float64Array>(a: T): T {
  const h = (heapArray(a instanceof Float32Array ? "float32" : "float64", a.length, false) ?? a.slice()) as T;
  h.set(a);
  return h;
}

Deno.test({
  name: "wasm heap: blocks are reused by size, zeroed on request, freed once",
  ignore: !shared,
  fn: () => {
    const a = heapArray("float32", 5000, false)!;
    assert.ok(heapAddress(a) >= 0 && heapAddress(a) % 64 === 0);
    a.fill(3);
    const before = heapStats();
    assert.ok(heapRelease(a));
    assert.ok(!heapRelease(a), "a second release does nothing");
    assert.equal(heapStats().freeBytes, before.freeBytes + 20032);
    const b = heapArray("float32", 5000, true)!;
    assert.equal(heapAddress(b), heapAddress(a), "the freed block is handed out again");
    assert.ok(b.every((v) => v === 0));
    assert.equal(heapAddress(new Float32Array(10)), -1);
    assert.equal(heapAddress(b.subarray(3)), heapAddress(b) + 12);
    heapRelease(b);
  },
});

const dims = fc.integer({ min: 1, max: 45 });

Deno.test({
  name: "wasm gemm: same bits with operands in the shared memory or not, packed or read in place",
  ignore: !shared,
  fn: () => {
    fc.assert(
      fc.property(
        dims,
        dims,
        dims,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.nat(1000),
        (m, n, k, ta, tb, f64, s) => {
          const T = f64 ? Float64Array : Float32Array;
          const A = fill(new T(m * k), s), B = fill(new T(k * n), s + 1);
          const plain = new T(m * n);
          gemm(A, 0, ta, B, 0, tb, plain, 0, m, n, k);
          for (const panels of [0, 4, 64]) {
            const old = setDirectPanels(panels);
            try {
              const C = inHeap(new T(m * n).fill(9));
              gemm(inHeap(A), 0, ta, inHeap(B), 0, tb, C, 0, m, n, k);
              assert.deepEqual(C, plain, `${m}×${n}×${k} ${ta} ${tb} ${T.name}, direct up to ${panels} panels`);
            } finally {
              setDirectPanels(old);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  },
});

Deno.test({
  name: "wasm gemm: rank-8 and small-k shapes in place equal the copying path, on 1 and 2 threads",
  ignore: !shared,
  fn: () => {
    const shapes: [number, number, number, boolean, boolean][] = [
      [512, 8, 300, false, true], // x·Aᵀ: A read in place
      [300, 520, 8, false, true], // (xAᵀ)·Bᵀ: k = 8, a row of tiles at a time
      [7, 260, 200, true, false], // (gB)ᵀ·x: B read in place
      [200, 8, 130, true, false], // gᵀ·u: A packed
      [130, 131, 257, false, false],
    ];
    for (const [m, n, k, ta, tb] of shapes) {
      for (const T of [Float32Array, Float64Array]) {
        const A = fill(new T(m * k), m), B = fill(new T(k * n), n);
        const want = new T(m * n);
        gemm(A, 0, ta, B, 0, tb, want, 0, m, n, k);
        for (const threads of [1, 2]) {
          setMatmulThreads(threads);
          try {
            const C = inHeap(new T(m * n));
            gemm(inHeap(A), 0, ta, inHeap(B), 0, tb, C, 0, m, n, k);
            assert.deepEqual(C, want, `${m}×${n}×${k} ${T.name} on ${threads}`);
            // a product written into the middle of a larger array in the memory leaves the rest alone
            const big = inHeap(new T(m * n + 10).fill(4));
            gemm(inHeap(A), 0, ta, inHeap(B), 0, tb, big, 5, m, n, k);
            assert.deepEqual(big.subarray(5, 5 + m * n), want);
            assert.ok(big.subarray(0, 5).every((v) => v === 4) && big.subarray(5 + m * n).every((v) => v === 4));
          } finally {
            setMatmulThreads(navigator.hardwareConcurrency);
          }
        }
      }
    }
  },
});

Deno.test({
  name: "wasm elementwise: in place in the shared memory equals the copying path (tails, rows, scalars)",
  ignore: !shared,
  fn: () => {
    for (const [rows, cols] of [[1, 1027], [1, 4], [5, 260], [33, 64], [3, 1030]]) {
      const n = rows * cols;
      const a = fill(new Float32Array(n), 1), b = fill(new Float32Array(n), 2);
      a[3] = NaN;
      b[7] = -0;
      for (const op of ["add", "sub", "mul", "div", "max", "min"] as const) {
        for (const [va, vb] of [[true, true], [true, false], [false, true]]) {
          const oa = { data: va ? a : a.subarray(0, rows), vec: va, rowStride: va ? cols : 1 };
          const ob = { data: vb ? b : b.subarray(0, rows), vec: vb, rowStride: vb ? cols : 1 };
          const want = new Float32Array(n);
          assert.ok(simdBinary32(op, oa, ob, want, rows, cols) || cols % 4 !== 0);
          if (cols % 4 !== 0 && rows > 1 && cols < 256) continue;
          const got = inHeap(new Float32Array(n));
          simdBinary32(op, { ...oa, data: inHeap(oa.data) }, { ...ob, data: inHeap(ob.data) }, got, rows, cols);
          assert.deepEqual(got, want, `${op} ${rows}×${cols} ${va}${vb}`);
          // the result in the memory, operands not (copied in whole first)
          const got2 = inHeap(new Float32Array(n));
          simdBinary32(op, oa, ob, got2, rows, cols);
          assert.deepEqual(got2, want, `${op} ${rows}×${cols} ${va}${vb}, plain operands`);
        }
      }
      for (const op of ["neg", "abs", "sqrt"] as const) {
        const want = new Float32Array(n), got = inHeap(new Float32Array(n));
        simdUnary32(op, a, want);
        simdUnary32(op, inHeap(a), got);
        assert.deepEqual(got, want, `${op} ${n}`);
        const got2 = inHeap(new Float32Array(n));
        simdUnary32(op, a, got2);
        assert.deepEqual(got2, want, `${op} ${n}, plain operand`);
      }
    }
  },
});

Deno.test({
  name: "wasm compare and where (relu's pieces): bool masks and selected bits equal the JavaScript loops",
  ignore: !shared,
  fn: () => {
    for (const n of [512, 1027, 4096 + 13]) {
      const a = fill(new Float32Array(n), n), b = fill(new Float32Array(n), n + 1);
      a[5] = NaN;
      b[9] = NaN;
      a[17] = 0;
      b[17] = -0;
      a[33] = b[33];
      const zero = new Float32Array([0]);
      for (const op of ["eq", "ne", "lt", "le", "gt", "ge"] as const) {
        for (const [x, y] of [[a, b], [a, zero], [zero, b]]) {
          const want = new Uint8Array(n), got = heapArray("bool", n, false) as Uint8Array;
          binaryKernel(op, x, [x.length], y, [y.length], want, [n]); // plain out: the JS loop
          binaryKernel(op, x, [x.length], y, [y.length], got, [n]);
          assert.deepEqual(got, want, `${op} ${n} ${x.length}/${y.length}`);
        }
      }
      const cond = new Uint8Array(n).map((_, i) => (a[i] > 0 ? 1 : 0));
      for (const [x, y] of [[a, b], [zero, b], [a, zero]]) {
        const want = new Float32Array(n), got = heapArray("float32", n, false) as Float32Array;
        whereKernel(cond, [n], x, [x.length], y, [y.length], want, [n]);
        whereKernel(cond, [n], x, [x.length], y, [y.length], got, [n]);
        assert.deepEqual(
          new Int32Array(got.buffer, got.byteOffset, n),
          new Int32Array(want.buffer, want.byteOffset, n),
          `where ${n} ${x.length}/${y.length}`,
        );
      }
    }
  },
});

Deno.test({
  name: "wasm heap: a large operand read by a second product moves into the memory, the first read moves nothing",
  ignore: !shared,
  fn: () => {
    // an odd length, so that no recycled block of the pool serves it: the tensor's array is a plain one
    const w = T.tensor(fill(new Float32Array(262147 * 2), 7), { shape: [2, 262147] });
    const x = T.tensor(fill(new Float32Array(3 * 2), 8), { shape: [3, 2] });
    const data = () => arr(w._storage);
    assert.equal(heapAddress(data()), -1);
    const first = T.matmul(x, w).dataSync();
    assert.equal(heapAddress(data()), -1); // seen once: an activation read once stays where it is
    const second = T.matmul(x, w).dataSync();
    assert.ok(heapAddress(data()) >= 0); // read again: a weight, now read in place
    assert.deepEqual(second, first);
    assert.deepEqual(T.matmul(x, w).dataSync(), first);
    assert.deepEqual(w.dataSync(), fill(new Float32Array(262147 * 2), 7));
  },
});

Deno.test({
  name: "wasm heap: a smaller input read by every step moves into the memory on its third read, once, same bits",
  ignore: !shared,
  fn: () => {
    for (const dtype of ["float32", "float64"] as const) {
      const A = dtype === "float32" ? Float32Array : Float64Array;
      // an MLP's batch x (odd sizes: no recycled block serves it) read by x·W and by xᵀ·g each step
      const x = T.tensor(fill(new A(37 * 61), 3), { shape: [37, 61], dtype });
      const w = T.tensor(fill(new A(61 * 19), 4), { shape: [61, 19], dtype });
      const g = T.tensor(fill(new A(37 * 19), 5), { shape: [37, 19], dtype });
      // the same products of plain copies (other arrays: their reads do not count for x)
      const xc = T.tensor(fill(new A(37 * 61), 3), { shape: [37, 61], dtype });
      const forward = T.matmul(xc, w).dataSync(), backward = matmulT(xc, g, true, false).dataSync();
      const data = () => arr(x._storage);
      const host = data();
      assert.equal(heapAddress(host), -1);
      assert.deepEqual(T.matmul(x, w).dataSync(), forward);
      assert.deepEqual(matmulT(x, g, true, false).dataSync(), backward);
      assert.equal(data(), host, "read twice (an activation's forward and gradient products): not moved");
      assert.deepEqual(T.matmul(x, w).dataSync(), forward);
      const moved = data();
      assert.ok(heapAddress(moved) >= 0, "the third read moves it");
      assert.deepEqual(moved, host);
      for (let step = 0; step < 3; step++) {
        assert.deepEqual(matmulT(x, g, true, false).dataSync(), backward);
        assert.deepEqual(T.matmul(x, w).dataSync(), forward);
        assert.equal(data(), moved, "copied once: later reads use the same block in place");
      }
      assert.deepEqual(x.dataSync(), fill(new A(37 * 61), 3));
      // below 4 KiB nothing moves (the GEMM copies it in microseconds)
      const s = T.tensor(fill(new A(7 * 11), 6), { shape: [7, 11], dtype });
      const v = T.tensor(fill(new A(11 * 13), 7), { shape: [11, 13], dtype });
      for (let i = 0; i < 4; i++) T.matmul(s, v).dataSync();
      assert.equal(heapAddress(arr(s._storage)), -1);
    }
  },
});

Deno.test({
  name: "wasm heap: a moved operand released by scope goes back to the pool, and its block to the next array",
  ignore: !shared,
  fn: () => {
    const x = T.tensor(fill(new Float32Array(3 * 61), 10), { shape: [3, 61] });
    // w made by a kernel inside a scope (a pooled array: an odd size, so a fresh plain one), then read by three products
    const w = T.scope(() => T.add(T.tensor(fill(new Float32Array(61 * 47), 9), { shape: [61, 47] }), 0));
    assert.equal(heapAddress(arr(w._storage)), -1);
    for (let i = 0; i < 3; i++) T.matmul(x, w).dataSync();
    const moved = arr(w._storage);
    assert.ok(heapAddress(moved) >= 0);
    T.scope(() => x, { release: w });
    assert.equal(w._storage.released, true);
    // the pool hands the moved block out again for the next array of that dtype and length
    const next = T.scope(() => T.zeros([61, 47]));
    assert.equal(arr(next._storage), moved);
    assert.ok(arr(next._storage).every((v) => v === 0));
  },
});
