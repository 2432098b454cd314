import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import {
  type ConvergenceRun,
  decompositions,
  type DemoSetup,
  demoTask,
  driftVerdict,
  hraIdentity,
  hraLambdaSweep,
  iterationsTo,
  lokhCascade,
  median,
  polarConvergence,
  polarStableRank,
  quantile,
  runReproductions,
  sorsaDrift,
} from "../reproduce/mod.ts";
import { main, parseOptions, usage } from "../reproduce/main.ts";
import { createModel, DomainError, initModel, key, parseConfig } from "../mod.ts";
import { fmt } from "../report/mod.ts";

/** A small randomly initialised GPT-2 on the demo task (width 32, so the runner's r = 32 fits; one block). */
function tinyDemo(): DemoSetup {
  const config = parseConfig({
    model_type: "gpt2",
    vocab_size: 12,
    n_embd: 32,
    n_layer: 1,
    n_head: 2,
    n_positions: 12,
  });
  const model = createModel(config, initModel(config, key(3)));
  return { model, task: demoTask(model), description: "a tiny random GPT-2 (test)" };
}

const seriesCount = (svg: string) => svg.match(/<path class="series"/g)?.length ?? 0;
const verdictOf = (md: string) => [...md.matchAll(/\*\*Verdict: (\w+)\.\*\*/g)].map((m) => m[1]);

Deno.test("polarConvergence: the iteration counts, the faster-κ list and the verdict agree with the curves", () => {
  const res = polarConvergence({ size: 12, targetRank: 2, ranks: [4, 2], kappas: [1, 10], iterations: 300 });
  assert.equal(res.runs.length, 2 * 2 * 3);
  for (const r of res.runs) {
    assert.ok(Math.abs(r.errors[0] - 1) < 1e-3, `${r.method}: starts at ΔW ≈ 0, error ≈ 1 (${r.errors[0]})`);
    assert.equal(r.iterationsToThreshold, iterationsTo(r.errors, 1e-6));
    if (r.iterationsToThreshold !== undefined) assert.ok(r.errors[r.iterationsToThreshold] < 1e-6);
  }
  const its = (m: ConvergenceRun["method"], rank: number, kappa: number) =>
    res.runs.find((r) => r.method === m && r.rank === rank && r.kappa === kappa)!.iterationsToThreshold ?? Infinity;
  const faster = [1, 10].filter((k) => {
    const p = Math.min(its("polar-rgd", 4, k), its("polar-landing", 4, k));
    return Number.isFinite(p) && p < its("lora", 4, k);
  });
  assert.deepEqual(res.polarFasterAt, faster);
  assert.equal(res.verdict, faster.length === 2 ? "reproduced" : faster.length ? "partly" : "not");
  assert.deepEqual(verdictOf(res.markdown), [res.verdict]);
  // the claim the report makes at this size: over-parameterised (r = 4 > r* = 2), κ = 1, PoLAR reaches 1e-6 and LoRA does not
  assert.ok(its("polar-rgd", 4, 1) < 300 && its("lora", 4, 1) === Infinity);
  assert.match(res.markdown, new RegExp(`\\|\\s*${its("polar-rgd", 4, 1)}\\s*\\|`), "the table shows the count");
  assert.deepEqual(Object.keys(res.plots).sort(), ["exp2_polar_kappa1.svg", "exp2_polar_kappa10.svg"]);
  for (const svg of Object.values(res.plots)) assert.equal(seriesCount(svg), 6);
});

Deno.test("hraIdentity: the chain equals I + ÛΓÛᵀ to rounding; the verdict follows the tolerance", () => {
  const res = hraIdentity({ sizes: [8, 32], reflections: [2, 5] });
  assert.deepEqual(res.rows.map((r) => [r.n, r.r]), [[8, 2], [8, 5], [32, 2], [32, 5]]);
  for (const r of res.rows) {
    assert.ok(r.error < 1e-14 && r.error > 0, `n=${r.n} r=${r.r}: ${r.error}`);
    assert.ok(Math.abs(r.errorInEps - r.error / 2 ** -52) < 1e-9);
    assert.ok(r.orthogonality < 1e-14);
  }
  assert.equal(res.verdict, "reproduced");
  assert.deepEqual(verdictOf(res.markdown), ["reproduced"]);
  // a tolerance below rounding cannot be met
  assert.equal(hraIdentity({ sizes: [8], reflections: [5], tolerance: 1e-30 }).verdict, "not");
});

Deno.test("hraLambdaSweep: one start, Stiefel exactly orthogonal, the trade-off flags match the rows", () => {
  const res = hraLambdaSweep({ size: 8, r: 2, tokens: 64, steps: 150, lambdas: [0, 1e-2] });
  assert.deepEqual(res.rows.map((r) => r.variant), ["λ = 0", "λ = 0.01", "Stiefel (exactly orthogonal)"]);
  const start = res.rows[0].losses[0];
  for (const r of res.rows) {
    assert.equal(r.losses.length, 151);
    assert.ok(Math.abs(r.losses[0] - start) < 1e-12 * start, "every variant starts at the base layer W");
    assert.equal(r.finalLoss, r.losses.at(-1));
  }
  const stiefel = res.rows.at(-1)!;
  assert.ok(stiefel.orthogonality < 1e-12, `${stiefel.orthogonality}`);
  assert.ok(res.rows[0].orthogonality > 0.1, "λ = 0 leaves the paired start far from orthogonal");
  const falls = res.rows.every((r, i) => i === 0 || r.orthogonality <= res.rows[i - 1].orthogonality * 1.01);
  const rises = res.rows.every((r, i) => i === 0 || r.finalLoss >= res.rows[i - 1].finalLoss * 0.99);
  assert.deepEqual(res.tradeOff, { orthogonalityFalls: falls, lossRises: rises });
  assert.equal(res.verdict, falls && rises ? "reproduced" : falls || rises ? "partly" : "not");
  assert.ok(stiefel.finalLoss > res.rows[0].finalLoss, "the orthogonal variant cannot express the target");
  assert.equal(seriesCount(res.plots["exp4_hra_losses.svg"]), 3);
  // the set-up names the penalty trained (unsquared) and says the summary's is squared: λ is not on the paper's scale
  assert.match(res.markdown, /λ‖I − ÛᵀÛ‖_F \(the summary here writes the paper's penalty squared, λ‖I − UᵀU‖²_F/);
  assert.ok(res.markdown.includes("not on the paper's scale"));
});

Deno.test("decompositions: every row meets its tolerance as reported; exact fits are at rounding", () => {
  const res = decompositions({
    rows: 16,
    cols: 12,
    rank: 2,
    missing: [0.3],
    maskedSweeps: 100,
    ridgeSweeps: 400,
    hadamardStarts: 4,
    hadamardSweeps: 120,
    kronecker: [[2, 3], [4, 4]],
    khatriRao: [4, 4],
  });
  for (const r of res.rows) {
    assert.equal(r.ok, r.error <= r.tolerance, r.case);
    if (r.kind === "exact") assert.ok(r.error < 1e-13, `${r.case}: ${r.error}`);
  }
  assert.equal(res.rows.length, 9);
  assert.equal(res.hadamardStartErrors.length, 4);
  const recovered = res.hadamardStartErrors.filter((e) => e <= 1e-10).length;
  assert.ok(res.markdown.includes(`from ${recovered} of 4 random starts`));
  const allOk = res.rows.every((r) => r.ok);
  assert.equal(res.verdict, allOk ? "reproduced" : res.rows.filter((r) => r.ok).length >= 8 ? "partly" : "not");
  // the masked fit's error on the observed entries never rises
  const observed = res.curves["masked ALS, 30% hidden: observed"];
  for (let i = 1; i < observed.length; i++) assert.ok(observed[i] <= observed[i - 1] * (1 + 1e-9) + 1e-15);
  assert.deepEqual(Object.keys(res.plots).sort(), ["exp5_hadamard_starts.svg", "exp5_ridge.svg", "exp5_sweeps.svg"]);
});

Deno.test("runReproductions: writes report.md and the plots, one progress line per experiment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reproduce_test_" });
  try {
    const lines: string[] = [];
    const summary = await runReproductions({
      out: dir,
      quick: true,
      only: [4],
      progress: { write: (s) => lines.push(s), isTerminal: false },
    });
    assert.deepEqual(summary.map((s) => s.id), [4]);
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ["exp4_hra_identity.svg", "exp4_hra_losses.svg", "exp4_hra_tradeoff.svg", "report.md"]);
    const report = await readFile(`${dir}/report.md`, "utf8");
    assert.ok(report.includes("## 4. HRA: the low-rank identity and the λ trade-off"));
    assert.ok(report.includes("§3.3") && report.includes("§3.4"), "quotes where the claims come from");
    for (const f of files.filter((f) => f.endsWith(".svg"))) assert.ok(report.includes(`](${f})`), f);
    assert.ok(verdictOf(report).includes(summary[0].verdict));
    assert.ok(lines.length >= 2 && lines.every((l) => l.startsWith("experiment 4") && l.endsWith("\n")));
    assert.ok(lines.at(-1)!.includes("done") && lines.at(-1)!.includes(`verdict=${summary[0].verdict}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reproduce/main.ts: options from one table, --help generated from it", () => {
  assert.deepEqual(parseOptions([]), { out: "./out/reproduce", quick: false, help: false });
  assert.deepEqual(parseOptions(["--out", "/tmp/x", "--quick"]), { out: "/tmp/x", quick: true, help: false });
  assert.deepEqual(parseOptions(["--only", "4, 2,4"]).only, [4, 2]);
  assert.equal(parseOptions(["-h"]).help, true);
  assert.throws(() => parseOptions(["--fast"]), /fast/);
  const text = usage();
  for (
    const s of [
      "--out <dir>",
      "--quick",
      "-h, --help",
      "default ./out/reproduce",
      "1. PoLAR: the stable rank",
      "2. PoLAR",
      "3. SORSA",
      "4. HRA",
      "5. The survey",
      "6. LoKH",
      "base-model/",
      "--only <ids>",
    ]
  ) {
    assert.ok(text.includes(s), s);
  }
  assert.ok(!text.includes("<value>"), "every option's placeholder says what it takes");
});

Deno.test("polarStableRank: every ΔW's stable rank lies in [1, r]; the flags and the verdict follow the medians", async () => {
  const demo = tinyDemo();
  const res = await polarStableRank({ demo, ranks: [2, 4], steps: 12, batch: 8, heldOut: 16, every: 4 });
  // every linear module of the block: c_attn, attn c_proj, c_fc, mlp c_proj
  assert.deepEqual(res.paths, demo.model.linearPaths);
  assert.deepEqual(res.rows.map((r) => [r.method, r.rank]), [["lora", 2], ["polar", 2], ["lora", 4], ["polar", 4]]);
  for (const r of res.rows) {
    assert.equal(r.stableRanks.length, 4);
    // stable rank ≤ rank(ΔW) ≤ r: an adapter of rank r cannot do better
    for (const v of r.stableRanks) assert.ok(v >= 1 - 1e-9 && v <= r.rank + 1e-9, `${r.method} r=${r.rank}: ${v}`);
    assert.equal(r.median, median(r.stableRanks));
    assert.equal(r.q1, quantile(r.stableRanks, 0.25));
    assert.equal(r.min, Math.min(...r.stableRanks));
    assert.deepEqual(r.curve.steps, [4, 8, 12]);
    assert.equal(r.curve.median.at(-1), r.median, "the curve ends at the final measurement");
    assert.ok(Number.isFinite(r.heldOutLoss) && r.trainLoss > 0);
  }
  const at = (m: string, rank: number) => res.rows.find((r) => r.method === m && r.rank === rank)!.median;
  assert.equal(res.loraLow, at("lora", 2) < 0.5 && at("lora", 4) < 1);
  assert.deepEqual(res.polarHigherAt, [2, 4].filter((r) => at("polar", r) >= 1.5 * at("lora", r)));
  const verdict = res.loraLow && res.polarHigherAt.length === 2
    ? "reproduced"
    : res.loraLow || res.polarHigherAt.length
    ? "partly"
    : "not";
  assert.equal(res.verdict, verdict);
  assert.deepEqual(verdictOf(res.markdown), [verdict]);
  assert.ok(res.markdown.includes("1.06") && res.markdown.includes("5.49"), "the paper's numbers beside ours");
  assert.deepEqual(Object.keys(res.plots).sort(), ["exp1_stable_rank.svg", "exp1_stable_rank_training.svg"]);
  assert.equal(seriesCount(res.plots["exp1_stable_rank_training.svg"]), 4);
});

Deno.test("sorsaDrift: no drift at the start, the learning rate kept is the nearest loss, flags follow the finals", async () => {
  const res = await sorsaDrift({
    demo: tinyDemo(),
    r: 2,
    steps: 12,
    batch: 8,
    heldOut: 16,
    every: 4,
    lrFactors: [0.5, 2],
  });
  assert.deepEqual(res.runs.map((r) => r.method), ["lora", "full", "pissa", "sorsa-unreg", "sorsa"]);
  const lora = res.runs[0];
  assert.equal(lora.tried.length, 1, "LoRA runs at its own rate: the reference");
  for (const r of res.runs) {
    const steps = [...new Set(r.points.map((p) => p.step))];
    assert.deepEqual(steps, [0, 4, 8, 12]);
    // every method starts at the pretrained weight (SORSA and PiSSA split it exactly): no drift at step 0
    for (const p of r.points.filter((p) => p.step === 0)) {
      assert.ok(p.deltaSigma < 1e-6 && Math.abs(p.deltaD) < 1e-6, `${r.method} ${p.path}: ${p.deltaSigma} ${p.deltaD}`);
    }
    for (const p of r.points) assert.ok(p.deltaD <= 1 + 1e-12 && p.deltaSigma >= 0);
    const last = r.points.filter((p) => p.step === 12);
    assert.equal(r.final.deltaSigma, median(last.map((p) => p.deltaSigma)));
    assert.equal(r.final.deltaD, median(last.map((p) => p.deltaD)));
    if (r.method !== "lora") {
      assert.equal(r.tried.length, 2);
      const gap = (l: number) => Math.abs(Math.log(l / lora.heldOutLoss));
      const best = r.tried.reduce((a, b) => (gap(b.heldOutLoss) < gap(a.heldOutLoss) ? b : a));
      assert.equal(r.lr, best.lr);
      assert.equal(r.heldOutLoss, best.heldOutLoss);
    }
  }
  // full fine-tuning and LoRA move every singular value; the regulariser only adds to SORSA's loss
  assert.ok(res.runs[1].final.deltaSigma > 0 && lora.final.deltaD > 0);
  const f = (m: string) => res.runs.find((r) => r.method === m)!.final;
  assert.equal(
    res.regularisedSmaller,
    f("sorsa").deltaSigma <= 0.5 * Math.min(f("lora").deltaSigma, f("full").deltaSigma) &&
      f("sorsa").deltaD <= 0.5 * Math.min(f("lora").deltaD, f("full").deltaD),
  );
  const w2 = (a: number, b: number) => a >= b / 2 && a <= 2 * b;
  assert.equal(
    res.unregularisedLikeLora,
    w2(f("sorsa-unreg").deltaSigma, f("lora").deltaSigma) && w2(f("sorsa-unreg").deltaD, f("lora").deltaD),
  );
  const losses = res.runs.map((r) => r.heldOutLoss);
  assert.equal(res.lossSpread, Math.max(...losses) / Math.min(...losses));
  const halves = f("sorsa").deltaSigma <= 0.5 * Math.min(f("lora").deltaSigma, f("full").deltaSigma) ||
    f("sorsa").deltaD <= 0.5 * Math.min(f("lora").deltaD, f("full").deltaD);
  const verdict = res.regularisedSmaller && res.unregularisedLikeLora && res.lossSpread <= 1.25
    ? "reproduced"
    : halves || res.unregularisedLikeLora
    ? "partly"
    : "not";
  assert.equal(res.verdict, verdict);
  assert.deepEqual(verdictOf(res.markdown), [verdict]);
  assert.equal(seriesCount(res.plots["exp3_sorsa_drift_steps.svg"]), 10);
  // the per-module table names every module once: attention's and the MLP's c_proj are told apart
  const rows = [...res.markdown.matchAll(/^\| `(h\d[^`]*)`/gm)].map((m) => m[1]);
  assert.equal(rows.length, res.paths.length);
  assert.equal(new Set(rows).size, rows.length, rows.join(", "));
  assert.ok(rows.includes("h0.attn.c_proj") && rows.includes("h0.mlp.c_proj"), rows.join(", "));
  // one panel per method, each module its own legend entry and every (module, measured step) a marker, as the
  // paper's Figure 2 tells the layers apart; the one-panel scatter cannot
  for (const r of res.runs) {
    const svg = res.plots[`exp3_sorsa_drift_${r.method}.svg`];
    assert.ok(svg, r.method);
    for (const p of res.paths) {
      assert.ok(svg.includes(`>${p.replace(/^transformer\.h\./, "h")}<`), p);
    }
    assert.ok(res.markdown.includes(`](exp3_sorsa_drift_${r.method}.svg)`));
  }
});

Deno.test("lokhCascade: k = 2 is the two-factor adapter; budgets, ranks and errors support the verdict", () => {
  const res = lokhCascade({ size: 16, factors: [2, 4], budgets: [96, 192], iterations: 300 });
  for (const c of res.checks) assert.ok(c.ok && c.difference <= 1e-13, `${c.check}: ${c.difference}`);
  assert.ok(res.checks.some((c) => c.check.startsWith("k = 2 and the default")));
  for (const f of res.fits) {
    assert.ok(f.params <= f.budget, `${f.method} at ${f.budget}: ${f.params}`);
    assert.ok(f.rank <= f.rankBound, `${f.target} ${f.method} at ${f.budget}: rank ${f.rank} > ${f.rankBound}`);
    assert.ok(f.error >= 0 && f.error < 1.0001, `${f.method}: ${f.error}`);
  }
  const fit = (t: string, b: number, m: string) =>
    res.fits.find((f) => f.target === t && f.budget === b && f.method === m)!;
  // LoRA at budget 192 on 16 × 16: r = 6; LoKH k = 2 (out 4·4): r = 4, rank min(16, 16) = 16 reached
  assert.equal(fit("spectrum", 192, "LoRA").rank, 6);
  assert.equal(fit("spectrum", 192, "LoKH k=2").params, 4 * (4 + 4 + 2 * 16));
  assert.equal(fit("spectrum", 192, "LoKH k=2").rank, 16);
  // LoRA reaches the Eckart–Young optimum on the spectrum target σᵢ = 1/√i
  const h = (a: number, b: number) =>
    Array.from({ length: b - a }, (_, i) => 1 / (a + i + 1)).reduce((x, y) => x + y, 0);
  assert.ok(Math.abs(fit("spectrum", 192, "LoRA").error - Math.sqrt(h(6, 16) / h(0, 16))) < 1e-3);
  // the Khatri–Rao target is the k = 2 cascade's own structure: representable at r = 4, fitted
  assert.ok(fit("khatri-rao", 192, "LoKH k=2").error < 1e-3);
  assert.ok(res.lokhBetterOnKhatriRao.includes(192));
  const lokhRanks = (b: number) =>
    res.fits.filter((f) => f.target === "spectrum" && f.budget === b && f.method.startsWith("LoKH"));
  assert.equal(
    res.higherRank,
    [96, 192].every((b) => lokhRanks(b).some((f) => f.rank > fit("spectrum", b, "LoRA").rank)),
  );
  assert.equal(res.verdict, res.higherRank ? "reproduced" : "partly");
  assert.deepEqual(verdictOf(res.markdown), [res.verdict]);
  assert.deepEqual(Object.keys(res.plots).sort(), ["exp6_lokh_khatri_rao.svg", "exp6_lokh_spectrum.svg"]);
});

Deno.test("runReproductions: experiments 1 and 3 on a given model; the demo transformer only when one needs it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reproduce_test_demo_" });
  try {
    const lines: string[] = [];
    const summary = await runReproductions({
      out: dir,
      quick: true,
      only: [1, 3],
      demo: tinyDemo(),
      progress: { write: (s) => lines.push(s), isTerminal: false },
    });
    assert.deepEqual(summary.map((s) => s.id), [1, 3]);
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, [
      "exp1_stable_rank.svg",
      "exp1_stable_rank_training.svg",
      "exp3_sorsa_drift.svg",
      "exp3_sorsa_drift_full.svg",
      "exp3_sorsa_drift_lora.svg",
      "exp3_sorsa_drift_pissa.svg",
      "exp3_sorsa_drift_sorsa-unreg.svg",
      "exp3_sorsa_drift_sorsa.svg",
      "exp3_sorsa_drift_steps.svg",
      "report.md",
    ], "no base-model folder: the given model is used");
    const report = await readFile(`${dir}/report.md`, "utf8");
    assert.ok(report.includes("## 1. PoLAR: the stable rank") && report.includes("## 3. SORSA"));
    assert.ok(report.includes("a tiny random GPT-2 (test)"));
    assert.ok(lines.some((l) => l.startsWith("experiment 1")) && lines.some((l) => l.startsWith("experiment 3")));
    assert.ok(!lines.some((l) => l.startsWith("demo transformer")));
    // experiment 6 alone needs no model: nothing is pretrained
    await runReproductions({ out: dir, quick: true, only: [6], progress: { write: () => {}, isTerminal: false } });
    assert.ok(!(await readdir(dir)).includes("base-model"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reproduce/main.ts: --only runs the experiments named, and refuses a number that is none", async () => {
  for (const bad of ["7", "0", "2,x", "1.5", ""]) {
    if (bad === "") assert.equal(parseOptions(["--only", bad]).only, undefined, "an empty --only: every experiment");
    else assert.throws(() => parseOptions(["--only", bad]), /--only.*1, 2, 3, 4, 5, 6/, bad);
  }
  await assert.rejects(() => runReproductions({ out: "/tmp/never-written", only: [7] }), DomainError);
  await assert.rejects(() => runReproductions({ out: "/tmp/never-written", only: [] }), DomainError);
  const dir = await Deno.makeTempDir({ prefix: "reproduce_test_only_" });
  const said: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = console.error = (...a: unknown[]) => void said.push(a.join(" "));
  try {
    assert.equal(await main(["--only", "9", "--out", dir]), 2);
    assert.match(said.join("\n"), /--only.*'9'/);
    assert.equal(await main(["--quick", "--only", "5", "--out", dir]), 0);
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ["exp5_hadamard_starts.svg", "exp5_ridge.svg", "exp5_sweeps.svg", "report.md"]);
    const report = await readFile(`${dir}/report.md`, "utf8");
    assert.ok(report.includes("`deno task reproduce --quick --only 5`"));
    assert.ok(report.includes("## 5. The survey's decompositions") && !report.includes("## 4."));
  } finally {
    [console.log, console.error] = [log, error];
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reproduce/main.ts: an --out that cannot be written is an error with the fix, not a stack trace", async () => {
  const tmp = await Deno.makeTempDir({ dir: "/tmp" });
  const said: string[] = [];
  const error = console.error;
  console.error = (...a: unknown[]) => void said.push(a.join(" "));
  try {
    await Deno.writeTextFile(`${tmp}/a-file`, "not a folder");
    assert.equal(await main(["--quick", "--out", `${tmp}/a-file/sub`]), 1);
    assert.match(said.join("\n"), /error: ENOTDIR.*a-file\/sub.*; pass --out a folder you can write/);
  } finally {
    console.error = error;
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("polarStableRank: a tied lm_head named in the target is measured, not dropped", async () => {
  const demo = tinyDemo();
  const res = await polarStableRank({
    demo,
    target: "c_attn,lm_head",
    ranks: [2],
    steps: 4,
    batch: 8,
    heldOut: 16,
    every: 2,
  });
  assert.deepEqual(res.paths, ["transformer.h.0.attn.c_attn", "lm_head"]);
  for (const r of res.rows) {
    assert.ok(r.stableRanks.every((s) => s >= 1 && s <= 2 + 1e-9), `${r.method}: ${r.stableRanks}`);
  }
});

Deno.test("polarStableRank: the verdict sets our LoRA medians beside the paper's only at its ranks, above or below from the numbers", async () => {
  const res = await polarStableRank({ demo: tinyDemo(), ranks: [2, 16], steps: 6, batch: 8, heldOut: 16, every: 3 });
  const verdict = res.markdown.split("\n").find((l) => l.startsWith("**Verdict"))!;
  // the paper's LoRA figures are 1.06 at r = 32 and 1.3–1.5 at r = 16; the verdict once called them "lower still"
  // whatever our numbers were (at r = 2 ours is at most 2, and may well be below 1.06)
  assert.doesNotMatch(verdict, /lower still/);
  const m16 = res.rows.find((r) => r.method === "lora" && r.rank === 16)!.median;
  const where = m16 > 1.5 ? "above" : m16 < 1.3 ? "below" : "within";
  assert.match(verdict, new RegExp(`at r = 16 ours, [0-9.]+, is ${where} its GLUE median 1\\.3–1\\.5`), verdict);
  assert.doesNotMatch(verdict, /at r = 32 ours/, "no r = 32 run, so no comparison with the paper's 1.06");
});

Deno.test("polarConvergence: the verdict's account of the tails and final errors follows the runs, not a fixed story", () => {
  const res = polarConvergence({ size: 12, targetRank: 2, ranks: [4], kappas: [1, 100], iterations: 300 });
  const run = (m: ConvergenceRun["method"], k: number) => res.runs.find((r) => r.method === m && r.kappa === k)!;
  const verdict = res.markdown.split("\n").find((l) => l.startsWith("**Verdict"))!;
  const set = (ks: number[]) => (ks.length ? `κ ∈ \\{${ks.join(", ")}\\}` : "no κ");
  const notThere = [1, 100].filter((k) => run("lora", k).iterationsToThreshold === undefined);
  const polarTail = (k: number) => Math.max(-run("polar-rgd", k).tailSlope, -run("polar-landing", k).tailSlope);
  const slower = notThere.filter((k) => -run("lora", k).tailSlope < polarTail(k));
  // at κ = 100 LoRA's error falls faster over the last half than PoLAR's: the report used to call every LoRA tail
  // "the slow tail of over-parameterised gradient descent" regardless
  assert.ok(notThere.includes(100) && !slower.includes(100), "the case this test is about");
  assert.match(verdict, new RegExp(`LoRA's tail is the slower for ${set(slower)}`));
  assert.match(verdict, /and the faster for κ ∈ \{100\}/);
  const neither = [1, 100].filter((k) =>
    ["lora", "polar-rgd", "polar-landing"].every((m) =>
      run(m as ConvergenceRun["method"], k).iterationsToThreshold === undefined
    )
  );
  const polarFinal = (k: number) =>
    Math.min(run("polar-rgd", k).errors.at(-1)!, run("polar-landing", k).errors.at(-1)!);
  const loraLower = neither.filter((k) => run("lora", k).errors.at(-1)! < polarFinal(k));
  const polarLower = neither.filter((k) => polarFinal(k) < run("lora", k).errors.at(-1)!);
  assert.match(
    verdict,
    new RegExp(`lower final error was LoRA's for ${set(loraLower)} and PoLAR's for ${set(polarLower)}`),
  );
});

Deno.test("driftVerdict: the regulariser halving one measure is 'partly', not 'not' (the full run's numbers)", () => {
  const d = (deltaSigma: number, deltaD: number) => ({ deltaSigma, deltaD });
  // the README's full run: SORSA (γ = 0.1) keeps ΔΣ at a quarter of LoRA's, but not ΔD; γ = 0 drifts like PiSSA
  const finals = {
    sorsa: d(0.029, 0.66),
    lora: d(0.12, 0.79),
    full: d(0.074, 0.8),
    "sorsa-unreg": d(0.12, 0.26),
    pissa: d(0.11, 0.35),
  };
  const v = driftVerdict(finals, 1.3);
  assert.deepEqual(v.regularisedHalves, { deltaSigma: true, deltaD: false });
  assert.equal(v.regularisedSmaller, false);
  assert.equal(v.unregularisedLikeLora, false);
  assert.equal(v.verdict, "partly");
  // neither measure halved and γ = 0 unlike LoRA: not
  assert.equal(driftVerdict({ ...finals, sorsa: d(0.06, 0.66) }, 1.3).verdict, "not");
  // both halved, γ = 0 like LoRA, similar losses: reproduced; the same at a loose loss spread: partly
  const all = { ...finals, sorsa: d(0.02, 0.3), "sorsa-unreg": d(0.1, 0.7) };
  assert.equal(driftVerdict(all, 1.1).verdict, "reproduced");
  assert.equal(driftVerdict(all, 1.6).verdict, "partly");
});

Deno.test("sorsaDrift: the report's account of how fast ΔD moves gives the numbers and follows them", async () => {
  const res = await sorsaDrift({ demo: tinyDemo(), r: 2, steps: 8, batch: 8, heldOut: 16, every: 4, lrFactors: [1] });
  const firstD = (m: string) =>
    median(res.runs.find((x) => x.method === m)!.points.filter((p) => p.step === 4).map((p) => p.deltaD));
  const para = res.markdown.split("\n").find((l) => l.startsWith("The pretrained matrices'"))!;
  // it said "ΔD rises steeply within a few steps" for LoRA and full fine-tuning, and not for PiSSA and SORSA, as a
  // fixed sentence with no numbers behind it
  assert.match(para, new RegExp(`After 4 steps the median ΔD is ${fmt(firstD("lora"), { digits: 2 })} for LoRA, `));
  assert.match(para, new RegExp(`${fmt(firstD("sorsa"), { digits: 2 })} for SORSA, γ > 0`));
  const steep = Math.min(firstD("lora"), firstD("full")) >
    Math.max(firstD("pissa"), firstD("sorsa-unreg"), firstD("sorsa"));
  assert.equal(/have moved ΔD further than PiSSA's and SORSA's/.test(para), steep, para);
});

Deno.test("lokhCascade: a budget no LoKH fits is a DomainError naming the smallest, before any fit", () => {
  // on 16 × 16 with k = 2 (out 4·4) LoKH needs r(4 + 4 + 2·16) = 40 parameters at r = 1; a budget of 24 fits no LoKH
  // and used to run every fit and then fail with "TypeError: Reduce of empty array with no initial value"
  let progressed = 0;
  assert.throws(
    () => lokhCascade({ size: 16, factors: [2], budgets: [96, 24], iterations: 20, onProgress: () => progressed++ }),
    (e: unknown) =>
      e instanceof DomainError && /budget 24 below the smallest LoKH configuration/.test(e.message) &&
      /give budgets of at least 40/.test(e.message),
  );
  assert.equal(progressed, 0, "refused before the identity checks and the fits");
  assert.throws(() => lokhCascade({ size: 16, factors: [2], budgets: [] }), DomainError);
});

Deno.test("hraIdentity: sizes and reflections with no pair r ≤ n are a DomainError, not a verdict from no case", () => {
  // it returned "reproduced" with "the largest difference over 0 cases ... is −∞"
  assert.throws(
    () => hraIdentity({ sizes: [4], reflections: [8] }),
    (e: unknown) => e instanceof DomainError && /no pair with r ≤ n/.test(e.message),
  );
  assert.equal(hraIdentity({ sizes: [4, 8], reflections: [8] }).rows.length, 1, "r = 8 at n = 8 is checked");
});

Deno.test("polarConvergence: no κ, no rank or a κ below 1 is a DomainError, not a verdict", () => {
  // with kappas: [] it returned "reproduced" ("PoLAR reached 1e-6 in fewer iterations than LoRA for no κ of {}")
  const bad = (o: Parameters<typeof polarConvergence>[0], re: RegExp) =>
    assert.throws(() => polarConvergence(o), (e: unknown) => e instanceof DomainError && re.test(e.message));
  bad({ size: 8, targetRank: 2, kappas: [], iterations: 10 }, /must each name at least one value/);
  bad({ size: 8, targetRank: 2, ranks: [], iterations: 10 }, /must each name at least one value/);
  bad({ size: 8, targetRank: 2, kappas: [10, 0.5], iterations: 10 }, /at least 1, got 0\.5/);
});

Deno.test("polarStableRank: no rank is a DomainError, not a verdict", async () => {
  // ranks: [] returned "reproduced": LoRA "below r/4 at every rank" and PoLAR higher "at every rank" of none
  await assert.rejects(
    () => polarStableRank({ demo: tinyDemo(), ranks: [], steps: 2, batch: 4, heldOut: 8 }),
    (e: unknown) => e instanceof DomainError && /ranks must name at least one/.test(e.message),
  );
});

Deno.test("hraLambdaSweep: no λ is a DomainError, not a trade-off from the Stiefel run alone", () => {
  // lambdas: [] returned "reproduced": one run (Stiefel) is trivially monotone in both directions
  assert.throws(
    () => hraLambdaSweep({ size: 8, r: 2, tokens: 16, steps: 5, lambdas: [] }),
    (e: unknown) => e instanceof DomainError && /lambdas must name at least one/.test(e.message),
  );
});

Deno.test("sorsaDrift: an empty or non-positive learning-rate sweep is a DomainError before any training", async () => {
  // lrFactors: [] trained LoRA and then failed with "TypeError: Reduce of empty array with no initial value"
  for (const lrFactors of [[], [1, 0]]) {
    await assert.rejects(
      () => sorsaDrift({ demo: tinyDemo(), r: 2, steps: 2, batch: 4, heldOut: 8, every: 1, lrFactors }),
      (e: unknown) => e instanceof DomainError && /lrFactors must be at least one positive multiplier/.test(e.message),
    );
  }
});
