/**
 * The reporting toolkit Tangent's command-line jobs share: SVG line and scatter plots, Markdown
 * and terminal tables with one number format, a progress line on stderr, and atomic file writes.
 * Not part of the tensor API (the package root does not export it); import `report/mod.ts`.
 *
 * @example
 * ```ts
 * import { fmt, linePlot, markdownTable } from "./mod.ts";
 * const svg = linePlot({ title: "loss", logY: true, series: [{ name: "sgd", x: [1, 2, 3], y: [1, 0.1, 0.01] }] });
 * const md = markdownTable([{ key: "k", title: "k" }, { key: "v", title: "value" }], [{ k: "loss", v: 0.01 }]);
 * fmt(1234567); // "1,234,567"
 * ```
 * @module
 */
export {
  escapeXml,
  linePlot,
  type LinePlotOptions,
  type LineSeries,
  PALETTE,
  type PlotOptions,
  type ReferenceLine,
  scatterPlot,
  type ScatterPlotOptions,
  type ScatterPoint,
} from "./svg.ts";
export { type Axis, formatTick, linearAxis, logAxis, niceStep, scaleOf, textWidth, type Tick } from "./axis.ts";
export { type Column, fmt, type FmtOptions, markdownTable, MISSING, type Row, textTable } from "./table.ts";
export { formatDuration, type Progress, progress, type ProgressFields, type ProgressOptions } from "./progress.ts";
export { writeFileAtomic } from "./files.ts";
