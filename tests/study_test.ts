/**
 * The adapter study's pieces: deterministic tasks with disjoint held-out sets, the training loop,
 * the evaluation (exact match equals greedy decoding), and a small study end to end with its
 * report files and PEFT export.
 */
import { DomainError } from "../core/errors.ts";
import { tinyModel } from "./study_helpers.ts";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { generate, loadPeftAdapter, manifolds, tensor } from "../mod.ts";
import { crossEntropy } from "../models/nn.ts";
import { train } from "../study/train.ts";
import { charTokenizerJson, tokenizerFromJson } from "../models/mod.ts";
import { selectMethods } from "../study/methods.ts";
import { writeStudyReport } from "../study/report.ts";
import { evaluate, runStudy } from "../study/run.ts";
import { encodeExamples, textTask, transductionTask } from "../study/tasks.ts";
import { savePeftAdapter } from "../models/peft_io.ts";

Deno.test("transductionTask: deterministic examples, exact answers, held-out inputs never trained on", () => {
  const t = transductionTask({ rule: "reverse-permute", length: 4, seed: 3 });
  const again = transductionTask({ rule: "reverse-permute", length: 4, seed: 3 });
  assert.deepEqual(t.samples(5), again.samples(5));
  for (const e of t.samples(20)) {
    const s = e.prompt.slice(0, 4);
    const want = [...s].reverse().map((c) => "abcdefghij"[(3 * "abcdefghij".indexOf(c) + 7) % 10]).join("");
    assert.equal(e.answer, want + ";");
  }
  const held = new Set(Array.from({ length: 200 }, (_, i) => t.example(i, true).prompt));
  for (let i = 0; i < 4000; i++) assert.ok(!held.has(t.example(i, false).prompt), `train example ${i} is held out`);
  const b = t.trainBatch(7, 3);
  assert.equal(b.seq, 9); // 4 letters, '=', 4 letters, ';' minus one
  // labels: −100 on the prompt, then the answer's ids
  const ids = (s: string) => [...s].map((c) => t.vocabulary.indexOf(c));
  const ex = t.example(21, false);
  assert.deepEqual([...b.labels.subarray(0, 9)], [-100, -100, -100, -100, ...ids(ex.answer)]);
  assert.deepEqual([...b.inputs.subarray(0, 9)], ids(ex.prompt + ex.answer).slice(0, 9));
});

Deno.test("encodeExamples pads on the right and labels only the answer", () => {
  const tok = { encode: (s: string) => [...s].map((c) => "ab=;".indexOf(c) + 1) };
  const b = encodeExamples(tok, [{ prompt: "ab=", answer: "ba;" }, { prompt: "a=", answer: "a;" }], 0);
  assert.equal(b.seq, 5);
  assert.deepEqual([...b.labels.subarray(5, 10)].slice(0, 3), [-100, tok.encode("a")[0], tok.encode(";")[0]]);
  assert.deepEqual([...b.inputs.subarray(5, 10)].slice(3), [0, 0]);
  assert.deepEqual([...b.labels.subarray(5, 10)].slice(3), [-100, -100]);
});

Deno.test("textTask: training windows from the first 90%, held-out windows from the rest", () => {
  const tokens = Array.from({ length: 1000 }, (_, i) => i);
  const t = textTask(tokens, 10);
  const b = t.trainBatch(0, 4);
  for (let r = 0; r < 4; r++) {
    const row = [...b.inputs.subarray(r * 10, r * 10 + 10)];
    assert.ok(row.every((v, i) => i === 0 || v === row[i - 1] + 1) && row[9] + 1 < 900);
    assert.equal(b.labels[r * 10], row[0] + 1);
  }
  assert.ok(t.heldOut(100).inputs.every((v) => v >= 900));
  assert.throws(() => textTask(tokens.slice(0, 20), 10), /too few/);
});

Deno.test("evaluate: exact match is what greedy decoding reproduces", async () => {
  // a model that learned the task, scored on held-out answers of which every other one is altered
  // in its last letter: both measures must call exactly the unaltered ones right
  const task = transductionTask({ rule: "reverse", length: 2 });
  const model = tinyModel();
  const trained = await train({
    params: model.params,
    optimizer: manifolds.adam({ lr: 2e-2 }),
    steps: 80,
    loss: (p, x, y) => crossEntropy(model.apply(p, x), y),
    batch: (step) => task.trainBatch(step, 32),
    like: tensor([0]),
  });
  const vocab = task.vocabulary;
  const examples = task.samples(64).map((e, i) => {
    if (i % 2 === 0) return e;
    const last = e.answer[e.answer.length - 2];
    return { prompt: e.prompt, answer: e.answer.slice(0, -2) + (last === "a" ? "b" : "a") + ";" };
  });
  const tok = { encode: (s: string) => [...s].map((c) => vocab.indexOf(c)) };
  const altered = { ...task, heldOut: () => encodeExamples(tok, examples, 0) };
  const { heldOutAccuracy } = await evaluate(model, trained.params, altered, 64, tensor([0]));
  let right = 0;
  for (const ex of examples) {
    const ids = tok.encode(ex.prompt);
    const [seq] = await generate(model, trained.params, tensor([ids], { dtype: "int32" }), {
      maxNewTokens: ex.answer.length,
      eosTokenId: null,
    });
    if (seq.slice(ids.length).map((i) => vocab[i]).join("") === ex.answer) right++;
  }
  assert.ok(right >= 16 && right <= 32, `${right} of 64 right`);
  assert.equal(heldOutAccuracy, right / 64);
});

Deno.test("runStudy: every method trains, is measured, reports files, exports to PEFT and reads back", async () => {
  const model = tinyModel();
  const task = transductionTask({ rule: "reverse-permute", length: 3 });
  const methods = selectMethods("full,lora,hra,sorsa", 2);
  const exported: Record<string, string> = {};
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    const result = await runStudy({
      model,
      task,
      methods,
      target: "c_attn",
      steps: 6,
      batch: 8,
      heldOut: 32,
      async onTrained(m, t) {
        if (!t.adapted) return;
        exported[m.name] = `${dir}/${m.name}`;
        await savePeftAdapter(exported[m.name], t.adapted, t.params as never);
      },
    });
    assert.deepEqual(result.methods.map((m) => m.name), ["full", "lora", "hra", "sorsa"]);
    assert.deepEqual(result.targets, ["transformer.h.0.attn.c_attn"]);
    const by = Object.fromEntries(result.methods.map((m) => [m.name, m]));
    assert.equal(by.lora.trainable, 2 * (16 + 48));
    assert.equal(by.hra.trainable, 16 * 4);
    assert.equal(
      by.full.trainable,
      12 * 16 + 16 * 16 + 4 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 16 * 64 + 64 + 64 * 16 + 16 + 2 * 16,
    );
    for (const m of result.methods) {
      assert.equal(m.losses.length, 6);
      assert.ok(m.losses.every(Number.isFinite) && m.msPerStep > 0 && m.peakMemoryMB > 0);
      assert.ok(m.heldOutAccuracy >= 0 && m.heldOutAccuracy <= 1);
      assert.ok(m.stableRank >= 1 && m.stableRank <= 16, `${m.name} stable rank ${m.stableRank}`);
    }
    assert.ok(by.full.losses[5] < by.full.losses[0], "full fine-tuning lowers the loss");
    assert.ok(by.hra.orthogonalityError < 1e-5 && Number.isNaN(by.lora.orthogonalityError));
    // the exported adapters read back onto the base model to the trained model's logits
    const back = await loadPeftAdapter(model, exported.lora);
    const ids = tensor([[1, 2, 3, 10]], { dtype: "int32" });
    const a = await back.apply(back.params, ids).data();
    assert.ok(a.every(Number.isFinite));
    const files = await writeStudyReport(dir, result, {
      model: "tiny",
      task: task.description,
      target: "c_attn",
      steps: 6,
      batch: 8,
      rank: 2,
      backend: "cpu",
      seed: 0,
      exact: true,
    });
    assert.equal(files.length, 4);
    const json = JSON.parse(await readFile(`${dir}/results.json`, "utf8"));
    assert.equal(json.methods.length, 4);
    assert.equal(json.methods[1].orthogonalityError, null); // NaN is written as null
    const md = await readFile(`${dir}/results.md`, "utf8");
    assert.match(md, /\| lora +\|/);
    const svg = await readFile(`${dir}/loss.svg`, "utf8");
    assert.ok((svg.match(/<path /g) ?? []).length >= 4, "one path per method");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the char tokenizer of the default model encodes the task one id per symbol", () => {
  const { tokenizerJson, tokenizerConfig } = charTokenizerJson("abcdefghij=;");
  const tok = tokenizerFromJson(tokenizerJson, tokenizerConfig);
  assert.deepEqual(tok.encode("cab=bac;"), [2, 0, 1, 10, 1, 0, 2, 11]);
  assert.equal(tok.decode([9, 10, 11]), "j=;");
});

Deno.test("selectMethods: a trailing comma or a repeat picks each method once; an unknown name is listed", () => {
  assert.deepEqual(selectMethods("lora,", 2).map((m) => m.name), ["lora"]);
  assert.deepEqual(selectMethods(" hra , lora,lora", 2).map((m) => m.name), ["lora", "hra"]);
  assert.throws(() => selectMethods("lora,nope", 2), /unknown method\(s\) nope; choose from full, lora/);
});

Deno.test("runStudy keyByName: a method trains the same whichever others are selected (by position it does not)", async () => {
  const model = tinyModel();
  const task = transductionTask({ rule: "reverse-permute", length: 3 });
  const run = (names: string, keyByName: boolean) =>
    runStudy({
      model,
      task,
      methods: selectMethods(names, 2),
      target: "c_attn",
      steps: 3,
      batch: 4,
      heldOut: 8,
      keyByName,
    })
      .then((r) => r.methods.find((m) => m.name === "hra")!.losses);
  const alone = await run("hra", true), after = await run("lora,hra", true);
  assert.deepEqual(after, alone);
  // by position, hra second draws another start (the demo's --adapters used to move the numbers)
  assert.notDeepEqual(await run("lora,hra", false), alone);
});

Deno.test("runStudy: a method whose loss leaves the finite numbers stops with the step and the rate to lower", async () => {
  const model = tinyModel();
  const task = transductionTask({ rule: "reverse-permute", length: 3 });
  await assert.rejects(
    () => runStudy({ model, task, methods: selectMethods("oft", 2), target: "c_attn", steps: 4, batch: 4, lr: 1e6 }),
    (e: unknown) => {
      assert.ok(e instanceof DomainError, String(e));
      assert.match(
        e.message,
        /oft's (training|held-out) loss became NaN .*learning rate 1000000; lower it \(oft's own rate is/,
      );
      return true;
    },
  );
});

Deno.test("study: OFT's orthogonality column measures its Cayley–Neumann rotation (orthogonal only while Q is small)", async () => {
  const { adapters } = await import("../mod.ts");
  const oft = selectMethods("oft", 4)[0];
  assert.ok(oft.nearlyOrthogonal, "the oft method names the rotation it means to be orthogonal");
  const err = (scale: number) => {
    // one 16-block: 120 packed entries of the skew Q
    const R = tensor(Array.from({ length: 120 }, (_, i) => scale * Math.sin(i + 1)), { dtype: "float64" }).reshape([
      1,
      120,
    ]);
    const [q] = oft.nearlyOrthogonal!({ R });
    assert.deepEqual(q.shape, [1, 16, 16]);
    return adapters.orthogonalityError(q).item();
  };
  assert.equal(err(0), 0);
  // the 5-term series differs from the Cayley map by −Q⁴ + O(Q⁵): tiny for a small Q, large for a trained one
  assert.ok(err(1e-3) < 1e-7, `${err(1e-3)}`);
  assert.ok(err(0.3) > 1e-2, `${err(0.3)}`);
});
