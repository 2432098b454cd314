/**
 * Mistakes a new user makes with the model API (found by issue 9's acceptance audit): each is a
 * TangentError that names the call and the fix, not a TypeError or a Node error from inside.
 */
import assert from "node:assert/strict";
import {
  adapters,
  adaptModel,
  createModel,
  DTypeError,
  FormatError,
  generate,
  initModel,
  key,
  loadModel,
  loadTokenizer,
  parseConfig,
  safetensors,
  savePeftAdapter,
  TangentError,
  tensor,
} from "../mod.ts";

const FIXTURES = "../shared/fixtures/models";

Deno.test("apply and generate: token ids given as a plain array are a DTypeError naming tensor(ids, int32)", async () => {
  for (const name of ["tiny_gpt2", "tiny_llama"]) {
    const model = await loadModel(`${FIXTURES}/${name}`);
    const ids = [[1, 2, 3]] as unknown as Parameters<typeof model.apply>[1];
    assert.throws(() => model.apply(model.params, ids), (e: Error) => {
      assert.ok(e instanceof DTypeError, `${name}: ${e.name}: ${e.message}`);
      assert.match(e.message, /inputIds must be a tensor, got an array/);
      assert.match(e.message, /tensor\(ids, \{ dtype: "int32" \}\)/);
      return true;
    });
    await assert.rejects(generate(model, model.params, ids, { maxNewTokens: 2 }), (e: Error) => {
      assert.ok(e instanceof TangentError, `${name}: ${e.name}: ${e.message}`);
      assert.match(e.message, /^generate: inputIds must be a tensor, got an array/);
      return true;
    });
  }
});

Deno.test("loadModel and safetensors.read: a path that is missing or of the wrong kind is a FormatError naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tangent_paths_" });
  try {
    const missing = `${dir}/no_such_model`;
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ["a missing folder", () => loadModel(missing), /^loadModel: cannot read the folder .*no_such_model \(ENOENT/],
      ["a hub id", () => loadModel("openai-community/gpt2"), /resolveModel/],
      [
        "a file for a folder",
        () => loadModel(`${FIXTURES}/tiny_gpt2/config.json`),
        /^loadModel: cannot read the folder/,
      ],
      [
        "a missing file",
        () => safetensors.read(`${dir}/none.safetensors`),
        /^safetensors\.read: cannot open .*none\.safetensors/,
      ],
      [
        "a folder for a file",
        () => safetensors.read(dir),
        /^safetensors\.read: .* is a folder, not a safetensors file/,
      ],
      [
        "a missing shard",
        () => loadModel([`${FIXTURES}/tiny_gpt2/config.json`, `${dir}/gone.safetensors`]),
        /gone\.safetensors/,
      ],
      [
        "a missing header file",
        () => safetensors.readHeader(`${dir}/none.safetensors`),
        /^safetensors\.readHeader: cannot open/,
      ],
    ];
    for (const [what, run, message] of cases) {
      await assert.rejects(run(), (e: Error) => {
        assert.ok(e instanceof FormatError, `${what}: ${e.name}: ${e.message}`);
        assert.match(e.message, message, what);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("savePeftAdapter: a model without adapters (the base from loadModel) is a FormatError naming adaptModel", async () => {
  const model = await loadModel(`${FIXTURES}/tiny_llama`);
  const dir = await Deno.makeTempDir({ prefix: "tangent_peft_" });
  try {
    const base = model as unknown as Parameters<typeof savePeftAdapter>[1];
    await assert.rejects(savePeftAdapter(dir, base, model.params as never), (e: Error) => {
      assert.ok(e instanceof FormatError, `${e.name}: ${e.message}`);
      assert.match(e.message, /^savePeftAdapter: the model has no adapters/);
      assert.match(e.message, /adaptModel\(model, \{ target/);
      assert.match(e.message, /saveModel/);
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writing into a folder that is a file (savePeftAdapter, safetensors.write) is a FormatError naming the path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tangent_write_" });
  try {
    const file = `${dir}/a_file`;
    await Deno.writeTextFile(file, "x");
    const model = await loadModel(`${FIXTURES}/tiny_llama`);
    const peft = adaptModel(model, { target: "q_proj", adapter: adapters.lora({ r: 2 }) });
    const cases: [string, () => Promise<unknown>][] = [
      ["savePeftAdapter", () => savePeftAdapter(file, peft, peft.params)],
      ["safetensors.write", () => safetensors.write(`${file}/w.safetensors`, { w: tensor([1, 2]) })],
    ];
    for (const [what, run] of cases) {
      await assert.rejects(run(), (e: Error) => {
        assert.ok(e instanceof FormatError, `${what}: ${e.name}: ${e.message}`);
        assert.match(e.message, /cannot create the folder .*a_file .*a file has that name/, what);
        return true;
      });
    }
    assert.equal(await Deno.readTextFile(file), "x", "the file is left as it was");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTokenizer: a missing folder, or a file, is a FormatError (not a silent fallback to bytes)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tangent_tok_" });
  try {
    for (const path of [`${dir}/no_such_model`, `${FIXTURES}/tiny_gpt2/config.json`]) {
      await assert.rejects(loadTokenizer(path), (e: Error) => {
        assert.ok(e instanceof FormatError, `${path}: ${e.name}: ${e.message}`);
        assert.match(e.message, /^loadTokenizer: cannot read the folder /);
        return true;
      });
    }
    assert.equal(
      (await loadTokenizer(dir)).kind,
      "bytes",
      "an existing folder without tokenizer.json still falls back",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: running out of the model's positions names maxNewTokens and how many fit", async () => {
  const model = await loadModel(`${FIXTURES}/tiny_llama`); // max_position_embeddings 64
  const P = model.config.maxPositions, T = 5;
  const ids = tensor([[1, 2, 3, 4, 5]], { dtype: "int32" });
  const fits = await generate(model, model.params, ids, { maxNewTokens: P - T + 1, eosTokenId: null });
  assert.equal(fits[0].length, P + 1, "the last token is never fed back, so P − T + 1 new tokens fit");
  await assert.rejects(
    generate(model, model.params, ids, { maxNewTokens: P - T + 2, eosTokenId: null }),
    (e: Error) => {
      assert.ok(e instanceof TangentError, `${e.name}: ${e.message}`);
      assert.match(e.message, new RegExp(`^generate: .*the model's ${P} positions`));
      assert.match(e.message, new RegExp(`maxNewTokens ≤ ${P - T + 1}`));
      return true;
    },
  );
});

Deno.test("createModel, initModel and parseConfig name a missing config, params or model_type (TypeErrors before)", () => {
  const bad = (v: unknown) => v as never;
  const says = (re: RegExp) => (e: unknown) => e instanceof FormatError && re.test(e.message);
  assert.throws(
    () => createModel(bad(undefined), bad({})),
    says(/^createModel: config must be a ModelConfig, got undefined; make one with parseConfig/),
  );
  assert.throws(() => initModel(bad(undefined), key(0)), says(/^initModel: config must be a ModelConfig/));
  const config = parseConfig({ model_type: "gpt2", vocab_size: 8, n_embd: 4, n_layer: 1, n_head: 2, n_positions: 4 });
  assert.throws(
    () => createModel(config, bad(undefined)),
    says(/^createModel: params must be the model's parameter tree/),
  );
  assert.throws(() => parseConfig({ vocab_size: 8 }), says(/^config: config\.json has no model_type; add the one/));
  assert.equal(createModel(config, initModel(config, key(0))).config.architecture, "gpt2");
});
