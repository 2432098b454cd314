/**
 * float64 `tanh` inside the fused Wasm kernels (`fused_kernel.ts`), two f64x2 lanes at a time, bit
 * for bit the `Math.tanh` this process calls.
 *
 * V8 computes `Math.tanh` with the C library's `tanh` (`std::tanh`). On Linux that is glibc's
 * `s_tanh.c` (fdlibm's algorithm) over glibc's `expm1`, and on x86-64 CPUs with FMA and AVX2 glibc
 * selects an `expm1` compiled with fused multiply-adds. `emitTanh64` follows that build operation
 * for operation, each of its fused multiply-adds an `f64x2.relaxed_madd` (one rounding where the
 * CPU has FMA, which is when V8 emits one, the condition under which glibc picks that `expm1`, up to
 * AVX2), every branch computed and each lane's selected (no branches):
 *
 *   tanh x = x·(1 + x) below 2⁻⁵⁵ in magnitude (±0 kept), ±1 from 22 (and for ±∞), NaN kept;
 *   1 − 2/(t + 2), t = expm1(2|x|) from 1; −t/(t + 2), t = expm1(−2|x|) below 1; x's sign.
 *   expm1 r: k = 0 below ½ln2, ±1 below 1.5ln2 (hi = r ∓ ln2_hi, lo = ±ln2_lo), else
 *   k = trunc(r/ln2 ± ½), hi = fma(−k, ln2_hi, r), lo = k·ln2_lo; r' = hi − lo, c = (hi − r') − lo;
 *   hxs = r'·(r'/2); r1 = fma(hxs⁴, fma(hxs, Q5, Q4), fma(hxs², fma(hxs, Q3, Q2), fma(hxs, Q1, 1)));
 *   t = fma(−r1, r'/2, 3); e = hxs·((r1 − t)/fma(−r', t, 6)); k = 0: r' − fma(e, r', −hxs); else
 *   e' = fma(e − c, r', −c) − hxs and k = −1: fma(½, r' − e', −½); k ≤ −2 or > 56:
 *   2^k·(1 − (e' − r')) − 1; k < 20: 2^k·((1 − 2⁻ᵏ) − (e' − r')); else 2^k·((r' − (e' + 2⁻ᵏ)) + 1),
 *   2^k applied by adding k to the exponent field.
 *
 * Another C library (musl, macOS, Windows) or another glibc build computes other bits:
 * `tanhMatchesMath()` compares this code with `Math.tanh` once per process over special, boundary
 * and pseudo-random values, and `wasmMode` keeps float64 tanh in JavaScript where any differs.
 * `Math.expm1` and `Math.log1p` are correctly rounded in V8 15 (LLVM libc); fdlibm's algorithms
 * differ from them in about 0.5% of inputs, so those keep the JavaScript loop.
 * @module
 */
import { assemble, Code, F64 } from "./emit.ts";

const LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
const INVLN2 = 1.44269504088896338700e+00;
const Q1 = -3.33333333333331316428e-02, Q2 = 1.58730158725481460165e-03, Q3 = -7.93650757867487942473e-05;
const Q4 = 4.00821782732936239552e-06, Q5 = -2.01099218183624371326e-07;

/** Values on which a port of `tanh` is checked: specials, the branch thresholds' neighbours, pseudo-random values. */
export function tanhProbes(): number[] {
  const out = [0, -0, NaN, Infinity, -Infinity, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308];
  const b = new Float64Array(1), u = new BigInt64Array(b.buffer);
  const near = (v: number, n: number) => {
    b[0] = v;
    const base = u[0];
    for (let d = -n; d <= n; d++) {
      u[0] = base + BigInt(d);
      out.push(b[0], -b[0]);
    }
  };
  for (
    const v of [
      2 ** -55,
      2 ** -54,
      2 ** -28,
      0.25,
      Math.LN2 / 4,
      Math.LN2 / 2,
      0.75 * Math.LN2,
      1,
      22,
      11,
      28 * Math.LN2,
    ]
  ) {
    near(v, 20);
  }
  // where expm1 with fused multiply-adds and without them give other tanh bits (either side then fails)
  for (
    const v of [
      0.1579123287810944,
      0.14451718929922208,
      0.12440081051317975,
      0.05932869487151038,
      0.17000902583822608,
      0.08431029674829915,
      0.14634794142330065,
      0.05559006462863181,
      0.2282479812274687,
      0.21882957656634971,
    ]
  ) out.push(v, -v);
  // a linear congruential sequence of exponents in [−60, 6) and mantissas
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 4000; i++) out.push((next() < 0.5 ? -1 : 1) * (1 + next()) * 2 ** Math.floor(next() * 66 - 60));
  return out;
}

let tanhOk: boolean | undefined;

/** Whether the Wasm tanh gives `Math.tanh`'s bits on every probe value here (computed once). */
export function tanhMatchesMath(): boolean {
  if (tanhOk === undefined) {
    const f = wasmTanh64x2(), xs = tanhProbes();
    tanhOk = f !== null && xs.every((x, i) => {
      const [p, q] = f(x, xs[(i * 7 + 3) % xs.length]);
      return Object.is(p, Math.tanh(x)) && Object.is(q, Math.tanh(xs[(i * 7 + 3) % xs.length]));
    });
  }
  return tanhOk;
}

// f64x2 opcodes of the two-lane form
const V = {
  splat: 0x14,
  abs: 0xec,
  neg: 0xed,
  add: 0xf0,
  sub: 0xf1,
  mul: 0xf2,
  div: 0xf3,
  ne: 0x48,
  lt: 0x49,
  ge: 0x4c,
  eq: 0x47,
  gt: 0x4a,
  le: 0x4b,
  trunc: 0x7a,
  and: 0x4e,
  or: 0x50,
  andnot: 0x4f,
  bitselect: 0x52,
  madd: 0x107,
  i64Shl: 0xcb,
  i64ShrS: 0xcc,
  i64Add: 0xce,
  i64Sub: 0xd1,
  truncSatZero: 0xfc,
  extendLowS: 0xc7,
} as const;

/** The v128 locals `emitTanh64` uses (allocated once per kernel; its uses run one after another). */
export interface Tanh64Locals {
  [name: string]: number;
}

const TANH_LOCALS = [
  "x",
  "ax",
  "r",
  "neg",
  "sm",
  "mid",
  "kf",
  "k",
  "hi",
  "lo",
  "xr",
  "c",
  "hfx",
  "hxs",
  "r1",
  "t",
  "e",
];

/** Allocates `emitTanh64`'s locals with `local(V128)`. */
export function tanh64Locals(local: (type: number) => number): Tanh64Locals {
  return Object.fromEntries(TANH_LOCALS.map((n) => [n, local(0x7b)]));
}

/**
 * Pushes tanh of the f64x2 local `x`, two lanes at a time with no branches: every lane takes the
 * path `tanhFunction`/`expm1Function` take for it (each branch computed, the lane's selected), with
 * the same operations; the thresholds on high words are comparisons with the doubles they bound
 * (|r| > 0x3fd62e42_ffffffff is |r| ≥ 0x3fd62e43_00000000). expm1 is only reached with tanh's
 * arguments, r ∈ (−2, −2⁻⁵⁴] ∪ [2, 44): k ∈ {0, −1, −2, −3} ∪ [3, 63] (its k = 1 and |r| < 2⁻⁵⁴
 * branches and the overflow filters are never taken and are left out).
 */
export function emitTanh64(c: Code, x: number, L: Tanh64Locals): void {
  const k = (v: number) => c.f64(v).simd(V.splat);
  const bits = (h: number) => {
    const b = new Float64Array(1);
    new Uint32Array(b.buffer)[1] = h;
    return b[0];
  };
  const madd = (a: () => void, b: () => void, d: () => void) => {
    a();
    b();
    d();
    c.simd(V.madd);
  };
  const sel = (a: () => void, b: () => void, mask: () => void) => {
    a();
    b();
    mask();
    c.simd(V.bitselect);
  };
  const g = (i: number) => () => c.get(i);
  c.get(x).tee(L.x).simd(V.abs).set(L.ax);
  // r = |x| ≥ 1 ? 2|x| : −2|x|
  sel(
    () => k(2).get(L.ax).simd(V.mul),
    () => k(-2).get(L.ax).simd(V.mul),
    () => c.get(L.ax).f64(1).simd(V.splat).simd(V.ge),
  );
  c.set(L.r);
  // expm1(r): the lane's reduction
  c.get(L.r).f64(0).simd(V.splat).simd(V.lt).set(L.neg);
  c.get(L.r).simd(V.abs).f64(bits(0x3fd62e43)).simd(V.splat).simd(V.lt).set(L.sm); // k = 0
  c.get(L.r).simd(V.abs).f64(bits(0x3ff0a2b2)).simd(V.splat).simd(V.lt).get(L.sm).simd(V.andnot).set(L.mid); // k = ±1
  // k = trunc(r/ln2 ± ½) (general), ±1 (mid), 0 (sm)
  c.f64(INVLN2).simd(V.splat).get(L.r).simd(V.mul);
  sel(() => k(-0.5), () => k(0.5), g(L.neg));
  c.simd(V.add).simd(V.trunc).set(L.kf);
  sel(() => sel(() => k(-1), () => k(1), g(L.neg)), g(L.kf), g(L.mid));
  c.set(L.kf);
  sel(() => k(0), g(L.kf), g(L.sm));
  c.set(L.kf);
  // hi, lo: mid r ± ln2_hi, ±ln2_lo; else fma(−k, ln2_hi, r), k·ln2_lo
  sel(
    () =>
      sel(
        () => c.get(L.r).f64(LN2_HI).simd(V.splat).simd(V.add),
        () => c.get(L.r).f64(LN2_HI).simd(V.splat).simd(V.sub),
        g(L.neg),
      ),
    () => madd(() => c.get(L.kf).simd(V.neg), () => k(LN2_HI), g(L.r)),
    g(L.mid),
  );
  c.set(L.hi);
  sel(
    () => sel(() => k(-LN2_LO), () => k(LN2_LO), g(L.neg)),
    () => c.get(L.kf).f64(LN2_LO).simd(V.splat).simd(V.mul),
    g(L.mid),
  );
  c.set(L.lo);
  sel(g(L.r), () => c.get(L.hi).get(L.lo).simd(V.sub), g(L.sm));
  c.set(L.xr);
  c.get(L.hi).get(L.xr).simd(V.sub).get(L.lo).simd(V.sub).set(L.c);
  // the primary range
  c.f64(0.5).simd(V.splat).get(L.xr).simd(V.mul).set(L.hfx);
  c.get(L.xr).get(L.hfx).simd(V.mul).set(L.hxs);
  const h2 = () => c.get(L.hxs).get(L.hxs).simd(V.mul);
  madd(
    () => {
      h2();
      h2();
      c.simd(V.mul);
    },
    () => madd(g(L.hxs), () => k(Q5), () => k(Q4)),
    () => madd(h2, () => madd(g(L.hxs), () => k(Q3), () => k(Q2)), () => madd(g(L.hxs), () => k(Q1), () => k(1))),
  );
  c.set(L.r1);
  madd(() => c.get(L.r1).simd(V.neg), g(L.hfx), () => k(3));
  c.set(L.t);
  c.get(L.hxs).get(L.r1).get(L.t).simd(V.sub);
  madd(() => c.get(L.xr).simd(V.neg), g(L.t), () => k(6));
  c.simd(V.div).simd(V.mul).set(L.e);
  // k as i64 lanes, shifted into the exponent field
  c.get(L.kf).simd(V.truncSatZero).simd(V.extendLowS).i32(52).simd(V.i64Shl).set(L.k);
  // e ← fma(e − c, x, −c) − hxs (for k ≠ 0); t ← the k = 0 result
  c.get(L.xr);
  madd(g(L.e), g(L.xr), () => c.get(L.hxs).simd(V.neg));
  c.simd(V.sub).set(L.t);
  madd(() => c.get(L.e).get(L.c).simd(V.sub), g(L.xr), () => c.get(L.c).simd(V.neg));
  c.get(L.hxs).simd(V.sub).set(L.e);
  // per k: −1: fma(½, x − e, −½); ≤ −2 or > 56: 2^k·(1 − (e − x)) − 1; < 20: 2^k·((1 − 2⁻ᵏ) − (e − x));
  // else 2^k·((x − (e + 2⁻ᵏ)) + 1); 0: t
  const twoK = (f: () => void) => {
    f();
    c.get(L.k).simd(V.i64Add);
  };
  const twoMinusK = () => c.f64(1).simd(V.splat).get(L.k).simd(V.i64Sub); // bits of 2^−k
  sel(
    () => madd(() => k(0.5), () => c.get(L.xr).get(L.e).simd(V.sub), () => k(-0.5)),
    () =>
      sel(
        () => {
          twoK(() => c.f64(1).simd(V.splat).get(L.e).get(L.xr).simd(V.sub).simd(V.sub));
          c.f64(1).simd(V.splat).simd(V.sub);
        },
        () =>
          sel(
            () =>
              twoK(() => {
                k(1);
                twoMinusK();
                c.simd(V.sub).get(L.e).get(L.xr).simd(V.sub).simd(V.sub);
              }),
            () =>
              twoK(() => {
                c.get(L.xr).get(L.e);
                twoMinusK();
                c.simd(V.add).simd(V.sub).f64(1).simd(V.splat).simd(V.add);
              }),
            () => c.get(L.kf).f64(20).simd(V.splat).simd(V.lt),
          ),
        () => c.get(L.kf).f64(-2).simd(V.splat).simd(V.le).get(L.kf).f64(56).simd(V.splat).simd(V.gt).simd(V.or),
      ),
    () => c.get(L.kf).f64(-1).simd(V.splat).simd(V.eq),
  );
  c.set(L.c);
  sel(g(L.t), g(L.c), () => c.get(L.kf).f64(0).simd(V.splat).simd(V.eq));
  c.set(L.t);
  // tanh from t = expm1(r): |x| ≥ 1: 1 − 2/(t + 2); else −t/(t + 2); 1 from 22
  sel(
    () => c.f64(1).simd(V.splat).f64(2).simd(V.splat).get(L.t).f64(2).simd(V.splat).simd(V.add).simd(V.div).simd(V.sub),
    () => c.get(L.t).simd(V.neg).get(L.t).f64(2).simd(V.splat).simd(V.add).simd(V.div),
    () => c.get(L.ax).f64(1).simd(V.splat).simd(V.ge),
  );
  k(1);
  c.get(L.ax).f64(22).simd(V.splat).simd(V.lt).simd(V.bitselect).set(L.t);
  // the sign of x: −z where its sign bit is set
  sel(() => c.get(L.t).simd(V.neg), g(L.t), () => c.get(L.x).i32(63).simd(V.i64ShrS));
  c.set(L.t);
  // |x| < 2⁻⁵⁵ (±0 included): x·(1 + x); NaN: x + x
  sel(
    () => c.get(L.x).f64(1).simd(V.splat).get(L.x).simd(V.add).simd(V.mul),
    g(L.t),
    () => c.get(L.ax).f64(2 ** -55).simd(V.splat).simd(V.lt),
  );
  c.set(L.t);
  sel(() => c.get(L.x).get(L.x).simd(V.add), g(L.t), () => c.get(L.x).get(L.x).simd(V.ne));
}

/** `emitTanh64` as a JavaScript function of two lanes (`(a, b) → [tanh a, tanh b]`); null where it does not compile. */
export function wasmTanh64x2(): ((a: number, b: number) => [number, number]) | null {
  try {
    const c = new Code();
    const locals: number[] = [];
    const local = (t: number) => (locals.push(t), 2 + locals.length - 1);
    const L = tanh64Locals(local);
    const X = local(0x7b);
    c.get(0).simd(V.splat).get(1).simd(0x22, 1).set(X); // f64x2.replace_lane 1
    emitTanh64(c, X, L);
    c.set(X).i32(0).get(X).raw(0xfd, 0x0b, 4, 0); // v128.store at 0
    const bytes = assemble({ initial: 1 }, [{ name: "f", params: [F64, F64], locals, code: c }]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const f = inst.exports.f as (a: number, b: number) => void;
    const out = new Float64Array(memory.buffer, 0, 2);
    return (a, b) => (f(a, b), [out[0], out[1]]);
  } catch {
    return null;
  }
}
