import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import {
  fmt,
  formatDuration,
  formatTick,
  linearAxis,
  linePlot,
  logAxis,
  markdownTable,
  niceStep,
  progress,
  scatterPlot,
  textTable,
  textWidth,
  writeFileAtomic,
} from "../report/mod.ts";

// ---- a tiny XML reader: enough to check well-formedness and read elements back ----

interface Elem {
  name: string;
  attrs: Record<string, string>;
  children: Elem[];
  text: string;
}

const ENTITY = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

/** Parses `xml`, throwing on anything not well-formed: unbalanced tags, bad attributes, raw `<` or `&`. */
function parseXml(xml: string): Elem {
  const root: Elem = { name: "#root", attrs: {}, children: [], text: "" };
  const stack = [root];
  let i = 0;
  const checkText = (t: string, where: string) => {
    if (t.includes("<") || t.replace(ENTITY, "").includes("&")) throw new Error(`unescaped text ${where}: ${t}`);
  };
  const unescape = (t: string) =>
    t.replace(
      ENTITY,
      (_, e) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" } as Record<string, string>)[e] ?? "?",
    );
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const chunk = xml.slice(i, lt < 0 ? xml.length : lt);
    checkText(chunk, `at ${i}`);
    stack.at(-1)!.text += unescape(chunk);
    if (lt < 0) break;
    const gt = xml.indexOf(">", lt);
    if (gt < 0) throw new Error(`unclosed tag at ${lt}`);
    const tag = xml.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith("?") || tag.startsWith("!--")) continue;
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (!open || open.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const m = /^([A-Za-z_][\w:.-]*)/.exec(body);
    if (!m) throw new Error(`bad tag name in <${tag}>`);
    const attrs: Record<string, string> = {};
    let rest = body.slice(m[1].length);
    const attrRe = /^\s+([A-Za-z_][\w:.-]*)="([^"]*)"/;
    for (let a = attrRe.exec(rest); a; a = attrRe.exec(rest)) {
      if (a[1] in attrs) throw new Error(`duplicate attribute ${a[1]} in <${m[1]}>`);
      checkText(a[2], `in attribute ${a[1]}`);
      attrs[a[1]] = unescape(a[2]);
      rest = rest.slice(a[0].length);
    }
    if (rest.trim() !== "") throw new Error(`malformed attributes in <${tag}>: '${rest}'`);
    const el: Elem = { name: m[1], attrs, children: [], text: "" };
    stack.at(-1)!.children.push(el);
    if (!selfClosing) stack.push(el);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  const tops = root.children;
  if (tops.length !== 1 || tops[0].name !== "svg") throw new Error("expected one <svg> root element");
  return tops[0];
}

function all(e: Elem, pred: (e: Elem) => boolean, out: Elem[] = []): Elem[] {
  if (pred(e)) out.push(e);
  for (const c of e.children) all(c, pred, out);
  return out;
}
const byClass = (root: Elem, cls: string) => all(root, (e) => (e.attrs.class ?? "").split(" ").includes(cls));
const group = (root: Elem, cls: string) => byClass(root, cls)[0];
const allText = (e: Elem): string => e.text + e.children.map(allText).join("");

/** The path's pieces: each "M…" run as a list of [x, y] points. */
function pieces(d: string): [number, number][][] {
  return d.split("M").filter((s) => s).map((run) =>
    run.replace(/l0 0$/, "").split("L").map((p) => p.trim().split(/\s+/).map(Number) as [number, number])
  );
}

// ---- tests ----

Deno.test("parseXml rejects what is not well-formed (the checker itself can fail)", () => {
  assert.throws(() => parseXml(`<svg><g></svg>`));
  assert.throws(() => parseXml(`<svg><text>a < b</text></svg>`));
  assert.throws(() => parseXml(`<svg><text>a & b</text></svg>`));
  assert.throws(() => parseXml(`<svg x=1></svg>`));
  assert.equal(parseXml(`<svg a="1"><text>a &amp; b</text></svg>`).children[0].text, "a & b");
});

Deno.test("linePlot: well-formed, one path per series, escaped text, legend, reference line", () => {
  const svg = linePlot({
    title: `Loss <train> & "val"`,
    xLabel: "step",
    yLabel: "loss",
    series: [
      { name: "a<b", x: [0, 1, 2], y: [3, 2, 1] },
      { name: "c&d", x: [0, 1, 2], y: [1, 2, 3], dashed: true },
      { name: "e", x: [0, 1], y: [2, 2] },
    ],
    hlines: [{ y: 2.5, label: "paper's 2.5" }],
  });
  const root = parseXml(svg);
  assert.equal(root.attrs.width, "720");
  assert.equal(root.attrs.height, "440");
  const paths = byClass(root, "series");
  assert.equal(paths.length, 3);
  assert.deepEqual(paths.map((p) => p.attrs["data-name"]), ["a<b", "c&d", "e"]);
  assert.ok(svg.includes("Loss &lt;train&gt; &amp; &quot;val&quot;"));
  assert.ok(paths[1].attrs["stroke-dasharray"], "dashed series has a dash pattern");
  assert.equal(paths[0].attrs["stroke-dasharray"], undefined);
  const texts = all(root, (e) => e.name === "text").map(allText);
  for (const t of ["a<b", "c&d", "e", "step", "loss", "paper's 2.5"]) assert.ok(texts.includes(t), t);
  assert.equal(byClass(root, "hline").length, 1);
  // every drawn point lies inside the plot area (the frame rect is the clip path)
  const clip = all(root, (e) => e.name === "clipPath")[0].children[0].attrs;
  const [l, t, w, h] = [clip.x, clip.y, clip.width, clip.height].map(Number);
  for (const p of paths) {
    for (const [x, y] of pieces(p.attrs.d).flat()) assert.ok(x >= l && x <= l + w && y >= t && y <= t + h);
  }
});

Deno.test("linePlot: NaN and Infinity split the path into pieces, counted in a footnote", () => {
  const svg = linePlot({ series: [{ name: "s", x: [0, 1, 2, 3, 4, 5, 6], y: [1, 2, NaN, 3, 4, Infinity, 5] }] });
  const root = parseXml(svg);
  const d = byClass(root, "series")[0].attrs.d;
  assert.ok(!/NaN|Infinity/.test(d), d);
  const runs = pieces(d);
  assert.deepEqual(runs.map((r) => r.length), [2, 2, 1]);
  assert.ok(d.endsWith("l0 0"), "a lone last point is drawn as a dot");
  assert.ok(svg.includes("2 NaN/infinite values left as gaps"));
});

Deno.test("linePlot: log axes put decades at equal spacing and data on its decade", () => {
  const x = [1, 10, 100, 1000, 0, -5], y = [1e-6, 1e-4, 1e-2, 1, 0.5, 0.5];
  const root = parseXml(linePlot({ series: [{ name: "s", x, y }], logX: true, logY: true }));
  const ticksOf = (axis: string, coord: string) =>
    new Map(
      group(root, axis).children.filter((e) => e.attrs.class === "tick major").map((e) => [
        Number(e.attrs["data-value"]),
        Number(e.attrs[coord]),
      ]),
    );
  const xt = ticksOf("x-axis", "x1"), yt = ticksOf("y-axis", "y1");
  const xDec = [1, 10, 100, 1000].map((v) => xt.get(v)!),
    yDec = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1].map((v) => yt.get(v)!);
  for (const arr of [xDec, yDec]) {
    assert.ok(arr.every(Number.isFinite), `all decades present: ${arr}`);
    const gaps = arr.slice(1).map((v, i) => v - arr[i]);
    for (const g of gaps) assert.ok(Math.abs(g - gaps[0]) < 0.02, `equal decade spacing: ${gaps}`);
  }
  assert.ok(yDec[1] < yDec[0], "y grows upwards");
  // 2…9 × 10ᵏ minor ticks sit at log10(m) of a decade
  const minor = group(root, "x-axis").children.filter((e) => e.attrs.class === "tick minor");
  const at = (v: number) => Number(minor.find((e) => Number(e.attrs["data-value"]) === v)!.attrs.x1);
  assert.ok(Math.abs(at(20) - (xDec[1] + Math.log10(2) * (xDec[2] - xDec[1]))) < 0.02);
  // the data points land on their decade ticks; the two non-positive x are skipped, not drawn
  const pts = pieces(byClass(root, "series")[0].attrs.d).flat();
  assert.equal(pts.length, 4);
  pts.forEach(([px, py], i) => {
    assert.ok(Math.abs(px - xDec[i]) < 0.02 && Math.abs(py - yDec[2 * i]) < 0.02, `point ${i}`);
  });
  assert.ok(allText(root).includes("2 non-positive values skipped (log axes)"));
  const labels = group(root, "tick-labels").children.map(allText);
  for (const l of ["1", "10", "100", "1k", "1e-6", "1e-4", "0.01"]) assert.ok(labels.includes(l), l);
});

Deno.test("linePlot: more series than colours get distinct colour/dash/marker styles", () => {
  const series = Array.from({ length: 12 }, (_, k) => ({ name: `s${k}`, x: [0, 1], y: [k, k + 1] }));
  const root = parseXml(linePlot({ series }));
  const paths = byClass(root, "series");
  const styles = paths.map((p) => `${p.attrs.stroke}|${p.attrs["stroke-dasharray"] ?? ""}`);
  assert.equal(new Set(styles).size, 12);
});

Deno.test("linePlot: long legend names move the legend below the plot", () => {
  const long = "a series name far too long to sit beside the plot without squeezing it";
  const root = parseXml(linePlot({ series: [{ name: long, x: [0, 1], y: [0, 1] }] }));
  const clip = all(root, (e) => e.name === "clipPath")[0].children[0].attrs;
  const legendText = all(root, (e) => e.name === "text" && allText(e) === long)[0];
  assert.ok(Number(legendText.attrs.y) > Number(clip.y) + Number(clip.height), "legend below the plot area");
  assert.ok(Number(clip.x) + Number(clip.width) > 600, "the plot keeps the width");
});

Deno.test("scatterPlot: groups in the legend, one marker per drawable point, labels", () => {
  const svg = scatterPlot({
    title: "orthogonality",
    logX: true,
    points: [
      { x: 0.5, y: 1, label: "λ = 0", group: "penalty" },
      { x: 0.01, y: 2, label: "λ = 1e-2", group: "penalty" },
      { x: 1e-15, y: 3, label: "Stiefel", group: "exact" },
      { x: 0, y: 3, label: "dropped", group: "exact" },
    ],
  });
  const root = parseXml(svg);
  assert.equal(group(root, "points").children.length, 3);
  const colours = new Set(group(root, "points").children.map((e) => e.attrs.fill));
  assert.equal(colours.size, 2);
  const texts = all(root, (e) => e.name === "text").map(allText);
  for (const t of ["penalty", "exact", "λ = 0", "λ = 1e-2", "Stiefel"]) assert.ok(texts.includes(t), t);
  assert.ok(!texts.includes("dropped"));
  assert.ok(svg.includes("1 non-positive value skipped (log axis)"));
});

Deno.test("scatterPlot: labels cover no reference line, no point and no other label (points on the line, clustered)", () => {
  // the study's accuracy plot: methods that learnt nothing sit on the base model's line, some at almost the same x
  const xs = [512, 624, 2048, 2080, 2056, 960, 1024, 2432, 384, 101888];
  const ys = [0, 0, 0.002, 0.002, 0.1, 0.29, 0.11, 0.105, 0.33, 1];
  const svg = scatterPlot({
    logX: true,
    hlines: [{ y: 0, label: "base model" }, { y: 0.1, label: "a second line through points" }],
    points: xs.map((x, i) => ({
      x,
      y: ys[i],
      label: ["vera", "lokh", "loha", "polar", "pissa"][i] ?? `m${i}`,
      group: `g${i % 3}`,
    })),
  });
  const root = parseXml(svg);
  const lines = byClass(root, "hline").map((e) => Number(e.attrs.y1));
  const points = group(root, "points").children.map((e) => [Number(e.attrs.cx), Number(e.attrs.cy)]);
  const labels = [...byClass(root, "point-label"), ...byClass(root, "hline-label")].map((e) => {
    const x = Number(e.attrs.x), y = Number(e.attrs.y), w = textWidth(allText(e), Number(e.attrs["font-size"]));
    return { text: allText(e), x0: x, x1: x + w, y0: y - 9, y1: y + 2 };
  });
  assert.equal(lines.length, 2);
  assert.equal(points.length, xs.length);
  assert.equal(labels.length, xs.length + 2);
  for (const b of labels) {
    for (const y of lines) {
      assert.ok(!(b.y0 < y && y < b.y1), `'${b.text}' [${b.y0}, ${b.y1}] crosses the line at ${y}`);
    }
    for (const [cx, cy] of points) {
      assert.ok(!(b.x0 < cx && cx < b.x1 && b.y0 < cy && cy < b.y1), `'${b.text}' covers the point (${cx}, ${cy})`);
    }
    for (const o of labels) {
      if (o === b) continue;
      const meet = b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1;
      assert.ok(!meet, `'${b.text}' overlaps '${o.text}'`);
    }
  }
});

Deno.test("axes: nice steps, compact labels, short log axes label 2 and 5", () => {
  assert.equal(niceStep(0.9, 5), 0.2);
  assert.equal(niceStep(7, 5), 1);
  assert.equal(niceStep(1.08, 5), 0.2);
  assert.equal(niceStep(3000, 6), 500);
  assert.deepEqual(linearAxis(0, 1).ticks.map((t) => t.label), ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
  assert.deepEqual(linearAxis(0, 25000, 5).ticks.map((t) => t.label), ["0", "5k", "10k", "15k", "20k", "25k"]);
  assert.deepEqual(
    [1e-6, 2.5e-5, 0.001, 0.01, 0.3, 12, 999, 1000, 12000, 1.5e6, -0.25, 0].map(formatTick),
    ["1e-6", "2.5e-5", "0.001", "0.01", "0.3", "12", "999", "1k", "12k", "1.5M", "−0.25", "0"],
  );
  assert.deepEqual(logAxis(1, 100).ticks.filter((t) => t.label).map((t) => t.label), [
    "1",
    "2",
    "5",
    "10",
    "20",
    "50",
    "100",
  ]);
  const wide = logAxis(1e-30, 1, 6);
  const labelled = wide.ticks.filter((t) => t.label);
  assert.ok(labelled.length <= 7 && labelled.length >= 4, `${labelled.length} labels`);
  assert.equal(wide.minor.length, 0);
});

Deno.test("fmt: significant digits, exponents, separators, missing values", () => {
  assert.equal(fmt(1234567), "1,234,567");
  assert.equal(fmt(-1234), "-1,234");
  assert.equal(fmt(0.0123456), "0.01235");
  assert.equal(fmt(3.14159, { digits: 3 }), "3.14");
  assert.equal(fmt(1.5), "1.5");
  assert.equal(fmt(1.23456e-7), "1.235e-7");
  assert.equal(fmt(2.2e-16), "2.2e-16");
  assert.equal(fmt(6.02e23), "6.02e23");
  assert.equal(fmt(1234567.5), "1.235e6");
  assert.equal(fmt(0), "0");
  assert.equal(fmt(NaN), "–");
  assert.equal(fmt(undefined), "–");
  assert.equal(fmt(null), "–");
  assert.equal(fmt(-Infinity), "−∞");
  assert.equal(fmt("text"), "text");
  assert.equal(fmt(12345678901234567890n), "12,345,678,901,234,567,890");
});

const cols = [
  { key: "name", title: "Method" },
  { key: "n", title: "Steps" },
  { key: "err", title: "Error" },
  { key: "note", title: "Note", format: (v: unknown) => (v ? String(v).toUpperCase() : "") },
];
const rows = [
  { name: "LoRA", n: 12000, err: 0.0123456, note: "slow" },
  { name: "PoLAR | landing", n: 35, err: 1.5e-9 },
  { name: "HRA", err: NaN, note: "x" },
];

Deno.test("textTable: numbers right-aligned, text left-aligned, formatted", () => {
  const lines = textTable(cols, rows).trimEnd().split("\n");
  assert.deepEqual(lines, [
    "Method            Steps    Error  Note",
    "---------------  ------  -------  ----",
    "LoRA             12,000  0.01235  SLOW",
    "PoLAR | landing      35   1.5e-9",
    "HRA                   –        –  X",
  ]);
  assert.equal(textTable([{ key: "v", title: "v", align: "left" }], [{ v: 1 }, { v: 100 }]), "v\n---\n1\n100\n");
});

Deno.test("markdownTable: header, alignment row, escaped cells", () => {
  assert.equal(
    markdownTable(cols, rows),
    [
      "| Method           |  Steps |   Error | Note |",
      "| ---------------- | -----: | ------: | ---- |",
      "| LoRA             | 12,000 | 0.01235 | SLOW |",
      "| PoLAR \\| landing |     35 |  1.5e-9 |      |",
      "| HRA              |      – |       – | X    |",
      "",
    ].join("\n"),
  );
  assert.ok(markdownTable([{ key: "a", title: "a" }], [{ a: "x\ny" }]).includes("| x y |"));
});

Deno.test("progress: rate and time left under a fake clock, throttled plain lines", () => {
  let t = 1000;
  const out: string[] = [];
  const p = progress({
    label: "exp 2",
    total: 200,
    now: () => t,
    write: (s) => out.push(s),
    isTerminal: false,
    every: 5,
  });
  t += 2000;
  p.tick(10, { loss: 0.0123456, phase: "lora" });
  assert.deepEqual(out, ["exp 2  10/200 (5%)  loss=0.01235  phase=lora  5 steps/s  elapsed 2.0s  left 38s\n"]);
  t += 1000;
  p.tick(20);
  assert.equal(out.length, 1, "no line within `every` seconds");
  t += 4000; // 7 s in, 50 steps: 7.14 steps/s, 150 left → 21 s
  p.tick(50, { loss: 1e-7 });
  assert.equal(out[1], "exp 2  50/200 (25%)  loss=1e-7  7.14 steps/s  elapsed 7.0s  left 21s\n");
  t += 193000; // 200 s in
  p.tick(100);
  assert.equal(out[2], "exp 2  100/200 (50%)  2 s/step  elapsed 3:20  left 3:20\n");
  p.done({ loss: 2e-9 });
  assert.equal(out[3], "exp 2  done 100/200 (50%)  loss=2e-9  2 s/step  elapsed 3:20\n");
});

Deno.test("progress: on a terminal the line is rewritten in place", () => {
  let t = 0;
  const out: string[] = [];
  const p = progress({ label: "fit", total: 4, now: () => t, write: (s) => out.push(s), isTerminal: true });
  for (let i = 1; i <= 4; i++) (t += 500), p.tick(i);
  p.done();
  assert.equal(out.length, 5);
  assert.ok(out.slice(0, 4).every((s) => s.startsWith("\r") && s.endsWith("\x1b[K") && !s.includes("\n")));
  assert.equal(out[1], "\rfit  2/4 (50%)  2 steps/s  elapsed 1.0s  left 1.0s\x1b[K");
  assert.equal(out[4], "\rfit  done 4/4 (100%)  2 steps/s  elapsed 2.0s\x1b[K\n");
  assert.throws(() => progress({ label: "x", total: -1 }), /total/);
  assert.deepEqual([formatDuration(0), formatDuration(59.9), formatDuration(3600)], ["0.0s", "59s", "1:00:00"]);
});

Deno.test("writeFileAtomic: creates the folder, overwrites whole, leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "report_test_" });
  try {
    const path = `${dir}/a/b/report.md`;
    await writeFileAtomic(path, "first\n");
    await writeFileAtomic(path, "second\n");
    await writeFileAtomic(`${dir}/a/b/bytes.bin`, new Uint8Array([1, 2, 3]));
    assert.equal(await readFile(path, "utf8"), "second\n");
    assert.deepEqual([...await readFile(`${dir}/a/b/bytes.bin`)], [1, 2, 3]);
    assert.deepEqual((await readdir(`${dir}/a/b`)).sort(), ["bytes.bin", "report.md"]);
    // a failed write (the target is a folder) leaves nothing behind either
    await assert.rejects(writeFileAtomic(`${dir}/a`, "x"));
    assert.deepEqual((await readdir(dir)).sort(), ["a"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
