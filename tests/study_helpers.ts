/** A model shared by the study tests. */
import { createModel, initModel, key, parseConfig } from "../mod.ts";

/** A one-block GPT-2 over the study task's 12-token vocabulary (eos 11), 16 positions. */
export function tinyModel(): ReturnType<typeof createModel> {
  const config = parseConfig({
    model_type: "gpt2",
    vocab_size: 12,
    n_embd: 16,
    n_layer: 1,
    n_head: 2,
    n_positions: 16,
    eos_token_id: 11,
  });
  return createModel(config, initModel(config, key(5)));
}
