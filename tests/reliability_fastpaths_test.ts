/**
 * Reliability of the fast paths added for speed (issue 14's spirit: no silent wrong answers, no
 * unbounded memory): `jit` signatures of unusual non-tensor values, the CPU's `settle` of product
 * operands into the Wasm memory, and what a moved tensor's readers get.
 */
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { getHeap, heapAddress, heapArray, heapRelease, heapStats } from "../core/backend/cpu/wasm/heap.ts";
import { arr } from "../core/backend/cpu/mod.ts";
import {
  add,
  jit,
  key,
  matmul,
  mul,
  normal,
  reshape,
  scope,
  slice,
  split,
  type Tensor,
  tensor,
  transpose,
} from "../mod.ts";
import * as optim from "../optim/mod.ts";

Deno.test("jit keys null and bigint values beside the tensors (it threw a TypeError) and keeps them apart", () => {
  const f = jit((x: Tensor, o: { a: unknown }) => (o.a === null ? add(x, 1) : mul(x, 2)));
  const x = tensor([1, 2]);
  assert.deepEqual([...f(x, { a: null }).dataSync()], [2, 3]);
  assert.deepEqual([...f(x, { a: 5n }).dataSync()], [2, 4]);
  assert.deepEqual([...f(x, { a: "null" }).dataSync()], [2, 4]);
  assert.deepEqual([...f(x, { a: null }).dataSync()], [2, 3]);
});

Deno.test("a tensorSchedule returning a number the caller changes is followed at every step of the fused CPU update", () => {
  // the fused step (a jit trace) froze the first step's number: steps 2-4 used lr = 0.1
  for (
    const make of [
      (lr: optim.LearningRate): any => optim.sgd({ lr }),
      (lr: optim.LearningRate): any => optim.adam({ lr }),
    ]
  ) {
    let rate = 0.1;
    const opt = make(optim.tensorSchedule(() => rate));
    const ref = (r: number) => make(r); // a fixed rate at each step: the same step, eagerly checked
    let p = tensor([1, -2, 3]), s = opt.init(p);
    let q = p, t = ref(0.1).init(q);
    for (let i = 0; i < 4; i++) {
      rate = 0.1 / (i + 1);
      const g = mul(p, 0.5);
      ({ params: p, state: s } = opt.update(g, s, p));
      ({ params: q, state: t } = ref(rate).update(g, t, q));
      assert.deepEqual([...p.dataSync()], [...q.dataSync()], `step ${i} (rate ${rate})`);
    }
  }
});

/** The float64 product of row-major a (m×k) and b (k×n). */
function naiveProduct(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  }
  return c;
}

/** Every element within `tol` of the reference, relative to (1 + |ref|). */
function near(got: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i] - ref[i]) / (1 + Math.abs(ref[i]));
    assert.ok(e <= tol, `${what}: element ${i}: ${got[i]} vs ${ref[i]}`);
  }
}

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`a product operand moved into the Wasm memory (settle, ${dtype}) reads right through its views and after the memory grows`, () => {
    const [k1, k2] = split(key(dtype === "float32" ? 11 : 12), 2);
    const x = normal(k1, [64, 48], { dtype }), w = normal(k2, [48, 40], { dtype }); // 12 / 24 KiB: moved on the third read
    const xv = x.dataSync(), ref = naiveProduct(xv, w.dataSync(), 64, 48, 40);
    const first = matmul(x, w).dataSync();
    const flatView = reshape(x, [64 * 48]), rows = slice(x, [[0, 32], null]), xt = transpose(x);
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(matmul(x, w).dataSync(), first, `read ${i}: the bits of the first product`);
    }
    if (getHeap()?.shared) assert.ok(heapAddress(arr(x._storage)) >= 0, "x was moved into the Wasm memory");
    near(matmul(reshape(flatView, [64, 48]), w).dataSync(), ref, 1e-5, "a reshape of the moved tensor");
    near(matmul(rows, w).dataSync(), ref.subarray(0, 32 * 40), 1e-5, "a slice taken before the move");
    near(matmul(transpose(xt), w).dataSync(), ref, 1e-5, "a transpose taken before the move");
    const read = x.dataSync(), promised = x.data();
    // grow the memory: the arrays handed out before must stay whole and plain (not views of it)
    const size = heapStats().memoryBytes;
    const grow = heapArray(
      "float64",
      Math.ceil((heapStats().memoryBytes - heapStats().topBytes) / 8) + (1 << 19),
      false,
    );
    if (grow) assert.ok(heapStats().memoryBytes > size, "the memory grew");
    try {
      for (const [what, a] of [["dataSync", read], ["the moved tensor", x.dataSync()]] as const) {
        assert.equal(a.length, 64 * 48, what);
        assert.ok(a.every((v, i) => Object.is(v, xv[i])), what);
        assert.ok(!(a.buffer instanceof SharedArrayBuffer), `${what} is a view of the shared memory`);
      }
      assert.deepEqual(matmul(x, w).dataSync(), first, "after the memory grew");
    } finally {
      if (grow) heapRelease(grow);
    }
    return promised.then((a) => assert.ok(a.every((v, i) => Object.is(v, xv[i])), "data()"));
  });
}

Deno.test("fresh weights of one shape, products read thrice and released by scope each step: every product right (no stale cached operand)", () => {
  // a released weight's array is recycled for the next weight: anything cached for the old contents
  // (the operand's move, packed panels) must not be read for the new ones
  const x = normal(key(13), [96, 128]); // 48 KiB, moved and read in place
  let w = normal(key(14), [128, 112]); // 56 KiB
  for (let step = 0; step < 24; step++) {
    const ref = naiveProduct(x.dataSync(), w.dataSync(), 96, 128, 112);
    const ys = scope(() => [matmul(x, w), matmul(x, w), matmul(x, transpose(transpose(w))), matmul(x, w)]);
    ys.forEach((y, r) => near(y.dataSync(), ref, 1e-4, `step ${step}, product ${r}`));
    w = scope(() => (step % 2 ? normal(key(100 + step), [128, 112]) : add(w, normal(key(100 + step), [128, 112]))), {
      release: w,
    });
  }
});

Deno.test({
  // settle moves a fresh operand read thrice into the Wasm memory; a copy nobody releases is freed
  // only by a FinalizationRegistry callback, which never runs inside a synchronous loop, so without
  // its budget of unreleased copies such a loop grew the memory by the operand's size at every step
  // (64 KiB here: +19 MiB in 300 steps, +190 MiB in 3,000, up to 2 GiB)
  name: "a loop without scope whose fresh operands are read thrice by products keeps the Wasm memory bounded",
  fn: () => {
    const w = normal(key(15), [256, 256]);
    const live0 = heapStats().liveBytes;
    for (let i = 0; i < 300; i++) {
      const x = add(normal(key(16), [64, 256]), i); // 64 KiB, dropped at the end of the step
      for (let r = 0; r < 3; r++) matmul(x, w);
    }
    const grown = heapStats().liveBytes - live0;
    assert.ok(
      grown < 8 * 2 ** 20,
      `the Wasm memory's live bytes grew by ${(grown / 2 ** 20).toFixed(1)} MiB in 300 steps`,
    );
  },
});
