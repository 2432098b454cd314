/**
 * `deno task reproduce [--out dir] [--quick] [--only ids]`: runs the reproductions of the founding papers'
 * claims (issue 10's six experiments) and writes `report.md` with SVG plots. Experiments 1 and 3
 * fine-tune the demo transformer, pretrained once into `<out>/base-model` (read back on a rerun).
 * Progress goes to stderr, the summary to stdout.
 * @module
 */
import { parseArgs } from "node:util";
import { TangentError } from "../core/errors.ts";
import { fmt, textTable } from "../report/mod.ts";
import { EXPERIMENTS, runReproductions } from "./run.ts";

/** The command-line options; `--help` is generated from this table, and the parser reads it too. */
const OPTIONS = {
  out: {
    type: "string",
    value: "<dir>",
    default: "./out/reproduce",
    help: "folder for report.md, the SVG plots and the cached demo transformer (base-model/)",
  },
  quick: { type: "boolean", default: false, help: "small sizes: the whole run in under 2 minutes (CI)" },
  only: {
    type: "string",
    value: "<ids>",
    default: "",
    help: "run only these experiments, by number, comma-separated (e.g. 2,4; default: all)",
  },
  help: { type: "boolean", short: "h", default: false, help: "print this help and exit" },
} as const;

/** The `--help` text, generated from the option table. */
export function usage(): string {
  const lines = Object.entries(OPTIONS).map(([name, o]) => {
    const flag = `${"short" in o ? `-${o.short}, ` : "    "}--${name}${"value" in o ? ` ${o.value}` : ""}`;
    const def = o.type === "string" && o.default ? ` (default ${o.default})` : "";
    return `  ${flag.padEnd(22)} ${o.help}${def}`;
  });
  return [
    "Usage: deno task reproduce [options]",
    "",
    "Reproduces the founding papers' claims at small scale and writes report.md with plots:",
    ...EXPERIMENTS.map((e) => `  ${e.id}. ${e.title}`),
    "",
    "Options:",
    ...lines,
    "",
  ].join("\n");
}

/** The experiment numbers of `--only` (`"2,4"` → [2, 4]); throws a TypeError naming an unknown number. */
function parseOnly(text: string): number[] | undefined {
  if (text.trim() === "") return undefined;
  const ids = EXPERIMENTS.map((e) => e.id);
  const only = text.split(",").map((t) => t.trim());
  const bad = only.filter((t) => !/^\d+$/.test(t) || !ids.includes(Number(t)));
  if (bad.length) {
    throw new TypeError(
      `Option '--only' takes experiment numbers from ${ids.join(", ")}, comma-separated (e.g. --only 2,4); ` +
        `got ${bad.map((b) => `'${b}'`).join(", ")}`,
    );
  }
  return [...new Set(only.map(Number))];
}

/**
 * The parsed options: `{ out, quick, help, only }` (`only` undefined: every experiment); throws a TypeError naming an
 * unknown or malformed option.
 */
export function parseOptions(args: string[]): { out: string; quick: boolean; help: boolean; only?: number[] } {
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([k, o]) => {
      const { help: _help, value: _value, ...config } = o as typeof o & { value?: string };
      return [k, config];
    }),
  ) as { [K in keyof typeof OPTIONS]: Omit<typeof OPTIONS[K], "help" | "value"> };
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  const only = parseOnly(values.only);
  return { out: values.out, quick: values.quick, help: values.help, ...(only ? { only } : {}) };
}

/** Runs the job with command-line `args`; returns the exit code (2 for bad options). */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseOptions(args);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (values.help) {
    console.log(usage());
    return 0;
  }
  let summary;
  try {
    summary = await runReproductions({ out: values.out, quick: values.quick, only: values.only });
  } catch (e) {
    // bad input (a TangentError) or a folder that cannot be written (ENOTDIR, EACCES, …): the message, no trace
    const code = (e as { code?: unknown })?.code;
    if (!(e instanceof TangentError) && !(typeof code === "string" && /^E[A-Z]+$/.test(code))) throw e;
    const fix = e instanceof TangentError ? "" : "; pass --out a folder you can write";
    console.error(`error: ${(e as Error).message}${fix}`);
    return 1;
  }
  console.log(
    textTable([
      { key: "id", title: "experiment" },
      { key: "title", title: "" },
      { key: "verdict", title: "verdict" },
      { key: "seconds", title: "seconds", format: (v) => fmt(v, { digits: 2 }) },
    ], summary),
  );
  console.log(`report: ${values.out.replace(/\/$/, "")}/report.md`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
