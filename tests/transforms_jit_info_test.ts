/**
 * jitInfo (issue 11): what jit made of a function, per signature: a fused chain is one Wasm step
 * with its operations, a matmul its own step with shapes and parameters, a pytree and a static
 * argument show in the signature; a function that reads a value is eager, and the reason names the
 * read and the line that made it (the strict error says the same); anything jit did not make is a
 * DomainError.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { optim } from "../mod.ts";

const HERE = /transforms_jit_info_test\.ts:\d+:\d+/;

Deno.test("jitInfo: a fused elementwise chain ending in a sum is one Wasm step, listed like a jaxpr", () => {
  const f = T.jit((x: Tensor, y: Tensor) => T.sum(T.sin(T.add(T.mul(x, y), 1))));
  const x = T.tensor([1, 2, 3, 4, 5, 6, 7, 8]), y = T.tensor([8, 7, 6, 5, 4, 3, 2, 1]);
  f(x, y);
  assert.deepEqual(f(y, x).dataSync(), f(x, y).dataSync(), "replayed");
  const infos = T.jitInfo(f);
  assert.equal(infos.length, 1);
  const [info] = infos;
  assert.equal(info.mode, "graph");
  assert.equal(info.reason, undefined);
  assert.equal(info.signature, "(f32[8], f32[8])");
  assert.equal(info.kernels, 1);
  assert.equal(info.fused, 1);
  assert.equal(info.wasm, 1);
  assert.equal(info.primitives, 4);
  assert.equal(info.consts, 1, "the 1 added is a constant scalar");
  const [step] = info.steps;
  assert.equal(step.primitive, "fused");
  assert.deepEqual(step.ops, ["mul", "add", "sin", "sum"]);
  assert.equal(step.wasm, true);
  assert.deepEqual(step.inputs.map((v) => [v.name, v.shape, v.dtype]), [
    ["a", [8], "float32"],
    ["b", [8], "float32"],
    ["c", [], "float32"],
  ]);
  assert.deepEqual(step.outputs.map((v) => [v.name, v.shape]), [["d", []]]);
  assert.deepEqual(info.outputs.map((v) => v.name), ["d"]);
  assert.equal(
    String(info),
    [
      "jit(f32[8], f32[8]): graph of 1 kernel for 4 primitives, 1 fused (1 Wasm), 1 constant",
      "  in a:f32[8] b:f32[8]",
      "  const c:f32[]",
      "  d:f32[] = fused[wasm](mul, add, sin, sum) a b c",
      "  out d",
    ].join("\n"),
  );
});

Deno.test("jitInfo: unfused primitives keep their names and parameters; pytrees, statics and each signature show", () => {
  const f = T.jit(
    (p: { w: Tensor; b: Tensor }, x: Tensor, k: number) => T.add(T.matmul(x, p.w), T.mul(p.b, k)),
    { staticArgnums: [2] },
  );
  f(
    { w: T.ones([3, 2], { dtype: "float64" }), b: T.ones([4, 2], { dtype: "float64" }) },
    T.ones([4, 3], { dtype: "float64" }),
    2,
  );
  f({ w: T.ones([3, 2]), b: T.ones([2]) }, T.ones([4, 3]), 5); // b broadcasts: not one chain
  const infos = T.jitInfo(f);
  assert.deepEqual(infos.map((i) => i.signature), [
    "({b: f64[4,2], w: f64[3,2]}, f64[4,3], static 2)",
    "({b: f32[2], w: f32[3,2]}, f32[4,3], static 5)",
  ]);
  const [info] = infos;
  assert.deepEqual(info.steps.map((s) => s.primitive), ["matmul", "fused"]);
  assert.deepEqual(infos[1].steps.map((s) => s.primitive), ["matmul", "binary", "binary"]);
  assert.deepEqual(info.steps[0].params, { transA: false, transB: false });
  assert.deepEqual(info.steps[0].inputs.map((v) => v.shape), [[4, 3], [3, 2]]);
  assert.deepEqual(info.steps[0].outputs.map((v) => v.shape), [[4, 2]]);
  assert.deepEqual(info.steps[1].ops, ["mul", "add"]);
  const lines = String(info).split("\n");
  assert.equal(lines.length, 6, String(info));
  assert.match(lines[3], /^ {2}e:f64\[4,2\] = matmul\[transA=false transB=false\] c b$/);
  assert.match(lines[4], /^ {2}f:f64\[4,2\] = fused\[wasm\]\(mul, add\) a d e$/);
  // unfused: one step per application
  const g = T.jit((x: Tensor) => T.exp(T.neg(x)), { fuse: false });
  g(T.tensor([1, 2]));
  assert.deepEqual(T.jitInfo(g)[0].steps.map((s) => [s.primitive, s.params.op]), [["unary", "neg"], ["unary", "exp"]]);
  assert.equal(T.jitInfo(g)[0].fused, 0);
});

Deno.test("jitInfo: a function that reads a value is eager, and the reason names the read and its line", () => {
  const f = T.jit((x: Tensor) => (T.sum(x).item() > 0 ? T.mul(x, 2) : T.neg(x)));
  f(T.tensor([1, 2]));
  const [info] = T.jitInfo(f);
  assert.equal(info.mode, "eager");
  assert.match(info.reason!, /^item\(\) at /);
  assert.match(info.reason!, HERE);
  assert.deepEqual([info.kernels, info.steps.length, info.fused], [0, 0, 0]);
  assert.match(String(info), /^jit\(f32\[2\]\): eager, the trace read a value \(item\(\) at .*\); every call runs/);
  // another read, another signature
  const g = T.jit((x: Tensor) => T.mul(x, x.dataSync()[0]));
  g(T.tensor([3, 4], { dtype: "float64" }));
  assert.match(T.jitInfo(g)[0].reason!, /^dataSync\(\) at /);
  // strict says the same
  const strict = T.jit((x: Tensor) => T.mul(x, T.max(x).item()), { strict: true });
  assert.throws(() => strict(T.tensor([1, 2])), (e: Error) => /item\(\) at /.test(e.message) && HERE.test(e.message));
  // an optimizer with a learning-rate schedule written on numbers
  const opt = optim.sgd({ lr: (t: number) => 0.1 / (t + 1) });
  const step = T.jit((p: { w: Tensor }, s: ReturnType<typeof opt.init>) => opt.update({ w: T.ones([2]) }, s, p));
  const p = { w: T.tensor([1, 2]) };
  step(p, opt.init(p));
  assert.match(T.jitInfo(step)[0].reason!, /schedule of numbers/);
});

Deno.test("jitInfo: a function jit did not make is a DomainError; a jitted one not yet called has no entries", () => {
  assert.throws(
    () => T.jitInfo((x: Tensor) => x),
    (e: Error) => e instanceof T.DomainError && /jit did not make/.test(e.message),
  );
  assert.throws(() => T.jitInfo(3), T.DomainError);
  assert.deepEqual(T.jitInfo(T.jit((x: Tensor) => x)), []);
});
