/**
 * float16 on the CPU: storage in Float16Array, casts that round to nearest even (checked against
 * `Math.f16round` and on every one of the 65536 bit patterns), the promotion table, elementwise ops
 * and reductions equal to the float32 op rounded once, products with a float16 weight equal to the
 * float32 product of the widened weight, and gradients through `x·Wᵀ` with W float16.
 */
import assert from "node:assert/strict";
import {
  abs,
  add,
  astype,
  div,
  exp,
  full,
  grad,
  key,
  log,
  matmul,
  matmulT,
  max,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  normal,
  ones,
  softmax,
  sqrt,
  sub,
  sum,
  take,
  tanh,
  type Tensor,
  tensor,
  uniform,
  zeros,
} from "../mod.ts";
import { DTYPES, isFloat, itemSize, promote } from "../core/dtype.ts";

/** The 65536 float16 bit patterns as values. */
function allHalves(): Float16Array {
  const bits = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) bits[i] = i;
  return new Float16Array(bits.buffer);
}

/** Bits of a Float16Array. */
const bitsOf = (a: Float16Array) => new Uint16Array(a.buffer, a.byteOffset, a.length);

/** Values around float16's rounding boundaries: ties, overflow, subnormals, signed zeros, NaN. */
function hardValues(): number[] {
  const out = [0, -0, NaN, Infinity, -Infinity, 65504, 65519.99, 65520, -65520, 1e6, 2 ** -24, 2 ** -25, 3 * 2 ** -26];
  for (const e of [-24, -20, -14, -1, 0, 1, 10, 15]) {
    for (const k of [0, 1, 2, 3, 1023]) {
      const ulp = 2 ** (Math.max(e, -14) - 10);
      const base = 2 ** e + k * ulp;
      out.push(base + ulp / 2, base - ulp / 2, base + ulp / 2 + ulp / 1024, -(base + ulp / 2));
    }
  }
  // pseudo-random values over many binades
  let s = 12345;
  for (let i = 0; i < 2000; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out.push((s / 2 ** 31 - 0.5) * 2 ** ((i % 40) - 26));
  }
  return out;
}

const sameNumber = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

Deno.test("float16: Float16Array and Math.f16round exist here; itemSize 2; isFloat; DTYPES in promotion order", () => {
  assert.equal(typeof Float16Array, "function");
  assert.equal(Math.f16round(1 + 2 ** -11), 1); // a tie goes to the even neighbour
  assert.equal(itemSize("float16"), 2);
  assert.ok(isFloat("float16"));
  assert.deepEqual(DTYPES, ["bool", "int32", "float16", "float32", "float64"]);
});

Deno.test("float16 cast: every bit pattern survives float16 → float32/float64 → float16 exactly", () => {
  const h = allHalves();
  for (const wide of ["float32", "float64"] as const) {
    const t = tensor(h);
    assert.equal(t.dtype, "float16");
    const w = astype(t, wide);
    const back = astype(w, "float16").dataSync() as Float16Array;
    assert.ok(back instanceof Float16Array);
    const wv = w.dataSync();
    for (let i = 0; i < 65536; i++) {
      assert.ok(sameNumber(wv[i], h[i]), `widen ${i.toString(16)}: ${wv[i]} vs ${h[i]}`);
      if (!Number.isNaN(h[i])) assert.equal(bitsOf(back)[i], i, `round trip of 0x${i.toString(16)} through ${wide}`);
      else assert.ok(Number.isNaN(back[i]));
    }
  }
});

Deno.test("float16 cast: float64 and float32 values round to nearest even, as Math.f16round", () => {
  const v = hardValues();
  const from64 = astype(tensor(v, { dtype: "float64" }), "float16").dataSync();
  const from32 = astype(tensor(v, { dtype: "float32" }), "float16").dataSync();
  const direct = tensor(v, { dtype: "float16" }).dataSync();
  v.forEach((x, i) => {
    assert.ok(sameNumber(from64[i], Math.f16round(x)), `float64 ${x} → ${from64[i]}, want ${Math.f16round(x)}`);
    assert.ok(sameNumber(direct[i], Math.f16round(x)), `tensor(${x}) → ${direct[i]}`);
    const x32 = Math.fround(x);
    assert.ok(sameNumber(from32[i], Math.f16round(x32)), `float32 ${x32} → ${from32[i]}`);
  });
  // and to int32 / bool from float16
  const h = tensor([-2.5, -0.5, 0, 0.75, 3.99], { dtype: "float16" });
  assert.deepEqual([...astype(h, "int32").dataSync()], [-2, 0, 0, 0, 3]);
  assert.deepEqual([...astype(h, "bool").dataSync()], [1, 1, 0, 1, 1]);
  assert.deepEqual([...astype(tensor([3, -7], { dtype: "int32" }), "float16").dataSync()], [3, -7]);
});

Deno.test("float16 promotion: bool < int32 < float16 < float32 < float64; weak numbers keep float16", () => {
  const make = (d: (typeof DTYPES)[number]) => tensor([1, 0], { dtype: d });
  const table: Record<string, string> = {
    "float16+bool": "float16",
    "float16+int32": "float16",
    "float16+float16": "float16",
    "float16+float32": "float32",
    "float16+float64": "float64",
  };
  for (const [pair, want] of Object.entries(table)) {
    const [a, b] = pair.split("+") as ["float16", (typeof DTYPES)[number]];
    assert.equal(promote(a, b), want, pair);
    assert.equal(promote(b, a), want, pair);
    assert.equal(add(make(a), make(b)).dtype, want, `add ${pair}`);
    assert.equal(matmul(ones([2, 2], { dtype: a }), ones([2, 2], { dtype: b === "bool" ? "int32" : b })).dtype, want);
  }
  assert.equal(add(make("float16"), 1.5).dtype, "float16");
  assert.equal(div(make("int32"), make("float16")).dtype, "float16");
});

Deno.test("float16 creation and reading: zeros, ones, full, uniform, normal, toArray, data, toString", async () => {
  const u = uniform(key(3), [64], { dtype: "float16", min: -2, max: 2 });
  assert.equal(u.dtype, "float16");
  const u32 = uniform(key(3), [64], { min: -2, max: 2 }).dataSync();
  u.dataSync().forEach((v, i) => assert.equal(v, Math.f16round(u32[i])));
  const z32 = normal(key(4), [64]).dataSync();
  normal(key(4), [64], { dtype: "float16" }).dataSync().forEach((v, i) => assert.equal(v, Math.f16round(z32[i])));
  assert.deepEqual([...zeros([3], { dtype: "float16" }).dataSync()], [0, 0, 0]);
  assert.deepEqual([...ones([2], { dtype: "float16" }).dataSync()], [1, 1]);
  const f = full([2], 0.1, { dtype: "float16" });
  assert.equal(f.dtype, "float16");
  assert.deepEqual([...f.dataSync()], [Math.f16round(0.1), Math.f16round(0.1)]);
  const t = tensor([[1, 2.0009765625], [65504, 70000]], { dtype: "float16" });
  assert.ok((await t.data()) instanceof Float16Array);
  assert.deepEqual(t.arraySync(), [[1, 2], [65504, Infinity]]);
  assert.match(t.toString(), /dtype=float16/);
});

/** Elementwise float16 results equal the float32 op on the widened operands, rounded once. */
function checkVsFloat32(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  ulps = 0,
): void {
  const got = f(...inputs);
  assert.equal(got.dtype, "float16", name);
  const ref = f(...inputs.map((x) => astype(x, "float32"))).dataSync();
  const g = got.dataSync();
  for (let i = 0; i < g.length; i++) {
    const want = Math.f16round(ref[i]);
    if (sameNumber(g[i], want)) continue;
    const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(want))), -14) - 10);
    assert.ok(ulps > 0 && Math.abs(g[i] - want) <= ulps * ulp, `${name}[${i}]: ${g[i]} vs ${want} (float32 ${ref[i]})`);
  }
}

Deno.test("float16 elementwise ops equal the float32 ops rounded once (broadcasting included)", () => {
  const a = astype(normal(key(1), [16, 33]), "float16");
  const b = astype(normal(key(2), [16, 33]), "float16");
  const row = astype(normal(key(3), [33]), "float16");
  const pos = astype(add(abs(normal(key(4), [16, 33])), 0.01), "float16");
  for (
    const [name, f] of [["add", add], ["sub", sub], ["mul", mul], ["div", div], ["max", maximum], [
      "min",
      minimum,
    ]] as const
  ) {
    checkVsFloat32(name, f, [a, b]);
    checkVsFloat32(`${name} (row)`, f, [a, row]);
  }
  checkVsFloat32("neg", neg, [a]);
  checkVsFloat32("abs", abs, [a]);
  checkVsFloat32("sqrt", sqrt, [pos]);
  // transcendental: float32's own rounding may sit on the other side of a float16 tie
  checkVsFloat32("exp", exp, [a], 1);
  checkVsFloat32("log", log, [pos], 1);
  checkVsFloat32("tanh", tanh, [a], 1);
  checkVsFloat32("softmax", (x) => softmax(x), [a], 1);
});

Deno.test("float16 reductions accumulate in float64 (float32 for mean, softmax) and round once", () => {
  // 4096 elements of about 100: a float16 accumulator would overflow (65504) and lose digits
  const x = astype(add(mul(normal(key(5), [64, 64]), 3), 100), "float16");
  const x32 = astype(x, "float32");
  const s = sum(x, { axis: 1 });
  assert.equal(s.dtype, "float16");
  const s64 = sum(astype(x, "float64"), { axis: 1 }).dataSync();
  s.dataSync().forEach((v, i) => assert.equal(v, Math.f16round(s64[i])));
  const m = mean(x);
  assert.equal(m.dtype, "float16");
  assert.equal(m.item(), Math.f16round(mean(x32).item()));
  assert.ok(Number.isFinite(m.item()));
  assert.equal(max(x).item(), max(x32).item());
});

Deno.test("float16 scatterAdd (take's gradient) accumulates in float64 and rounds once", () => {
  // 2048 additions of 1 to one row: float16 steps of 1 stop at 2048 (2049 rounds back to 2048)
  const table = zeros([4, 2], { dtype: "float16" });
  const ids = tensor(Array.from({ length: 4096 }, (_, i) => (i % 2 ? 1 : 3)), { dtype: "int32" });
  const g = grad((t: Tensor) => sum(take(t, ids, 0)))(table);
  assert.equal(g.dtype, "float16");
  assert.deepEqual([...g.dataSync()], [0, 0, 2048, 2048, 0, 0, 2048, 2048]);
  const ids3 = tensor(Array.from({ length: 3001 }, () => 1), { dtype: "int32" });
  const g3 = grad((t: Tensor) => sum(take(t, ids3, 0)))(table);
  assert.deepEqual([...g3.dataSync()].slice(2, 4), [Math.f16round(3001), Math.f16round(3001)]); // 3000, not 2048
});

Deno.test("matmul with a float16 weight equals the float32 matmul of the widened weight, bit for bit", () => {
  for (const [m, k, n] of [[3, 8, 5], [48, 96, 80]]) {
    const x = normal(key(m), [m, k]);
    const W = astype(normal(key(n), [n, k]), "float16");
    const Ww = astype(W, "float32");
    const y = matmulT(x, W, false, true);
    assert.equal(y.dtype, "float32");
    assert.deepEqual(y.dataSync(), matmulT(x, Ww, false, true).dataSync());
    assert.deepEqual(matmul(x, astype(Ww, "float16").mT).dataSync(), matmul(x, Ww.mT).dataSync());
    // float16 · float16 → float16: the float32 product rounded once
    const xh = astype(x, "float16");
    const yh = matmulT(xh, W, false, true);
    assert.equal(yh.dtype, "float16");
    const ref = matmulT(astype(xh, "float32"), Ww, false, true).dataSync();
    yh.dataSync().forEach((v, i) => assert.equal(v, Math.f16round(ref[i]), `[${m},${k},${n}] element ${i}`));
  }
});

Deno.test("gradient through x·Wᵀ with W float16: dW is float16 (rounded float32 dW), dx float32 as with a float32 W", () => {
  const x = normal(key(7), [6, 12]);
  const W = astype(normal(key(8), [10, 12]), "float16");
  const Ww = astype(W, "float32");
  const loss = (x: Tensor, W: Tensor) => sum(tanh(matmulT(x, W, false, true)));
  const dW = grad((w: Tensor) => loss(x, w))(W);
  assert.equal(dW.dtype, "float16");
  const dW32 = grad((w: Tensor) => loss(x, w))(Ww).dataSync();
  dW.dataSync().forEach((v, i) => assert.equal(v, Math.f16round(dW32[i])));
  // W frozen: the gradient flows to x only, in float32, equal to the float32 weight's
  const dx = grad((xx: Tensor) => loss(xx, W))(x);
  assert.equal(dx.dtype, "float32");
  assert.deepEqual(dx.dataSync(), grad((xx: Tensor) => loss(xx, Ww))(x).dataSync());
});
