/**
 * float64 `tanh` inside the fused Wasm kernels (`fused_kernel.ts`) as scalar Wasm functions of the
 * module, bit for bit the `Math.tanh` this process calls.
 *
 * V8 computes `Math.tanh` with the C library's `tanh` (`std::tanh`); on Linux/glibc that is the
 * fdlibm algorithm (`sysdeps/ieee754/dbl-64/s_tanh.c`) over glibc's `expm1`, and on x86-64 CPUs
 * with FMA and AVX2 glibc selects an `expm1` compiled with fused multiply-adds. The port here
 * follows that build operation for operation, each of its fused multiply-adds a `f64x2.relaxed_madd`
 * on lane 0 (one rounding where the CPU has FMA, which V8 uses when the CPU has it: the same
 * condition under which glibc picks that `expm1`, up to AVX2):
 *
 *   tanh x = x for ±0, x·(1 + x) below 2⁻⁵⁵ in magnitude, ±1 from 22 (and for ±∞), NaN kept;
 *   1 − 2/(t + 2), t = expm1(2|x|) from 1; −t/(t + 2), t = expm1(−2|x|) below 1; sign of x.
 *   expm1 r: k = trunc(r/ln2 ± ½) (k = ±1 between ½ln2 and 1.5ln2), hi = fma(−k, ln2_hi, r),
 *   lo = k·ln2_lo, r' = hi − lo, c = (hi − r') − lo; hxs = r'·(r'/2);
 *   r1 = fma(hxs², fma(hxs, Q5, Q4), fma(hxs², fma(hxs, Q3, Q2), fma(hxs, Q1, 1))) (hxs² and hxs⁴);
 *   t = fma(−r1, r'/2, 3); e = hxs·((r1 − t)/fma(−r', t, 6)); then per k as `s_expm1.c`.
 *
 * Another C library, or one built otherwise, computes other bits: `tanhMatchesMath()` compares this
 * port with `Math.tanh` once per process over special, boundary and pseudo-random values, and
 * `wasmMode` keeps float64 tanh in JavaScript where it differs. `Math.expm1` and `Math.log1p` are
 * correctly rounded in V8 15 (LLVM libc): an fdlibm port differs from them in about 0.5% of inputs,
 * so those stay JavaScript.
 * @module
 */
import { assemble, Code, F64, type FuncDef, I32, SIMD, uleb } from "./emit.ts";

const I64_CONST = 0x42, I64_SHL = 0x86, I64_SHR_U = 0x88, I64_ADD = 0x7c;
const I32_WRAP = 0xa7, I64_EXTEND_U = 0xad, I64_EXTEND_S = 0xac;
const I64_REINTERPRET = 0xbd, F64_REINTERPRET = 0xbf, F64_CONVERT_S = 0xb7;
const F = { abs: 0x99, neg: 0x9a, add: 0xa0, sub: 0xa1, mul: 0xa2, div: 0xa3, lt: 0x63, gt: 0x64 };
const U = { lt: 0x49, gt: 0x4b, ge: 0x4f, shrS: 0x75, shl: 0x74, and: 0x71, or: 0x72, geS: 0x4e, gtS: 0x4a, leS: 0x4c };
const RETURN = 0x0f, CALL = 0x10;

/** Pushes the high 32 bits of the f64 on the stack as an i32. */
const highWord = (c: Code) => c.raw(I64_REINTERPRET, I64_CONST, 32, I64_SHR_U, I32_WRAP);
/** Pushes the low 32 bits of the f64 on the stack as an i32. */
const lowWord = (c: Code) => c.raw(I64_REINTERPRET, I32_WRAP);
/** The f64 whose high word is the i32 on the stack and whose low word is 0. */
const fromHigh = (c: Code) => c.raw(I64_EXTEND_U, I64_CONST, 32, I64_SHL, F64_REINTERPRET);

/** `a·b + c` with one rounding where the CPU has FMA: each operand pushed by its emitter, lane 0 of `relaxed_madd`. */
function fma(c: Code, a: () => void, b: () => void, d: () => void): void {
  a();
  c.simd(SIMD.f64x2Splat);
  b();
  c.simd(SIMD.f64x2Splat);
  d();
  c.simd(SIMD.f64x2Splat).simd(SIMD.f64x2RelaxedMadd).simd(SIMD.f64x2ExtractLane, 0);
}

const LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
const INVLN2 = 1.44269504088896338700e+00, O_THRESHOLD = 7.09782712893383973096e+02;
const Q1 = -3.33333333333331316428e-02, Q2 = 1.58730158725481460165e-03, Q3 = -7.93650757867487942473e-05;
const Q4 = 4.00821782732936239552e-06, Q5 = -2.01099218183624371326e-07;

/** `expm1(x: f64) → f64` as glibc's FMA build of `s_expm1.c` computes it. */
export function expm1Function(): FuncDef {
  const X = 0, HX = 1, NEG = 2, K = 3, HI = 4, LO = 5, C = 6, T = 7, E = 8, HXS = 9, HFX = 10, R1 = 11, Y = 12;
  const c = new Code();
  const addExponent = () => {
    // y's bits + k·2⁵² (k added to the exponent field), as the high-word addition does
    c.raw(I64_REINTERPRET).get(K).raw(I64_EXTEND_S, I64_CONST, 52, I64_SHL, I64_ADD, F64_REINTERPRET);
  };
  c.get(X);
  highWord(c);
  c.tee(HX).i32(31).raw(0x76).set(NEG); // sign bit
  c.get(HX).i32(0x7fffffff).and().set(HX);
  // |x| ≥ 56·ln2
  c.get(HX).i32(0x4043687a).raw(U.ge).if();
  {
    c.get(HX).i32(0x40862e42).raw(U.ge).if();
    {
      c.get(HX).i32(0x7ff00000).raw(U.ge).if();
      // NaN: x + x; ±∞: x or −1
      c.get(HX).i32(0xfffff).and().get(X);
      lowWord(c);
      c.or().if();
      c.get(X).get(X).raw(F.add).raw(RETURN);
      c.end();
      c.get(X).f64(-1).get(NEG).eqz().select().raw(RETURN);
      c.end();
      c.get(X).f64(O_THRESHOLD).raw(F.gt).if();
      c.f64(Infinity).raw(RETURN);
      c.end();
    }
    c.end();
    c.get(NEG).if();
    c.f64(-1).raw(RETURN);
    c.end();
  }
  c.end();
  // argument reduction
  c.get(HX).i32(0x3fd62e42).raw(U.gt).if();
  {
    c.get(HX).i32(0x3ff0a2b2).raw(U.lt).if();
    {
      c.get(NEG).if();
      c.get(X).f64(LN2_HI).raw(F.add).set(HI).f64(-LN2_LO).set(LO).i32(-1).set(K);
      c.else();
      c.get(X).f64(LN2_HI).raw(F.sub).set(HI).f64(LN2_LO).set(LO).i32(1).set(K);
      c.end();
    }
    c.else();
    {
      c.f64(INVLN2).get(X).raw(F.mul).f64(-0.5).f64(0.5).get(NEG).select().raw(F.add);
      c.raw(0xfc, 0x02).tee(K).raw(F64_CONVERT_S).set(T); // i32.trunc_sat_f64_s
      fma(c, () => c.get(T).raw(F.neg), () => c.f64(LN2_HI), () => c.get(X));
      c.set(HI);
      c.get(T).f64(LN2_LO).raw(F.mul).set(LO);
    }
    c.end();
    c.get(HI).get(LO).raw(F.sub).set(X);
    c.get(HI).get(X).raw(F.sub).get(LO).raw(F.sub).set(C);
  }
  c.else();
  {
    // |x| < 2⁻⁵⁴: x
    c.get(HX).i32(0x3c900000).raw(U.lt).if();
    c.get(X).raw(RETURN);
    c.end();
    c.i32(0).set(K);
  }
  c.end();
  // x in the primary range
  c.f64(0.5).get(X).raw(F.mul).set(HFX);
  c.get(X).get(HFX).raw(F.mul).set(HXS);
  {
    const h2 = () => c.get(HXS).get(HXS).raw(F.mul);
    const inner = () =>
      fma(
        c,
        h2,
        () => fma(c, () => c.get(HXS), () => c.f64(Q3), () => c.f64(Q2)),
        () => fma(c, () => c.get(HXS), () => c.f64(Q1), () => c.f64(1)),
      );
    const h4 = () => {
      h2();
      h2();
      c.raw(F.mul);
    };
    fma(c, h4, () => fma(c, () => c.get(HXS), () => c.f64(Q5), () => c.f64(Q4)), inner);
    c.set(R1);
  }
  fma(c, () => c.get(R1).raw(F.neg), () => c.get(HFX), () => c.f64(3));
  c.set(T);
  c.get(HXS).get(R1).get(T).raw(F.sub);
  fma(c, () => c.get(X).raw(F.neg), () => c.get(T), () => c.f64(6));
  c.raw(F.div).raw(F.mul).set(E);
  c.get(K).eqz().if();
  {
    // x − (x·e − hxs)
    c.get(X);
    fma(c, () => c.get(E), () => c.get(X), () => c.get(HXS).raw(F.neg));
    c.raw(F.sub).raw(RETURN);
  }
  c.end();
  fma(c, () => c.get(E).get(C).raw(F.sub), () => c.get(X), () => c.get(C).raw(F.neg));
  c.get(HXS).raw(F.sub).set(E);
  c.get(K).i32(-1).eq().if();
  {
    fma(c, () => c.f64(0.5), () => c.get(X).get(E).raw(F.sub), () => c.f64(-0.5));
    c.raw(RETURN);
  }
  c.end();
  c.get(K).i32(1).eq().if();
  {
    c.get(X).f64(-0.25).raw(F.lt).if();
    c.get(E).get(X).f64(0.5).raw(F.add).raw(F.sub).f64(-2).raw(F.mul).raw(RETURN);
    c.end();
    fma(c, () => c.get(X).get(E).raw(F.sub), () => c.f64(2), () => c.f64(1));
    c.raw(RETURN);
  }
  c.end();
  // k ≤ −2 or k > 56: 2^k·(1 − (e − x)) − 1
  c.get(K).i32(-2).raw(U.leS).get(K).i32(56).raw(U.gtS).or().if();
  {
    c.f64(1).get(E).get(X).raw(F.sub).raw(F.sub);
    addExponent();
    c.f64(1).raw(F.sub).raw(RETURN);
  }
  c.end();
  c.get(K).i32(20).raw(0x48).if(); // k < 20: 2^k·((1 − 2⁻ᵏ) − (e − x))
  {
    c.i32(0x3ff00000).i32(0x200000).get(K).raw(U.shrS).sub();
    fromHigh(c);
    c.get(E).get(X).raw(F.sub).raw(F.sub).set(Y);
  }
  c.else();
  {
    // 2^k·((x − (e + 2⁻ᵏ)) + 1)
    c.get(X).get(E).i32(0x3ff).get(K).sub().i32(20).raw(U.shl);
    fromHigh(c);
    c.raw(F.add).raw(F.sub).f64(1).raw(F.add).set(Y);
  }
  c.end();
  c.get(Y);
  addExponent();
  return {
    name: "expm1",
    params: [F64],
    results: [F64],
    locals: [I32, I32, I32, F64, F64, F64, F64, F64, F64, F64, F64, F64],
    code: c,
  };
}

/** `tanh(x: f64) → f64` as glibc's `s_tanh.c`, calling function `expm1Fn` (`expm1Function`). */
export function tanhFunction(expm1Fn: number): FuncDef {
  const X = 0, JX = 1, IX = 2, T = 3, Z = 4;
  const c = new Code();
  c.get(X);
  highWord(c);
  c.tee(JX).i32(0x7fffffff).and().set(IX);
  // ±∞: ±1; NaN: NaN (1/x ± 1)
  c.get(IX).i32(0x7ff00000).raw(U.ge).if();
  c.f64(1).get(X).raw(F.div).f64(1).raw(F.add);
  c.f64(1).get(X).raw(F.div).f64(1).raw(F.sub);
  c.get(JX).i32(0).raw(U.geS).select().raw(RETURN);
  c.end();
  c.get(IX).i32(0x40360000).raw(U.lt).if();
  {
    c.get(IX).get(X);
    lowWord(c);
    c.or().eqz().if();
    c.get(X).raw(RETURN);
    c.end();
    c.get(IX).i32(0x3c800000).raw(U.lt).if();
    c.get(X).f64(1).get(X).raw(F.add).raw(F.mul).raw(RETURN);
    c.end();
    c.get(IX).i32(0x3ff00000).raw(U.ge).if();
    c.f64(2).get(X).raw(F.abs).raw(F.mul).raw(CALL, ...uleb(expm1Fn)).set(T);
    c.f64(1).f64(2).get(T).f64(2).raw(F.add).raw(F.div).raw(F.sub).set(Z);
    c.else();
    c.f64(-2).get(X).raw(F.abs).raw(F.mul).raw(CALL, ...uleb(expm1Fn)).set(T);
    c.get(T).raw(F.neg).get(T).f64(2).raw(F.add).raw(F.div).set(Z);
    c.end();
  }
  c.else();
  c.f64(1).set(Z); // 1 − 1e−300
  c.end();
  c.get(Z).get(Z).raw(F.neg).get(JX).i32(0).raw(U.geS).select();
  return { name: "tanh", params: [F64], results: [F64], locals: [I32, I32, F64, F64], code: c };
}

/** The scalar Wasm tanh (`tanhFunction` over `expm1Function`) as a JavaScript function; null where it does not compile. */
export function wasmTanh(): ((x: number) => number) | null {
  try {
    const bytes = assemble({ initial: 1 }, [tanhFunction(1), expm1Function()]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    return inst.exports.tanh as (x: number) => number;
  } catch {
    return null;
  }
}

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
    const f = wasmTanh();
    tanhOk = f !== null && tanhProbes().every((x) => Object.is(f(x), Math.tanh(x)));
  }
  return tanhOk;
}
