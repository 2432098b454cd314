// The generated documentation walks into every namespace. deno doc (and JSR, which documents every
// entry point of deno.json "exports") lists a namespace's members only when the namespace's module
// is itself an entry point: its re-exports (`export { lora } from "./lora.ts"`) are dropped
// otherwise. So each namespace of mod.ts is also an entry point, and this test holds the
// documentation of the package's entry points to naming each namespace's members.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";

const root = new URL("../", import.meta.url);

/** Members each namespace must list (a few per namespace, from different files). */
const EXPECTED: Record<string, string[]> = {
  adapters: ["lora", "dora", "hra", "oft", "adapt", "fromPeft", "stableRank", "LoraOptions", "Adapter"],
  manifolds: ["stiefel", "sphere", "grassmann", "adam", "riemannianAdam", "landing", "warmupCosineSchedule", "Point"],
  linalg: ["qr", "svd", "eigh", "cholesky", "polar", "expm"],
  lowrank: ["als", "alsMasked", "nearestKronecker", "hadamardAls", "kron"],
  models: ["loadModel", "saveModel", "createModel", "generate", "loadTokenizer", "ModelConfig"],
  safetensors: ["read", "write", "serialize", "deserialize", "Header"],
};

interface DocNode {
  name: string;
  declarations: { kind: string; def: { elements?: DocNode[] } }[];
}

Deno.test("deno doc of the package's entry points lists every namespace's members", async () => {
  const config = JSON.parse(await readFile(new URL("deno.json", root), "utf8"));
  const entries = Object.values(config.exports as Record<string, string>);
  for (const ns of Object.keys(EXPECTED)) {
    assert.ok(config.exports[`./${ns}`], `deno.json "exports" has no ./${ns} entry point`);
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...entries],
    cwd: root,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as { nodes: Record<string, { symbols: DocNode[] }> };
  const mod = doc.nodes[new URL("mod.ts", root).href];
  assert.ok(mod, "mod.ts is documented");
  for (const [ns, names] of Object.entries(EXPECTED)) {
    const node = mod.symbols.find((s) => s.name === ns && s.declarations[0].kind === "namespace");
    assert.ok(node, `mod.ts documents the namespace ${ns}`);
    const members = new Set((node.declarations[0].def.elements ?? []).map((e) => e.name));
    for (const name of names) assert.ok(members.has(name), `${ns}.${name} is missing from the docs of ${ns}`);
  }
  for (const entry of entries) {
    const file = doc.nodes[new URL(entry, root).href];
    assert.ok(file && file.symbols.length > 0, `${entry} documents its exports`);
  }
});
