/**
 * Elementwise fusion. An elementwise primitive (unary, binary, where, cast, full) does not run a
 * kernel: it returns a lazy storage holding an expression DAG whose leaves are concrete buffers
 * (read contiguously, as a scalar, or through broadcast strides) and constants (passed in the
 * uniform block, so the compiled pipeline does not depend on their values). A later elementwise
 * op inlines a lazy input into its own DAG; any other kernel, a read, or a DAG past the limits
 * materialises it with one dispatch. A lazy tensor that is released unread never runs at all.
 *
 * Inlining rules that bound recomputation: a lazy input is inlined into at most one consumer
 * (a second consumer materialises it, and both then read the buffer) and only when its shape is
 * the consumer's (or it is tiny: a few ops, recomputed per element of a broadcast).
 * @module
 */
import type { DType } from "../../dtype.ts";
import { BackendError } from "../../errors.ts";
import { broadcastStrides, coalesce, contiguousStrides } from "../cpu/strided.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { grid, UNIFORM_SLOT, Uniforms } from "./runtime.ts";
import { AT, entry, mathLib, memoCode, WG, wgslType } from "./wgsl.ts";

/** A buffer read at every output element through broadcast strides. */
export interface LeafNode {
  /** Discriminant. */
  readonly kind: "leaf";
  /** The buffer (kept alive by the lazy storages whose DAG holds this leaf). */
  readonly buffer: GPUBuffer;
  /** Shape of the tensor stored in the buffer (broadcast to the output's). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
}

/** A constant (from `full`), broadcast to any shape. */
export interface ConstNode {
  /** Discriminant. */
  readonly kind: "const";
  /** The value. */
  readonly value: number;
  /** Its shape (only used when it is materialised on its own). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
}

/** An elementwise operation on other nodes. */
export interface OpNode {
  /** Discriminant. */
  readonly kind: "op";
  /** `code(args)` gives the WGSL expression of this node from its arguments' names. */
  readonly code: (args: readonly string[]) => string;
  /** A key identifying `code` (op name and dtypes), part of the pipeline's source. */
  readonly key: string;
  /** Math functions the expression calls. */
  readonly math: readonly string[];
  /** Arguments. */
  readonly args: readonly FNode[];
  /** Output shape. */
  readonly shape: readonly number[];
  /** Output element type. */
  readonly dtype: DType;
  /** Ops in the DAG below and including this one (counting shared ones once per path). */
  readonly cost: number;
}

/** A node of a fused expression. */
export type FNode = LeafNode | ConstNode | OpNode;

/** Limits of one fused kernel. */
export interface FusionLimits {
  /** Distinct buffers read. */
  maxBuffers: number;
  /** Strided (non-contiguous, non-scalar) views. */
  maxStrided: number;
  /** Constants. */
  maxConsts: number;
  /** Op nodes. */
  maxOps: number;
}

/** Distinct leaf buffers of a DAG. */
export function leafBuffers(root: FNode): GPUBuffer[] {
  const out = new Set<GPUBuffer>();
  const seen = new Set<FNode>();
  const walk = (n: FNode) => {
    if (seen.has(n)) return;
    seen.add(n);
    if (n.kind === "leaf") out.add(n.buffer);
    else if (n.kind === "op") n.args.forEach(walk);
  };
  walk(root);
  return [...out];
}

/** Counts of what a DAG needs: buffers, consts, ops, leaves. */
export function measure(root: FNode): { buffers: number; consts: number; ops: number; leaves: number } {
  const bufs = new Set<GPUBuffer>();
  const seen = new Set<FNode>();
  let consts = 0, ops = 0, leaves = 0;
  const walk = (n: FNode) => {
    if (seen.has(n)) return;
    seen.add(n);
    if (n.kind === "leaf") {
      bufs.add(n.buffer);
      leaves++;
    } else if (n.kind === "const") consts++;
    else {
      ops++;
      n.args.forEach(walk);
    }
  };
  walk(root);
  return { buffers: bufs.size, consts, ops, leaves };
}

/** Uniform words of a kernel with `leaves` leaves (all strided, the worst case) and `consts` constants. */
function uniformWords(leaves: number, consts: number): number {
  return 4 + 8 + 8 * leaves + 4 * Math.max(1, Math.ceil(consts / 4)) + 4 * Math.max(1, Math.ceil(leaves / 4));
}

/** Whether a DAG fits one kernel (bindings, uniform block, size). */
export function fits(root: FNode, lim: FusionLimits): boolean {
  const m = measure(root);
  return m.buffers <= lim.maxBuffers && m.consts <= lim.maxConsts && m.ops <= lim.maxOps &&
    m.leaves <= lim.maxStrided && uniformWords(m.leaves, m.consts) * 4 <= UNIFORM_SLOT;
}

/** A compiled fused kernel: WGSL, buffers to bind in order, uniform words, element count. */
export interface FusedKernel {
  /** WGSL source. */
  code: string;
  /** Buffers for bindings 0..k−1. */
  inputs: GPUBuffer[];
  /** Uniform words. */
  uniforms: Uint32Array;
  /** Number of output elements. */
  n: number;
}

/**
 * Generates the kernel writing `root` over `outShape` (row-major, contiguous): one `let` per DAG
 * node in topological order, leaves read through coalesced broadcast strides.
 */
export function compileFused(root: FNode, outShape: readonly number[]): FusedKernel {
  const n = outShape.reduce((a, b) => a * b, 1);
  const order: FNode[] = [];
  const seen = new Set<FNode>();
  const visit = (x: FNode) => {
    if (seen.has(x)) return;
    seen.add(x);
    if (x.kind === "op") x.args.forEach(visit);
    order.push(x);
  };
  visit(root);
  const leaves = order.filter((x): x is LeafNode => x.kind === "leaf");
  const consts = order.filter((x): x is ConstNode => x.kind === "const");
  const buffers = [...new Set(leaves.map((l) => l.buffer))];
  const [shape, strides] = coalesce(outShape, [
    ...leaves.map((l) => broadcastStrides(l.shape, outShape)),
    contiguousStrides(outShape),
  ]);
  const cs = contiguousStrides(shape);
  // Either every leaf is contiguous or a scalar (read at i·mⱼ, mⱼ ∈ {1, 0} in the uniform block), or
  // every leaf goes through strides: two pipelines per DAG, whatever the broadcasting pattern.
  const linear = leaves.every((_, j) => {
    const s = strides[j];
    return s.every((v) => v === 0) || s.every((v, i) => v === cs[i] || shape[i] === 1);
  });
  const modes = leaves.map(() => (linear ? "linear" : "strided"));
  const strided = modes.flatMap((m, j) => (m === "strided" ? [j] : []));
  const nc4 = Math.max(1, Math.ceil(consts.length / 4));
  const nm4 = Math.max(1, Math.ceil(leaves.length / 4));
  if (uniformWords(strided.length, consts.length) * 4 > UNIFORM_SLOT || (strided.length && shape.length > 8)) {
    throw new BackendError(`webgpu fusion: kernel too large (${strided.length} strided inputs, rank ${shape.length})`);
  }
  // the source depends only on the DAG's structure, its dtypes and the leaf modes: memoised by a
  // short signature, so a training loop generates each kernel's WGSL once
  const pos = new Map<FNode, number>();
  order.forEach((x, i) => pos.set(x, i));
  let sig = `f|${linear ? "L" : "S"}|${root.dtype}|`;
  for (const x of order) {
    if (x.kind === "leaf") sig += `l${buffers.indexOf(x.buffer)}${x.dtype};`;
    else if (x.kind === "const") sig += `c${x.dtype};`;
    else sig += `${x.key}(${x.args.map((y) => pos.get(y)).join(",")});`;
  }
  const code = memoCode(sig, () => {
    const name = new Map<FNode, string>();
    const lines: string[] = [];
    lines.push(`struct U { n: u32, rank: u32, p0: u32, p1: u32, shape: array<vec4<u32>, 2>,`);
    strided.forEach((j) => lines.push(`  st${j}: array<vec4<u32>, 2>,`));
    lines.push(`  cs: array<vec4<u32>, ${nc4}>,`);
    lines.push(`  ms: array<vec4<u32>, ${nm4}>,`);
    lines.push(`}`);
    buffers.forEach((b, k) => {
      const d = leaves.find((l) => l.buffer === b)!.dtype;
      const t = d === "float16" ? "u32" : wgslType(d); // float16: packed pairs (half.ts)
      lines.push(`@group(0) @binding(${k}) var<storage, read> in${k}: array<${t}>;`);
    });
    const tOut = wgslType(root.dtype);
    lines.push(`@group(0) @binding(${buffers.length}) var<storage, read_write> out: array<${tOut}>;`);
    lines.push(`@group(0) @binding(${buffers.length + 1}) var<uniform> u: U;`);
    if (strided.length) lines.push(AT);
    lines.push(`fn cst(k: u32) -> u32 { return u.cs[k >> 2u][k & 3u]; }`);
    const math = new Set<string>();
    for (const x of order) if (x.kind === "op") x.math.forEach((m) => math.add(m));
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
    leaves.forEach((l, j) => {
      const idx = modes[j] === "linear" ? `i * u.ms[${j >> 2}][${j & 3}]` : `o${j}`;
      name.set(l, `l${j}`);
      const k = buffers.indexOf(l.buffer);
      if (l.dtype === "float16") {
        // element e of a packed float16 buffer: half e & 1 of word e >> 1, widened exactly to f32
        lines.push(`  let e${j} = ${idx};`);
        lines.push(`  let l${j} = unpack2x16float(in${k}[e${j} >> 1u])[e${j} & 1u];`);
      } else lines.push(`  let l${j} = in${k}[${idx}];`);
    });
    consts.forEach((c, k) => {
      const t = wgslType(c.dtype);
      name.set(c, `c${k}`);
      lines.push(`  let c${k} = ${t === "u32" ? `cst(${k}u)` : `bitcast<${t}>(cst(${k}u))`};`);
    });
    let v = 0;
    for (const x of order) {
      if (x.kind !== "op") continue;
      const nm = `v${v++}`;
      name.set(x, nm);
      lines.push(`  let ${nm} = ${x.code(x.args.map((a) => name.get(a)!))};`);
    }
    lines.push(`  out[i] = ${name.get(root)};`);
    lines.push(`}`);
    return lines.join("\n");
  });
  const uni = new Uniforms().u(n, shape.length, 0, 0).arr(shape, 8);
  strided.forEach((j) => uni.arr(strides[j], 8));
  uni.align4();
  for (const c of consts) {
    const t = wgslType(c.dtype);
    if (t === "f32") uni.f(c.value);
    else if (t === "i32") uni.i(c.value);
    else uni.u(c.value ? 1 : 0);
  }
  if (consts.length === 0) uni.u(0);
  uni.align4();
  for (let j = 0; j < leaves.length; j++) uni.u(strides[j].every((v) => v === 0) ? 0 : 1);
  return { code, inputs: buffers, uniforms: uni.u32, n };
}

/** Workgroups for `n` elements. */
export function fusedGroups(n: number): [number, number, number] {
  return grid(Math.ceil(n / WG));
}
