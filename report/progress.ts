/**
 * A progress line per job on stderr: step/total, the caller's fields (loss, …), the measured
 * rate, the elapsed time and the time left. On a terminal the line is rewritten in place (`\r`);
 * elsewhere (CI logs, files) it is a plain line at most every few seconds.
 * @module
 */
import { DomainError } from "../core/errors.ts";
import { fmt } from "./table.ts";

/** Field values shown on the progress line, in insertion order (`loss=0.01234`). */
export type ProgressFields = Readonly<Record<string, number | string>>;

/** Options of `progress`. */
export interface ProgressOptions {
  /** What the job is, at the start of the line. */
  label: string;
  /** The number of steps when done (0 when unknown: no percentage, no time left). */
  total: number;
  /** Where to write: only "stderr" (the default) — results belong on stdout and in files. */
  stream?: "stderr";
  /** Seconds between plain lines when stderr is not a terminal (default 5). */
  every?: number;
  /** Clock in milliseconds (default `performance.now`); inject a fake one in tests. */
  now?: () => number;
  /** Writes text (default: `Deno.stderr.writeSync` of the UTF-8 bytes); inject one to capture output. */
  write?: (text: string) => void;
  /** Rewrite the line in place (default: `Deno.stderr.isTerminal()`). */
  isTerminal?: boolean;
}

/** A running progress line. */
export interface Progress {
  /** Reports that `step` of `total` steps are done, with optional fields such as the loss. */
  tick(step: number, fields?: ProgressFields): void;
  /** Writes the final line (always) and ends it with a newline. */
  done(fields?: ProgressFields): void;
}

/** Minimum milliseconds between in-place rewrites on a terminal. */
const TERMINAL_INTERVAL_MS = 100;

/**
 * A duration in seconds as `3.2s`, `42s`, `4:05` or `1:02:03`.
 * @example
 * ```ts
 * import { formatDuration } from "./mod.ts";
 * [formatDuration(3.21), formatDuration(245), formatDuration(3723)]; // ["3.2s", "4:05", "1:02:03"]
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  const s = Math.floor(seconds), two = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}:${two(s % 60)}`;
  return `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

function stderrWriter(): (text: string) => void {
  const enc = new TextEncoder();
  return (text) => {
    const bytes = enc.encode(text);
    for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
  };
}

/**
 * Starts a progress line for a job of `total` steps. Each line reads
 * `label  step/total (pct%)  field=value …  rate steps/s  elapsed t  left t`, where the rate is
 * the steps done per second since the start and the time left is (total − step) / rate.
 * On a terminal the line is redrawn in place (at most ten times a second); otherwise the first
 * tick and then at most one line every `every` seconds are written, and `done` always writes.
 * @param opts label, total, throttle, and the injectable clock and writer
 * @example
 * ```ts
 * import { progress } from "./mod.ts";
 * let t = 0;
 * const lines: string[] = [];
 * const p = progress({ label: "fit", total: 100, now: () => t, write: (s) => lines.push(s), isTerminal: false });
 * t = 2000;
 * p.tick(10, { loss: 0.5 }); // "fit  10/100 (10%)  loss=0.5  5 steps/s  elapsed 2.0s  left 18s"
 * p.done();
 * ```
 */
export function progress(opts: ProgressOptions): Progress {
  const { label, total } = opts;
  if (opts.stream !== undefined && opts.stream !== "stderr") {
    throw new DomainError(`progress: stream must be "stderr", got '${opts.stream}'; results go to stdout or files`);
  }
  if (!(Number.isFinite(total) && total >= 0)) {
    throw new DomainError(`progress: total must be a finite number ≥ 0 (0 when unknown), got ${total}`);
  }
  const every = opts.every ?? 5;
  if (!(every >= 0)) throw new DomainError(`progress: every must be ≥ 0 seconds, got ${every}`);
  const now = opts.now ?? (() => performance.now());
  const write = opts.write ?? stderrWriter();
  const terminal = opts.isTerminal ?? Deno.stderr.isTerminal();
  const t0 = now();
  let lastWrite = -Infinity, lastStep = 0, lastFields: ProgressFields | undefined, wrote = false;

  const line = (step: number, fields: ProgressFields | undefined, final: boolean): string => {
    const secs = (now() - t0) / 1000;
    const parts = [label];
    const of = total > 0 ? `${step}/${total} (${Math.floor((100 * step) / total)}%)` : `${step}`;
    parts.push(final ? `done ${of}` : of);
    for (const [k, v] of Object.entries(fields ?? {})) parts.push(`${k}=${typeof v === "number" ? fmt(v) : v}`);
    const rate = secs > 0 ? step / secs : NaN;
    if (rate > 0) {
      parts.push(rate >= 1 ? `${fmt(rate, { digits: 3 })} steps/s` : `${fmt(1 / rate, { digits: 3 })} s/step`);
    }
    parts.push(`elapsed ${formatDuration(secs)}`);
    if (!final && total > 0 && rate > 0) parts.push(`left ${formatDuration(Math.max(0, total - step) / rate)}`);
    return parts.join("  ");
  };

  return {
    tick(step: number, fields?: ProgressFields): void {
      lastStep = step;
      lastFields = fields;
      const t = now();
      const gap = terminal ? TERMINAL_INTERVAL_MS : every * 1000;
      if (wrote && t - lastWrite < gap) return;
      lastWrite = t;
      wrote = true;
      write(terminal ? `\r${line(step, fields, false)}\x1b[K` : `${line(step, fields, false)}\n`);
    },
    done(fields?: ProgressFields): void {
      const text = line(lastStep, fields ?? lastFields, true);
      write(terminal ? `\r${text}\x1b[K\n` : `${text}\n`);
    },
  };
}
