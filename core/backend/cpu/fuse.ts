/**
 * Fused elementwise kernels for `jit` on the CPU: a chain of unary, binary, where and cast
 * applications over one element count becomes one kernel, compiled once per chain structure, each
 * input read contiguously or as a scalar, only the values used after the chain written out.
 *
 * A float32 or float64 chain of add, sub, mul, div, max, min, pow, neg, abs, sqrt, floor, sign,
 * exp, log, sin, cos, erf (float32 also tanh), comparisons, where and casts to and from bool becomes
 * a WebAssembly SIMD kernel (`wasm/fused_kernel.ts`: four float32 or two float64 lanes at a time, in
 * place in the Wasm memory; `Math.*` operations call the imported builtin lane by lane), which may
 * also end in a sum, product, max or min over one run of axes (the reduced value never stored). Any other
 * chain (log1p, expm1, float64 tanh: slower as Wasm imports; int32, float16, float32 mixed with
 * float64) becomes a generated JavaScript loop (`new Function`). Every intermediate is rounded to
 * its dtype exactly as the one-op kernels store it (float32 through `Math.fround` or float32
 * arithmetic, int32 through `| 0`, the same
 * `exp32`/`log32`/`tanh32` forms), and a reduction keeps the eager order, so a fused chain gives
 * bit for bit the eager results.
 * @module
 */
import { type DType, dtypeOfArray, type TypedArray } from "../../dtype.ts";
import type { BinaryOp, UnaryOp } from "../../primitives.ts";
import { erf } from "./elementwise.ts";
import { exp32, log32, tanh32 } from "./fastmath.ts";
import { giveArray, takeArray } from "./pool.ts";
import { reduceKernel } from "./reduce.ts";
import { wasmFusedKernel } from "./wasm/fused.ts";
import { wasmFusable } from "./wasm/fused_kernel.ts";

/** One operation of a chain: its kind, operation, argument value numbers and result dtype. */
export interface FusedStep {
  /** `unary`, `binary`, `where`, `cast` or `copy` (an identity: reshape, stopGradient, a scalar broadcast). */
  kind: "unary" | "binary" | "where" | "cast" | "copy";
  /** The unary or binary operation. */
  op?: string;
  /** Value numbers of the arguments (inputs first, then step results in order). */
  args: number[];
  /** Dtypes of the arguments. */
  argDtypes: DType[];
  /** Result dtype. */
  dtype: DType;
}

/**
 * A reduction ending a chain: value `value` seen as `[rows, length, inner]`, `op` over the middle
 * axis (the last axes when `inner` is 1, all of them as one row, or leading or middle ones), as the
 * eager reduction orders it; `rows × inner` results.
 */
export interface FusedReduce {
  /** The reduction. */
  op: "sum" | "prod" | "max" | "min";
  /** The value number reduced. */
  value: number;
  /** Number of results. */
  rows: number;
  /** Elements per result. */
  length: number;
  /** Elements after the reduced axes (1: the reduced axes are the last). */
  inner: number;
}

/** A chain to fuse: its inputs (scalar or full length) and steps; `outputs` are the values written out. */
export interface FusedChain {
  /**
   * Per input: its dtype, whether it is one element (broadcast) rather than one per output, and for
   * a constant of one element its value (a kernel may embed it instead of reading the input).
   */
  inputs: { dtype: DType; scalar: boolean; value?: number }[];
  /** The operations, each producing value number `inputs.length + i`. */
  steps: FusedStep[];
  /** The value numbers written out, in order. */
  outputs: number[];
  /** A reduction of one value, its `rows` results written after the outputs (only where `canFuseReduce`). */
  reduce?: FusedReduce;
}

const UNARY64: Record<UnaryOp, (x: string) => string> = {
  neg: (x) => `-${x}`,
  exp: (x) => `Math.exp(${x})`,
  log: (x) => `Math.log(${x})`,
  sqrt: (x) => `Math.sqrt(${x})`,
  abs: (x) => `Math.abs(${x})`,
  sign: (x) => `(${x} > 0 ? 1 : ${x} < 0 ? -1 : ${x})`,
  tanh: (x) => `Math.tanh(${x})`,
  sin: (x) => `Math.sin(${x})`,
  cos: (x) => `Math.cos(${x})`,
  erf: (x) => `erf(${x})`,
  floor: (x) => `Math.floor(${x})`,
  log1p: (x) => `Math.log1p(${x})`,
  expm1: (x) => `Math.expm1(${x})`,
};

const BINARY: Record<BinaryOp, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  pow: (a, b) => `Math.pow(${a}, ${b})`,
  max: (a, b) => `(${a} > ${b} || ${a} !== ${a} ? ${a} : ${b})`,
  min: (a, b) => `(${a} < ${b} || ${a} !== ${a} ? ${a} : ${b})`,
  eq: (a, b) => `(${a} === ${b} ? 1 : 0)`,
  ne: (a, b) => `(${a} !== ${b} ? 1 : 0)`,
  lt: (a, b) => `(${a} < ${b} ? 1 : 0)`,
  le: (a, b) => `(${a} <= ${b} ? 1 : 0)`,
  gt: (a, b) => `(${a} > ${b} ? 1 : 0)`,
  ge: (a, b) => `(${a} >= ${b} ? 1 : 0)`,
};

/** `e` stored as `d` stores it (the rounding of a typed-array store). */
function store(e: string, d: DType): string {
  if (d === "float32") return `fr(${e})`;
  if (d === "float16") return `hr(${e})`;
  if (d === "int32") return `((${e}) | 0)`;
  if (d === "bool") return `((${e}) !== 0 ? 1 : 0)`; // a Uint8Array holds 0/1 here
  return e;
}

function expr(s: FusedStep, v: (i: number) => string): string {
  const [a, b, c] = s.args.map(v);
  switch (s.kind) {
    case "copy":
      return a;
    case "where":
      return `(${a} !== 0 ? ${b} : ${c})`;
    case "cast":
      if (s.dtype === "bool") return `(${a} !== 0 ? 1 : 0)`;
      return store(a, s.dtype);
    case "unary": {
      const op = s.op as UnaryOp;
      if (s.dtype === "float32") {
        if (op === "exp") return `fr(exp32(${a}))`;
        if (op === "tanh") return `fr(tanh32(${a}))`;
        if (op === "log") return `fr(log32(${a}, bits(${a})))`;
      }
      return store(UNARY64[op](a), s.dtype);
    }
    case "binary": {
      const op = s.op as BinaryOp;
      if (op === "mul" && s.dtype === "int32") return `Math.imul(${a}, ${b})`; // as the one-op kernel wraps
      const e = BINARY[op](a, b);
      return op === "eq" || op === "ne" || op === "lt" || op === "le" || op === "gt" || op === "ge"
        ? e
        : store(e, s.dtype);
    }
  }
}

const F32 = new Float32Array(1), I32 = new Int32Array(F32.buffer);
const ENV = {
  fr: Math.fround,
  hr: (x: number) => Math.f16round(x),
  erf,
  exp32,
  log32,
  tanh32,
  bits: (x: number) => {
    F32[0] = x;
    return I32[0];
  },
};

/** A compiled chain: `run(inputs, outputs, n)` over `n` elements. */
export type FusedLoop = (ins: readonly TypedArray[], outs: readonly TypedArray[], n: number) => void;

const cache = new Map<string, FusedLoop>();

function key(c: FusedChain): string {
  let k = c.inputs.map((i) => `${i.dtype}${i.scalar ? "s" : "v"}${i.value === undefined ? "" : `=${bitsOf(i.value)}`}`)
    .join(",") + "|";
  for (const s of c.steps) k += `${s.kind}:${s.op ?? ""}:${s.dtype}(${s.args.join(",")});`;
  k += "|" + c.outputs.join(",");
  const r = c.reduce;
  return r ? `${k}|${r.op}(${r.value})${r.rows}x${r.length}x${r.inner}` : k;
}

const F64 = new Float64Array(1), U32 = new Uint32Array(F64.buffer);
/** A number's float64 bits (−0 and NaN payloads told apart), for keys. */
function bitsOf(x: number): string {
  F64[0] = x;
  return `${U32[1].toString(16)}:${U32[0].toString(16)}`;
}

/** A fused chain ready to run: `run(ins, outs, n)` (outputs, then the reduction's results), and whether it runs as Wasm SIMD. */
export interface FusedKernel {
  /** Runs the chain over `n` elements. */
  run: FusedLoop;
  /** The chain runs as a WebAssembly SIMD kernel (else as the generated JavaScript loop). */
  wasm: boolean;
}

const kernels = new Map<string, FusedKernel>();

/**
 * Whether a chain may end in its reduction inside the kernel: only where the chain has a SIMD kernel
 * here (the JavaScript loop would materialise the reduced value anyway).
 */
export function canFuseReduce(chain: FusedChain): boolean {
  return chain.reduce !== undefined && wasmFusable(chain) && fusedKernel(chain).wasm;
}

/**
 * The kernel of `chain` (compiled once per structure): WebAssembly SIMD where every step has a
 * form there (`wasm/fused_kernel.ts`), else the JavaScript loop of {@linkcode fusedLoop}; bit for
 * bit the eager values either way. A reduction is computed in the kernel; should the Wasm memory be
 * unable to hold the copies of operands outside it, the chain runs as JavaScript and the reduction
 * as the eager kernel.
 */
export function fusedKernel(chain: FusedChain): FusedKernel {
  const k = key(chain);
  let f = kernels.get(k);
  if (f) return f;
  const w = wasmFusedKernel(chain);
  const red = chain.reduce;
  let js: FusedLoop | undefined;
  const fallback: FusedLoop = (ins, outs, n) => {
    if (!red) return (js ??= fusedLoop(chain))(ins, outs, n);
    // the reduced value written out too, then reduced by the eager kernel
    const at = chain.outputs.indexOf(red.value);
    js ??= fusedLoop(at >= 0 ? chain : { ...chain, outputs: [...chain.outputs, red.value] });
    const d = dtypeOfArray(outs[outs.length - 1]);
    const full = at >= 0 ? null : takeArray(d, n, false);
    const chainOuts = outs.slice(0, chain.outputs.length);
    js(ins, full ? [...chainOuts, full] : chainOuts, n);
    const r = reduceKernel(red.op, full ?? chainOuts[at], [red.rows, red.length, red.inner], [1], d);
    outs[outs.length - 1].set(r);
    giveArray(r, d);
    if (full) giveArray(full, d);
  };
  f = w
    ? { run: (ins, outs, n) => w.run(ins, outs, n) || fallback(ins, outs, n), wasm: true }
    : { run: fallback, wasm: false };
  kernels.set(k, f);
  return f;
}

/** Compiles (once per structure) the JavaScript loop of `chain` (without its reduction). */
export function fusedLoop(chain: FusedChain): FusedLoop {
  // the loop reads constants from their arrays: one loop per structure whatever their values
  const k = key({
    ...chain,
    inputs: chain.inputs.map((i) => ({ dtype: i.dtype, scalar: i.scalar })),
    reduce: undefined,
  });
  let f = cache.get(k);
  if (f) return f;
  const nIn = chain.inputs.length;
  const L: string[] = [];
  chain.inputs.forEach((_, i) => L.push(`const a${i} = ins[${i}];`));
  chain.outputs.forEach((_, i) => L.push(`const o${i} = outs[${i}];`));
  chain.inputs.forEach((inp, i) => inp.scalar && L.push(`const v${i} = a${i}[0];`));
  // the body for element `j + u`, values suffixed by u; scalars are shared
  const body = (u: number, at: string) => {
    const v = (i: number) => (i < nIn && chain.inputs[i].scalar ? `v${i}` : `v${i}_${u}`);
    const B: string[] = [];
    chain.inputs.forEach((inp, i) => !inp.scalar && B.push(`const v${i}_${u} = a${i}[${at}];`));
    chain.steps.forEach((s, i) => B.push(`const v${nIn + i}_${u} = ${expr(s, v)};`));
    chain.outputs.forEach((o, i) => B.push(`o${i}[${at}] = ${v(o)};`));
    return B;
  };
  // two elements per iteration, interleaved: two independent dependency chains run side by side
  // (a long chain is latency-bound one element at a time: about twice as fast)
  L.push(`let j = 0;`);
  L.push(`for (; j + 2 <= n; j += 2) {`);
  const b0 = body(0, "j"), b1 = body(1, "j + 1");
  for (let k = 0; k < b0.length; k++) L.push(b0[k], b1[k]);
  L.push(`}`);
  L.push(`if (j < n) {`, ...body(0, "j"), `}`);
  const names = Object.keys(ENV);
  const src = `return function(ins, outs, n) {\n${L.join("\n")}\n}`;
  f = new Function(...names, src)(...names.map((n) => ENV[n as keyof typeof ENV])) as FusedLoop;
  cache.set(k, f);
  return f;
}
