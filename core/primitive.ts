/**
 * Primitives: the few operations that carry the math. A primitive has a shape rule, a VJP rule
 * written with differentiable ops (so gradients of gradients work) and one kernel per backend.
 * `bind` runs the kernel and, while a `grad` is tracing, records the application.
 * @module
 */
import type { Aval, Backend, Storage } from "./backend/backend.ts";
import { itemSize } from "./dtype.ts";
import { getBackend } from "./backend/backend.ts";
import { BackendError, fmtShape } from "./errors.ts";
import { Tensor } from "./tensor.ts";

/** A primitive operation. `P` is its static parameters. */
export interface Primitive<P = unknown> {
  /** Unique name; backends register kernels under it. */
  readonly name: string;
  /** Output shapes and dtypes for the given inputs; validates and throws on bad input. */
  abstract(inputs: readonly Aval[], params: P): Aval[];
  /**
   * Cotangents of the inputs given cotangents of the outputs (`null` = zero). Written with
   * differentiable ops. Omitted for primitives with no gradient (comparisons, random bits).
   * `needs[i]` is false when nobody differentiates input i (a frozen weight): a rule may skip
   * that cotangent's work and return null for it.
   */
  vjp?(
    cts: readonly (Tensor | null)[],
    inputs: readonly Tensor[],
    outputs: readonly Tensor[],
    params: P,
    needs: readonly boolean[],
  ): (Tensor | null)[];
}

/** Defines a primitive. */
export function definePrimitive<P>(p: Primitive<P>): Primitive<P> {
  return p;
}

// ---------------------------------------------------------------------------------------------
// Tracing. A Trace records primitive applications whose inputs it tracks; nested `grad`s push
// deeper traces. A tensor carries its identity in each trace that tracks it.

/** One recorded primitive application. */
export interface Node {
  readonly prim: Primitive<unknown>;
  readonly params: unknown;
  readonly inputs: readonly Tensor[];
  readonly inIds: readonly (number | undefined)[];
  readonly outputs: readonly Tensor[];
  readonly outIds: readonly number[];
}

/** A recording of the primitive applications that depend on some leaves. */
export class Trace {
  /** Recorded applications in execution order. */
  readonly nodes: Node[] = [];
  private nextId = 0;
  /** A fresh identity in this trace. */
  newId(): number {
    return this.nextId++;
  }
}

/**
 * The levels of the `vmap`s running now (set while each runs; levels are never reused), so a value
 * or key batched at a level knows whether its vmap has returned.
 * @internal
 */
export const liveVmapLevels: Set<number> = new Set();

const active: Trace[] = [];
/** Traces set aside (not recording) by `withoutTracing` / `suspended` while their function runs. */
const setAside: Trace[] = [];

/**
 * The traces enclosing this point (the `grad`s running around it, recording or set aside for a
 * customVjp's forward or a backward pass), a snapshot: one taken before running a function tells
 * the values it reads from outside (tracked there) from those its own `grad`s track.
 * @internal
 */
export function activeTraces(): readonly Trace[] {
  return [...active, ...setAside];
}

/** The trace identity of `t` in `trace`, if it tracks `t`. */
export function idIn(t: Tensor, trace: Trace): number | undefined {
  const tr = t._tr;
  if (!tr) return undefined;
  for (let i = 0; i < tr.length; i++) if (tr[i][0] === trace) return tr[i][1];
  return undefined;
}

/**
 * Whether an identity-like op on `x` must still go through `bind` (a trace tracks `x`, or a
 * transformation interprets `bind`); otherwise it may return `x` itself.
 */
export function needsBind(x: Tensor): boolean {
  return x._tr !== undefined || x._bt !== undefined || interpreters.length > 0;
}

/**
 * An interpretation of `bind` installed by a transformation (vmap's batching, jit's recording):
 * given a primitive application and its outputs' abstract values, it returns the outputs, or
 * undefined to let the next interpreter (at last the backend kernel) run it.
 */
export type Interpreter = (
  prim: Primitive<unknown>,
  inputs: readonly Tensor[],
  params: unknown,
  outAvals: readonly Aval[],
) => Tensor[] | undefined;

const interpreters: Interpreter[] = [];

/** Runs `fn` with `interp` interpreting `bind` (innermost first); removes it afterwards. */
export function withInterpreter<T>(interp: Interpreter, fn: () => T): T {
  interpreters.push(interp);
  try {
    return fn();
  } finally {
    const i = interpreters.lastIndexOf(interp);
    if (i >= 0) interpreters.splice(i, 1);
  }
}

/** Runs `fn` with `trace` active (recording). */
export function withTrace<T>(trace: Trace, fn: () => T): T {
  active.push(trace);
  try {
    return fn();
  } finally {
    const i = active.lastIndexOf(trace);
    if (i >= 0) active.splice(i, 1);
  }
}

/** Runs `fn` with no trace recording (used by customVjp's forward pass). */
export function withoutTracing<T>(fn: () => T): T {
  const saved = active.splice(0, active.length);
  setAside.push(...saved);
  try {
    return fn();
  } finally {
    setAside.splice(setAside.length - saved.length, saved.length);
    active.push(...saved);
  }
}

/** Suspends `trace` while `fn` runs (its backward pass must not record into itself). */
export function suspended<T>(trace: Trace, fn: () => T): T {
  const i = active.indexOf(trace);
  if (i < 0) return fn();
  active.splice(i, 1);
  setAside.push(trace);
  try {
    return fn();
  } finally {
    setAside.splice(setAside.lastIndexOf(trace), 1);
    active.splice(i, 0, trace);
  }
}

/** Makes `t` a fresh leaf of `trace`: an alias sharing storage and outer identities. */
export function makeLeaf(t: Tensor, trace: Trace): [Tensor, number] {
  const id = trace.newId();
  const leaf = t._alias();
  leaf._tr = [...(t._tr ?? []), [trace, id]];
  return [leaf, id];
}

/**
 * `t` as `trace` no longer sees it: the same tensor when `trace` does not track it, else an alias
 * keeping its identities in the other (outer) traces and its own extra fields (a point's manifold).
 * What `grad`, `valueAndGrad` and `vjp` return passes through this, so a kept value does not keep
 * the finished trace (every intermediate of the step) alive.
 */
export function untracked(t: Tensor, trace: Trace): Tensor {
  const tr = t._tr;
  if (!tr || !tr.some(([x]) => x === trace)) return t;
  const a = t._alias();
  const rest = tr.filter(([x]) => x !== trace);
  if (rest.length) a._tr = rest;
  for (const k of Reflect.ownKeys(t)) {
    if (!Object.prototype.hasOwnProperty.call(a, k)) {
      Object.defineProperty(a, k, Object.getOwnPropertyDescriptor(t, k)!);
    }
  }
  return a;
}

/** Records an application in every active trace that tracks one of its inputs. */
export function record<P>(prim: Primitive<P>, inputs: readonly Tensor[], outputs: Tensor[], params: P): void {
  if (active.length === 0) return;
  for (const trace of active) {
    let inIds: (number | undefined)[] | undefined;
    for (let i = 0; i < inputs.length; i++) {
      const id = idIn(inputs[i], trace);
      if (id !== undefined) (inIds ??= new Array(inputs.length).fill(undefined))[i] = id;
    }
    if (!inIds) continue;
    const outIds = outputs.map((o) => {
      const id = trace.newId();
      (o._tr ??= []).push([trace, id]);
      return id;
    });
    trace.nodes.push({ prim: prim as Primitive<unknown>, params, inputs, inIds, outputs, outIds });
  }
}

/** Public names of primitives whose own names users never call. */
const PUBLIC: Readonly<Record<string, string>> = { gather: "take" };

/**
 * The name an error gives an application: the public function's when `bind` was told it, else the
 * operation of an elementwise primitive (`add` for `binary`), else the primitive's public name.
 */
function opName(prim: Primitive<unknown>, params: unknown, op: string): string {
  if (op !== prim.name) return op;
  const inner = (params as { op?: unknown } | null)?.op;
  return typeof inner === "string" ? inner : PUBLIC[prim.name] ?? prim.name;
}

/** The backend all inputs live on (the default backend when there are none). */
function commonBackend(name: string, inputs: readonly Tensor[]): Backend {
  if (inputs.length === 0) return getBackend();
  const b = inputs[0].backend;
  for (const t of inputs) {
    if (t.backend !== b) {
      throw new BackendError(
        `${name}: inputs live on different backends (${
          inputs.map((x) => `${fmtShape(x.shape)} on ${x.backend.name}`)
            .join(", ")
        }); move them to one with toBackend(t, "${b.name}") (or "${t.backend.name}")`,
      );
    }
  }
  return b;
}

/** A RangeError thrown by a failed allocation (a typed array or buffer too large for the host). */
function isAllocationFailure(e: unknown): e is Error {
  if ((e as { allocation?: boolean } | null)?.allocation === true) return true; // a backend's own limit
  return e instanceof RangeError &&
    /allocation failed|Invalid (typed )?array( buffer)? length|out of memory/i.test(e.message);
}

function fmtBytes(b: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (b >= 1000 && i < units.length - 1) (b /= 1000), i++;
  return `${Number(b.toPrecision(3))} ${units[i]}`;
}

/**
 * Applies a primitive: checks shapes, runs the backend kernel, records for autodiff. `op` names the
 * public function in errors when it differs from the primitive's name (`zeros` binds `full`).
 */
export function bind<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, op = prim.name): Tensor[] {
  const outAvals = prim.abstract(inputs, params);
  for (let i = interpreters.length - 1; i >= 0; i--) {
    const outs = interpreters[i](prim as Primitive<unknown>, inputs, params, outAvals);
    if (outs) {
      record(prim, inputs, outs, params);
      return outs;
    }
  }
  const outputs = evaluate(prim, inputs, params, outAvals, op);
  record(prim, inputs, outputs, params);
  return outputs;
}

/**
 * Runs a primitive's backend kernel on concrete inputs (no interpretation, no recording): what
 * `bind` does once no transformation claims the application. `outAvals` come from `abstract`.
 */
export function evaluate<P>(
  prim: Primitive<P>,
  inputs: readonly Tensor[],
  params: P,
  outAvals: readonly Aval[],
  op = prim.name,
): Tensor[] {
  for (const t of inputs) {
    if (t._bt) {
      throw new BackendError(
        `${op}: an input ${fmtShape(t.shape)} is a value from inside a vmap that has returned (it escaped ` +
          `through a closure or a global); return it from the vmapped function instead`,
      );
    }
  }
  const backend = commonBackend(opName(prim as Primitive<unknown>, params, op), inputs);
  const kernel = backend.kernels.get(prim.name);
  if (!kernel) {
    throw new BackendError(
      `${prim.name}: the ${backend.name} backend has no kernel for it (inputs ${
        inputs.map((t) => fmtShape(t.shape)).join(", ")
      }); move the inputs with toBackend(t, "cpu")`,
    );
  }
  let storages: Storage[];
  try {
    storages = kernel(inputs.map((t) => t._live(prim.name)), inputs, params, outAvals);
  } catch (e) {
    if (!isAllocationFailure(e)) throw e;
    const bytes = outAvals.reduce((s, a) => s + a.shape.reduce((n, d) => n * d, 1) * itemSize(a.dtype), 0);
    throw new BackendError(
      `${op}: cannot allocate ${outAvals.map((a) => `${fmtShape(a.shape)} ${a.dtype}`).join(", ")} ` +
        `(${fmtBytes(bytes)}) on the ${backend.name} backend (${e.message}); use a smaller shape or split the work`,
    );
  }
  return storages.map((s, i) => new Tensor(s, outAvals[i].shape, outAvals[i].dtype));
}

/** `bind` for single-output primitives. */
export function bind1<P>(prim: Primitive<P>, inputs: readonly Tensor[], params: P, op?: string): Tensor {
  return bind(prim, inputs, params, op)[0];
}

/**
 * The trace `jit` is recording, while it records one (null otherwise): what core code consults to stay
 * replayable, such as keys derived from the call's arguments (`core/key_trace.ts`) and `expm`, which then
 * keeps its squaring count in a tensor rather than reading it.
 * @internal
 */
export const jitTrace: { trace: object | null } = { trace: null };
