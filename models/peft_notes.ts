/**
 * What a reader of a folder `savePeftAdapter` writes should know about loading it elsewhere: a type PEFT does
 * not have, a PEFT layer PEFT 0.21 cannot put on GPT-2's Conv1D modules, an init PEFT rebuilds otherwise.
 * @module
 */
import type { PeftConfig } from "../adapters/adapter.ts";
import { type AdaptedModel, linearModuleAt } from "./adapted.ts";

const PREFIX = "base_model.model.";
/**
 * The types PEFT 0.21 has; others are Tangent's own (SORSA, POLAR, LOKH, HRA_FOLDED).
 * @example
 * ```ts
 * import { PEFT_TYPES } from "./peft_notes.ts";
 * PEFT_TYPES.has("SORSA"); // false
 * ```
 */
export const PEFT_TYPES: ReadonlySet<string> = new Set(["LORA", "HRA", "OFT", "BOFT", "LOHA", "LOKR", "VERA"]);
/**
 * PEFT types whose layers PEFT 0.21 can put on GPT-2's Conv1D modules.
 * @example
 * ```ts
 * import { CONV1D_TYPES } from "./peft_notes.ts";
 * CONV1D_TYPES.has("HRA"); // false
 * ```
 */
export const CONV1D_TYPES: ReadonlySet<string> = new Set(["LORA", "VERA"]);

/**
 * The notes `savePeftAdapter` returns about where the folder of `adapted` (its adapters' `peft_type` `type`, the
 * first layer's config `first`) loads: `ownType` for a type of your own, `conv1d` where GPT-2's Conv1D modules
 * are among the adapted ones.
 * @example
 * ```ts
 * import { adapters, adaptModel, createModel, initModel, key, parseConfig } from "@tangent/tangent";
 * import { compatibilityNotes } from "./peft_notes.ts";
 * const config = parseConfig({ model_type: "gpt2", vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 });
 * const peft = adaptModel(createModel(config, initModel(config, key(0))), { target: "c_attn", adapter: adapters.hra({ r: 2 }) });
 * compatibilityNotes(peft, "HRA", { peft_type: "HRA" }, false, true); // ["PEFT 0.21 has no HRA layer for GPT-2's Conv1D …"]
 * ```
 */
export function compatibilityNotes(
  adapted: AdaptedModel,
  type: string,
  first: PeftConfig,
  ownType: boolean,
  conv1d: boolean,
): string[] {
  const notes: string[] = [];
  if (ownType) {
    notes.push(
      `${type} is a type of your own, not PEFT 0.21's: Tangent's loadPeftAdapter reads it back with your reader, ` +
        `loadPeftAdapter(model, dir, { adapters: { ${type}: ({ config, base, tensors }) => ({ adapter, params, ` +
        `frozen }) } }), which gets each module's tensors by their names without ${PREFIX}<module>.`,
    );
    const lost = adapted.paths.filter((p) =>
      !adapted.layers[p].adapter.frozenToPeft &&
      adapted.layers[p].frozen.weight !== linearModuleAt(adapted.base, p).weight
    );
    if (lost.length) {
      notes.push(
        `the frozen weight of ${lost[0]}${lost.length > 1 ? ` (and ${lost.length - 1} more)` : ""} is not the base's ` +
          `(changed at init?) and its adapter has no frozenToPeft(), so this folder does not hold it: give the adapter ` +
          `a frozenToPeft that returns what rebuilds it`,
      );
    }
  } else if (!PEFT_TYPES.has(type)) {
    notes.push(`${type} is not a PEFT 0.21 type: PEFT cannot load this folder; Tangent's loadPeftAdapter does`);
  } else if (conv1d && !CONV1D_TYPES.has(type)) {
    notes.push(
      `PEFT 0.21 has no ${type} layer for GPT-2's Conv1D modules (only nn.Linear): PeftModel.from_pretrained ` +
        `refuses this folder on a GPT-2; Tangent's loadPeftAdapter loads it`,
    );
  }
  if (conv1d && type === "LORA" && first.init_lora_weights === "olora") {
    notes.push(
      `PEFT 0.21's OLoRA init ignores fan_in_fan_out: on GPT-2's Conv1D modules it factors the stored in × out weight, ` +
        `so its lora_A / lora_B come out [r, out] / [in, r] and PeftModel.from_pretrained refuses this folder (size ` +
        `mismatch); Tangent's loadPeftAdapter loads it, or train with init "kaiming", "gaussian" or "pissa" for PEFT`,
    );
  }
  if (type === "BOFT" && Number(first.boft_n_butterfly_factor ?? 1) > 1) {
    notes.push(
      `PEFT 0.21 builds BOFT with ${first.boft_n_butterfly_factor} butterfly factors only where its CUDA extension ` +
        `compiles; elsewhere it falls back to one factor and PeftModel.from_pretrained refuses this folder (size mismatch)`,
    );
  }
  const w = linearModuleAt(adapted.base, adapted.paths[0]).weight;
  if (
    typeof first.init_lora_weights === "string" && /^(pissa|olora)/.test(first.init_lora_weights) &&
    w.dtype === "float64"
  ) {
    notes.push(
      `PEFT rebuilds ${first.init_lora_weights} residuals only in float32/float16/bfloat16: load the base model in ` +
        `float32 on the PEFT side`,
    );
  }
  const head = adapted.layers.lm_head;
  const tied = head && adapted.config.tieWordEmbeddings && !adapted.base.linearPaths.includes("lm_head");
  if (tied && PEFT_TYPES.has(type) && head.frozen.weight !== linearModuleAt(adapted.base, "lm_head").weight) {
    notes.push(
      `lm_head is tied to the token embedding and its ${head.adapter.kind} adapter runs on a base weight of its own ` +
        `(${first.init_lora_weights ?? "changed at init"}); PEFT makes that weight the embedding's too (one shared ` +
        `parameter), so PeftModel.from_pretrained, and loadPeftAdapter which follows it, load another model than ` +
        `this one: on a tied head train with an init that keeps the base (LoRA's default), or untie the head`,
    );
  }
  return notes;
}
