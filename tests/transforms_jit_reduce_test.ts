/**
 * jit's fused reductions (issue 11): a sum, max or min over axes that are not one run joins its
 * chain's kernel when the eager kernel's move of the reduced axes to the end moves only axes of
 * extent 1 (`[A, 1, C]` over axes 0 and 2), bit for bit the eager result; a strided reduction stays
 * the eager kernel (also bit for bit). jitInfo reports which. (`prod`: transforms_jit_prod_test.ts.)
 */
import assert from "node:assert/strict";
import { add, jit, jitInfo, key, max, min, mul, sum, type Tensor, tensor, uniform } from "../mod.ts";

type Red = (x: Tensor, o: { axis: number[]; keepdims?: boolean }) => Tensor;
const reds: [string, Red][] = [["sum", sum], ["max", max], ["min", min]];

/** Bits of `t` as integers (so NaN and −0 compare exactly). */
function bits(t: Tensor): number[] {
  const d = t.dataSync();
  if (d instanceof Float64Array) return Array.from(new BigInt64Array(d.buffer, d.byteOffset, d.length), Number);
  if (d instanceof Float32Array) return Array.from(new Int32Array(d.buffer, d.byteOffset, d.length));
  return Array.from(d, Number);
}

/** A uniform tensor in [-2, 2) of `shape` with a NaN at `nanAt` when given. */
function input(shape: number[], dtype: "float32" | "float64", seed: number, nanAt?: number): Tensor {
  const u = uniform(key(seed), shape, { dtype, min: -2, max: 2 });
  if (nanAt === undefined) return u;
  const d = Array.from(u.dataSync(), Number);
  d[nanAt] = NaN;
  return tensor(d, { dtype }).reshape(shape);
}

function check(shape: number[], axis: number[], fusedExpected: boolean) {
  for (const dtype of ["float32", "float64"] as const) {
    for (const [name, red] of reds) {
      for (const keepdims of [false, true]) {
        const what = `${name} ${dtype} [${shape}] over [${axis}]${keepdims ? " keepdims" : ""}`;
        const f = (x: Tensor, y: Tensor) => red(add(mul(x, 1.5), y), { axis, keepdims });
        const x = input(shape, dtype, 1), y = input(shape, dtype, 2, name === "sum" ? undefined : 3);
        const want = f(x, y);
        const jf = jit(f);
        const traced = jf(x, y), replayed = jf(x, y);
        assert.deepEqual(traced.shape, want.shape, what);
        assert.deepEqual(bits(traced), bits(want), `${what}: traced`);
        assert.deepEqual(bits(replayed), bits(want), `${what}: replayed`);
        const [info] = jitInfo(jf);
        const reduced = info.steps.some((s) => s.primitive === "fused" && s.ops.at(-1) === name);
        assert.equal(reduced, fusedExpected, `${what}: ${String(info)}`);
        if (fusedExpected) assert.ok(!info.steps.some((s) => s.primitive === "reduce"), `${what}: ${String(info)}`);
      }
    }
  }
}

Deno.test("jit fuses a reduction over axes apart only by axes of extent 1, bit for bit the eager one", () => {
  // short rows, rows of 64 or more (the eager sum's four partial sums), 4096 or more (its Wasm kernel)
  for (const [a, c] of [[3, 5], [8, 16], [64, 128]]) check([a, 1, c], [0, 2], true);
  check([2, 7, 1, 9], [1, 3], true); // a leading axis kept: rows of 63
  check([1, 6, 1, 1, 11], [1, 4], true);
});

Deno.test("jit keeps strided reductions as the eager kernel, bit for bit", () => {
  check([3, 4, 5], [0, 2], false); // axis 1 (extent 4) would move: a strided gather first
});
