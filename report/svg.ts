/**
 * Line and scatter plots as standalone SVG documents, with no dependencies: nice ticks, log axes
 * with decade and minor ticks, a legend outside the plot area, a colour-blind-safe palette
 * (Okabe–Ito) with dash patterns and markers once the colours run out, gaps at NaN/Infinity,
 * reference lines, labels placed off the data, the reference lines and each other (`labels.ts`),
 * and XML-escaped text. Open the file in a browser or convert it with
 * `rsvg-convert`.
 * @module
 */
import { DomainError, ShapeError } from "../core/errors.ts";
import { type Axis, linearAxis, logAxis, scaleOf, textWidth } from "./axis.ts";
import { type Box, hlineBox, pointLabelPlace, referenceLabelPlace } from "./labels.ts";

/** One line of a line plot: `y[i]` against `x[i]`; a NaN/Infinity (or ≤ 0 on a log axis) breaks it. */
export interface LineSeries {
  /** Name in the legend ("" to leave it out of the legend). */
  readonly name: string;
  /** x values. */
  readonly x: readonly number[];
  /** y values, as many as x. */
  readonly y: readonly number[];
  /** Draw dashed (default: solid, unless the palette has run out of colours). */
  readonly dashed?: boolean;
  /** Colour (default: the palette's next; give the same colour to related series, e.g. one method at two ranks). */
  readonly color?: string;
}

/** A horizontal reference line, e.g. the number from the paper's figure. */
export interface ReferenceLine {
  /** Its height in data units. */
  readonly y: number;
  /** Text written above the line at the right. */
  readonly label: string;
}

/** Options shared by `linePlot` and `scatterPlot`. */
export interface PlotOptions {
  /** Title above the plot (wrapped over up to three lines). */
  readonly title?: string;
  /** x axis label. */
  readonly xLabel?: string;
  /** y axis label (rotated). */
  readonly yLabel?: string;
  /** Log-scale x axis (non-positive x values are skipped and counted in a footnote). */
  readonly logX?: boolean;
  /** Log-scale y axis (non-positive y values are skipped and counted in a footnote). */
  readonly logY?: boolean;
  /** Width in pixels (default 720). */
  readonly width?: number;
  /** Height in pixels (default 440). */
  readonly height?: number;
  /** Horizontal reference lines. */
  readonly hlines?: readonly ReferenceLine[];
}

/** Options of `linePlot`. */
export interface LinePlotOptions extends PlotOptions {
  /** The lines, one `<path>` each. */
  readonly series: readonly LineSeries[];
}

/** One point of a scatter plot. */
export interface ScatterPoint {
  /** x value. */
  readonly x: number;
  /** y value. */
  readonly y: number;
  /** Text written beside the point. */
  readonly label?: string;
  /** Group: points of a group share a colour and marker, and the legend names the groups. */
  readonly group?: string;
}

/** Options of `scatterPlot`. */
export interface ScatterPlotOptions extends PlotOptions {
  /** The points. */
  readonly points: readonly ScatterPoint[];
}

/**
 * Okabe & Ito's colour-blind-safe palette, without its yellow (too faint on white): blue,
 * vermillion, bluish green, orange, reddish purple, sky blue, black.
 */
export const PALETTE: readonly string[] = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000"];
const DASHES = ["", "8 4", "2 3", "10 3 2 3"];
const MARKERS = ["circle", "square", "triangle", "diamond", "cross"] as const;
type Marker = typeof MARKERS[number];

interface Style {
  color: string;
  dash: string;
  marker: Marker;
}

/** Style k: colours first, then each further round of colours with a new dash pattern and marker. */
function styleOf(k: number, dashed = false): Style {
  const round = Math.floor(k / PALETTE.length);
  const dash = DASHES[round % DASHES.length] || (dashed ? DASHES[1] : "");
  return { color: PALETTE[k % PALETTE.length], dash, marker: MARKERS[round % MARKERS.length] };
}

/**
 * Escapes text for XML content and attribute values.
 * @example
 * ```ts
 * import { escapeXml } from "./mod.ts";
 * escapeXml(`a < b & "c"`); // "a &lt; b &amp; &quot;c&quot;"
 * ```
 */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** A pixel coordinate with at most two decimals. */
const px = (v: number): string => String(Math.round(v * 100) / 100);

const FONT = `font-family="DejaVu Sans, Helvetica, Arial, sans-serif"`;

function text(x: number, y: number, s: string, size: number, extra = ""): string {
  return `<text x="${px(x)}" y="${px(y)}" font-size="${size}" ${extra}>${escapeXml(s)}</text>`;
}

function markerSvg(m: Marker, cx: number, cy: number, r: number, color: string, outline = "#ffffff"): string {
  const at = `fill="${color}" stroke="${outline}" stroke-width="0.8"`;
  switch (m) {
    case "circle":
      return `<circle cx="${px(cx)}" cy="${px(cy)}" r="${px(r)}" ${at}/>`;
    case "square":
      return `<rect x="${px(cx - r * 0.9)}" y="${px(cy - r * 0.9)}" width="${px(r * 1.8)}" height="${
        px(r * 1.8)
      }" ${at}/>`;
    case "triangle":
      return `<path d="M${px(cx)} ${px(cy - r * 1.15)}L${px(cx + r * 1.05)} ${px(cy + r * 0.75)}L${px(cx - r * 1.05)} ${
        px(cy + r * 0.75)
      }Z" ${at}/>`;
    case "diamond":
      return `<path d="M${px(cx)} ${px(cy - r * 1.25)}L${px(cx + r)} ${px(cy)}L${px(cx)} ${px(cy + r * 1.25)}L${
        px(cx - r)
      } ${px(cy)}Z" ${at}/>`;
    case "cross":
      return `<path d="M${px(cx - r)} ${px(cy - r)}L${px(cx + r)} ${px(cy + r)}M${px(cx - r)} ${px(cy + r)}L${
        px(cx + r)
      } ${px(cy - r)}" stroke="${color}" stroke-width="1.8" fill="none"/>`;
  }
}

/** Greedy word wrap to `width` pixels, at most `maxLines` lines (the last one takes the rest). */
function wrap(s: string, width: number, size: number, maxLines = 3): string[] {
  const lines: string[] = [];
  let cur = "";
  for (const word of s.split(/\s+/).filter((w) => w)) {
    const next = cur ? `${cur} ${word}` : word;
    if (cur && textWidth(next, size) > width && lines.length < maxLines - 1) {
      lines.push(cur);
      cur = word;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}

interface LegendEntry {
  name: string;
  style: Style;
  line: boolean;
  marker: boolean;
}

interface Frame {
  sx: (v: number) => number;
  sy: (v: number) => number;
  /** Plot area: left, top, right, bottom pixels. */
  box: { l: number; t: number; r: number; b: number };
  /** Whether a value can be drawn on the x / y axis. */
  okX: (v: number) => boolean;
  okY: (v: number) => boolean;
}

const DEFAULT_W = 720, DEFAULT_H = 440;

/** Counts what cannot be drawn and collects the drawable values, for the axes' domains. */
function drawable(opts: PlotOptions, pts: Iterable<[number, number]>) {
  const xs: number[] = [], ys: number[] = [];
  let nonFinite = 0, nonPositive = 0;
  for (const [x, y] of pts) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) nonFinite++;
    else if ((opts.logX && x <= 0) || (opts.logY && y <= 0)) nonPositive++;
    else xs.push(x), ys.push(y);
  }
  return { xs, ys, nonFinite, nonPositive };
}

function extent(vs: number[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of vs) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  return [lo, hi];
}

/**
 * Lays out title, axes, legend and footnote, and returns the SVG document around `body`, which
 * draws the data given the frame's scales.
 */
function render(
  op: string,
  opts: PlotOptions,
  pts: Iterable<[number, number]>,
  entries: LegendEntry[],
  body: (f: Frame) => Drawn,
): string {
  const W = opts.width ?? DEFAULT_W, H = opts.height ?? DEFAULT_H;
  if (!(W >= 200 && H >= 150 && Number.isFinite(W) && Number.isFinite(H))) {
    throw new DomainError(`${op}: width × height must be at least 200 × 150 pixels, got ${W} × ${H}`);
  }
  const d = drawable(opts, pts);
  const hl = (opts.hlines ?? []).filter((h) => Number.isFinite(h.y) && !(opts.logY && h.y <= 0));
  const notes: string[] = [];
  if (d.nonPositive) {
    const axes = opts.logX && opts.logY ? "log axes" : "log axis";
    notes.push(`${d.nonPositive} non-positive value${d.nonPositive === 1 ? "" : "s"} skipped (${axes})`);
  }
  if (d.nonFinite) notes.push(`${d.nonFinite} NaN/infinite value${d.nonFinite === 1 ? "" : "s"} left as gaps`);

  // vertical layout: title, plot, x ticks, x label, legend below (if any), footnote
  const titleLines = opts.title ? wrap(opts.title, (W - 24) / BOLD, 15) : [];
  const top = titleLines.length ? 12 + titleLines.length * 19 + 6 : 16;
  const named = entries.filter((e) => e.name);
  const legendTextW = Math.max(0, ...named.map((e) => textWidth(e.name, 12)));
  const legendRightW = 32 + legendTextW + 10;
  let legendAt: "right" | "below" | "none" = named.length ? "right" : "none";
  const provisionalPlotH = H - top - 60;
  if (legendAt === "right" && (legendRightW > 0.32 * W || named.length * 18 > provisionalPlotH)) legendAt = "below";
  // legend below: pack entries into rows across the width
  const belowRows: LegendEntry[][] = [];
  if (legendAt === "below") {
    let row: LegendEntry[] = [], rowW = 0;
    for (const e of named) {
      const w = 32 + textWidth(e.name, 12) + 18;
      if (row.length && rowW + w > W - 40) (belowRows.push(row), (row = []), (rowW = 0));
      row.push(e), (rowW += w);
    }
    if (row.length) belowRows.push(row);
  }
  const bottomPad = 8 + 16 + (opts.xLabel ? 22 : 0) + belowRows.length * 18 + (belowRows.length ? 8 : 0) +
    notes.length * 15 + 8;
  const plotB = H - bottomPad, plotH = plotB - top;
  if (plotH < 40) throw new DomainError(`${op}: ${W} × ${H} pixels leave no room for the plot; make it taller`);

  const [ylo, yhi] = extent([...d.ys, ...hl.map((h) => h.y)]);
  const yAxis: Axis = opts.logY ? logAxis(ylo, yhi, Math.max(2, Math.floor(plotH / 26))) : linearAxis(
    ylo,
    yhi,
    Math.max(2, Math.round(plotH / 65)),
  );
  const yTickW = Math.max(0, ...yAxis.ticks.map((t) => textWidth(t.label, 12)));
  const left = 10 + (opts.yLabel ? 24 : 0) + yTickW + 10;
  const [xlo, xhi] = extent(d.xs);
  const xAxisFor = (plotW: number) =>
    opts.logX ? logAxis(xlo, xhi, Math.max(2, Math.floor(plotW / 60))) : linearAxis(
      xlo,
      xhi,
      Math.max(2, Math.round(plotW / 95)),
    );
  let right = legendAt === "right" ? W - legendRightW - 14 : W - 20;
  let xAxis = xAxisFor(right - left);
  if (legendAt !== "right") {
    const last = xAxis.ticks.filter((t) => t.label).at(-1);
    const need = last ? textWidth(last.label, 12) / 2 + 6 : 0;
    if (W - right < need) (right = W - need), (xAxis = xAxisFor(right - left));
  }
  const box = { l: left, t: top, r: right, b: plotB };
  const sx = scaleOf(xAxis, box.l, box.r), sy = scaleOf(yAxis, box.b, box.t);
  const inside = (a: Axis) => (v: number) => Number.isFinite(v) && (!a.log || v > 0);
  const frame: Frame = { sx, sy, box, okX: inside(xAxis), okY: inside(yAxis) };

  const clipId = `plot-area-${hash(`${opts.title ?? ""}|${W}|${H}|${op}`)}`;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<title>${escapeXml(opts.title ?? op)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<defs><clipPath id="${clipId}"><rect x="${px(box.l)}" y="${px(box.t)}" width="${px(box.r - box.l)}" height="${
      px(box.b - box.t)
    }"/></clipPath></defs>`,
  );
  titleLines.forEach((line, i) =>
    out.push(text(W / 2, 12 + 15 + i * 19, line, 15, `text-anchor="middle" font-weight="bold" fill="#222222"`))
  );
  out.push(...axes(xAxis, yAxis, frame));
  if (opts.xLabel) {
    out.push(text((box.l + box.r) / 2, box.b + 8 + 16 + 18, opts.xLabel, 13, `text-anchor="middle" fill="#222222"`));
  }
  if (opts.yLabel) {
    const cy = (box.t + box.b) / 2;
    out.push(
      text(10 + 13, cy, opts.yLabel, 13, `text-anchor="middle" fill="#222222" transform="rotate(-90 23 ${px(cy)})"`),
    );
  }
  // reference lines under the data, labels above it
  for (const h of hl) {
    const y = sy(h.y);
    out.push(
      `<line class="hline" x1="${px(box.l)}" y1="${px(y)}" x2="${px(box.r)}" y2="${
        px(y)
      }" stroke="#555555" stroke-width="1.2" stroke-dasharray="5 4"/>`,
    );
  }
  const drawn = body(frame);
  out.push(`<g clip-path="url(#${clipId})">`, ...drawn.svg, `</g>`);
  // labels: the reference lines' first (few places to choose from), then the data's, each avoiding the data, every
  // reference line and the labels placed before it
  const area: Box = { x0: box.l, y0: box.t, x1: box.r, y1: box.b };
  const taken = hl.map((h) => hlineBox(area, sy(h.y)));
  hl.forEach((h, i) => {
    const others = [...drawn.occupied, ...taken.filter((_, j) => j !== i)]; // its own line is what it sits beside
    const { at, box: b } = referenceLabelPlace(h.label, sy(h.y), area, others);
    out.push(text(at[0], at[1], h.label, 11, `class="hline-label" fill="#333333" ${HALO}`));
    taken.push(b);
  });
  if (drawn.labels) out.push(...drawn.labels(area, taken));
  if (d.xs.length === 0) {
    out.push(
      text((box.l + box.r) / 2, (box.t + box.b) / 2, "no data to draw", 14, `text-anchor="middle" fill="#777777"`),
    );
  }
  // legend
  if (legendAt === "right") {
    const x0 = box.r + 14;
    named.forEach((e, i) => out.push(...legendEntry(e, x0, box.t + 8 + i * 18)));
  } else if (legendAt === "below") {
    let y = box.b + 8 + 16 + (opts.xLabel ? 22 : 0) + 14;
    const rowW = (row: LegendEntry[]) => row.reduce((s, e) => s + 32 + textWidth(e.name, 12) + 18, -18);
    const x0 = Math.max(10, (W - Math.max(...belowRows.map(rowW))) / 2);
    for (const row of belowRows) {
      let x = x0;
      for (const e of row) (out.push(...legendEntry(e, x, y)), (x += 32 + textWidth(e.name, 12) + 18));
      y += 18;
    }
  }
  notes.forEach((n, i) => out.push(text(10, H - 8 - (notes.length - 1 - i) * 15, n, 11, `fill="#555555"`)));
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** How much wider bold text is than `textWidth`'s estimate. */
const BOLD = 1.12;

/**
 * What a plot body drew: its SVG, the boxes its data covers, and its text labels, placed once the
 * reference lines and their labels (`taken`) are known.
 */
interface Drawn {
  svg: string[];
  occupied: Box[];
  labels?: (area: Box, taken: Box[]) => string[];
}

const HALO = `stroke="#ffffff" stroke-width="3" paint-order="stroke" stroke-linejoin="round"`;

/** A small deterministic string hash, for ids that stay stable between runs. */
function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

function legendEntry(e: LegendEntry, x: number, y: number): string[] {
  const out: string[] = [];
  if (e.line) {
    const dash = e.style.dash ? ` stroke-dasharray="${e.style.dash}"` : "";
    out.push(
      `<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + 26)}" y2="${
        px(y)
      }" stroke="${e.style.color}" stroke-width="2"${dash}/>`,
    );
  }
  if (e.marker) out.push(markerSvg(e.style.marker, x + 13, y, 4, e.style.color));
  out.push(text(x + 32, y + 4, e.name, 12, `fill="#222222"`));
  return out;
}

/** Grid, frame, ticks and tick labels. */
function axes(xAxis: Axis, yAxis: Axis, f: Frame): string[] {
  const { box, sx, sy } = f;
  const out: string[] = [`<g class="grid" stroke="#e6e6e6" stroke-width="1">`];
  for (const t of xAxis.ticks) {
    out.push(`<line x1="${px(sx(t.value))}" y1="${px(box.t)}" x2="${px(sx(t.value))}" y2="${px(box.b)}"/>`);
  }
  for (const t of yAxis.ticks) {
    out.push(`<line x1="${px(box.l)}" y1="${px(sy(t.value))}" x2="${px(box.r)}" y2="${px(sy(t.value))}"/>`);
  }
  out.push(`</g>`);
  out.push(
    `<rect x="${px(box.l)}" y="${px(box.t)}" width="${px(box.r - box.l)}" height="${
      px(box.b - box.t)
    }" fill="none" stroke="#888888"/>`,
  );
  out.push(`<g class="x-axis" stroke="#555555">`);
  for (const t of xAxis.ticks) {
    const x = px(sx(t.value));
    out.push(
      `<line class="tick major" data-value="${t.value}" x1="${x}" y1="${px(box.b)}" x2="${x}" y2="${px(box.b + 5)}"/>`,
    );
  }
  for (const v of xAxis.minor) {
    const x = px(sx(v));
    out.push(
      `<line class="tick minor" data-value="${v}" x1="${x}" y1="${px(box.b)}" x2="${x}" y2="${px(box.b + 3)}"/>`,
    );
  }
  out.push(`</g>`, `<g class="y-axis" stroke="#555555">`);
  for (const t of yAxis.ticks) {
    const y = px(sy(t.value));
    out.push(
      `<line class="tick major" data-value="${t.value}" x1="${px(box.l - 5)}" y1="${y}" x2="${px(box.l)}" y2="${y}"/>`,
    );
  }
  for (const v of yAxis.minor) {
    const y = px(sy(v));
    out.push(
      `<line class="tick minor" data-value="${v}" x1="${px(box.l - 3)}" y1="${y}" x2="${px(box.l)}" y2="${y}"/>`,
    );
  }
  out.push(`</g>`, `<g class="tick-labels" font-size="12" fill="#333333">`);
  for (const t of xAxis.ticks) {
    if (t.label) out.push(text(sx(t.value), box.b + 8 + 12, t.label, 12, `text-anchor="middle"`));
  }
  for (const t of yAxis.ticks) {
    if (t.label) out.push(text(box.l - 8, sy(t.value) + 4, t.label, 12, `text-anchor="end"`));
  }
  out.push(`</g>`);
  return out;
}

/**
 * A line plot as an SVG document: one `<path class="series">` per series, broken into pieces at
 * NaN/Infinity (and at values ≤ 0 on a log axis), a legend outside the plot area (right, or below
 * when names are long), optional log axes and reference lines. Series with at most 20 points, and
 * series beyond the seven colours, also get markers.
 * @param opts title, axis labels, series, log axes, size, reference lines
 * @example
 * ```ts
 * import { linePlot } from "./mod.ts";
 * const svg = linePlot({
 *   title: "Relative error",
 *   xLabel: "iteration",
 *   yLabel: "‖W − W*‖ / ‖W*‖",
 *   logY: true,
 *   series: [{ name: "LoRA", x: [0, 1, 2, 3], y: [1, 0.1, 0.01, 1e-3] }],
 *   hlines: [{ y: 1e-2, label: "target" }],
 * });
 * // await Deno.writeTextFile("error.svg", svg);
 * ```
 */
export function linePlot(opts: LinePlotOptions): string {
  const series = opts.series ?? [];
  series.forEach((s, i) => {
    if (s.x.length !== s.y.length) {
      throw new ShapeError(
        `linePlot: series ${i} ('${s.name}') has ${s.x.length} x values and ${s.y.length} y values; give as many of each`,
      );
    }
  });
  const styles = series.map((s, i) => {
    const st = styleOf(i, s.dashed);
    return s.color ? { ...st, color: escapeXml(s.color) } : st;
  });
  const showMarkers = series.map((s, i) => i >= PALETTE.length || s.x.length <= 20);
  const pts = function* (): Iterable<[number, number]> {
    for (const s of series) for (let i = 0; i < s.x.length; i++) yield [s.x[i], s.y[i]];
  };
  const entries = series.map((s, i) => ({ name: s.name, style: styles[i], line: true, marker: showMarkers[i] }));
  return render("linePlot", opts, pts(), entries, (f) => {
    const out: string[] = [], occupied: Box[] = [];
    series.forEach((s, k) => {
      const st = styles[k];
      let d = "", run = 0, prev: [number, number] = [0, 0];
      const marks: string[] = [];
      for (let i = 0; i < s.x.length; i++) {
        const x = s.x[i], y = s.y[i];
        if (!f.okX(x) || !f.okY(y)) {
          if (run === 1) d += "l0 0"; // a lone point between gaps: a dot (round caps)
          run = 0;
          continue;
        }
        const X = f.sx(x), Y = f.sy(y);
        d += `${run === 0 ? "M" : "L"}${px(X)} ${px(Y)}`;
        // the pixels the segment covers, every ~6 px (for placing labels off the data)
        const n = run === 0 ? 1 : Math.min(200, Math.ceil(Math.hypot(X - prev[0], Y - prev[1]) / 6));
        for (let j = 1; j <= n; j++) {
          const ox = X + ((prev[0] - X) * (n - j)) / n, oy = Y + ((prev[1] - Y) * (n - j)) / n;
          occupied.push({ x0: ox, y0: oy, x1: ox, y1: oy });
        }
        prev = [X, Y];
        run++;
        if (showMarkers[k]) marks.push(markerSvg(st.marker, f.sx(x), f.sy(y), 3.5, st.color));
      }
      if (run === 1) d += "l0 0";
      const dash = st.dash ? ` stroke-dasharray="${st.dash}"` : "";
      out.push(
        `<path class="series" data-name="${
          escapeXml(s.name)
        }" d="${d}" fill="none" stroke="${st.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dash}/>`,
      );
      if (marks.length) out.push(`<g class="markers">`, ...marks, `</g>`);
    });
    return { svg: out, occupied };
  });
}

/**
 * A scatter plot as an SVG document: points coloured (and, beyond seven groups, shaped) by
 * `group`, with a legend of the groups and optional text labels placed beside their points where
 * they do not overlap earlier labels.
 * @param opts title, axis labels, points, log axes, size, reference lines
 * @example
 * ```ts
 * import { scatterPlot } from "./mod.ts";
 * const svg = scatterPlot({
 *   title: "Final loss against orthogonality error",
 *   xLabel: "‖I − ÛᵀÛ‖_F",
 *   yLabel: "final loss",
 *   logX: true,
 *   points: [
 *     { x: 0.3, y: 0.01, label: "λ = 0", group: "HRA" },
 *     { x: 1e-3, y: 0.02, label: "λ = 1e-2", group: "HRA" },
 *   ],
 * });
 * ```
 */
export function scatterPlot(opts: ScatterPlotOptions): string {
  const points = opts.points ?? [];
  const groups: string[] = [];
  for (const p of points) if (!groups.includes(p.group ?? "")) groups.push(p.group ?? "");
  const styles = new Map(groups.map((g, i) => [g, styleOf(i)]));
  const entries = groups.map((g) => ({ name: g, style: styles.get(g)!, line: false, marker: true }));
  return render("scatterPlot", opts, points.map((p) => [p.x, p.y] as [number, number]), entries, (f) => {
    const out: string[] = [`<g class="points">`];
    const visible = points.filter((p) => f.okX(p.x) && f.okY(p.y));
    // the points themselves are obstacles for labels
    const occupied: Box[] = visible.map((p) => {
      const X = f.sx(p.x), Y = f.sy(p.y);
      out.push(markerSvg(styles.get(p.group ?? "")!.marker, X, Y, 4.5, styles.get(p.group ?? "")!.color));
      return { x0: X - 4.5, y0: Y - 4.5, x1: X + 4.5, y1: Y + 4.5 };
    });
    out.push(`</g>`);
    const labels = (area: Box, taken: Box[]): string[] => {
      const svg: string[] = [], obstacles = [...occupied, ...taken];
      for (const p of visible) {
        if (!p.label) continue;
        const X = f.sx(p.x), Y = f.sy(p.y);
        const { at, box, free } = pointLabelPlace(p.label, X, Y, area, obstacles);
        obstacles.push(box);
        if (at[2] && free) {
          const ex = at[0] > X ? at[0] - 2 : box.x1 + 2, ey = at[1] - 4.5;
          svg.push(
            `<line x1="${X.toFixed(1)}" y1="${Y.toFixed(1)}" x2="${ex.toFixed(1)}" y2="${ey.toFixed(1)}" ` +
              `stroke="#888888" stroke-width="0.8"/>`,
          );
        }
        svg.push(text(at[0], at[1], p.label, 11, `class="point-label" fill="#222222" ${HALO}`));
      }
      return svg.length ? [`<g class="labels">`, ...svg, `</g>`] : [];
    };
    return { svg: out, occupied, labels };
  });
}
