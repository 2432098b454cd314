import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import {
  type ConvergenceRun,
  decompositions,
  hraIdentity,
  hraLambdaSweep,
  iterationsTo,
  polarConvergence,
  runReproductions,
} from "../reproduce/mod.ts";
import { parseOptions, usage } from "../reproduce/main.ts";

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
  assert.equal(parseOptions(["-h"]).help, true);
  assert.throws(() => parseOptions(["--fast"]), /fast/);
  const text = usage();
  for (
    const s of [
      "--out <value>",
      "--quick",
      "-h, --help",
      "default ./out/reproduce",
      "2. PoLAR",
      "4. HRA",
      "5. The survey",
    ]
  ) {
    assert.ok(text.includes(s), s);
  }
});
