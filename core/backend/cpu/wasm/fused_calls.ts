/**
 * `Math.*` calls inside the fused Wasm kernels (`fused_kernel.ts`): the operations whose eager form
 * is a call of `Math.sin`, `Math.cos`, `Math.exp`, `Math.log` or `Math.pow` import that very
 * function into the kernel's module (`math.sin`, …) and call it one lane at a time (extract the
 * lane, widen a float32 lane to float64, call, round back as the store rounds, replace the lane).
 * V8 recognises an import that is exactly one of these builtins with an f64 signature and compiles
 * the call as a direct call of the C++ routine behind the builtin (no JavaScript frame), so each
 * lane costs what the JavaScript loop's call costs and gives the same bits
 * (`bench/fused_chain_bench.ts` times and compares 64 Ki elements per function;
 * `tests/autodiff_jit_wasm_test.ts` sweeps special, boundary and random values). `Math.tanh`,
 * `Math.log1p` and `Math.expm1` are not among the builtins V8 calls directly: imported, each call
 * crosses into JavaScript (about 10 ns more than the JavaScript loop's call), so chains with them
 * keep the JavaScript loop.
 *
 * `erf` (a JavaScript function in `../elementwise.ts`) is ported as a Wasm function of the module
 * with the same float64 operations in the same order and `Math.exp` imported.
 * @module
 */
import type { FusedChain } from "../fuse.ts";
import { Code, F64, type FuncDef, type ImportDef, SIMD, uleb } from "./emit.ts";

/** The kernel's element type: float32 four lanes to a vector, float64 two. */
export type Mode = "float32" | "float64";

/** The `Math` functions a fused module may import, by import name. */
const MATH: Record<string, (...x: number[]) => number> = {
  sin: Math.sin,
  cos: Math.cos,
  exp: Math.exp,
  log: Math.log,
  pow: Math.pow,
};

/** Unary operations computed by a per-lane `Math.*` call, by mode (float32 exp, tanh, log: `fused_math.ts`). */
export const CALL_UNARY: Record<Mode, ReadonlySet<string>> = {
  float32: new Set(["sin", "cos"]),
  float64: new Set(["sin", "cos", "exp", "log"]),
};

/** Binary operations computed by a per-lane `Math.*` call. */
export const CALL_BINARY: ReadonlySet<string> = new Set(["pow"]);

/** The `Math` functions the kernel of `chain` imports, in import order (its function indices). */
export function chainCalls(chain: FusedChain, mode: Mode): string[] {
  const names = new Set<string>();
  for (const s of chain.steps) {
    const op = s.op ?? "";
    if (s.kind === "unary" && (CALL_UNARY[mode].has(op) || op === "log")) names.add(op); // float32 log: special lanes
    else if (s.kind === "unary" && op === "erf") names.add("exp");
    else if (s.kind === "binary" && CALL_BINARY.has(op)) names.add(op);
  }
  return [...names];
}

/** The import declarations of `names` (module `math`). */
export function callImports(names: readonly string[]): ImportDef[] {
  return names.map((name) => ({ module: "math", name, params: name === "pow" ? [F64, F64] : [F64], results: [F64] }));
}

/** The import object's `math` namespace for `names`. */
export function callEnv(names: readonly string[]): Record<string, (...x: number[]) => number> {
  return Object.fromEntries(names.map((n) => [n, MATH[n]]));
}

const F32X4_SPLAT = 0x13, F32X4_EXTRACT = 0x1f, F32X4_REPLACE = 0x20;
const F64X2_EXTRACT = 0x21, F64X2_REPLACE = 0x22;
const PROMOTE = 0xbb, DEMOTE = 0xb6, CALL = 0x10;

/**
 * Pushes `fn(args…)` lane by lane: vector (`vec`) args are f32x4/f64x2 locals and `tmp` a v128
 * scratch local, scalar args are f32/f64 locals; float32 lanes are widened for the call and the
 * result rounded to float32.
 */
export function emitCall(c: Code, mode: Mode, fn: number, args: readonly number[], vec: boolean, tmp: number): void {
  const f32 = mode === "float32";
  if (!vec) {
    for (const a of args) {
      c.get(a);
      if (f32) c.raw(PROMOTE);
    }
    c.raw(CALL, ...uleb(fn));
    if (f32) c.raw(DEMOTE);
    return;
  }
  for (let l = 0; l < (f32 ? 4 : 2); l++) {
    if (l > 0) c.get(tmp);
    for (const a of args) {
      c.get(a);
      if (f32) c.simd(F32X4_EXTRACT, l).raw(PROMOTE);
      else c.simd(F64X2_EXTRACT, l);
    }
    c.raw(CALL, ...uleb(fn));
    if (f32) c.raw(DEMOTE);
    if (l === 0) c.simd(f32 ? F32X4_SPLAT : SIMD.f64x2Splat);
    else c.simd(f32 ? F32X4_REPLACE : F64X2_REPLACE, l);
    c.set(tmp);
  }
  c.get(tmp);
}

const SQRT_PI = Math.sqrt(Math.PI), TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const F = { abs: 0x99, neg: 0x9a, ceil: 0x9b, add: 0xa0, sub: 0xa1, mul: 0xa2, div: 0xa3, lt: 0x63, ge: 0x66 };
const F64_NE = 0x62, F64_COPYSIGN = 0xa6, RETURN = 0x0f;

/**
 * `erf(x: f64) → f64`, `../elementwise.ts`'s `erf` operation for operation (series below 1.25,
 * continued fraction below 6, ±1 beyond, NaN kept), calling function `expFn` (`Math.exp`).
 */
export function erfFunction(expFn: number): FuncDef {
  const X = 0, AX = 1, R = 2, TERM = 3, S = 4, N = 5, FF = 6;
  const c = new Code();
  const exp = () => c.raw(CALL, ...uleb(expFn));
  c.get(X).raw(F.abs).set(AX);
  // !(ax < 6): x when NaN, else Math.sign(x) = ±1
  c.get(AX).f64(6).raw(F.lt).eqz().if();
  c.get(X).f64(1).get(X).raw(F64_COPYSIGN).get(X).get(X).raw(F64_NE).select().raw(RETURN);
  c.end();
  c.get(AX).f64(1.25).raw(F.lt).if();
  {
    // term = s = ax; for n = 1 … 199: term *= 2·ax·ax/(2n + 1); s += term; stop once term < s·1e-17
    c.get(AX).tee(TERM).set(S);
    c.f64(1).set(N);
    c.block().loop();
    c.get(TERM).f64(2).get(AX).raw(F.mul).get(AX).raw(F.mul);
    c.f64(2).get(N).raw(F.mul).f64(1).raw(F.add).raw(F.div).raw(F.mul).set(TERM);
    c.get(S).get(TERM).raw(F.add).set(S);
    c.get(TERM).get(S).f64(1e-17).raw(F.mul).raw(F.lt).brIf(1);
    c.get(N).f64(1).raw(F.add).tee(N).f64(200).raw(F.lt).brIf(0);
    c.end().end();
    // r = (2/√π) · e^{−ax·ax} · s
    c.f64(TWO_OVER_SQRT_PI).get(AX).raw(F.neg).get(AX).raw(F.mul);
    exp();
    c.raw(F.mul).get(S).raw(F.mul).set(R);
  }
  c.else();
  {
    // f = ax; for n = ⌈190/(ax·ax)⌉ … 1: f = ax + n/2/f
    c.get(AX).set(FF);
    c.f64(190).get(AX).get(AX).raw(F.mul).raw(F.div).raw(F.ceil).set(N);
    c.block();
    c.get(N).f64(1).raw(F.ge).eqz().brIf(0);
    c.loop();
    c.get(AX).get(N).f64(2).raw(F.div).get(FF).raw(F.div).raw(F.add).set(FF);
    c.get(N).f64(1).raw(F.sub).tee(N).f64(1).raw(F.ge).brIf(0);
    c.end().end();
    // r = 1 − e^{−ax·ax}/√π/f
    c.f64(1).get(AX).raw(F.neg).get(AX).raw(F.mul);
    exp();
    c.f64(SQRT_PI).raw(F.div).get(FF).raw(F.div).raw(F.sub).set(R);
  }
  c.end();
  // x < 0 ? −r : r
  c.get(R).raw(F.neg).get(R).get(X).f64(0).raw(F.lt).select();
  return { name: "erf", params: [F64], results: [F64], locals: [F64, F64, F64, F64, F64, F64], code: c };
}
