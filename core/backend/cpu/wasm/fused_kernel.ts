/**
 * Generator of the WebAssembly SIMD kernels of `jit`'s fused elementwise chains (`../fuse.ts`): one
 * function per chain structure that walks `rows × len` elements, computes every step of the chain
 * four float32 lanes (`f32x4`) or two float64 lanes (`f64x2`) at a time in registers, writes only
 * the values used after the chain, and can end in a sum, product, max or min over one run of axes
 * (each row for the last axes, all axes as one row, or a column sweep for leading or middle axes)
 * whose results are the only thing it stores for the reduced value.
 *
 * Bit for bit the eager kernels' values:
 * - float32 `+ − × ÷` and `sqrt` are correctly rounded in `f32x4` as `Math.fround` of the float64
 *   operation is (53 ≥ 2·24 + 2 bits); neg, abs and floor are exact; max/min select with the loops'
 *   rule `x > y || x ≠ x ? x : y`; comparisons give lane masks, `where` selects bits.
 * - A sum of 64 or more elements per row keeps the eager kernel's four float64 partial sums
 *   (element `4k + q` into partial `q`, the rest into the first, then `(s0 + s1) + (s2 + s3)`): two
 *   `f64x2` accumulators hold the four. Shorter sums, products (of any length: the eager product
 *   has no partials), max and min combine lane by lane in index order in float64, as the eager loop
 *   does (a product in order: where it overflows or underflows, and every rounding, depend on it;
 *   max/min: which of two equal zeros wins); a product's NaN is stored as the quiet NaN, as the
 *   eager kernel stores it (the sign of a NaN met twice follows the operand order the JIT chose).
 * - Over leading or middle axes (`[outer, R, inner]` with inner > 1) each result column keeps a
 *   float64 accumulator in the memory, combined row after row as the eager sweep does; lanes are
 *   distinct columns, so two or four are combined at a time without changing any column's order.
 * - The elements past the last whole vector of a row run the same chain in scalar Wasm.
 * - float32 exp and tanh run two float64 lanes at a time with `fastmath.ts`'s exact operations and
 *   tables (`fused_math.ts`), then round to float32 as the JavaScript forms' stores do; float32 log
 *   reads each lane's float32 bits into the same tables and polynomial as `log32`, and calls the
 *   imported `Math.log` for the lanes `log32` sends there (zero, negatives, subnormals, ∞, NaN).
 * - sin, cos, float64 exp and log, and pow call the imported `Math` builtin itself one lane at a
 *   time (`fused_calls.ts`: V8 calls its C++ routine directly, the same as the JavaScript loop's
 *   call), a float32 lane widened for the call and the result rounded as the store rounds; erf is
 *   `elementwise.ts`'s `erf` ported operation for operation to a Wasm function of the module.
 * - sign selects 1, −1 or x (±0 and NaN kept); a cast to bool is `x ≠ 0` (NaN true), from bool the
 *   mask's bits and those of 1.
 *
 * Supported: float32 chains (with bool masks from comparisons and casts, bool inputs and outputs)
 * and float64 chains (masks only inside the chain) of add, sub, mul, div, max, min, pow, neg, abs,
 * sqrt, floor, sign, exp, log, sin, cos, erf (float32 also tanh), comparisons, where, casts between
 * the chain's float dtype and bool, and identities. The rest keeps the JavaScript loop
 * (`wasmFusable` says which): float64 tanh, log1p and expm1 (float32 too for the last two), whose
 * `Math` builtins V8 does not call directly from Wasm (each imported call crosses into JavaScript:
 * about 55% slower than the JavaScript loop in a chain, measured) and whose results no port here
 * reproduces bit for bit on every machine (in Deno 2.9's V8, `Math.log1p` and `Math.expm1` are
 * correctly rounded, which fdlibm's algorithms miss on 0.4–0.7% of inputs, and `Math.tanh` is the C
 * library's, whose bits follow its build: glibc's uses fused multiply-adds on CPUs with FMA); int32
 * and float16 values (JavaScript's `| 0` wraps where Wasm's truncation saturates, and int32
 * arithmetic rounds through float64); and chains mixing float32 and float64 (four lanes against
 * two: one kernel would need both widths).
 * @module
 */
import type { FusedChain } from "../fuse.ts";
import { Code, F32, F64, type FuncDef, I32, type ImportDef, SIMD, uleb, V128 } from "./emit.ts";
import { CALL_BINARY, CALL_UNARY, callImports, chainCalls, emitCall, erfFunction, type Mode } from "./fused_calls.ts";
import { emitLog32, emitMath, MATH_OPS, mathLocals, mathTables } from "./fused_math.ts";
import { emitCast, emitSign } from "./fused_select.ts";

export type { Mode };

const ARITH = new Set(["add", "sub", "mul", "div", "max", "min"]);
const COMPARE = new Set(["eq", "ne", "lt", "le", "gt", "ge"]);
const UNARY = new Set(["neg", "abs", "sqrt", "floor", "sign", "erf"]);
const REDUCE = new Set(["sum", "prod", "max", "min"]);

/** Each reduction's starting value. */
const IDENTITY = { sum: 0, prod: 1, max: -Infinity, min: Infinity } as const;

/** The chain's element type when every step has a SIMD form here; null otherwise. */
export function wasmMode(chain: FusedChain): Mode | null {
  const floats = new Set<string>();
  for (const i of chain.inputs) if (i.dtype !== "bool") floats.add(i.dtype);
  for (const s of chain.steps) if (s.dtype !== "bool") floats.add(s.dtype);
  if (floats.size !== 1) return null;
  const mode = [...floats][0];
  if (mode !== "float32" && mode !== "float64") return null;
  const isBool = (v: number) =>
    v < chain.inputs.length ? chain.inputs[v].dtype === "bool" : chain.steps[v - chain.inputs.length].dtype === "bool";
  for (const s of chain.steps) {
    const op = s.op ?? "";
    const from = s.argDtypes[0];
    const ok = s.kind === "copy"
      ? true
      : s.kind === "unary"
      ? (UNARY.has(op) || CALL_UNARY[mode].has(op) || (mode === "float32" && MATH_OPS.has(op))) && s.dtype === mode
      : s.kind === "binary"
      ? ((ARITH.has(op) || CALL_BINARY.has(op)) && s.dtype === mode) ||
        (COMPARE.has(op) && s.dtype === "bool" && from === mode)
      : s.kind === "where"
      ? s.dtype === mode && isBool(s.args[0]) && !isBool(s.args[1]) && !isBool(s.args[2])
      : s.kind === "cast"
      ? (from === mode || from === "bool") && (s.dtype === mode || s.dtype === "bool")
      : false;
    if (!ok || (s.kind !== "where" && s.kind !== "copy" && s.kind !== "cast" && s.argDtypes.some((d) => d !== mode))) {
      return null;
    }
  }
  if (mode === "float64") {
    // float64 masks have 64-bit lanes: no bool bytes in or out
    if (chain.inputs.some((i) => i.dtype === "bool") || chain.outputs.some(isBool)) return null;
  }
  const r = chain.reduce;
  if (r && (!REDUCE.has(r.op) || isBool(r.value))) return null;
  return mode;
}

/** Whether `chain` compiles to a SIMD kernel here (its steps, dtypes and reduction all have a form). */
export function wasmFusable(chain: FusedChain): boolean {
  return wasmMode(chain) !== null;
}

// scalar and SIMD opcodes beyond those `emit.ts` names
const OP = {
  i32Shl: 0x74,
  i32LeU: 0x4d,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Load8U: 0x2d,
  i32Store8: 0x3a,
  f32Load: 0x2a,
  f32Store: 0x38,
  f64Load: 0x2b,
  f64Store: 0x39,
  f32DemoteF64: 0xb6,
  f64PromoteF32: 0xbb,
} as const;
const V = {
  shuffle: 0x0d,
  i32x4Splat: 0x11,
  f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f,
  f64x2ExtractLane: 0x21,
  store32Lane: 0x5a,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  f32x4Floor: 0x68,
  f64x2Floor: 0x75,
  f64x2Abs: 0xec,
  f64x2Neg: 0xed,
  f64x2Sqrt: 0xef,
  f64x2Div: 0xf3,
} as const;

/** Shuffle lanes moving the high 8 bytes low. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

const VEC_OP: Record<Mode, Record<string, number>> = {
  float32: {
    add: SIMD.f32x4Add,
    sub: SIMD.f32x4Sub,
    mul: SIMD.f32x4Mul,
    div: SIMD.f32x4Div,
    neg: SIMD.f32x4Neg,
    abs: SIMD.f32x4Abs,
    sqrt: SIMD.f32x4Sqrt,
    floor: V.f32x4Floor,
    eq: SIMD.f32x4Eq,
    ne: SIMD.f32x4Ne,
    lt: SIMD.f32x4Lt,
    le: SIMD.f32x4Le,
    gt: SIMD.f32x4Gt,
    ge: SIMD.f32x4Ge,
  },
  float64: {
    add: SIMD.f64x2Add,
    sub: SIMD.f64x2Sub,
    mul: SIMD.f64x2Mul,
    div: V.f64x2Div,
    neg: V.f64x2Neg,
    abs: V.f64x2Abs,
    sqrt: V.f64x2Sqrt,
    floor: V.f64x2Floor,
    eq: 0x47,
    ne: 0x48,
    lt: 0x49,
    gt: 0x4a,
    le: 0x4b,
    ge: 0x4c,
  },
};

const SCALAR_OP: Record<Mode, Record<string, number>> = {
  float32: {
    add: 0x92,
    sub: 0x93,
    mul: 0x94,
    div: 0x95,
    neg: 0x8c,
    abs: 0x8b,
    sqrt: 0x91,
    floor: 0x8e,
    eq: 0x5b,
    ne: 0x5c,
    lt: 0x5d,
    gt: 0x5e,
    le: 0x5f,
    ge: 0x60,
  },
  float64: {
    add: 0xa0,
    sub: 0xa1,
    mul: 0xa2,
    div: 0xa3,
    neg: 0x9a,
    abs: 0x99,
    sqrt: 0x9f,
    floor: 0x9c,
    eq: 0x61,
    ne: 0x62,
    lt: 0x63,
    gt: 0x64,
    le: 0x65,
    ge: 0x66,
  },
};

/** The functions and `Math` imports of a chain's module (`assemble(memory, funcs, imports)`). */
export interface FusedModule {
  /** `fused` first (the kernel), then the helpers it calls (`erf`). */
  funcs: FuncDef[];
  /** The `Math` functions imported (module `math`), in order. */
  calls: string[];
  /** Their import declarations. */
  imports: ImportDef[];
}

/**
 * The module of `chain`: its kernel `fused(in₀ … inₖ, out₀ … outₘ, [red,] rows, len)` over byte
 * addresses in the shared memory, `rows × len` elements (a chain without reduction: one row of all
 * elements; constant scalar inputs with a `value` are immediates, not parameters), the helper
 * functions it calls and the `Math` functions it imports. Throws when `wasmMode(chain)` is null.
 */
export function fusedModule(chain: FusedChain): FusedModule {
  const mode = wasmMode(chain);
  if (!mode) throw new Error("fusedModule: the chain has no SIMD form (check wasmFusable first)");
  const calls = chainCalls(chain, mode);
  const funcs = [fusedFunction(chain, mode, calls)];
  if (chain.steps.some((s) => s.kind === "unary" && s.op === "erf")) funcs.push(erfFunction(calls.indexOf("exp")));
  return { funcs, calls, imports: callImports(calls) };
}

function fusedFunction(chain: FusedChain, mode: Mode, calls: string[]): FuncDef {
  // function indices: the imports, then `fused`, then `erf`
  const callIndex = (name: string) => calls.indexOf(name);
  const ERF_FN = calls.length + 1;
  const f32 = mode === "float32";
  const lanes = f32 ? 4 : 2, shift = f32 ? 2 : 3, size = f32 ? 4 : 8;
  const red = chain.reduce;
  // over leading or middle axes: a float64 accumulator per column in the memory, swept once per row
  const cols = red !== undefined && red.inner > 1;
  const partial4 = red?.op === "sum" && !cols && red.length >= 64;
  // vectors per block: 4 elements per block when reducing (the partial sums' groups), else 8 or 4
  const U = red ? (f32 ? 1 : 2) : 2;
  const B = U * lanes;
  const nIn = chain.inputs.length, nOut = chain.outputs.length;
  // parameters: the address of each input that is not an embedded constant, of each output, of the
  // reduction's results, then rows and length
  const embedded = (i: number) => chain.inputs[i].value !== undefined && chain.inputs[i].scalar;
  const inParam: number[] = [];
  let nParams = 0;
  for (let i = 0; i < nIn; i++) inParam[i] = embedded(i) ? -1 : nParams++;
  const OUT0 = nParams;
  const params: number[] = Array(nParams + nOut + (red ? 1 : 0) + (cols ? 2 : 0) + 2).fill(I32);
  const ROWS = params.length - 2, LEN = params.length - 1, RED = OUT0 + nOut;
  // column mode: the accumulators' address and rows per result block
  const ACCP = RED + 1, RPER = RED + 2;
  const locals: number[] = [];
  const local = (t: number) => {
    locals.push(t);
    return params.length + locals.length - 1;
  };
  const ROW = local(I32), RR = local(I32), E = local(I32);
  const isBoolV = (v: number) => v < nIn ? chain.inputs[v].dtype === "bool" : chain.steps[v - nIn].dtype === "bool";
  const scalarType = (v: number) => (isBoolV(v) ? I32 : f32 ? F32 : F64);
  // per value: U vector locals and one scalar local (copies share their argument's)
  const vecLoc: number[][] = [], sclLoc: number[] = [];
  const nVals = nIn + chain.steps.length;
  for (let v = 0; v < nVals; v++) {
    const s = v >= nIn ? chain.steps[v - nIn] : null;
    if (s?.kind === "copy") {
      vecLoc[v] = vecLoc[s.args[0]];
      sclLoc[v] = sclLoc[s.args[0]];
      continue;
    }
    const scalarIn = v < nIn && chain.inputs[v].scalar;
    const one = scalarIn ? local(V128) : -1;
    vecLoc[v] = Array.from({ length: U }, () => (scalarIn ? one : local(V128)));
    sclLoc[v] = local(scalarType(v));
  }
  const ACC01 = local(V128), ACC23 = local(V128);
  const S = [local(F64), local(F64), local(F64), local(F64)];
  const X = local(F64);
  const RI = cols ? local(I32) : -1, OB = cols ? local(I32) : -1, AJ = cols ? local(I32) : -1;
  // float32 exp, tanh and log: float64 lanes, the tables in the memory
  const math = f32 && chain.steps.some((s) => s.kind === "unary" && MATH_OPS.has(s.op ?? ""));
  const tab = math ? mathTables() : 0;
  if (tab < 0) throw new Error("fusedFunction: no room for the exp tables in the Wasm memory");
  const ML = math ? mathLocals(local) : null;
  const [LO, HI, RLO, RHI] = math ? [local(V128), local(V128), local(V128), local(V128)] : [];
  const TMP = local(V128); // per-lane calls' results

  const c = new Code();
  // address of element E of an array at parameter `p` with `bytes` per element
  const addr = (p: number, bytes: number) => {
    c.get(p).get(E);
    if (bytes > 1) c.i32(bytes === 4 ? 2 : 3).raw(OP.i32Shl);
    c.add();
  };
  // scalar inputs: loaded once, splat
  chain.inputs.forEach((inp, i) => {
    if (!inp.scalar) return;
    if (embedded(i)) {
      // a constant: its value as an immediate
      if (f32) c.raw(0x43, ...new Uint8Array(Float32Array.of(inp.value!).buffer));
      else c.f64(inp.value!);
      c.tee(sclLoc[i]).simd(f32 ? V.f32x4Splat : SIMD.f64x2Splat).set(vecLoc[i][0]);
    } else if (inp.dtype === "bool") {
      c.get(inParam[i]).mem(OP.i32Load8U, 0, 0).set(sclLoc[i]);
      c.i32(0).get(sclLoc[i]).sub().simd(V.i32x4Splat).set(vecLoc[i][0]); // 1 → all bits set
    } else {
      c.get(inParam[i]).mem(f32 ? OP.f32Load : OP.f64Load, shift, 0).set(sclLoc[i]);
      c.get(inParam[i]).simdMem(f32 ? SIMD.load32Splat : SIMD.load64Splat, shift, 0).set(vecLoc[i][0]);
    }
  });

  /** The chain over one block (vector) or one element (scalar), results in the value locals. */
  const body = (vec: boolean) => {
    for (let u = 0; u < (vec ? U : 1); u++) {
      const at = (v: number) => (vec ? vecLoc[v][u] : sclLoc[v]);
      chain.inputs.forEach((inp, i) => {
        if (inp.scalar) return;
        if (inp.dtype === "bool") {
          addr(inParam[i], 1);
          if (vec) {
            c.simdMem(SIMD.load32Zero, 0, 4 * u);
            c.simd(SIMD.i16x8ExtendLowI8x16U).simd(SIMD.i32x4ExtendLowI16x8U);
            c.i32(0).simd(SIMD.i8x16Splat).simd(SIMD.i32x4Ne);
          } else c.mem(OP.i32Load8U, 0, 0);
        } else {
          addr(inParam[i], size);
          if (vec) c.simdMem(SIMD.load, 0, 16 * u);
          else c.mem(f32 ? OP.f32Load : OP.f64Load, shift, 0);
        }
        c.set(at(i));
      });
      chain.steps.forEach((s, k) => {
        if (s.kind === "copy") return;
        const [a, b, w] = s.args.map(at);
        const op = s.op ?? "";
        const table = vec ? VEC_OP[mode] : SCALAR_OP[mode];
        if (s.kind === "where") {
          // bitselect(a, b, mask) / select(a, b, cond)
          c.get(b).get(w).get(a);
          if (vec) c.simd(SIMD.v128Bitselect);
          else c.select();
        } else if (s.kind === "unary" && f32 && op === "log") {
          // log32 from the f32x4 bits; a scalar through lane 0 of a splat
          if (vec) emitLog32(c, a, ML!, tab, callIndex("log"));
          else {
            c.get(a).simd(V.f32x4Splat).set(LO!);
            emitLog32(c, LO!, ML!, tab, callIndex("log"));
            c.simd(V.f32x4ExtractLane, 0);
          }
        } else if (s.kind === "unary" && (CALL_UNARY[mode].has(op) || op === "erf")) {
          emitCall(c, mode, op === "erf" ? ERF_FN : callIndex(op), [a], vec, TMP);
        } else if (s.kind === "binary" && CALL_BINARY.has(op)) {
          emitCall(c, mode, callIndex(op), [a, b], vec, TMP);
        } else if (s.kind === "unary" && op === "sign") {
          emitSign(c, mode, a, vec);
        } else if (s.kind === "cast") {
          emitCast(c, mode, s.argDtypes[0] === "bool", s.dtype === "bool", a, vec);
        } else if (s.kind === "unary" && MATH_OPS.has(op)) {
          // float32 → two float64 halves → fastmath's operations → rounded back to float32
          if (vec) {
            c.get(a).simd(V.f64x2PromoteLowF32x4).set(LO!);
            c.get(a).get(a).simd(V.shuffle, ...HIGH_HALF).simd(V.f64x2PromoteLowF32x4).set(HI!);
            emitMath(c, op, LO!, RLO!, ML!, tab);
            emitMath(c, op, HI!, RHI!, ML!, tab);
            c.get(RLO!).simd(V.f32x4DemoteF64x2Zero).get(RHI!).simd(V.f32x4DemoteF64x2Zero);
            c.simd(V.shuffle, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
          } else {
            c.get(a).raw(OP.f64PromoteF32).simd(SIMD.f64x2Splat).set(LO!);
            emitMath(c, op, LO!, RLO!, ML!, tab);
            c.get(RLO!).simd(SIMD.f64x2ExtractLane, 0).raw(OP.f32DemoteF64);
          }
        } else if (s.kind === "unary") {
          c.get(a);
          if (vec) c.simd(table[op]);
          else c.raw(table[op]);
        } else if (op === "max" || op === "min") {
          // x > y (x < y) or x ≠ x picks x, else y
          const cmp = op === "max" ? "gt" : "lt";
          c.get(a).get(b);
          if (vec) {
            c.get(a).get(b).simd(table[cmp]).get(a).get(a).simd(table.ne).simd(SIMD.v128Or);
            c.simd(SIMD.v128Bitselect);
          } else {
            c.get(a).get(b).raw(table[cmp]).get(a).get(a).raw(table.ne).or();
            c.select();
          }
        } else {
          c.get(a).get(b);
          if (vec) c.simd(table[op]);
          else c.raw(table[op]);
        }
        c.set(at(nIn + k));
      });
      // outputs
      chain.outputs.forEach((v, o) => {
        const p = OUT0 + o;
        if (isBoolV(v)) {
          addr(p, 1);
          if (vec) {
            // −1/0 lanes narrowed to bytes (the second operand only fills lanes not stored), masked to 1/0
            c.get(at(v)).get(at(v)).simd(SIMD.i16x8NarrowI32x4S);
            c.get(at(v)).get(at(v)).simd(SIMD.i16x8NarrowI32x4S).simd(SIMD.i8x16NarrowI16x8S);
            c.i32(1).simd(SIMD.i8x16Splat).simd(SIMD.v128And);
            c.simd(V.store32Lane, 0, ...uleb(4 * u), 0);
          } else c.get(at(v)).mem(OP.i32Store8, 0, 0);
        } else {
          addr(p, size);
          c.get(at(v));
          if (vec) c.simdMem(SIMD.store, 0, 16 * u);
          else c.mem(f32 ? OP.f32Store : OP.f64Store, shift, 0);
        }
      });
    }
    if (red) accumulate(vec);
  };

  /** Folds the reduced value of the block (or element) into the accumulators. */
  const accumulate = (vec: boolean) => {
    const v = red!.value;
    const combine = () => {
      // S0 ← S0 ∘ X
      if (red!.op === "sum" || red!.op === "prod") c.get(S[0]).get(X).raw(red!.op === "sum" ? 0xa0 : 0xa2).set(S[0]);
      else {
        c.get(X).get(S[0]).get(X).get(S[0]).raw(red!.op === "max" ? 0x64 : 0x63);
        c.get(X).get(X).raw(0x62).or().select().set(S[0]);
      }
    };
    if (cols) {
      // the accumulators of columns RR…: acc ← acc ∘ x lane by lane (each lane its own column, in row order)
      c.get(ACCP).get(RR).i32(3).raw(OP.i32Shl).add().set(AJ);
      if (!vec) {
        c.get(AJ).mem(OP.f64Load, 3, 0).set(S[0]);
        c.get(sclLoc[v]);
        if (f32) c.raw(OP.f64PromoteF32);
        c.set(X);
        combine();
        c.get(AJ).get(S[0]).mem(OP.f64Store, 3, 0);
        return;
      }
      for (let h = 0; h < 2; h++) {
        // f32: the low then the high two lanes of the one vector; f64: the two vectors
        c.get(AJ);
        if (f32) {
          c.get(vecLoc[v][0]);
          if (h === 1) c.get(vecLoc[v][0]).simd(V.shuffle, ...HIGH_HALF);
          c.simd(V.f64x2PromoteLowF32x4);
        } else c.get(vecLoc[v][h]);
        c.set(ACC01);
        c.get(AJ).simdMem(SIMD.load, 0, 16 * h).set(ACC23);
        if (red!.op === "sum") c.get(ACC23).get(ACC01).simd(SIMD.f64x2Add);
        else if (red!.op === "prod") c.get(ACC23).get(ACC01).simd(SIMD.f64x2Mul);
        else {
          c.get(ACC01).get(ACC23).get(ACC01).get(ACC23).simd(red!.op === "max" ? 0x4a : 0x49);
          c.get(ACC01).get(ACC01).simd(0x48).simd(SIMD.v128Or).simd(SIMD.v128Bitselect);
        }
        c.simdMem(SIMD.store, 0, 16 * h);
      }
      return;
    }
    if (!vec) {
      c.get(sclLoc[v]);
      if (f32) c.raw(OP.f64PromoteF32);
      c.set(X);
      combine();
      return;
    }
    if (partial4) {
      if (f32) {
        const w = vecLoc[v][0];
        c.get(ACC01).get(w).simd(V.f64x2PromoteLowF32x4).simd(SIMD.f64x2Add).set(ACC01);
        c.get(ACC23).get(w).get(w).simd(V.shuffle, ...HIGH_HALF);
        c.simd(V.f64x2PromoteLowF32x4).simd(SIMD.f64x2Add).set(ACC23);
      } else {
        c.get(ACC01).get(vecLoc[v][0]).simd(SIMD.f64x2Add).set(ACC01);
        c.get(ACC23).get(vecLoc[v][1]).simd(SIMD.f64x2Add).set(ACC23);
      }
      return;
    }
    for (let u = 0; u < U; u++) {
      for (let l = 0; l < lanes; l++) {
        c.get(vecLoc[v][u]);
        if (f32) c.simd(V.f32x4ExtractLane, l).raw(OP.f64PromoteF32);
        else c.simd(V.f64x2ExtractLane, l);
        c.set(X);
        combine();
      }
    }
  };

  /** A scalar loop over the row's LEN columns: `each()` with J = RR as the column. */
  const overColumns = (each: () => void) => {
    c.i32(0).set(RR);
    c.loop();
    each();
    c.get(RR).i32(1).add().tee(RR).get(LEN).ltU().brIf(0);
    c.end();
  };
  /** A product's result on the stack: a NaN as the one quiet NaN, as the eager kernel stores it. */
  const quietNaN = () => {
    if (red?.op === "prod") c.set(X).f64(NaN).get(X).get(X).get(X).raw(0x62).select();
  };
  c.i32(0).set(ROW).i32(0).set(E);
  if (cols) c.i32(0).set(RI).i32(0).set(OB);
  c.loop(); // rows
  {
    if (cols) {
      // a new block of rows: every column's accumulator starts at the operation's identity
      const init = IDENTITY[red!.op];
      c.block();
      c.get(RI).brIf(0);
      overColumns(() => c.get(ACCP).get(RR).i32(3).raw(OP.i32Shl).add().f64(init).mem(OP.f64Store, 3, 0));
      c.end();
    } else if (red) {
      const init = IDENTITY[red.op];
      c.f64(init).set(S[0]);
      if (partial4) {
        c.f64(0).simd(SIMD.f64x2Splat).tee(ACC01).set(ACC23);
      }
    }
    c.i32(0).set(RR);
    c.block();
    c.get(RR).i32(B).add().get(LEN).raw(OP.i32GtU).brIf(0);
    c.loop(); // blocks of B elements
    body(true);
    c.get(E).i32(B).add().set(E);
    c.get(RR).i32(B).add().tee(RR).i32(B).add().get(LEN).raw(OP.i32LeU).brIf(0);
    c.end();
    c.end();
    if (partial4) {
      c.get(ACC01).simd(SIMD.f64x2ExtractLane, 0).set(S[0]);
      c.get(ACC01).simd(SIMD.f64x2ExtractLane, 1).set(S[1]);
      c.get(ACC23).simd(SIMD.f64x2ExtractLane, 0).set(S[2]);
      c.get(ACC23).simd(SIMD.f64x2ExtractLane, 1).set(S[3]);
    }
    c.block();
    c.get(RR).get(LEN).raw(OP.i32GeU).brIf(0);
    c.loop(); // the rest, one element at a time
    body(false);
    c.get(E).i32(1).add().set(E);
    c.get(RR).i32(1).add().tee(RR).get(LEN).ltU().brIf(0);
    c.end();
    c.end();
    if (cols) {
      // the block's last row: out[OB + j] = acc[j], rounded to the dtype
      c.get(RI).i32(1).add().tee(RI).get(RPER).eq();
      c.if();
      overColumns(() => {
        c.get(RED).get(OB).get(RR).add().i32(shift).raw(OP.i32Shl).add();
        c.get(ACCP).get(RR).i32(3).raw(OP.i32Shl).add().mem(OP.f64Load, 3, 0);
        quietNaN();
        if (f32) c.raw(OP.f32DemoteF64).mem(OP.f32Store, 2, 0);
        else c.mem(OP.f64Store, 3, 0);
      });
      c.i32(0).set(RI).get(OB).get(LEN).add().set(OB);
      c.end();
    } else if (red) {
      // out[row] = S0, or (S0 + S1) + (S2 + S3), rounded to the dtype
      c.get(RED).get(ROW).i32(shift).raw(OP.i32Shl).add();
      c.get(S[0]);
      if (partial4) c.get(S[1]).raw(0xa0).get(S[2]).get(S[3]).raw(0xa0).raw(0xa0);
      quietNaN();
      if (f32) c.raw(OP.f32DemoteF64).mem(OP.f32Store, 2, 0);
      else c.mem(OP.f64Store, 3, 0);
    }
    c.get(ROW).i32(1).add().tee(ROW).get(ROWS).ltU().brIf(0);
  }
  c.end();
  return { name: "fused", params, locals, code: c };
}
