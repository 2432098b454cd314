/**
 * Reliability of the fast paths added for speed (issue 14's spirit: no silent wrong answers, no
 * unbounded memory): `jit` signatures of unusual non-tensor values, the CPU's `settle` of product
 * operands into the Wasm memory, and what a moved tensor's readers get.
 */
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { add, jit, mul, type Tensor, tensor } from "../mod.ts";
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
