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
  optim: ["sgd", "adam", "adamw", "chain", "clipByGlobalNorm", "masked", "applyUpdates", "Optimizer"],
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
  const namespaces = mod.symbols.filter((s) => s.declarations[0].kind === "namespace").map((s) => s.name).sort();
  assert.deepEqual(namespaces, Object.keys(EXPECTED).sort(), "a namespace of mod.ts is not held to its docs here");
  for (const entry of entries) {
    const file = doc.nodes[new URL(entry, root).href];
    assert.ok(file && file.symbols.length > 0, `${entry} documents its exports`);
  }
});

/** The files a task's `deno doc` command names. */
function docFiles(command: string): string[] {
  const doc = command.split("&&").map((c) => c.trim()).find((c) => c.startsWith("deno doc"));
  assert.ok(doc, `no deno doc command in ${command}`);
  return doc.split(/\s+/).filter((w) => w.endsWith(".ts"));
}

Deno.test("deno task doc (the HTML reference) and deno task check's doc lint cover every entry point", async () => {
  const config = JSON.parse(await readFile(new URL("deno.json", root), "utf8"));
  const entries = Object.values(config.exports as Record<string, string>).map((e) => e.replace(/^\.\//, ""));
  const html = new Set(docFiles(config.tasks.doc));
  const lint = new Set(docFiles(config.tasks.check));
  for (const entry of entries) {
    assert.ok(html.has(entry), `deno task doc leaves out the entry point ${entry}: its members miss from dist/docs`);
    assert.ok(lint.has(entry), `deno task check does not lint the docs of ${entry}`);
  }
  // deno task test runs the JSDoc examples of these paths
  const docTest = config.tasks.test.split("&&").map((c: string) => c.trim()).find((c: string) => c.includes("--doc"));
  assert.ok(docTest, "deno task test runs no doc tests");
  const paths = new Set(docTest.split(/\s+/));
  for (const entry of entries) {
    const top = entry.includes("/") ? entry.split("/")[0] : entry;
    assert.ok(paths.has(top), `deno task test does not run the JSDoc examples of ${top} (entry point ${entry})`);
  }
});

Deno.test("the README's API line links each namespace of mod.ts to a file that exists", async () => {
  const readme = await readFile(new URL("README.md", root), "utf8");
  const api = /\*\*API\*\*[^\n]*\n(?:[^\n]+\n)*/.exec(readme)?.[0];
  assert.ok(api, "the README has an **API** paragraph");
  const links = new Map([...api.matchAll(/\[`([^`]+)`\]\(([^)]+)\)/g)].map((m) => [m[1], m[2]]));
  for (const ns of Object.keys(EXPECTED)) assert.ok(links.has(ns), `the README's API paragraph has no link for ${ns}`);
  for (const [name, target] of links) {
    await readFile(new URL(target, root)).catch(() =>
      assert.fail(`the README links ${name} to ${target}, which is missing`)
    );
  }
});
