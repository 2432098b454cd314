/**
 * Elementwise primitives (unary, binary, where, cast, full) as WGSL expressions. They build the
 * lazy expression DAGs of fusion.ts; NumPy broadcasting is resolved when a DAG is compiled (each
 * leaf read contiguously, as a scalar, or through strides in the uniform block).
 * @module
 */
import type { Aval } from "../backend.ts";
import { allocate, type DType } from "../../dtype.ts";
import { arr, cpu, wrap } from "../cpu/mod.ts";
import type { BinaryOp, UnaryOp } from "../../primitives.ts";
import type { WebGPUBackend } from "./backend.ts";
import type { FNode, OpNode } from "./fusion.ts";
import { wgslType } from "./wgsl.ts";

/** Largest rank after coalescing that the strided kernels index (uniform arrays of 8). */
export const MAX_RANK = 8;

/** The WGSL expression and math functions of a unary op on value `x` of WGSL type `t`. */
export function unaryExpr(op: UnaryOp, x: string, t: string): [string, string[]] {
  switch (op) {
    case "neg":
      return [`-${x}`, []];
    case "abs":
      return [`abs(${x})`, []];
    case "sign":
      return [`select(select(${x}, ${t}(-1), ${x} < ${t}(0)), ${t}(1), ${x} > ${t}(0))`, []];
    case "exp":
      return [`t_exp(${x})`, ["t_exp"]];
    case "log":
      return [`t_log(${x})`, ["t_log"]];
    case "sqrt":
      return [`sqrt(${x})`, []];
    case "tanh":
      return [`t_tanh(${x})`, ["t_tanh"]];
    case "sin":
      return [`t_sin(${x})`, ["t_sinq"]];
    case "cos":
      return [`t_cos(${x})`, ["t_sinq"]];
    case "erf":
      return [`t_erf(${x})`, ["t_erf"]];
    case "floor":
      return [`floor(${x})`, []];
    case "log1p":
      return [`t_log1p(${x})`, ["t_log1p"]];
    case "expm1":
      return [`t_expm1(${x})`, ["t_expm1"]];
  }
}

/** The WGSL expression of a binary op on values `a`, `b` of WGSL type `t`. */
export function binaryExpr(op: BinaryOp, a: string, b: string, t: string): [string, string[]] {
  const cmp = (o: string): [string, string[]] => [`select(0u, 1u, ${a} ${o} ${b})`, []];
  switch (op) {
    // float: the second operand through t_opq, so that x − x and x + (−x) stay NaN for ±∞ and NaN
    case "add":
      return t === "f32" ? [`(${a} + t_opq(${b}))`, ["t_opq"]] : [`(${a} + ${b})`, []];
    case "sub":
      return t === "f32" ? [`(${a} - t_opq(${b}))`, ["t_opq"]] : [`(${a} - ${b})`, []];
    case "mul":
      return [`(${a} * ${b})`, []];
    case "div":
      return t === "f32" ? [`(${a} / ${b})`, []] : [`select(${t}(0), ${a} / ${b}, ${b} != ${t}(0))`, []];
    case "pow":
      return [`t_pow(${a}, ${b})`, ["t_pow"]];
    case "max":
      return t === "f32" ? [`select(${b}, ${a}, ${a} > ${b} || ${a} != ${a})`, []] : [`max(${a}, ${b})`, []];
    case "min":
      return t === "f32" ? [`select(${b}, ${a}, ${a} < ${b} || ${a} != ${a})`, []] : [`min(${a}, ${b})`, []];
    case "eq":
      return cmp("==");
    case "ne":
      return cmp("!=");
    case "lt":
      return cmp("<");
    case "le":
      return cmp("<=");
    case "gt":
      return cmp(">");
    case "ge":
      return cmp(">=");
  }
}

/** The WGSL expression converting value `x` from dtype `from` to dtype `to`. */
export function castExpr(from: DType, to: DType, x: string): [string, string[]] {
  const tf = wgslType(from, "astype"), tt = wgslType(to, "astype");
  if (tf === tt) return [x, []];
  if (tt === "u32") return [`select(0u, 1u, ${x} != ${tf}(0))`, []];
  if (tf === "f32" && tt === "i32") return [`t_f2i(${x})`, ["t_f2i"]];
  return [`${tt}(${x})`, []];
}

/** An op node: `expr` is a WGSL expression of `a0`, `a1`, ... (the arguments). */
export function opNode(key: string, expr: string, math: readonly string[], args: FNode[], out: Aval): OpNode {
  const cost = 1 + args.reduce((c, a) => c + (a.kind === "op" ? a.cost : 0), 0);
  const code = (names: readonly string[]) => expr.replace(/\ba(\d)\b/g, (_, j) => names[Number(j)]);
  return { kind: "op", code, key: `${key}:${expr}`, math, args, shape: out.shape, dtype: out.dtype, cost };
}

/** Evaluates a primitive on scalar constants with the CPU backend's kernel (constant folding). */
function foldWith(prim: string, params: unknown, inAvals: readonly Aval[], out: Aval): (values: number[]) => number {
  return (values) => {
    const ins = values.map((v, i) => {
      const a = allocate(inAvals[i].dtype, 1);
      a[0] = v;
      return wrap(a);
    });
    const scalar = (d: DType): Aval => ({ shape: [], dtype: d });
    const r = cpu.kernels.get(prim)!(ins, inAvals.map((a) => scalar(a.dtype)), params, [scalar(out.dtype)]);
    return Number(arr(r[0])[0]);
  };
}

/** Registers full, unary, binary, where and cast (all fused lazily, see fusion.ts). */
export function registerElementwise(gpu: WebGPUBackend): void {
  const k = gpu.kernels;
  k.set("full", (_i, _a, p: { value: number }, [o]) => [gpu.constant(p.value, o)]);
  k.set("unary", (xs, avals, p: { op: UnaryOp }, [o]) => {
    const [e, m] = unaryExpr(p.op, "a0", wgslType(avals[0].dtype, p.op));
    return [gpu.elementwise(xs, avals, o, (args) => opNode(p.op, e, m, args, o), foldWith("unary", p, avals, o))];
  });
  k.set("binary", (xs, avals, p: { op: BinaryOp }, [o]) => {
    const [e, m] = binaryExpr(p.op, "a0", "a1", wgslType(avals[0].dtype, p.op));
    return [gpu.elementwise(xs, avals, o, (args) => opNode(p.op, e, m, args, o), foldWith("binary", p, avals, o))];
  });
  k.set("where", (xs, avals, p, [o]) => {
    const make = (args: FNode[]) => opNode("where", "select(a2, a1, a0 != 0u)", [], args, o);
    return [gpu.elementwise(xs, avals, o, make, foldWith("where", p, avals, o))];
  });
  k.set("cast", (xs, avals, p, [o]) => {
    const [e, m] = castExpr(avals[0].dtype, o.dtype, "a0");
    return [
      gpu.elementwise(xs, avals, o, (args) => opNode(`cast:${o.dtype}`, e, m, args, o), foldWith("cast", p, avals, o)),
    ];
  });
}
