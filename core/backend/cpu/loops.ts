/**
 * Compiled strided loops for the CPU kernels. One generator writes, for a given expression, rank
 * and operand layout, a function of nested `for` loops (`new Function`), compiled once and cached.
 * The cache key holds every operand's typed-array type, so each compiled loop only ever sees one
 * array type per operand and V8 keeps its element accesses monomorphic; it also holds the kind of
 * each operand's innermost stride (0: hoisted out of the loop, 1: contiguous, other), so a row
 * broadcast or a per-row scalar costs nothing in the inner loop.
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import { coalesce } from "./strided.ts";

/** One letter for a typed array's element type (part of every loop's cache key). */
export function tagOf(a: TypedArray): string {
  return a instanceof Float32Array
    ? "f"
    : a instanceof Float64Array
    ? "d"
    : a instanceof Int32Array
    ? "i"
    : a instanceof Uint8Array
    ? "u"
    : "h";
}

/** Innermost-stride kind: hoisted (0), contiguous (1) or strided. */
function kindOf(stride: number): string {
  return stride === 0 ? "0" : stride === 1 ? "1" : "s";
}

// deno-lint-ignore no-explicit-any
type Loop = (...args: any[]) => void;
/** Compiled loops by expression (a constant string, so its hash is cached), then by a short layout key. */
const cache = new Map<string, Map<string, Loop>>();

/**
 * Compiles (once per `group` and `key`) `return function(params) { body }`, with `env`'s entries
 * in scope; `source` makes the parameter list and body only on a miss (building them costs more
 * than running a small loop). The keys are written into the source so distinct loops never share
 * compiled code or type feedback.
 */
export function compileLoop(
  group: string,
  key: string,
  source: () => [params: string, body: string],
  env: Record<string, unknown> = {},
): Loop {
  let byKey = cache.get(group);
  if (!byKey) cache.set(group, byKey = new Map());
  let f = byKey.get(key);
  if (!f) {
    const [params, body] = source();
    const names = Object.keys(env);
    const src = `// ${(group + " " + key).replace(/\n/g, " ")}\nreturn function(${params}) {\n${body}\n}`;
    f = new Function(...names, src)(...names.map((n) => env[n])) as Loop;
    byKey.set(key, f);
  }
  return f;
}

/**
 * Source of a nested loop over `nd` axes: operand 0 is written (`o`), operands 1…k are read
 * (`a1`…`ak`, bound to `x1`…`xk` for `expr`). Parameters: the arrays, then `sh` (extents), `st`
 * (strides per operand) and `off` (start offsets per operand).
 */
function loopSource(nd: number, kinds: readonly string[], expr: string): string {
  const k = kinds.length;
  const ops = [...Array(k).keys()];
  const L: string[] = [];
  for (let d = 0; d < nd; d++) L.push(`const n${d} = sh[${d}];`);
  for (const q of ops) {
    for (let d = 0; d < nd; d++) L.push(`const s${q}_${d} = st[${q}][${d}];`);
  }
  L.push(`let ${ops.map((q) => `p${q}_0 = off[${q}]`).join(", ")};`);
  const last = nd - 1;
  for (let d = 0; d < last; d++) {
    L.push(`for (let i${d} = 0; i${d} < n${d}; i${d}++) {`);
    L.push(`let ${ops.map((q) => `p${q}_${d + 1} = p${q}_${d}`).join(", ")};`);
  }
  // innermost axis
  const at = (q: number) =>
    kinds[q] === "1" ? `p${q}_${last} + j` : kinds[q] === "s" ? `p${q}_${last} + j * s${q}_${last}` : `p${q}_${last}`;
  const hoisted = ops.filter((q) => q > 0 && kinds[q] === "0");
  for (const q of hoisted) L.push(`const x${q} = a${q}[${at(q)}];`);
  L.push(`for (let j = 0; j < n${last}; j++) {`);
  for (const q of ops) if (q > 0 && kinds[q] !== "0") L.push(`const x${q} = a${q}[${at(q)}];`);
  L.push(`o[${at(0)}] = ${expr};`);
  L.push(`}`);
  for (let d = last - 1; d >= 0; d--) {
    L.push(ops.map((q) => `p${q}_${d} += s${q}_${d};`).join(" "));
    L.push(`}`);
  }
  return L.join("\n");
}

/**
 * `out[i] = expr(ins[0][i'], ins[1][i''], …)` over a shape, each operand read (and `out` written)
 * through its own strides and offset. `expr` names the operands `x1`, `x2`, …; `env` supplies
 * functions it calls. `name` identifies the expression in the cache key (with `expr` itself).
 */
export function stridedMap(
  name: string,
  expr: string,
  out: TypedArray,
  outStrides: readonly number[],
  outOffset: number,
  ins: readonly TypedArray[],
  inStrides: readonly (readonly number[])[],
  inOffsets: readonly number[],
  shape: readonly number[],
  env?: Record<string, unknown>,
): void {
  for (const d of shape) if (d === 0) return;
  const [sh, st] = coalesce(shape, [outStrides, ...inStrides]);
  const nd = sh.length;
  let key = name + "|" + tagOf(out);
  for (const a of ins) key += tagOf(a);
  key += "|" + nd + "|";
  for (const s of st) key += kindOf(s[nd - 1]);
  const f = compileLoop(expr, key, () => {
    const kinds = st.map((s) => kindOf(s[nd - 1]));
    return [["o", ...ins.map((_, i) => `a${i + 1}`), "sh", "st", "off"].join(", "), loopSource(nd, kinds, expr)];
  }, env);
  if (ins.length === 1) f(out, ins[0], sh, st, [outOffset, inOffsets[0]]);
  else if (ins.length === 2) f(out, ins[0], ins[1], sh, st, [outOffset, inOffsets[0], inOffsets[1]]);
  else f(out, ...ins, sh, st, [outOffset, ...inOffsets]);
}

/**
 * `out[i] = expr(ins[0][i], …)` over contiguous arrays of one length (the fast path of every
 * elementwise kernel: no strides at all).
 */
export function contiguousMap(
  name: string,
  expr: string,
  out: TypedArray,
  ins: readonly TypedArray[],
  env?: Record<string, unknown>,
): void {
  let key = name + "|flat|" + tagOf(out);
  for (const a of ins) key += tagOf(a);
  const f = compileLoop(expr, key, () => [
    ["o", ...ins.map((_, i) => `a${i + 1}`), "n"].join(", "),
    `for (let j = 0; j < n; j++) {\n${
      ins.map((_, i) => `const x${i + 1} = a${i + 1}[j];`).join(" ")
    }\no[j] = ${expr};\n}`,
  ], env);
  if (ins.length === 1) f(out, ins[0], out.length);
  else if (ins.length === 2) f(out, ins[0], ins[1], out.length);
  else f(out, ...ins, out.length);
}
