/**
 * Checking an options object: a caller from JavaScript (the npm bundle, a browser page) or a
 * PyTorch/PEFT/optax habit (`lr` written `learning_rate`, `rank` written `r`, `{ axis }` written as
 * a bare number) must not have an option silently ignored.
 * @module
 */

import { DomainError } from "./errors.ts";

/**
 * The option names of an options type, complete by construction: the record must name every key
 * of `T` (optional ones included) and no other, so the list cannot drift from the interface.
 * @internal
 */
export function optionKeys<T>(keys: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(keys);
}

// names other libraries give an option, and Tangent's name for it (suggested only when the
// operation has that option)
const ALIASES: Record<string, readonly string[]> = {
  learningrate: ["lr"],
  r: ["rank"],
  rank: ["r"],
  initloraweights: ["init"],
  loraalpha: ["alpha"],
  betas: ["b1", "b2"],
  beta1: ["b1"],
  beta2: ["b2"],
  dim: ["axis"],
  axes: ["axis"],
  keepdim: ["keepdims"],
  seed: ["key"],
  torchdtype: ["dtype"],
  device: ["backend"],
  low: ["min"],
  high: ["max"],
  minval: ["min"],
  maxval: ["max"],
};

const squash = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, "");

// edits between two names, a swap of neighbours counting as one (optimal string alignment)
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i + j));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const c = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + c);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

function suggest(name: string, keys: readonly string[]): string {
  const s = squash(name);
  const same = keys.find((k) => squash(k) === s);
  if (same) return `; did you mean "${same}"?`;
  const alias = (ALIASES[s] ?? []).filter((k) => keys.includes(k));
  if (alias.length) return `; Tangent calls it ${alias.map((k) => `"${k}"`).join(" and ")}`;
  const near = keys.filter((k) => distance(squash(k), s) <= Math.min(2, Math.floor(s.length / 3)));
  return near.length === 1 ? `; did you mean "${near[0]}"?` : "";
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number" || typeof v === "boolean") return `the ${typeof v} ${v}`;
  if (typeof v === "string") return `the string "${v}"`;
  return typeof v === "object" ? `a ${(v as object).constructor?.name ?? "object"}` : typeof v;
}

/**
 * Throws a DomainError naming `op` when its required options object is missing (undefined or
 * null): `lora()` read `opts.alpha` of undefined, a TypeError. Given `keys`, then checks its keys as
 * `checkOptions` does.
 * @internal
 */
export function requireOptions(op: string, opts: unknown, example: string, keys?: readonly string[]): void {
  if (opts === undefined || opts === null) {
    throw new DomainError(`${op}: needs an options object such as ${example}, got ${opts}`);
  }
  if (keys) checkOptions(op, opts, keys, example);
}

/**
 * Throws a DomainError unless `opts` is absent or a plain object whose keys are all in `keys`,
 * naming the unknown option and the likely intended one. `example` is what a correct object
 * looks like, for the message when `opts` is not an object at all (`sum(x, 1)`).
 * @internal
 */
export function checkOptions(op: string, opts: unknown, keys: readonly string[], example?: string): void {
  if (opts === undefined) return;
  const proto = opts !== null && typeof opts === "object" ? Object.getPrototypeOf(opts) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    // a bare value that is clearly one option's value: show that option holding it
    const like = typeof opts === "number" && keys.includes("axis")
      ? `{ axis: ${opts} }`
      : (typeof opts === "number" || Array.isArray(opts)) && keys.includes("argnums")
      ? `{ argnums: ${JSON.stringify(opts)} }`
      : Array.isArray(opts) && keys.includes("inAxes")
      ? `{ inAxes: ${JSON.stringify(opts)} }`
      : typeof opts === "number" && keys.includes("lr")
      ? `{ lr: ${opts} }`
      : typeof opts === "string" && keys.includes("dtype")
      ? `{ dtype: "${opts}" }`
      : example ?? (keys.length ? `{ ${keys[0]}: … }` : "{}");
    throw new DomainError(
      `${op}: the options must be an object such as ${like}, got ${describe(opts)}` +
        (keys.length ? `; the options are ${keys.join(", ")}` : "; it takes none"),
    );
  }
  for (const k of Object.keys(opts as object)) {
    if (keys.includes(k) || (opts as Record<string, unknown>)[k] === undefined) continue;
    throw new DomainError(
      `${op}: unknown option "${k}"${suggest(k, keys)}` +
        (keys.length ? ` (the options are ${keys.join(", ")})` : " (it takes no options)"),
    );
  }
}
