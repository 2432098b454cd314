/**
 * The adapter results.md calls best and the one the demo's greedy generations come from are the same: the
 * highest held-out accuracy, ties broken by the lower held-out loss (a full default run has four methods at
 * 100%: results.md named boft while the generations under "best adapter" were lora's).
 */
import assert from "node:assert/strict";
import { bestAdapter, studyMarkdown } from "../study/report.ts";
import type { MethodResult, StudyResult } from "../study/run.ts";

function method(name: string, heldOutAccuracy: number, heldOutLoss: number): MethodResult {
  return {
    name,
    label: name,
    family: "low-rank",
    lr: 0.01,
    trainable: 2048,
    trainLoss: heldOutLoss,
    heldOutLoss,
    heldOutAccuracy,
    msPerStep: 20,
    peakMemoryMB: 300,
    orthogonalityError: NaN,
    stableRank: 2,
    losses: [1, heldOutLoss],
  };
}

Deno.test("bestAdapter: accuracy first, then held-out loss; full fine-tuning is not an adapter; results.md agrees", () => {
  const result: StudyResult = {
    methods: [
      method("full", 1, 0.0037),
      method("lora", 1, 0.0145),
      method("dora", 1, 0.0219),
      method("boft", 1, 0.0115),
    ],
    base: { heldOutLoss: 7.5, heldOutAccuracy: 0 },
    targets: ["transformer.h.0.attn.c_attn"],
  };
  assert.equal(bestAdapter(result)?.name, "boft");
  assert.equal(bestAdapter({ methods: [method("lora", 0.5, 0.1), method("hra", 0.6, 0.9)] })?.name, "hra");
  assert.equal(bestAdapter({ methods: [method("full", 1, 0.1)] }), undefined);
  const md = studyMarkdown(result, {
    model: "m",
    task: "t",
    target: "c_attn",
    steps: 1,
    batch: 1,
    rank: 4,
    backend: "cpu",
    seed: 0,
    exact: true,
  });
  assert.match(md, /Best adapter on held-out accuracy: \*\*boft\*\*/);
});
