/**
 * Tables for reports and terminals: `markdownTable` and `textTable` over rows of plain objects,
 * and `fmt`, the number format they share (significant digits, exponents for tiny and huge
 * values, thousands separators for counts, "–" for what is missing).
 * @module
 */
import { DomainError } from "../core/errors.ts";

/** A table column: which key of a row it shows, its heading, and optionally how. */
export interface Column {
  /** The row property shown in this column. */
  readonly key: string;
  /** The heading. */
  readonly title: string;
  /** Formats a value (default: `fmt` for numbers, the text itself for strings, "–" when missing). */
  readonly format?: (v: unknown) => string;
  /** Alignment (default: right when every present value is a number, left otherwise). */
  readonly align?: "left" | "right";
}

/** A table row: values by column key (any object; an interface works too). */
export type Row = object;

const cell = (row: Row, key: string): unknown => (row as Record<string, unknown>)[key];

/** Options of `fmt`. */
export interface FmtOptions {
  /** Significant digits of non-integers (default 4). */
  digits?: number;
  /** Magnitudes below this (and above 0) are written with an exponent (default 1e-3). */
  small?: number;
  /** Magnitudes from this up are written with an exponent (default 1e6; integers from 1e15). */
  large?: number;
}

/** The mark for a missing value. */
export const MISSING = "–";

/**
 * Formats a number for a table: integers with thousands separators (`12,345`), other numbers
 * with `digits` significant digits (`0.01235`), an exponent below `small` or from `large` up
 * (`1.235e-7`), `–` for NaN, null and undefined, `∞` for infinities. Strings pass through;
 * bigints get separators; other values go through `String`.
 * @example
 * ```ts
 * import { fmt } from "./mod.ts";
 * [fmt(12345), fmt(0.0123456), fmt(1.23456e-7), fmt(NaN), fmt(6.02e23)]; // ["12,345", "0.01235", "1.235e-7", "–", "6.02e23"]
 * ```
 */
export function fmt(v: unknown, opts: FmtOptions = {}): string {
  if (v === null || v === undefined) return MISSING;
  if (typeof v === "bigint") return groupThousands(v.toString());
  if (typeof v === "string") return v;
  if (typeof v !== "number") return String(v);
  if (Number.isNaN(v)) return MISSING;
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const digits = opts.digits ?? 4, small = opts.small ?? 1e-3, large = opts.large ?? 1e6;
  if (!(Number.isInteger(digits) && digits >= 1 && digits <= 17)) {
    throw new DomainError(`fmt: digits must be an integer in 1…17, got ${digits}`);
  }
  const a = Math.abs(v), sign = v < 0 ? "-" : "";
  if (Number.isInteger(v) && a < 1e15) return sign + groupThousands(String(a));
  if (a === 0) return "0";
  if (a < small || a >= large) {
    const [m, e] = a.toExponential(digits - 1).split("e");
    return `${sign}${trimZeros(m)}e${Number(e)}`;
  }
  const s = a.toPrecision(digits);
  return sign + (s.includes("e") ? String(Number(s)) : trimZeros(s));
}

function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

function groupThousands(digits: string): string {
  const neg = digits.startsWith("-"), d = neg ? digits.slice(1) : digits;
  return (neg ? "-" : "") + d.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const isNumeric = (v: unknown) => typeof v === "number" || typeof v === "bigint";

/** The cells as text, and each column's alignment. */
function cells(columns: readonly Column[], rows: readonly Row[]): { text: string[][]; right: boolean[] } {
  const text = rows.map((row) => columns.map((c) => (c.format ? c.format(cell(row, c.key)) : fmt(cell(row, c.key)))));
  const right = columns.map((c) => {
    if (c.align) return c.align === "right";
    const present = rows.map((r) => cell(r, c.key)).filter((v) => v !== null && v !== undefined);
    return present.length > 0 && present.every(isNumeric);
  });
  return { text, right };
}

/** Width in terminal columns (code points; tabs and newlines are replaced before measuring). */
const width = (s: string): number => [...s].length;
const pad = (s: string, w: number, right: boolean): string =>
  right ? " ".repeat(w - width(s)) + s : s + " ".repeat(w - width(s));
const oneLine = (s: string): string => s.replace(/[\r\n\t]+/g, " ");

/**
 * A GitHub-flavoured Markdown table: a header row, an alignment row (`---` / `---:`), then one
 * line per row; `|` in cells is escaped and newlines become spaces. Ends with a newline.
 * @param columns which keys to show, their headings, formats and alignment
 * @param rows the rows, as objects keyed by column key
 * @example
 * ```ts
 * import { markdownTable } from "./mod.ts";
 * markdownTable([{ key: "method", title: "Method" }, { key: "loss", title: "Loss" }], [
 *   { method: "LoRA", loss: 0.0123 },
 *   { method: "PoLAR", loss: 1.5e-7 },
 * ]);
 * // | Method |   Loss |
 * // | ------ | -----: |
 * // | LoRA   | 0.0123 |
 * // | PoLAR  | 1.5e-7 |
 * ```
 */
export function markdownTable(columns: readonly Column[], rows: readonly Row[]): string {
  const esc = (s: string) => oneLine(s).replace(/\|/g, "\\|");
  const { text, right } = cells(columns, rows);
  const head = columns.map((c) => esc(c.title));
  const body = text.map((r) => r.map(esc));
  const w = columns.map((_, j) => Math.max(3, width(head[j]), ...body.map((r) => width(r[j]))));
  const line = (r: string[]) => `| ${r.map((s, j) => pad(s, w[j], right[j])).join(" | ")} |`;
  const rule = `| ${w.map((n, j) => (right[j] ? "-".repeat(n - 1) + ":" : "-".repeat(n))).join(" | ")} |`;
  return [line(head), rule, ...body.map(line)].join("\n") + "\n";
}

/**
 * A plain-text table for a terminal: columns padded to their widest cell and separated by two
 * spaces, numbers right-aligned and text left-aligned (or as each column's `align` says), a
 * dashed rule under the heading. Ends with a newline.
 * @param columns which keys to show, their headings, formats and alignment
 * @param rows the rows, as objects keyed by column key
 * @example
 * ```ts
 * import { textTable } from "./mod.ts";
 * console.log(textTable([{ key: "n", title: "n" }, { key: "err", title: "error" }], [
 *   { n: 64, err: 2.2e-16 },
 *   { n: 1024, err: 4.1e-15 },
 * ]));
 * //     n    error
 * // -----  -------
 * //    64  2.2e-16
 * // 1,024  4.1e-15
 * ```
 */
export function textTable(columns: readonly Column[], rows: readonly Row[]): string {
  const { text, right } = cells(columns, rows);
  const head = columns.map((c) => oneLine(c.title));
  const body = text.map((r) => r.map(oneLine));
  const w = columns.map((_, j) => Math.max(width(head[j]), ...body.map((r) => width(r[j]))));
  const line = (r: string[]) => r.map((s, j) => pad(s, w[j], right[j])).join("  ").trimEnd();
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...body.map(line)].join("\n") + "\n";
}
