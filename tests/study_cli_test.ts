/**
 * `deno task demo` on inputs a new user tries: each stops at once with the option, the value and
 * the fix, before any pretraining (needs --allow-run; skipped without it).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createModel, initModel, key, parseConfig, saveModel } from "../mod.ts";

const canRun = (await Deno.permissions.query({ name: "run", command: Deno.execPath() })).state === "granted";

async function demo(args: string[], script = "examples/study.ts"): Promise<{ code: number; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write=/tmp",
      "--allow-env",
      script,
      ...(script.endsWith("study.ts") ? ["--quick"] : []),
      ...args,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stderr } = await cmd.output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

// a GPT-2 folder without tokenizer.json whose vocabulary holds the byte fallback, 16 positions
const BYTES = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-cli-model-" });
const config = parseConfig({ model_type: "gpt2", vocab_size: 260, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 16 });
await saveModel(BYTES, createModel(config, initModel(config, key(0))));
globalThis.addEventListener("unload", () => Deno.removeSync(BYTES, { recursive: true }));

const CASES: {
  what: string;
  args: (out: string, tmp: string) => string[];
  code: number;
  says: RegExp;
  script?: string;
}[] = [
  {
    what: "--target naming no module of the default GPT-2",
    args: (out) => ["--target", "nothing_here", "--out", out],
    code: 1,
    says: /--target nothing_here matches no linear module of the default GPT-2; its modules are c_attn, c_proj, c_fc/,
  },
  {
    what: "--seed that is not an integer",
    args: (out) => ["--seed", "abc", "--out", out],
    code: 2,
    says: /--seed must be a non-negative integer, got 'abc'/,
  },
  {
    what: "--model without tokenizer.json and a vocabulary smaller than bytes",
    args: (out) => ["--model", "../shared/fixtures/models/tiny_gpt2", "--adapters", "lora", "--out", out],
    code: 1,
    says: /no tokenizer\.json and its vocabulary \(64 ids\) cannot hold the UTF-8 byte fallback.*tokenizer\.json/,
  },
  {
    what: "--seq longer than the model's positions",
    args: (out) => ["--model", BYTES, "--seq", "1000", "--adapters", "lora", "--out", out],
    code: 1,
    says: /--seq: one example \(prompt and answer\) takes 2001 positions, but the model holds 16; pass a smaller --seq/,
  },
  {
    what: "--data naming no file (was an uncaught ENOENT with a stack trace)",
    args: (out) => ["--model", BYTES, "--data", "/nonexistent/text.txt", "--out", out],
    code: 1,
    says: /--data: cannot read \/nonexistent\/text\.txt \(ENOENT.*pass a UTF-8 text file/,
  },
  {
    what: "an empty --data file",
    args: (out) => ["--model", BYTES, "--data", "/dev/null", "--out", out],
    code: 1,
    says: /textTask: 0 tokens are too few for windows of 65.*shorter --seq/,
  },
  {
    what: "--out that cannot be created (was an uncaught ENOENT after pretraining)",
    args: (_, tmp) => ["--adapters", "lora", "--out", `${tmp}/a-file/sub`],
    code: 1,
    says: /--out: cannot create .*a-file\/sub \(.*\); pass a folder you can write/,
  },
  {
    what: "an unknown --backend",
    args: (out) => ["--backend", "tpu", "--out", out],
    code: 2,
    says: /--backend must be cpu or webgpu, got 'tpu'/,
  },
  {
    what: "generate with an unknown --backend (was run on the CPU without a word)",
    script: "examples/generate.ts",
    args: () => ["--model", "../shared/fixtures/models/tiny_llama", "--prompt", "ab", "--backend", "tpu"],
    code: 2,
    says: /--backend must be cpu or webgpu, got 'tpu'/,
  },
  {
    what: "generate on a model folder without tokenizer.json and a 64-id vocabulary",
    script: "examples/generate.ts",
    args: () => ["--model", "../shared/fixtures/models/tiny_gpt2", "--prompt", "abc"],
    code: 1,
    says: /tiny_gpt2: the folder has no tokenizer\.json and its vocabulary \(64 ids\)/,
  },
];

for (const c of CASES) {
  Deno.test({
    name: `deno task ${c.script ? "generate" : "demo"}: ${c.what} stops at once with the fix`,
    ignore: !canRun,
    async fn() {
      const tmp = await Deno.makeTempDir({ dir: "/tmp" });
      await Deno.writeTextFile(`${tmp}/a-file`, "not a folder");
      const out = `${tmp}/run`;
      try {
        const { code, stderr } = await demo(c.args(out, tmp), c.script);
        assert.equal(code, c.code, stderr);
        assert.match(stderr, c.says);
        assert.doesNotMatch(stderr, /pretraining|^ {4}at /m, "no pretraining and no stack trace");
        assert.ok(!existsSync(out), "no output folder left behind");
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}
