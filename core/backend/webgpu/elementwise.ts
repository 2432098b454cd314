/**
 * Elementwise kernels (unary, binary, where, cast, full) with NumPy broadcasting: each input is
 * read contiguously, as a scalar, or through strides over the output's (coalesced) shape, passed
 * in the uniform block, so one compiled pipeline serves every shape of a given pattern.
 * @module
 */
import type { Aval } from "../backend.ts";
import type { DType } from "../../dtype.ts";
import { BackendError } from "../../errors.ts";
import type { BinaryOp, UnaryOp } from "../../primitives.ts";
import { broadcastStrides, coalesce, contiguousStrides } from "../cpu/strided.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid, Uniforms } from "./runtime.ts";
import { AT, entry, mathLib, WG, wgslType } from "./wgsl.ts";

/** Largest rank after coalescing that the strided kernels index (uniform arrays of 8). */
export const MAX_RANK = 8;

/** How an elementwise kernel reads one input. */
type Mode = "same" | "scalar" | "strided";

/** One elementwise input: its dtype and shape (broadcast to the output's). */
export interface EwInput {
  /** Element type. */
  dtype: DType;
  /** Shape before broadcasting. */
  shape: readonly number[];
}

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
  }
}

/** The WGSL expression of a binary op on values `a`, `b` of WGSL type `t`. */
export function binaryExpr(op: BinaryOp, a: string, b: string, t: string): [string, string[]] {
  const cmp = (o: string): [string, string[]] => [`select(0u, 1u, ${a} ${o} ${b})`, []];
  switch (op) {
    case "add":
      return [`(${a} + ${b})`, []];
    case "sub":
      return [`(${a} - ${b})`, []];
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

/**
 * Encodes `out = expr(v0, v1, ...)` over `outAval`, where `vj` is input j broadcast to the output
 * shape; `expr` is a WGSL expression of `v0..v(k−1)` producing the output's WGSL type.
 */
export function elementwise(
  gpu: WebGPUBackend,
  inputs: readonly GPUBuffer[],
  ins: readonly EwInput[],
  outAval: Aval,
  expr: string,
  math: readonly string[],
): GPUBuffer {
  const out = gpu.alloc(outAval);
  const n = gpu.size(outAval.shape);
  if (n === 0) return out;
  const outShape = outAval.shape;
  const [shape, strides] = coalesce(outShape, [
    ...ins.map((x) => broadcastStrides(x.shape, outShape)),
    contiguousStrides(outShape),
  ]);
  const cs = contiguousStrides(shape);
  const modes: Mode[] = ins.map((_, j) => {
    const s = strides[j];
    if (s.every((v) => v === 0)) return "scalar";
    if (s.every((v, i) => v === cs[i] || shape[i] === 1)) return "same";
    return "strided";
  });
  const strided = modes.flatMap((m, j) => (m === "strided" ? [j] : []));
  if (strided.length && shape.length > MAX_RANK) {
    throw new BackendError(`webgpu elementwise: rank ${shape.length} after merging axes exceeds ${MAX_RANK}`);
  }
  const tOut = wgslType(outAval.dtype);
  const lines: string[] = [];
  lines.push(`struct U { n: u32, rank: u32, p0: u32, p1: u32, shape: array<vec4<u32>, 2>,`);
  strided.forEach((j) => lines.push(`  st${j}: array<vec4<u32>, 2>,`));
  lines.push(`}`);
  ins.forEach((x, j) => lines.push(`@group(0) @binding(${j}) var<storage, read> in${j}: array<${wgslType(x.dtype)}>;`));
  lines.push(`@group(0) @binding(${ins.length}) var<storage, read_write> out: array<${tOut}>;`);
  lines.push(`@group(0) @binding(${ins.length + 1}) var<uniform> u: U;`);
  if (strided.length) lines.push(AT);
  lines.push(mathLib(math));
  lines.push(entry("u.n"));
  if (strided.length) {
    strided.forEach((j) => lines.push(`  var o${j} = 0u;`));
    lines.push(`  var r = i;`);
    lines.push(`  for (var ax = i32(u.rank) - 1; ax >= 0; ax--) {`);
    lines.push(`    let d = at8(u.shape, u32(ax)); let c = r % d; r = r / d;`);
    strided.forEach((j) => lines.push(`    o${j} += c * at8(u.st${j}, u32(ax));`));
    lines.push(`  }`);
  }
  modes.forEach((m, j) => {
    const idx = m === "same" ? "i" : m === "scalar" ? "0u" : `o${j}`;
    lines.push(`  let v${j} = in${j}[${idx}];`);
  });
  lines.push(`  out[i] = ${expr};`);
  lines.push(`}`);
  const uni = new Uniforms().u(n, shape.length, 0, 0).arr(shape, 8);
  strided.forEach((j) => uni.arr(strides[j], 8));
  gpu.runtime.dispatch({
    code: lines.join("\n"),
    inputs,
    output: out,
    uniforms: uni.u32,
    groups: grid(Math.ceil(n / WG)),
  });
  return out;
}

/** Encodes a fill of `aval` with `value` (bool: nonzero → 1). */
export function fill(gpu: WebGPUBackend, aval: Aval, value: number): GPUBuffer {
  const out = gpu.alloc(aval);
  const n = gpu.size(aval.shape);
  if (n === 0) return out;
  const t = wgslType(aval.dtype, "full");
  const uni = new Uniforms().u(n, 0, 0, 0);
  if (t === "f32") uni.f(value);
  else if (t === "i32") uni.i(value);
  else uni.u(value !== 0 ? 1 : 0);
  const code = `struct U { n: u32, p0: u32, p1: u32, p2: u32, v: ${t} }
@group(0) @binding(0) var<storage, read_write> out: array<${t}>;
@group(0) @binding(1) var<uniform> u: U;
${entry("u.n")}
  out[i] = u.v;
}`;
  gpu.runtime.dispatch({ code, inputs: [], output: out, uniforms: uni.u32, groups: grid(Math.ceil(n / WG)) });
  return out;
}

/** Registers full, unary, binary, where and cast. */
export function registerElementwise(gpu: WebGPUBackend): void {
  const k = gpu.kernels;
  k.set("full", (_i, _a, p: { value: number }, [o]) => [gpu.wrap(fill(gpu, o, p.value), o)]);
  k.set("unary", ([x], [xa], p: { op: UnaryOp }, [o]) => {
    const [e, m] = unaryExpr(p.op, "v0", wgslType(xa.dtype, p.op));
    return [gpu.wrap(elementwise(gpu, [gpu.buf(x)], [xa], o, e, m), o)];
  });
  k.set("binary", ([a, b], [aa, ba], p: { op: BinaryOp }, [o]) => {
    const [e, m] = binaryExpr(p.op, "v0", "v1", wgslType(aa.dtype, p.op));
    return [gpu.wrap(elementwise(gpu, [gpu.buf(a), gpu.buf(b)], [aa, ba], o, e, m), o)];
  });
  k.set("where", ([c, a, b], [ca, aa, ba], _p, [o]) => {
    const out = elementwise(gpu, [gpu.buf(c), gpu.buf(a), gpu.buf(b)], [ca, aa, ba], o, `select(v2, v1, v0 != 0u)`, []);
    return [gpu.wrap(out, o)];
  });
  k.set("cast", ([x], [xa], _p, [o]) => {
    const [e, m] = castExpr(xa.dtype, o.dtype, "v0");
    return [gpu.wrap(elementwise(gpu, [gpu.buf(x)], [xa], o, e, m), o)];
  });
}
