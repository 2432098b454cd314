/**
 * The CPU backend's fast float32 exp, log and tanh (core/backend/cpu/fastmath.ts) against `Math.*`
 * rounded to float32: within 1 ulp over a dense sweep of float32 bit patterns (every 1999th, both
 * signs, subnormals to ∞) plus the edges of each method's ranges and the special values; and the
 * tensor ops on float32 use them.
 */
import assert from "node:assert/strict";
import { exp, log, tanh, tensor } from "../mod.ts";
import { exp32, log32, log32Of, tanh32 } from "../core/backend/cpu/fastmath.ts";
import { unaryKernel } from "../core/backend/cpu/elementwise.ts";
import type { UnaryOp } from "../core/primitives.ts";

const F = new Float32Array(1), I = new Int32Array(F.buffer);

/** Distance in float32 ulps (0 for two NaNs, or for equal values of the same sign, ±0 apart). */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return Object.is(a, b) ? 0 : Infinity;
  const key = (v: number) => {
    F[0] = v;
    return I[0] < 0 ? -(I[0] & 0x7fffffff) : I[0];
  };
  return Math.abs(key(a) - key(b));
}

const BOUND = 1;

const CASES: [string, (x: number, bits: number) => number, (x: number) => number][] = [
  ["exp", (x) => exp32(x), Math.exp],
  ["tanh", (x) => tanh32(x), Math.tanh],
  ["log", (x, bits) => log32(x, bits), Math.log],
];

function edges(): number[] {
  const xs = [
    0,
    -0,
    Infinity,
    -Infinity,
    NaN,
    1,
    -1,
    2,
    0.5,
    1e-45,
    -1e-45,
    1.1754942e-38,
    1.1754944e-38,
    3.4028235e38,
  ];
  for (const c of [-104, -103.97, -87.34, -87.33, 88.72, 88.73, 89, -1e30, 1e30, 9.5, 9.1, 0.00390625, 2 ** -24]) {
    xs.push(c, -c);
  }
  // neighbours of 1 (log's cancellation) and of the table boundaries
  for (let k = -40; k <= 40; k++) xs.push(1 + k * 2 ** -23, 1 + k * 2 ** -24);
  for (let j = 0; j <= 128; j++) xs.push(1 + j / 128, (1 + j / 128) * (1 - 2 ** -24), 2 ** (j - 64));
  return xs.map(Math.fround);
}

Deno.test("fastmath: exp32, tanh32, log32 within 1 ulp of Math.* rounded to float32 on a dense sweep", () => {
  const worst = new Map<string, [number, number]>(CASES.map(([n]) => [n, [0, 0]]));
  const check = (x: number, bits: number) => {
    for (const [name, fast, ref] of CASES) {
      const d = ulps(Math.fround(fast(x, bits)), Math.fround(ref(x)));
      const w = worst.get(name)!;
      if (d > w[0]) worst.set(name, [d, x]);
    }
  };
  for (let b = 0; b < 2 ** 32; b += 1999) {
    I[0] = b | 0;
    check(F[0], I[0]);
  }
  for (const x of edges()) {
    F[0] = x;
    check(F[0], I[0]);
  }
  for (const [name, [d, x]] of worst) assert.ok(d <= BOUND, `${name}: ${d} ulps at x = ${x}`);
});

Deno.test("fastmath: special values keep IEEE behaviour", () => {
  assert.equal(exp32(-Infinity), 0);
  assert.equal(exp32(Infinity), Infinity);
  assert.ok(Number.isNaN(exp32(NaN)));
  assert.equal(exp32(-1e30), 0);
  assert.equal(Math.fround(exp32(89)), Infinity);
  assert.equal(exp32(0), 1);
  assert.ok(Object.is(tanh32(-0), -0));
  assert.ok(Object.is(tanh32(0), 0));
  assert.equal(tanh32(Infinity), 1);
  assert.equal(tanh32(-Infinity), -1);
  assert.ok(Number.isNaN(tanh32(NaN)));
  assert.equal(log32Of(1), 0);
  assert.equal(log32Of(0), -Infinity);
  assert.equal(log32Of(-0), -Infinity);
  assert.equal(log32Of(Infinity), Infinity);
  assert.ok(Number.isNaN(log32Of(-1)));
  assert.ok(Number.isNaN(log32Of(NaN)));
  assert.equal(Math.fround(log32Of(1e-45)), Math.fround(Math.log(Math.fround(1e-45))));
});

Deno.test("fastmath: float32 tensors use the fast forms, float64 tensors Math.*", () => {
  const xs = [-200, -1e30, -3.5, -0.25, -0, 0, 1e-40, 0.001, 0.7, 1, 2.5, 20, 88, 100, Infinity, -Infinity, NaN];
  const pos = xs.map(Math.abs);
  const x32 = tensor(xs, { dtype: "float32" }), x64 = tensor(xs, { dtype: "float64" });
  const p32 = tensor(pos, { dtype: "float32" });
  const f32 = new Float32Array(xs), p = new Float32Array(pos), pb = new Int32Array(p.buffer);
  assert.deepEqual([...exp(x32).dataSync()], [...f32].map((v) => Math.fround(exp32(v))));
  assert.deepEqual([...tanh(x32).dataSync()], [...f32].map((v) => Math.fround(tanh32(v))));
  assert.deepEqual([...log(p32).dataSync()], [...p].map((v, i) => Math.fround(log32(v, pb[i]))));
  assert.deepEqual([...exp(x64).dataSync()], xs.map(Math.exp));
  assert.deepEqual([...tanh(x64).dataSync()], xs.map(Math.tanh));
  assert.deepEqual([...log(tensor(pos, { dtype: "float64" })).dataSync()], pos.map(Math.log));
});

Deno.test("fastmath: long float32 arrays (SIMD kernels where there are) give the same bits as the scalar forms", () => {
  // every 4099th float32 bit pattern, then the edges; long enough to take the SIMD path in chunks
  const xs: number[] = [];
  for (let b = 0; b < 2 ** 32; b += 4099) {
    I[0] = b | 0;
    xs.push(F[0]);
  }
  xs.push(...edges());
  const x = new Float32Array(xs);
  const cases: [string, (v: number) => number][] = [
    ["exp", exp32],
    ["tanh", tanh32],
    ["sqrt", Math.sqrt],
    ["neg", (v) => -v],
    ["abs", Math.abs],
  ];
  for (const [op, js] of cases) {
    const out = new Float32Array(x.length);
    unaryKernel(op as UnaryOp, x, out);
    for (let i = 0; i < x.length; i++) {
      const want = Math.fround(js(x[i]));
      assert.ok(
        Object.is(out[i], want) || (Number.isNaN(out[i]) && Number.isNaN(want)),
        `${op}(${x[i]}): ${out[i]} vs ${want}`,
      );
    }
  }
});
