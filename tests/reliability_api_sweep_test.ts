/**
 * Every exported function of the package (the root and its namespaces) called with arguments of the
 * wrong kind: none, undefined, numbers, strings, objects, arrays, null, a tensor where options belong.
 * Each call must return or throw a TangentError, never a TypeError or RangeError from inside (issue
 * 14's "whole public API"; the property test covers the core ops' values, this one every export's
 * argument checks). A function returned by a call (a transformation's result) is called with the same
 * arguments.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

/** Functions left out, and why. */
const SKIP: Record<string, string> = {
  loadModel: "reads files and the network",
  loadTokenizer: "reads files and the network",
  loadPeftAdapter: "reads files",
  saveModel: "writes files",
  savePeftAdapter: "writes files",
  generate: "runs a model",
  useBackend: "changes the default backend for the other tests",
  setMatmulThreads: "changes the CPU's thread count",
  flushWebGPU: "a device call",
  syncWebGPU: "a device call",
  webgpuAvailable: "a device call",
  webgpuMemory: "a device call",
};

const NAMESPACES: Record<string, Record<string, unknown>> = {
  "": T as unknown as Record<string, unknown>,
  linalg: T.linalg,
  manifolds: T.manifolds,
  optim: T.optim,
  adapters: T.adapters,
  lowrank: T.lowrank,
};

function argSets(): unknown[][] {
  return [
    [],
    [undefined],
    [1],
    ["x"],
    [{}],
    [[1, 2]],
    [null],
    [T.ones([2])],
    [T.ones([2, 2]), 1],
    [T.ones([2, 2]), "x"],
    [T.ones([2, 2]), {}],
    [T.ones([2, 2]), T.ones([2]), {}],
    [1, 2, 3],
  ];
}

const show = (args: unknown[]) =>
  args.map((a) => (a instanceof T.Tensor ? `tensor [${a.shape}]` : JSON.stringify(a) ?? String(a))).join(", ");

async function attempt(call: () => unknown): Promise<unknown> {
  try {
    const r = call();
    if (r instanceof Promise) return await r.then(() => undefined, (e) => e);
    return r;
  } catch (e) {
    return e;
  }
}

Deno.test({
  name: "API sweep: every export given arguments of the wrong kind returns or throws a TangentError",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const bad: string[] = [];
    let calls = 0;
    for (const [ns, mod] of Object.entries(NAMESPACES)) {
      for (const [name, fn] of Object.entries(mod)) {
        // classes (Tensor, the error classes) and skipped functions
        if (typeof fn !== "function" || /^[A-Z]/.test(name) || name in SKIP) continue;
        const label = ns ? `${ns}.${name}` : name;
        for (const args of argSets()) {
          calls++;
          const out = await attempt(() => (fn as (...a: unknown[]) => unknown)(...args));
          const fail = (e: unknown, what: string) => {
            if (e instanceof TypeError || e instanceof RangeError) {
              bad.push(`${what}(${show(args)}): ${e.name}: ${e.message}`);
            }
          };
          if (out instanceof Error) fail(out, label);
          else if (typeof out === "function") {
            fail(await attempt(() => (out as (...a: unknown[]) => unknown)(...args)), `${label}(…)`);
          }
        }
      }
    }
    assert.ok(calls > 2000, `only ${calls} calls`);
    assert.deepEqual(bad, [], `${bad.length} calls threw a bare TypeError/RangeError:\n${bad.slice(0, 20).join("\n")}`);
  },
});
