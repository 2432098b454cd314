/**
 * Readers of one's own for `loadPeftAdapter`: what a reader gets for a module, what it returns, and
 * the checks that hold what it returns to the adapter's own `init`.
 * @module
 */
import { FormatError } from "../core/errors.ts";
import { treeDifference, treeLeaves, treePaths } from "../core/pytree.ts";
import { key as makeKey } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import { type Adapter, type LinearBase, onBaseBackend, type PeftConfig } from "../adapters/adapter.ts";

/** What a reader of your own gets for one adapted module (see `LoadPeftOptions.adapters`). */
export interface PeftLayer {
  /**
   * The folder's `adapter_config.json`, with this module's `r` and `alpha` (`lora_alpha` for LORA)
   * where `rank_pattern` / `alpha_pattern` set them (as `savePeftAdapter` writes layers that differ in
   * them), and `fan_in_fan_out` false (`base` is out × in).
   */
  config: PeftConfig;
  /** The module's base layer as the model holds it (out × in), in the model's dtype. */
  base: LinearBase;
  /**
   * The module's tensors by the names `toPeft` and `frozenToPeft` give without a prefix (`lora_A.weight`;
   * for an adapter without `toPeft`, its params' pytree paths: `A`, `B`), plus tensors shared by all
   * modules under their full names; in the model's float dtype and on its backend.
   */
  tensors: Record<string, Tensor>;
  /** The module's path in the model (`transformer.h.0.attn.c_attn`). */
  module: string;
}

/** A module rebuilt by a reader: its adapter, trainable params and frozen tensors (what `fromPeft` returns). */
export interface PeftLayerState {
  /** The adapter (its `apply` runs the module). */
  // deno-lint-ignore no-explicit-any
  adapter: Adapter<any, any>;
  /** The trainable parameters, as the adapter's `init` makes them (manifold factors as points). */
  params: unknown;
  /** The frozen tensors, the base weight and bias included. */
  frozen: LinearBase;
}

/**
 * Rebuilds one module of a `peft_type` of your own from what the folder holds for it. `fromPeft` is
 * one (for the types it reads).
 */
export type PeftLayerReader = (layer: PeftLayer) => PeftLayerState;

/** Options of `loadPeftAdapter`. */
export interface LoadPeftOptions {
  /**
   * Readers by `peft_type` (matched in any case), for the types of your own that `savePeftAdapter`
   * writes from a `tangentPeftConfig`: each is called once per adapted module and returns
   * `{ adapter, params, frozen }`. Nothing is registered anywhere: a reader counts for this call
   * only. A type `fromPeft` reads is read by the reader given for it instead.
   */
  adapters?: Readonly<Record<string, PeftLayerReader>>;
}

/** The reader of your own for `type` in `opts.adapters`, if any. */
export function ownReader(type: string, opts: LoadPeftOptions, where: string): PeftLayerReader | undefined {
  const hit = Object.entries(opts.adapters ?? {}).find(([k]) => k.toUpperCase() === type.toUpperCase());
  if (hit && typeof hit[1] !== "function") {
    throw new FormatError(
      `loadPeftAdapter: ${where}: adapters.${hit[0]} must be a function ({ config, base, tensors, module }) => ` +
        `({ adapter, params, frozen }), got ${typeof hit[1]}`,
    );
  }
  return hit?.[1];
}

/**
 * Checks what a reader of your own returned for `module`: an adapter, frozen tensors with a weight, and
 * params laid out as the adapter's own `init` lays them out on `base` (`expected`, made once per type:
 * the same leaves, manifold factors as points of the same manifold), so a name the folder lacks
 * (`undefined`) or a factor returned as a plain tensor (which a Riemannian optimizer would step as
 * Euclidean) is caught here, not at the first forward or after training.
 */
export function checkedState(
  type: string,
  module: string,
  s: PeftLayerState,
  base: LinearBase,
  names: readonly string[],
  expected: Map<string, unknown>,
): PeftLayerState {
  const a = s?.adapter;
  if (!a || typeof a.apply !== "function" || typeof a.merge !== "function" || !s.frozen?.weight) {
    throw new FormatError(
      `loadPeftAdapter: the reader for ${type} returned ${
        s && typeof s === "object" ? `{ ${Object.keys(s).join(", ")} }` : String(s)
      } for ${module}; return { adapter, params, frozen } (an Adapter, its params, and frozen tensors with the ` +
        `base weight: frozen: { ...base } where the method keeps it)`,
    );
  }
  if (!expected.has(type)) expected.set(type, onBaseBackend(base, () => a.init(makeKey(0), base)).params);
  const want = expected.get(type);
  const shown = `the folder's tensors for it are ${names.join(", ") || "none"}`;
  const diff = treeDifference(s.params, want);
  if (diff) {
    throw new FormatError(
      `loadPeftAdapter: the reader for ${type} returned params for ${module} laid out unlike ${a.kind}'s init ` +
        `(${diff.replace(/ vs /, " returned vs ")} made); ${shown} (a name not among them reads as undefined)`,
    );
  }
  const got = treeLeaves(s.params), ref = treeLeaves(want), paths = treePaths(want);
  ref.forEach((r, i) => {
    const m = manifoldOf(r);
    if (m && manifoldOf(got[i]) !== m) {
      throw new FormatError(
        `loadPeftAdapter: the reader for ${type} returned ${paths[i]} of ${module} as ${
          manifoldOf(got[i]) ? `a point of ${manifoldOf(got[i])}` : "a plain tensor"
        }, where ${a.kind}'s init makes a point of ${m}; return it as one (M.assertOn(t)), or a Riemannian ` +
          `optimizer steps it as a Euclidean tensor and it leaves the manifold`,
      );
    }
  });
  return s;
}

/** The name of the manifold a tensor is a point of, if any. */
const manifoldOf = (t: Tensor): string | undefined => (t as { manifold?: { name?: string } }).manifold?.name;
