/**
 * Axes for the SVG plots: "nice" linear ticks (1, 2, 5 × 10ᵏ), decade ticks with minor ticks for
 * log axes, compact tick labels (`1e-6`, `0.01`, `12k`), and a rough text-width estimate used to
 * lay labels out without a browser.
 * @module
 */

/** One labelled (major) tick. */
export interface Tick {
  /** Position in data units. */
  readonly value: number;
  /** Its label ("" for an unlabelled major tick, e.g. a skipped decade). */
  readonly label: string;
}

/** An axis: its domain in data units, major and minor ticks, and whether it is logarithmic. */
export interface Axis {
  /** Logarithmic (base 10). */
  readonly log: boolean;
  /** Lower end of the domain (data units; > 0 on a log axis). */
  readonly lo: number;
  /** Upper end of the domain. */
  readonly hi: number;
  /** Major ticks, with labels. */
  readonly ticks: readonly Tick[];
  /** Minor tick positions (data units), unlabelled unless also in `ticks`. */
  readonly minor: readonly number[];
}

/** Removes float noise from a tick value: 0.30000000000000004 → 0.3. */
const clean = (v: number): number => (v === 0 ? 0 : Number(v.toPrecision(12)));

/**
 * A tick label in few characters: `0`, `0.01`, `2.5`, `500`, `1.2k`, `12k`, `3M`, `1e-6`, `2.5e-5`.
 * Exponent form below 1e-3 and from 1e15 up; k/M/G/T suffixes from 1000.
 * @example
 * ```ts
 * import { formatTick } from "./mod.ts";
 * [1e-6, 0.01, 12000, 2.5].map((v) => formatTick(v)); // ["1e-6", "0.01", "12k", "2.5"]
 * ```
 */
export function formatTick(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v), sign = v < 0 ? "−" : "";
  if (a < 1e-3 || a >= 1e15) {
    const [m, e] = a.toExponential(6).split("e");
    return `${sign}${Number(m)}e${Number(e)}`;
  }
  const suffixes: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [s, name] of suffixes) if (a >= s) return `${sign}${Number((a / s).toPrecision(6))}${name}`;
  return `${sign}${Number(a.toPrecision(6))}`;
}

/**
 * The "nice" step (1, 2 or 5 × 10ᵏ) that cuts `span` into the number of pieces nearest to
 * `intervals` (on a log scale).
 * @example
 * ```ts
 * import { niceStep } from "./mod.ts";
 * niceStep(0.9, 5); // 0.2
 * ```
 */
export function niceStep(span: number, intervals: number): number {
  const raw = span / Math.max(1, intervals);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  // the nearest of 1, 2, 5, 10 on a log scale (thresholds at their geometric means)
  return (f < Math.SQRT2 ? 1 : f < Math.sqrt(10) ? 2 : f < Math.sqrt(50) ? 5 : 10) * mag;
}

/**
 * A linear axis over [lo, hi] widened by `margin` (a fraction of the span, default 4%) on each
 * side so that no point sits on the frame, with ticks at the multiples of a nice step (about
 * `intervals` intervals). A single value gets a ±10% (or ±1 around 0) window.
 * @example
 * ```ts
 * import { linearAxis } from "./mod.ts";
 * linearAxis(0.03, 0.92).ticks.map((t) => t.label); // ["0", "0.2", "0.4", "0.6", "0.8"]
 * ```
 */
export function linearAxis(lo: number, hi: number, intervals = 5, margin = 0.04): Axis {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - d, hi + d];
  }
  const pad = (hi - lo) * margin;
  [lo, hi] = [lo - pad, hi + pad];
  const step = niceStep(hi - lo, intervals);
  const i0 = Math.ceil(lo / step - 1e-9), i1 = Math.floor(hi / step + 1e-9);
  const ticks: Tick[] = [];
  for (let i = i0; i <= i1; i++) {
    const v = clean(i * step);
    ticks.push({ value: v, label: formatTick(v) });
  }
  return { log: false, lo, hi, ticks, minor: [] };
}

/**
 * A base-10 log axis over [lo, hi] (both > 0) widened by `margin` (a fraction of the span in
 * decades, default 4%). Every decade inside gets a major tick, labelled unless more than
 * `maxLabels` decades would be (then every k-th); minor ticks at 2…9 × 10ᵏ while the axis spans at
 * most ten decades. Short axes label more multiples: 1, 2, 5 within 2.5 decades, 1, 2, 3, 5
 * within 1.2 decades, and every multiple within half a decade.
 * @example
 * ```ts
 * import { logAxis } from "./mod.ts";
 * logAxis(1e-7, 0.5).ticks.map((t) => t.label); // ["1e-7", "1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1"]
 * ```
 */
export function logAxis(lo: number, hi: number, maxLabels = 8, margin = 0.04): Axis {
  if (!(lo > 0) || !Number.isFinite(lo) || !(hi > 0) || !Number.isFinite(hi)) [lo, hi] = [1, 10];
  if (lo > hi) [lo, hi] = [hi, lo];
  let l0 = Math.log10(lo), l1 = Math.log10(hi);
  if (l1 - l0 < 1e-9) [l0, l1] = [l0 - 0.5, l1 + 0.5];
  const pad = (l1 - l0) * margin;
  [l0, l1] = [Math.max(l0 - pad, -300), Math.min(l1 + pad, 300)];
  const span = l1 - l0;
  const d0 = Math.floor(l0), d1 = Math.ceil(l1);
  const decadesInside = Math.floor(l1 + 1e-12) - Math.ceil(l0 - 1e-12) + 1;
  const every = Math.max(1, Math.ceil(decadesInside / Math.max(2, maxLabels)));
  const labelled = span <= 0.5
    ? [1, 2, 3, 4, 5, 6, 7, 8, 9]
    : span <= 1.2
    ? [1, 2, 3, 5]
    : span <= 2.5
    ? [1, 2, 5]
    : [1];
  const ticks: Tick[] = [];
  const minor: number[] = [];
  const inside = (v: number) => Math.log10(v) >= l0 - 1e-12 && Math.log10(v) <= l1 + 1e-12;
  for (let d = d0; d <= d1; d++) {
    for (let m = 1; m <= 9; m++) {
      const v = clean(m * 10 ** d);
      if (!inside(v)) continue;
      if (m === 1) {
        ticks.push({
          value: v,
          label: labelled.length > 1 || ((d % every) + every) % every === 0 ? formatTick(v) : "",
        });
      } else if (labelled.includes(m)) ticks.push({ value: v, label: formatTick(v) });
      else if (span <= 10) minor.push(v);
    }
  }
  return { log: true, lo: 10 ** l0, hi: 10 ** l1, ticks, minor };
}

/**
 * Maps data values on `axis` to pixels in [p0, p1] (p1 < p0 for a y axis that grows upwards).
 * @example
 * ```ts
 * import { logAxis, scaleOf } from "./mod.ts";
 * const toPx = scaleOf(logAxis(1, 100), 0, 200);
 * toPx(10); // 100
 * ```
 */
export function scaleOf(axis: Axis, p0: number, p1: number): (v: number) => number {
  if (axis.log) {
    const l0 = Math.log10(axis.lo), l1 = Math.log10(axis.hi);
    return (v) => p0 + ((Math.log10(v) - l0) / (l1 - l0)) * (p1 - p0);
  }
  return (v) => p0 + ((v - axis.lo) / (axis.hi - axis.lo)) * (p1 - p0);
}

/**
 * Estimated rendered width in pixels of `text` in a sans-serif font of `size` px (generous, so
 * text laid out with it is not clipped in common fonts such as DejaVu Sans, Arial or Helvetica).
 * @example
 * ```ts
 * import { textWidth } from "./mod.ts";
 * textWidth("0.001", 12) < textWidth("100000", 12); // true
 * ```
 */
export function textWidth(text: string, size: number): number {
  let w = 0;
  for (const ch of text) {
    if (" .,:;'|!iljtfr()[]".includes(ch)) w += 0.36;
    else if ("mwMW@%".includes(ch)) w += 0.92;
    else if (/[A-Z]/.test(ch) || ch.codePointAt(0)! > 127) w += 0.72;
    else w += 0.64;
  }
  return w * size;
}
