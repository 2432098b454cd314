/**
 * Shared helpers of the command-line tests: a tiny model folder and a run of `deno task generate`'s script.
 * @module
 */
import { createModel, initModel, key, parseConfig, saveModel } from "../mod.ts";
import { charTokenizerJson } from "../models/mod.ts";

/** Whether the tests may run Deno as a subprocess (`--allow-run`). */
export const canRun = (await Deno.permissions.query({ name: "run", command: Deno.execPath() })).state === "granted";

/**
 * Writes a one-block GPT-2 over the characters "abc=" (4 tokens, no EOS: nothing stops a continuation
 * early; 16 positions) into `dir`, with its `tokenizer.json` and `tokenizer_config.json`.
 */
export async function writeCharModel(dir: string): Promise<void> {
  const { tokenizerJson, tokenizerConfig } = charTokenizerJson("abc=");
  const config = parseConfig({ model_type: "gpt2", vocab_size: 4, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 });
  await saveModel(dir, createModel(config, initModel(config, key(0))));
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(tokenizerJson));
  await Deno.writeTextFile(`${dir}/tokenizer_config.json`, JSON.stringify(tokenizerConfig));
}

/** Runs `examples/generate.ts` (`deno task generate`) with `args`: its exit code and decoded output. */
export async function runGenerate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "examples/generate.ts", ...args],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}
