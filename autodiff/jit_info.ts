/**
 * `jitInfo`: what `jit` made of a function, per input signature it has seen: the graph it replays
 * (one line per kernel, like a jaxpr: the primitive or the fused chain's operations and whether
 * that kernel is WebAssembly, the values' shapes and dtypes), or that it runs the function eagerly
 * and which read of a value made it so. JAX shows the same with `jax.make_jaxpr(f)(x)` and
 * `jax.jit(f).lower(x).as_text()`; here the graphs already exist (traced on the first call with a
 * signature), so the jitted function itself is inspected.
 * @module
 */
import type { Aval } from "../core/backend/backend.ts";
import type { DType } from "../core/dtype.ts";
import { DomainError } from "../core/errors.ts";
import { avalText, type Entry, type Graph, jitEntries } from "./jit.ts";

/** A value of a jit graph: its name in {@linkcode JitInfo}'s text, shape and dtype. */
export interface JitValue {
  /** The name the text form gives it (`a`, `b`, ...: inputs first, then constants, then results). */
  readonly name: string;
  /** Its extent per axis (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** Its element type. */
  readonly dtype: DType;
}

/** One kernel a replay of a jit graph runs. */
export interface JitStep {
  /** The primitive (`matmul`, `reduce`, `gather`, ...), or `"fused"` for a generated CPU kernel. */
  readonly primitive: string;
  /** The primitive's parameters (`{ op: "sum", axes: [1] }`); empty for a fused kernel. */
  readonly params: Readonly<Record<string, unknown>>;
  /** A fused kernel's operations in order (`["mul", "add", "sin", "sum"]`); empty otherwise. */
  readonly ops: readonly string[];
  /** Whether a fused kernel is WebAssembly SIMD (false: a JavaScript loop, or not fused). */
  readonly wasm: boolean;
  /** What it reads (inputs, constants, earlier results). */
  readonly inputs: readonly JitValue[];
  /** What it writes that is used later (a fused chain's other values stay in the kernel). */
  readonly outputs: readonly JitValue[];
}

/** What `jit` keeps for one input signature of a function; `String(info)` is its text form. */
export interface JitInfo {
  /** The arguments as traced: tensors as `f32[2,3]` (`@webgpu` off the CPU), data by value. */
  readonly signature: string;
  /** `"graph"`: calls replay the graph; `"eager"`: the trace read a value, so calls run the function. */
  readonly mode: "graph" | "eager";
  /** Why the mode is eager: which read (`item()`, `dataSync()`, ...) and where it was made. */
  readonly reason?: string;
  /** The kernels a replay runs, in order (empty when eager). */
  readonly steps: readonly JitStep[];
  /** The traced argument leaves. */
  readonly inputs: readonly JitValue[];
  /** The values returned (the output's leaves). */
  readonly outputs: readonly JitValue[];
  /** Kernels per replay (`steps.length`). */
  readonly kernels: number;
  /** Primitive applications the kernels compute (fusion makes this larger than `kernels`). */
  readonly primitives: number;
  /** Fused kernels among the steps. */
  readonly fused: number;
  /** Fused kernels that are WebAssembly SIMD. */
  readonly wasm: number;
  /** Tensors captured from the closure or folded at the trace, held by the graph. */
  readonly consts: number;
  /** One header line, then (for a graph) one line per input list, constant list, step and the outputs. */
  toString(): string;
}

/** `a`, `b`, ..., `z`, `ba`, `bb`, ... (JAX's variable names). */
function letters(i: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26);
  } while (i > 0);
  return s;
}

const valueText = (v: JitValue): string => `${v.name}:${avalText(v)}`;

/** A primitive's parameters in a line: `op=sum axes=[1]`. */
function paramsText(p: Readonly<Record<string, unknown>>): string {
  return Object.entries(p).filter(([, v]) => v !== undefined && typeof v !== "function")
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

function graphInfo(signature: string, g: Graph): JitInfo {
  const names = new Map<number, string>();
  const value = (slot: number, a: Aval = g.avals[slot]): JitValue => {
    let name = names.get(slot);
    if (name === undefined) names.set(slot, name = letters(names.size));
    return { name, shape: a.shape, dtype: a.dtype as DType };
  };
  const inputs = Array.from({ length: g.nIn }, (_, i) => value(i));
  const consts = [...g.consts.keys()].sort((a, b) => a - b).map((s) => value(s));
  const steps: JitStep[] = g.steps.map((st) =>
    st.kind === "prim"
      ? {
        primitive: st.name,
        params: (st.params ?? {}) as Record<string, unknown>,
        ops: [],
        wasm: false,
        inputs: st.ins.map((s, k) => value(s, st.inAvals[k])),
        outputs: st.outs.map((s, k) => value(s, st.outAvals[k])),
      }
      : {
        primitive: "fused",
        params: {},
        ops: st.ops,
        wasm: st.kernel.wasm,
        inputs: st.ins.map((s) => value(s)),
        outputs: st.outs.map((s, k) => value(s, st.outAvals[k])),
      }
  );
  const outputs = g.outs.map((o) => value(o.slot, o.aval));
  const fused = steps.filter((s) => s.primitive === "fused");
  const primitives = g.steps.reduce((n, st) => n + (st.kind === "fused" ? st.loopSize : 1), 0);
  const info = {
    signature,
    mode: "graph" as const,
    steps,
    inputs,
    outputs,
    kernels: steps.length,
    primitives,
    fused: fused.length,
    wasm: fused.filter((s) => s.wasm).length,
    consts: consts.length,
  };
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  const lines = [
    `jit${signature}: graph of ${plural(info.kernels, "kernel")} for ${plural(primitives, "primitive")}, ` +
    `${info.fused} fused (${info.wasm} Wasm), ${plural(info.consts, "constant")}`,
    `  in ${inputs.map(valueText).join(" ")}`,
    ...(consts.length ? [`  const ${consts.map(valueText).join(" ")}`] : []),
    ...steps.map((s) => {
      const what = s.primitive === "fused"
        ? `fused[${s.wasm ? "wasm" : "js"}](${s.ops.join(", ")})`
        : Object.keys(s.params).length
        ? `${s.primitive}[${paramsText(s.params)}]`
        : s.primitive;
      return `  ${s.outputs.map(valueText).join(" ")} = ${what} ${s.inputs.map((v) => v.name).join(" ")}`;
    }),
    `  out ${outputs.map((v) => v.name).join(" ")}`,
  ];
  return withText(info, lines.join("\n"));
}

function eagerInfo(signature: string, reason: string): JitInfo {
  const info = {
    signature,
    mode: "eager" as const,
    reason,
    steps: [],
    inputs: [],
    outputs: [],
    kernels: 0,
    primitives: 0,
    fused: 0,
    wasm: 0,
    consts: 0,
  };
  return withText(info, `jit${signature}: eager, the trace read a value (${reason}); every call runs the function`);
}

/** The info with a `toString` that is not an enumerable field (so it prints and compares as data). */
function withText(info: Omit<JitInfo, "toString">, text: string): JitInfo {
  return Object.defineProperty(info, "toString", { value: () => text, enumerable: false }) as JitInfo;
}

/**
 * What {@linkcode jit} made of `jitted`, one entry per input signature it has been called with, in
 * the order they were traced (none before the first call): the graph a call replays, with one step
 * per kernel (on the CPU, fused elementwise chains and whether each is WebAssembly SIMD), or
 * `mode: "eager"` and the `reason`: the read of a value (`item()`, `dataSync()`, ...) and where it
 * was made, which makes the function run as it is on every call. `String(info)` prints it one line
 * per kernel, like a jaxpr. Throws a `DomainError` for a function `jit` did not make.
 * @example
 * ```ts
 * import { jit, jitInfo, mul, sin, sum, type Tensor, tensor } from "@tangent/tangent";
 * const f = jit((x: Tensor) => sum(sin(mul(x, x))));
 * f(tensor([1, 2, 3]));
 * const [info] = jitInfo(f);
 * console.log(String(info)); // jit(f32[3]): graph of 1 kernel for 3 primitives, 1 fused (1 Wasm), ...
 * if (info.mode !== "graph" || info.fused !== 1) throw new Error("expected one fused kernel");
 * const g = jit((x: Tensor) => (sum(x).item() > 0 ? x : mul(x, -1)));
 * g(tensor([1, -2]));
 * console.log(jitInfo(g)[0].reason); // item() at file:///...
 * ```
 */
export function jitInfo(jitted: unknown): JitInfo[] {
  const entries: Entry[] | undefined = jitEntries(jitted);
  if (!entries) {
    const what = typeof jitted === "function" ? `function ${jitted.name || "(anonymous)"}` : typeof jitted;
    throw new DomainError(
      `jitInfo: got a ${what} that jit did not make; pass the function jit(f) returned (const g = jit(f); g(x); ` +
        `jitInfo(g))`,
    );
  }
  return entries.map((e) => e.graph === "eager" ? eagerInfo(e.signature, e.reason) : graphInfo(e.signature, e.graph));
}
