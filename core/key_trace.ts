/**
 * Keys that `jit` traces. A key passed to a jitted function is an argument like a tensor, not a
 * constant of its trace: while tracing, `jit` hands the function a {@linkcode SymKey} (the key's words,
 * and where they came from), `split`, `foldIn` and the draws keep that derivation, and a replay derives
 * each draw's words from the call's keys, so a new key per step reuses one graph (as `jax.jit`, whose
 * keys are arrays). Reading a traced key's `words` is a read of a value: `jit` then runs the function
 * eagerly, as for `item()`.
 * @module
 * @internal
 */
import { noteValueRead, type Tensor } from "./tensor.ts";
import { foldInWords, type KeyLayout, splitWords } from "./threefry.ts";

/** Where a traced key's words come from. @internal */
export type KeySym =
  /** The `index`-th key among the arguments of the call `trace` records. */
  | {
    readonly kind: "input";
    readonly trace: object;
    readonly index: number;
    readonly words: readonly [number, number];
  }
  /** `split(parent, n)[i]` in the parent's layout. */
  | {
    readonly kind: "split";
    readonly parent: KeySym;
    readonly n: number;
    readonly i: number;
    readonly layout: KeyLayout;
  }
  /** `foldIn(parent, data)` of a number. */
  | { readonly kind: "fold"; readonly parent: KeySym; readonly data: number }
  /** `foldIn(parent, v)` of element `at` of an int32 tensor the trace computes or takes. */
  | { readonly kind: "foldT"; readonly parent: KeySym; readonly data: Tensor; readonly at: number }
  /** A key the trace did not take as an argument (a constant of the graph). */
  | { readonly kind: "const"; readonly words: readonly [number, number] };

/**
 * A key inside a `jit` trace: its words as traced, their derivation, and its layout (`layout` is
 * set for a partitionable key only, as on a plain key; it is part of the jit signature). @internal
 */
export class SymKey {
  readonly layout?: KeyLayout;
  constructor(readonly _w: readonly [number, number], readonly _sym: KeySym, layout?: KeyLayout) {
    if (layout === "partitionable") this.layout = layout;
    Object.freeze(this);
  }
  /** The words as traced; reading them makes the trace value-dependent (jit then runs eagerly). */
  get words(): readonly [number, number] {
    noteValueRead("Key.words of a key that jit traces");
    return this._w;
  }
}

/** Replay-time state: the call's key words, the traced tensors' values, and what was derived already. */
export interface KeyReplay {
  /** The trace whose argument keys `inputs` replaces (a key of another trace keeps its traced words). */
  readonly trace: object;
  /** The words of the call's keys, in the order the trace numbered them. */
  readonly inputs: readonly (readonly number[])[];
  /** Element `at` of a tensor of the trace, read on the host. */
  value(t: Tensor, at: number): number;
  /** Derived words by derivation (a draw and the keys it came from share their parents). */
  readonly memo: Map<KeySym, readonly [number, number]>;
  /** `split(parent, n)`'s words by parent, layout and n. */
  readonly splits: Map<KeySym, Map<string, Uint32Array>>;
}

/** A fresh replay state. */
export function keyReplay(
  trace: object,
  inputs: readonly (readonly number[])[],
  value: KeyReplay["value"],
): KeyReplay {
  return { trace, inputs, value, memo: new Map(), splits: new Map() };
}

/** The words `sym` stands for in this replay. */
export function resolveKey(sym: KeySym, r: KeyReplay): readonly [number, number] {
  if (sym.kind === "const") return sym.words;
  const hit = r.memo.get(sym);
  if (hit) return hit;
  let w: readonly [number, number];
  if (sym.kind === "input") {
    const k = sym.trace === r.trace ? r.inputs[sym.index] : sym.words;
    w = [k[0], k[1]];
  } else if (sym.kind === "split") {
    let byN = r.splits.get(sym.parent);
    if (!byN) r.splits.set(sym.parent, byN = new Map());
    const at = `${sym.layout}:${sym.n}`;
    let words = byN.get(at);
    if (!words) byN.set(at, words = splitWords(resolveKey(sym.parent, r), sym.n, sym.layout));
    w = [words[2 * sym.i], words[2 * sym.i + 1]];
  } else {
    const p = resolveKey(sym.parent, r);
    const data = sym.kind === "fold" ? sym.data : r.value(sym.data, sym.at);
    w = foldInWords(p, data);
  }
  r.memo.set(sym, w);
  return w;
}

/** What a derivation depends on: the traces of its argument keys and the tensors it folds in. */
export function keyDependencies(sym: KeySym, out: { traces: Set<object>; tensors: Set<Tensor> }): void {
  for (let s: KeySym | undefined = sym; s; s = "parent" in s ? s.parent : undefined) {
    if (s.kind === "input") out.traces.add(s.trace);
    if (s.kind === "foldT") out.tensors.add(s.data);
  }
}
