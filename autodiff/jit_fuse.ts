/**
 * How `jit` plans a replay: one step per primitive application, or, on the CPU, one generated
 * kernel per run of elementwise applications (and a sum/prod/max/min over one run of axes ending it),
 * built by `core/backend/cpu/fuse.ts`.
 * @module
 * @internal
 */
import type { Aval, Backend, Kernel } from "../core/backend/backend.ts";
import type { Primitive } from "../core/primitive.ts";
import type { Tensor } from "../core/tensor.ts";
import type { KeySym } from "../core/key_trace.ts";
import { arr } from "../core/backend/cpu/mod.ts";
import {
  canFuseReduce,
  type FusedChain,
  type FusedKernel,
  fusedKernel,
  type FusedReduce,
  type FusedStep,
} from "../core/backend/cpu/fuse.ts";

/** A replay step that runs one application's backend kernel. */
export interface PrimStep {
  kind: "prim";
  name: string;
  kernel: Kernel;
  params: unknown;
  ins: number[];
  inAvals: Aval[];
  outs: number[];
  outAvals: Aval[];
  /** A draw whose keys `jit` traces: their derivations, resolved into the `key` param at each replay. */
  keyOf?: readonly KeySym[];
}

/** A replay step that runs one generated kernel for a run of elementwise applications (CPU). */
export interface FusedRun {
  kind: "fused";
  /** Applications fused. */
  loopSize: number;
  kernel: FusedKernel;
  ins: number[];
  outs: number[];
  outAvals: Aval[];
  /** Elements per output (the chain's count; a reduction's number of results). */
  outLens: number[];
  n: number;
  /** The reduction fused at the end, if any. */
  reduce?: string;
  /** The fused applications' operations, in order (`mul`, `sin`, `where`, `reshape`, ..., `sum`). */
  ops: string[];
}

/** One kernel a replay runs. */
export type Step = PrimStep | FusedRun;

/** Primitives a fused chain can hold. */
const ELEMENTWISE = new Set(["unary", "binary", "where", "cast", "stopGradient", "reshape", "broadcast"]);

/** One recorded primitive application. */
export interface Rec {
  prim: Primitive<unknown>;
  params: unknown;
  inputs: Tensor[];
  outputs: Tensor[];
  outAvals: readonly Aval[];
}

/** Elements of a shape. */
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The step that replays one application by its backend kernel. */
export function primStep(rec: Rec, ins: number[], outs: number[], avals: Aval[]): PrimStep {
  const backend: Backend = rec.inputs.length ? rec.inputs[0].backend : rec.outputs[0].backend;
  return {
    kind: "prim",
    name: rec.prim.name,
    kernel: backend.kernels.get(rec.prim.name)!,
    params: rec.params,
    ins,
    inAvals: ins.map((s) => avals[s]),
    outs,
    outAvals: [...rec.outAvals],
  };
}

/** Whether an application can join a fused chain of `n` elements. */
function fusable(n: { rec: Rec; ins: number[] }, count: number, avals: Aval[]): boolean {
  const name = n.rec.prim.name;
  if (!ELEMENTWISE.has(name) || n.rec.outputs.length !== 1) return false;
  if (size(n.rec.outAvals[0].shape) !== count || count === 0) return false;
  return n.ins.every((s) => {
    const k = size(avals[s].shape);
    return k === count || k === 1;
  }) && (name !== "broadcast" || size(avals[n.ins[0]].shape) === 1 || size(avals[n.ins[0]].shape) === count);
}

/**
 * Most applications one fused kernel holds. Consecutive chains of the same size join one run (an
 * optimizer's update of many same-shaped leaves is one run of all of them); a generated loop of tens
 * of thousands of values overflowed the stack (an Adam step of 2,000 leaves of 4 elements: RangeError).
 */
const MAX_RUN = 1024;

/** Groups runs of fusable applications into fused loops (only values used later are written). */
export function fuseChains(
  nodes: { rec: Rec; ins: number[]; outs: number[] }[],
  avals: Aval[],
  outSlots: number[],
  consts: Map<number, Tensor>,
): Step[] {
  // last use of every slot, to know which chain values escape
  const lastUse = new Map<number, number>();
  nodes.forEach((n, i) => n.ins.forEach((s) => lastUse.set(s, i)));
  outSlots.forEach((s) => lastUse.set(s, Infinity));
  const steps: Step[] = [];
  let i = 0;
  while (i < nodes.length) {
    const count = size(nodes[i].rec.outAvals[0]?.shape ?? []);
    let j = i;
    while (j < nodes.length && j - i < MAX_RUN && fusable(nodes[j], count, avals)) j++;
    // a reduction of a chain value at the end joins the kernel where its order can be kept
    if (j > i && j < nodes.length) {
      const red = reduceOf(nodes[j], nodes.slice(i, j), avals, count);
      if (red) {
        const st = chainStep(nodes.slice(i, j), avals, lastUse, j, count, consts, { node: nodes[j], ...red });
        if (st) {
          steps.push(st);
          i = j + 1;
          continue;
        }
      }
    }
    if (j - i < 2) {
      const n = nodes[i];
      steps.push(primStep(n.rec, n.ins, n.outs, avals));
      i++;
      continue;
    }
    steps.push(chainStep(nodes.slice(i, j), avals, lastUse, j - 1, count, consts)!);
    i = j;
  }
  return steps;
}

type Node = { rec: Rec; ins: number[]; outs: number[] };

/**
 * A sum, product, max or min of a value the group produces, over one run of consecutive axes, in float32 or
 * float64: the eager kernel (`core/backend/cpu/reduce.ts`) reduces the run `[outer, R, inner]` in
 * place (row by row over the last axes, a sweep of float64 column accumulators over leading ones),
 * an order the fused kernel repeats. Axes that are not one run are fused where the eager kernel's
 * move of them to the end moves only axes of extent 1 (`[A, 1, C]` over axes 0 and 2: the rows of
 * `A·C` as laid out); others (a strided gather first) are not. A product is kept as the eager one
 * runs it: one float64 running product per result, in index order, rounded once.
 */
function reduceOf(
  n: Node,
  group: Node[],
  avals: Aval[],
  count: number,
): { op: FusedReduce["op"]; rows: number; length: number; inner: number } | null {
  if (n.rec.prim.name !== "reduce" || n.ins.length !== 1) return null;
  const { op, axes } = n.rec.params as { op: string; axes: number[] };
  if (op !== "sum" && op !== "prod" && op !== "max" && op !== "min") return null;
  const a = avals[n.ins[0]];
  if (a.dtype !== "float32" && a.dtype !== "float64") return null;
  if (n.rec.outAvals[0].dtype !== a.dtype || size(a.shape) !== count) return null;
  if (!group.some((g) => g.outs[0] === n.ins[0])) return null;
  if (axes.length === 0 || axes.some((x, k) => k > 0 && x <= axes[k - 1])) return null;
  const length = size(axes.map((x) => a.shape[x]));
  if (length === 0) return null;
  if (axes.every((x, k) => x === axes[0] + k)) {
    const inner = size(a.shape.slice(axes[axes.length - 1] + 1));
    return { op, rows: count / length / inner, length, inner };
  }
  // not one run: the eager kernel moves the reduced axes last, then reduces each row of `length`;
  // when only axes of extent 1 move, that layout is the value's own, so the kernel reduces its rows
  const keep = a.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...keep, ...axes].filter((i) => a.shape[i] !== 1);
  if (order.some((x, k) => k > 0 && x < order[k - 1])) return null;
  return { op, rows: count / length, length, inner: 1 };
}

/** The fused step of a group (and a reduction ending it); null when the reduction cannot join the kernel. */
function chainStep(
  group: Node[],
  avals: Aval[],
  lastUse: Map<number, number>,
  end: number,
  count: number,
  consts: Map<number, Tensor>,
  red?: { node: Node; op: FusedReduce["op"]; rows: number; length: number; inner: number },
): FusedRun | null {
  const value = new Map<number, number>(); // slot → value number
  const ins: number[] = [];
  const inputs: FusedChain["inputs"] = [];
  const steps: FusedStep[] = [];
  const arg = (s: number) => {
    let v = value.get(s);
    if (v === undefined) {
      v = ins.length;
      ins.push(s);
      const scalar = size(avals[s].shape) === 1;
      const c = scalar ? consts.get(s) : undefined;
      // a constant scalar's value: the Wasm kernel embeds it (a 200-op chain has ~160 of them)
      const known = c && c.dtype !== "bool" ? arr(c._storage)[0] : undefined;
      inputs.push({
        dtype: avals[s].dtype,
        scalar: scalar && count !== 1,
        ...(known !== undefined ? { value: known } : {}),
      });
      value.set(s, v);
    }
    return v;
  };
  // inputs first: every slot read that the chain does not produce
  const produced = new Set(group.flatMap((n) => n.outs));
  for (const n of group) for (const s of n.ins) if (!produced.has(s)) arg(s);
  const base = ins.length;
  const stepOf = new Map<number, number>();
  const ops: string[] = [];
  group.forEach((n, k) => {
    const name = n.rec.prim.name;
    const p = n.rec.params as { op?: string };
    ops.push(name === "unary" || name === "binary" ? p.op! : name);
    const kind: FusedStep["kind"] = name === "unary" || name === "binary" || name === "where" || name === "cast"
      ? name
      : "copy";
    steps.push({
      kind,
      op: p?.op,
      args: n.ins.map((s) => value.get(s) ?? stepOf.get(s)!),
      argDtypes: n.ins.map((s) => avals[s].dtype),
      dtype: n.rec.outAvals[0].dtype,
    });
    stepOf.set(n.outs[0], base + k);
    value.set(n.outs[0], base + k);
  });
  // written: chain values used after the chain (or outputs)
  const outs: number[] = [];
  const outVals: number[] = [];
  group.forEach((n, k) => {
    const s = n.outs[0];
    if ((lastUse.get(s) ?? -1) > end) {
      outs.push(s);
      outVals.push(base + k);
    }
  });
  const chain: FusedChain = { inputs, steps, outputs: outVals };
  const outLens = outs.map(() => count);
  if (red) {
    chain.reduce = {
      op: red.op,
      value: value.get(red.node.ins[0])!,
      rows: red.rows,
      length: red.length,
      inner: red.inner,
    };
    if (!canFuseReduce(chain)) return null;
    ops.push(red.op);
    outs.push(red.node.outs[0]);
    outLens.push(red.rows * red.inner);
  }
  return {
    kind: "fused",
    loopSize: group.length + (red ? 1 : 0),
    kernel: fusedKernel(chain),
    ins,
    outs,
    outAvals: outs.map((s) => avals[s]),
    outLens,
    n: count,
    reduce: red?.op,
    ops,
  };
}
