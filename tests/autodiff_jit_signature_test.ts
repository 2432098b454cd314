/**
 * `jit` traces once per input signature (issue 11): shapes, dtypes, pytree structure and backend.
 * The shape, dtype and static-argument parts are held in transforms_jit_test.ts; this file holds
 * the pytree structure (keys, array lengths, a tensor where a number was) and the backend: a
 * function traced on the CPU and called with WebGPU tensors traces again and returns WebGPU
 * tensors, and each backend's calls then replay their own graph.
 */
import assert from "node:assert/strict";
import { add, jit, jitInfo, mul, sum, type Tensor, tensor, toBackend, webgpuAvailable } from "../mod.ts";

Deno.test("jit: a new pytree structure traces again; the same structure replays", () => {
  let traces = 0;
  const f = jit((p: unknown) => {
    traces++;
    const leaves: Tensor[] = [];
    const walk = (t: unknown) => {
      if (t && typeof t === "object" && "shape" in t) leaves.push(t as Tensor);
      else if (Array.isArray(t)) t.forEach(walk);
      else if (t && typeof t === "object") {
        Object.keys(t).sort().forEach((k) => walk((t as Record<string, unknown>)[k]));
      }
    };
    walk(p);
    return leaves.reduce((a, b) => add(a, sum(b)), tensor(0));
  });
  const one = () => tensor([1, 2]);
  assert.equal(f({ a: one(), b: one() }).item(), 6);
  assert.equal(f({ a: one(), b: one() }).item(), 6);
  assert.equal(traces, 1, "same structure: replayed");
  assert.equal(f({ a: one(), c: one() }).item(), 6);
  assert.equal(traces, 2, "another key: traced again");
  assert.equal(f([one(), one()]).item(), 6);
  assert.equal(traces, 3, "an array instead of an object: traced again");
  assert.equal(f([one(), one(), one()]).item(), 9);
  assert.equal(traces, 4, "a longer array: traced again");
  assert.equal(f({ a: one(), b: 5 }).item(), 3);
  assert.equal(traces, 5, "a number where a tensor was: traced again");
  assert.equal(f({ a: one(), c: one() }).item(), 6);
  assert.equal(traces, 5, "a structure seen before replays its graph");
});

const gpu = await webgpuAvailable();
Deno.test({
  name: "jit: the backend is part of the signature (a CPU trace is not replayed on WebGPU tensors)",
  ignore: !gpu,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    let traces = 0;
    const f = jit((x: Tensor) => {
      traces++;
      return mul(add(x, 1), 2);
    });
    const cpu = tensor([1, 2, 3]);
    assert.deepEqual(Array.from(f(cpu).dataSync()), [4, 6, 8]);
    const wx = await toBackend(tensor([1, 2, 3]), "webgpu");
    const y = f(wx);
    assert.equal(traces, 2, "WebGPU tensors: traced again");
    assert.equal(y.backend.name, "webgpu");
    assert.deepEqual(Array.from(await y.data()), [4, 6, 8]);
    f(wx);
    f(cpu);
    assert.equal(traces, 2, "each backend replays its own graph");
    assert.equal(jitInfo(f).length, 2);
  },
});
