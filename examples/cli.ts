/**
 * Command-line parsing for the example jobs: one option table gives both `node:util`'s
 * `parseArgs` configuration and the `--help` text, so they cannot disagree.
 * @module
 */
import { parseArgs } from "node:util";
import { FormatError, TangentError } from "../mod.ts";

/** What every command-line option has. */
interface OptionBase {
  /** What it does (one line of `--help`). */
  help: string;
  /** Default, shown in `--help`. */
  default?: string | boolean;
  /** One-letter alias. */
  short?: string;
}

/**
 * One command-line option: a flag (`boolean`), or one that takes a value (`string`), whose `--help`
 * placeholder says what the value is (`<dir>`, `<n>`, `cpu|webgpu`; required, so that no option
 * shows a bare `<value>`).
 */
export type OptionSpec = OptionBase & ({ type: "boolean" } | { type: "string"; value: string });

/** The `--help` text: usage, a description, and one line per option. */
export function helpText(usage: string, description: string, options: Record<string, OptionSpec>): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value}` : ""}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${o.default})` : "";
    return [flag, o.help + def] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [`Usage: ${usage}`, "", description, "", "Options:", ...rows.map(([f, h]) => `  ${f.padEnd(width)}${h}`)]
    .join("\n") + "\n";
}

/**
 * Parses `args` against the table; an unknown option or a missing value prints the error and the
 * help to stderr and exits with status 2. Returns the values (defaults filled in).
 */
export function parseCommandLine(
  args: readonly string[],
  usage: string,
  description: string,
  options: Record<string, OptionSpec>,
): Record<string, string | boolean | undefined> {
  const config = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short && { short: o.short }), ...(o.default !== undefined && { default: o.default }) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args: [...args], options: config as never, allowPositionals: true });
    if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}'`);
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n`);
    console.error(helpText(usage, description, options));
    Deno.exit(2);
  }
}

/**
 * `parseCommandLine` with a `--help` (`-h`) flag added: it prints the help and exits with status 0.
 * For scripts whose options need no further checks (the benches).
 */
export function commandLine(
  args: readonly string[],
  usage: string,
  description: string,
  options: Record<string, OptionSpec>,
): Record<string, string | boolean | undefined> {
  const all: Record<string, OptionSpec> = {
    ...options,
    help: { type: "boolean", short: "h", help: "print this help" },
  };
  const o = parseCommandLine(args, usage, description, all);
  if (o.help) {
    console.log(helpText(usage, description, all));
    Deno.exit(0);
  }
  return o;
}

/** A positive integer option, or an error naming it. */
export function intOption(name: string, v: string | boolean | undefined, fallback: number): number {
  if (v === undefined || v === false) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`error: --${name} must be a positive integer, got '${v}'`);
    Deno.exit(2);
  }
  return n;
}

/** A seed option: a non-negative safe integer (the fallback when absent), or an error naming it. */
export function seedOption(name: string, v: string | boolean | undefined, fallback = 0): number {
  if (v === undefined || v === false) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`error: --${name} must be a non-negative integer, got '${v}'`);
    Deno.exit(2);
  }
  return n;
}

/** The `--backend` option: `cpu` (when absent) or `webgpu`, or an error naming it. */
export function backendOption(v: string | boolean | undefined): "cpu" | "webgpu" {
  if (v === undefined || v === false || v === "cpu") return "cpu";
  if (v === "webgpu") return "webgpu";
  console.error(`error: --backend must be cpu or webgpu, got '${v}'`);
  Deno.exit(2);
}

/**
 * Throws when a model folder without `tokenizer.json` (bytes as token ids 0..255) has a vocabulary
 * too small for them, naming the folder and the fix, instead of an out-of-vocabulary id later.
 */
export function checkByteVocabulary(model: string, tokenizerKind: string, vocabSize: number): void {
  if (tokenizerKind !== "bytes" || vocabSize >= 256) return;
  throw new FormatError(
    `--model ${model}: the folder has no tokenizer.json and its vocabulary (${vocabSize} ids) cannot hold the ` +
      `UTF-8 byte fallback (ids 0..255); pass a folder with the model's tokenizer.json ` +
      `(tokenizer.save_pretrained(dir) in Python)`,
  );
}

/** A positive number option, or an error naming it. */
export function numberOption(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined || v === false) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    console.error(`error: --${name} must be a positive number, got '${v}'`);
    Deno.exit(2);
  }
  return n;
}

/** The weights' dtype option (`--dtype float32|float16`), or an error naming it. */
export function weightDType(v: string | boolean | undefined): "float32" | "float16" {
  if (v === undefined || v === false || v === "float32") return "float32";
  if (v === "float16") return "float16";
  console.error(`error: --dtype must be float32 or float16, got '${v}'`);
  Deno.exit(2);
}

/**
 * Runs a command-line `main`: a Tangent error (bad input) or a file-system error (a folder that
 * cannot be written, a missing file: `code` ENOENT, EACCES, …) prints its message and exits with
 * status 1; anything else is a bug and keeps its stack trace.
 */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    const system = e instanceof Error && typeof code === "string" && /^E[A-Z]+$/.test(code);
    if (!(e instanceof TangentError) && !system) throw e;
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
