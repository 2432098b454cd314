/**
 * `jit`: trace a function once per input signature into a graph of primitive applications, then
 * replay the graph instead of running the function. Tracing runs `f` on the real inputs with an
 * interpreter of `bind` that records every application; the graph keeps only what the outputs
 * need (dead code removed), applications whose inputs are all constants are folded into their
 * traced values, and on the CPU runs of elementwise applications become one generated kernel each
 * (`core/backend/cpu/fuse.ts`: WebAssembly SIMD for float arithmetic, comparisons and where, with a
 * sum/max/min over one run of axes at the end computed in the same kernel; a JavaScript loop for the
 * rest; bit for bit the eager values); on WebGPU the replayed elementwise
 * kernels fuse lazily as they always do. A replay calls the backend kernels directly (no op-level
 * checks, no tensors for intermediates) and returns the intermediates' memory at once.
 *
 * Under another transformation (an input tracked by `grad`, batched by `vmap`, or an outer `jit`
 * tracing) the function simply runs, so `grad(jit(f))`, `vmap(jit(f))` and nested jits compose;
 * `jit(grad(f))` and `jit(vmap(f))` trace the whole transformed computation.
 * @module
 */
import type { Aval, Backend, Kernel, Storage } from "../core/backend/backend.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import { evaluate, type Interpreter, type Primitive, withInterpreter } from "../core/primitive.ts";
import { treeLeaves, treeUnflatten } from "../core/pytree.ts";
import { Tensor, valueReads } from "../core/tensor.ts";
import { keepBeyondScopes } from "../core/memory.ts";
import { TangentError } from "../core/errors.ts";
import { arr, CpuStorage } from "../core/backend/cpu/mod.ts";
import { takeArray } from "../core/backend/cpu/pool.ts";
import {
  canFuseReduce,
  type FusedChain,
  type FusedKernel,
  fusedKernel,
  type FusedReduce,
  type FusedStep,
} from "../core/backend/cpu/fuse.ts";

/** Options of {@linkcode jit}. */
export interface JitOptions {
  /**
   * Positions of arguments that are not traced but passed as they are; their values (by identity
   * for objects that are not plain data) are part of the cache key, so a new value traces again.
   * Non-tensor values inside traced arguments (numbers, strings) are keys too.
   */
  staticArgnums?: readonly number[];
  /** Fuse elementwise chains on the CPU (default true; false replays one kernel per application). */
  fuse?: boolean;
  /**
   * Throw instead of running eagerly when the trace reads a tensor's value (`item()`, `data()`,
   * `dataSync()`, `array()`): such a function's graph depends on the values, so by default `jit`
   * keeps calling it as it is (correct, not faster). Default false.
   */
  strict?: boolean;
}

interface PrimStep {
  kind: "prim";
  name: string;
  kernel: Kernel;
  params: unknown;
  ins: number[];
  inAvals: Aval[];
  outs: number[];
  outAvals: Aval[];
}

interface FusedRun {
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
}

type Step = PrimStep | FusedRun;

/** A compiled trace. */
interface Graph {
  /** Number of input slots (the traced argument leaves). */
  nIn: number;
  /** Constant slots' tensors (kept alive by the graph). */
  consts: Map<number, Tensor>;
  steps: Step[];
  slots: number;
  /** Per output leaf: its slot and aval. */
  outs: { slot: number; aval: Aval; extra: PropertyDescriptorMap | null }[];
  /** The output's structure (leaves replaced on replay). */
  outTree: unknown;
  /** Slots written by the steps. */
  written: number[];
  /** The constants' storages (never released by a replay). */
  constStorages: Set<Storage>;
}

/** What a signature maps to: a graph, or "eager" when the trace read values (value-dependent control). */
type Entry = Graph | "eager";

let tracing = 0;
const ids = new WeakMap<object, number>();
let nextId = 1;

function idOf(o: object): number {
  let i = ids.get(o);
  if (i === undefined) ids.set(o, i = nextId++);
  return i;
}

function isPlain(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== "object") return false;
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
}

/** The signature of a value: tensors by shape, dtype, backend and manifold; data by value; other objects by identity. */
function sig(x: unknown): string {
  if (x instanceof Tensor) {
    const m = (x as { manifold?: { name?: string } }).manifold;
    return `T[${x.shape}]${x.dtype}@${x.backend.name}${m ? `~${m.name ?? "?"}#${idOf(m)}` : ""}`;
  }
  if (Array.isArray(x)) return `[${x.map(sig).join(",")}]`;
  if (isPlain(x)) return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${sig(x[k])}`).join(",")}}`;
  if (x === undefined) return "u";
  if (typeof x === "number") return Object.is(x, -0) ? "-0" : String(x);
  if (typeof x === "object" || typeof x === "function") return `#${idOf(x as object)}`;
  return JSON.stringify(x) ?? String(x);
}

const ELEMENTWISE = new Set(["unary", "binary", "where", "cast", "stopGradient", "reshape", "broadcast"]);

interface Rec {
  prim: Primitive<unknown>;
  params: unknown;
  inputs: Tensor[];
  outputs: Tensor[];
  outAvals: readonly Aval[];
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Builds the replayable graph from a trace. */
function compile(recs: Rec[], inputs: Tensor[], out: unknown, fuse: boolean): Graph {
  // slots by tensor, and by storage for aliases (grad's leaves, untracked results) of the same shape
  const byTensor = new Map<Tensor, number>();
  const byStorage = new Map<Storage, number[]>();
  const avals: Aval[] = [];
  const consts = new Map<number, Tensor>();
  let slots = 0;
  const newSlot = (t: Tensor) => {
    const s = slots++;
    byTensor.set(t, s);
    const l = byStorage.get(t._storage);
    if (l) l.push(s);
    else byStorage.set(t._storage, [s]);
    avals[s] = { shape: t.shape, dtype: t.dtype };
    return s;
  };
  inputs.forEach((t) => newSlot(t));
  const nIn = inputs.length;
  const same = (a: Aval, t: Tensor) =>
    a.dtype === t.dtype && a.shape.length === t.ndim && a.shape.every((d, i) => d === t.shape[i]);
  // a tensor no application made and no input shares: a constant captured by the trace
  const read = (t: Tensor) => {
    const s = byTensor.get(t);
    if (s !== undefined) return s;
    const alias = byStorage.get(t._storage)?.find((k) => same(avals[k], t));
    if (alias !== undefined) {
      byTensor.set(t, alias);
      return alias;
    }
    const c = newSlot(t);
    consts.set(c, t);
    return c;
  };
  interface Node {
    rec: Rec;
    ins: number[];
    outs: number[];
  }
  let nodes: Node[] = [];
  for (const rec of recs) {
    const ins = rec.inputs.map(read);
    const folded = ins.every((s) => consts.has(s));
    const outs = rec.outputs.map((o) => newSlot(o));
    if (folded) outs.forEach((s, i) => consts.set(s, rec.outputs[i])); // constant folding: the traced value
    else nodes.push({ rec, ins, outs });
  }
  const outLeaves = treeLeaves(out);
  const outSlots = outLeaves.map(read);
  // dead code: keep what the outputs need
  const needed = new Set(outSlots);
  const kept: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (!n.outs.some((s) => needed.has(s))) continue;
    n.ins.forEach((s) => needed.add(s));
    kept.push(n);
  }
  nodes = kept.reverse();
  for (const [s] of consts) if (!needed.has(s)) consts.delete(s);
  const cpuOnly = fuse && [...inputs, ...consts.values()].every((t) => t.backend.name === "cpu") &&
    nodes.every((n) => n.rec.inputs.every((t) => t.backend.name === "cpu"));
  const steps = cpuOnly ? fuseChains(nodes, avals, outSlots, consts) : [];
  if (!cpuOnly) {
    for (const n of nodes) steps.push(primStep(n.rec, n.ins, n.outs, avals));
  }
  const written = [...new Set(steps.flatMap((s) => s.outs))];
  return {
    nIn,
    consts,
    steps,
    slots,
    outs: outLeaves.map((t, i) => ({ slot: outSlots[i], aval: avals[outSlots[i]], extra: extraProps(t) })),
    outTree: out,
    written,
    constStorages: new Set([...consts.values()].map((t) => t._storage)),
  };
}

/** Own properties of a tensor beyond a plain one's (a point's `manifold`), to put on the replayed output. */
function extraProps(t: Tensor): PropertyDescriptorMap | null {
  const plain = new Set(["shape", "dtype", "size", "_storage", "_tr", "_bt"]);
  const keys = Reflect.ownKeys(t).filter((k) => typeof k !== "string" || !plain.has(k));
  if (keys.length === 0) return null;
  const m: PropertyDescriptorMap = {};
  for (const k of keys) m[k as string] = Object.getOwnPropertyDescriptor(t, k)!;
  return m;
}

function primStep(rec: Rec, ins: number[], outs: number[], avals: Aval[]): PrimStep {
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

/** Groups runs of fusable applications into fused loops (only values used later are written). */
function fuseChains(
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
    while (j < nodes.length && fusable(nodes[j], count, avals)) j++;
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
 * A sum, max or min of a value the group produces, over one run of consecutive axes, in float32 or
 * float64: the eager kernel (`core/backend/cpu/reduce.ts`) reduces the run `[outer, R, inner]` in
 * place (row by row over the last axes, a sweep of float64 column accumulators over leading ones),
 * an order the fused kernel repeats. Axes that are not one run (the eager kernel moves them last
 * first) and `prod` are not fused.
 */
function reduceOf(
  n: Node,
  group: Node[],
  avals: Aval[],
  count: number,
): { op: FusedReduce["op"]; rows: number; length: number; inner: number } | null {
  if (n.rec.prim.name !== "reduce" || n.ins.length !== 1) return null;
  const { op, axes } = n.rec.params as { op: string; axes: number[] };
  if (op !== "sum" && op !== "max" && op !== "min") return null;
  const a = avals[n.ins[0]];
  if (a.dtype !== "float32" && a.dtype !== "float64") return null;
  if (n.rec.outAvals[0].dtype !== a.dtype || size(a.shape) !== count) return null;
  if (!group.some((g) => g.outs[0] === n.ins[0])) return null;
  if (axes.length === 0 || axes.some((x, k) => x !== axes[0] + k)) return null;
  const length = size(axes.map((x) => a.shape[x]));
  const inner = size(a.shape.slice(axes[axes.length - 1] + 1));
  if (length === 0) return null;
  return { op, rows: count / length / inner, length, inner };
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
  group.forEach((n, k) => {
    const name = n.rec.prim.name;
    const p = n.rec.params as { op?: string };
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
  };
}

/** Runs a graph on new input leaves. */
function replay(g: Graph, leaves: Tensor[]): Tensor[] {
  const env: Storage[] = new Array(g.slots);
  for (let i = 0; i < g.nIn; i++) env[i] = leaves[i]._live("jit");
  for (const [s, t] of g.consts) env[s] = t._live("jit");
  for (const st of g.steps) {
    if (st.kind === "prim") {
      const ins = new Array<Storage>(st.ins.length);
      for (let k = 0; k < ins.length; k++) ins[k] = env[st.ins[k]];
      const r = st.kernel(ins, st.inAvals, st.params, st.outAvals);
      for (let k = 0; k < r.length; k++) env[st.outs[k]] = r[k];
    } else {
      const ins = new Array<TypedArray>(st.ins.length);
      for (let k = 0; k < ins.length; k++) ins[k] = arr(env[st.ins[k]]);
      const outs = st.outAvals.map((a, k) => takeArray(a.dtype as DType, st.outLens[k], false));
      st.kernel.run(ins, outs, st.n);
      for (let k = 0; k < outs.length; k++) env[st.outs[k]] = new CpuStorage(outs[k]);
    }
  }
  const result = g.outs.map((o) => {
    const t = new Tensor(env[o.slot], o.aval.shape, o.aval.dtype);
    if (o.extra) Object.defineProperties(t, o.extra);
    return t;
  });
  // intermediates go back to the pool at once (never what an output, an input or a constant holds)
  const keep = new Set<Storage>(result.map((t) => t._storage));
  for (let i = 0; i < g.nIn; i++) keep.add(env[i]);
  for (const s of g.written) {
    const st = env[s];
    if (st && !keep.has(st) && !g.constStorages.has(st) && !st.released) {
      keep.add(st);
      st.backend.release(st);
      st.released = true;
    }
  }
  return result;
}

/** Whether `t` is watched by a transformation (a grad trace or a vmap). */
function transformed(t: Tensor): boolean {
  return t._tr !== undefined || t._bt !== undefined;
}

/**
 * Compiles `f`: the first call with a new input signature (argument structure, shapes, dtypes,
 * backends, manifolds, static arguments) runs `f` once while recording its primitive applications;
 * later calls with that signature replay the recorded graph (dead code removed, constants folded,
 * elementwise chains, and a sum/max/min over one run of axes ending one, fused into one kernel on the
 * CPU: WebAssembly SIMD where the chain's operations have a SIMD form), bit for bit what `f` returns
 * on the CPU.
 * Tensors `f` reads from its closure are captured as constants at the trace: pass values that
 * change between calls as arguments. A function that reads values (`item()`, `dataSync()`) to
 * decide what to compute is not replayable: it keeps running as is (with `{ strict: true }`, the
 * first call throws instead). Composes with `grad`, `vmap` and itself in any order.
 * @example
 * ```ts
 * import { grad, jit, mul, sin, sum, type Tensor, tensor } from "@tangent/tangent";
 * const step = jit((w: Tensor) => grad((v: Tensor) => sum(sin(mul(v, v))))(w));
 * step(tensor([1, 2])); // traced once
 * step(tensor([3, 4])); // replayed
 * ```
 */
// deno-lint-ignore no-explicit-any
export function jit<F extends (...args: any[]) => any>(f: F, opts: JitOptions = {}): F {
  const cache = new Map<string, Entry>();
  const jitted = ((...args: unknown[]) => call(args)) as F;
  caches.set(jitted, cache);
  return jitted;
  // deno-lint-ignore no-explicit-any
  function call(args: any[]): any {
    return run(f, cache, opts, args);
  }
}

/** The compiled graphs of a jitted function, for tests: per signature, its steps or "eager". */
export function jitGraphs(
  f: unknown,
): (
  | { steps: { kind: string; prim?: string; size?: number; wasm?: boolean; reduce?: string }[]; consts: number }
  | "eager"
)[] {
  const cache = caches.get(f as object);
  if (!cache) return [];
  return [...cache.values()].map((g) =>
    g === "eager" ? g : {
      steps: g.steps.map((s) =>
        s.kind === "prim" ? { kind: "prim", prim: s.name } : {
          kind: "fused",
          size: s.loopSize,
          ...(s.kernel.wasm ? { wasm: true } : {}),
          ...(s.reduce ? { reduce: s.reduce } : {}),
        }
      ),
      consts: g.consts.size,
    }
  );
}

const caches = new WeakMap<object, Map<string, Entry>>();

// deno-lint-ignore no-explicit-any
function run(f: (...args: any[]) => any, cache: Map<string, Entry>, opts: JitOptions, args: any[]): any {
  const statics = new Set(opts.staticArgnums ?? []);
  const fuse = opts.fuse ?? true;
  const traced = args.map((a, i) => (statics.has(i) ? [] : treeLeaves(a)));
  const leaves = traced.flat();
  if (tracing > 0 || leaves.some(transformed)) return f(...args);
  let key = args.map((a, i) => (statics.has(i) ? `s${sig(a)}` : sig(a))).join(";");
  // which leaves share a storage (the same tensor passed twice) is part of the signature
  const first = new Map<Storage, number>();
  leaves.forEach((t, i) => {
    const j = first.get(t._storage);
    if (j === undefined) first.set(t._storage, i);
    else key += `|${i}=${j}`;
  });
  const hit = cache.get(key);
  if (hit === "eager") return f(...args);
  if (hit) {
    const outs = replay(hit, leaves);
    return hit.outTree instanceof Tensor ? outs[0] : treeUnflatten(hit.outTree, outs);
  }
  // trace: run f on the real inputs, recording every application the backends run
  const recs: Rec[] = [];
  const rec: Interpreter = (prim, inputs, params, outAvals) => {
    const outputs = evaluate(prim, inputs, params, outAvals);
    recs.push({ prim, params, inputs: [...inputs], outputs, outAvals });
    return outputs;
  };
  const reads = valueReads.count;
  tracing++;
  let out: unknown;
  try {
    out = withInterpreter(rec, () => f(...args));
  } finally {
    tracing--;
  }
  if (valueReads.count !== reads) {
    if (opts.strict) {
      throw new TangentError(
        "jit: the function read a tensor's value while tracing (item(), data(), dataSync() or array()), so what it " +
          "computes depends on the values and its graph cannot be replayed; compute with tensor ops (where, " +
          "maximum, ...), pass the value as a static argument (staticArgnums), or drop strict to run it eagerly",
      );
    }
    cache.set(key, "eager"); // control flow read values: later calls run f itself
    return out;
  }
  if (treeLeaves(out).some((t) => t._bt !== undefined)) return out;
  const g = compile(recs, leaves, out, fuse);
  for (const t of g.consts.values()) keepBeyondScopes(t._storage); // the graph holds them from now on
  cache.set(key, g);
  return out;
}
