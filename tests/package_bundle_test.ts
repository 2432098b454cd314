// The npm build works: build/build.ts bundles into a folder under /tmp, `npm pack` makes a tarball,
// `npm install` puts it in a fresh Node project, and Node (a) imports the package, takes a gradient
// and trains a LoRA layer (a jitted step), maps with vmap, writes and reads a safetensors file,
// (b) imports every subpath of deno.json "exports" (`@tangent/tangent/adapters`, …: the same
// functions as the root's namespaces), (c) runs the adapter laws through `@tangent/tangent/testing`,
// and TypeScript checks consumer files against the emitted declarations (strict, skipLibCheck off)
// under the libs users compile with: the DOM's, a web worker's, ES2022 with Node's globals, and
// ES2022 alone (no URL, fetch or WebAssembly: the declarations must not need them, and there a
// path is a string only).
import assert from "node:assert/strict";
import { mkdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

async function version(cmd: string): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args: ["--version"], stdout: "piped", stderr: "null" }).output();
    return out.code === 0 ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null; // not on PATH
  }
}

const node = await version("node");
const npm = node ? await version("npm") : null;
const skip = !node || !npm;
if (skip) {
  console.warn(
    `package_bundle_test: SKIPPED: ${node ? "npm" : "node"} is not on PATH, so the Node bundle is not tested`,
  );
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", npm_config_update_notifier: "false" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(
    out.code,
    0,
    `${cmd} ${args.join(" ")} failed in ${cwd}:\n${text}\n${new TextDecoder().decode(out.stderr)}`,
  );
  return text;
}

const NODE_CHECK = `import {
  adapters, grad, jit, key, linalg, lowrank, manifolds, matmul, mean, models, mul, normal, optim, safetensors, scope,
  split, square, sub, sum, tensor, transpose, valueAndGrad, vmap,
} from "@tangent/tangent";
import { checkAdapterLaws } from "@tangent/tangent/testing";
import * as subAdapters from "@tangent/tangent/adapters";
import * as subLinalg from "@tangent/tangent/linalg";
import * as subLowrank from "@tangent/tangent/lowrank";
import * as subManifolds from "@tangent/tangent/manifolds";
import * as subModels from "@tangent/tangent/models";
import * as subOptim from "@tangent/tangent/optim";
import * as subSafetensors from "@tangent/tangent/safetensors";
import { join } from "node:path";

const x = tensor([[1, 2], [3, 4]], { dtype: "float64" });
const g = Array.from(grad((a) => mean(square(a)))(x).dataSync()); // x / 2

const [kx, kw, ka, kb, kc] = split(key(0), 5);
const X = normal(kx, [64, 16]);
const W = normal(kw, [8, 16]);
const delta = matmul(normal(kb, [8, 4]), normal(kc, [4, 16])); // rank 4: within reach of LoRA r = 4
const Y = matmul(X, transpose(sub(W, mul(delta, 0.5))));
const lora = adapters.lora({ r: 4, alpha: 8 });
const { params: p0, frozen } = lora.init(ka, { weight: W });
const loss = (p) => mean(square(sub(lora.apply(p, frozen, X), Y)));
const opt = manifolds.adam({ lr: 0.05 });
let params = p0, state = opt.init(p0);
const step = jit((params, state) => {
  const [l, gr] = valueAndGrad(loss)(params);
  return { ...opt.update(gr, state, params), value: l };
});
const losses = [];
for (let i = 0; i < 150; i++) {
  let value;
  ({ params, state, value } = scope(() => step(params, state)));
  losses.push(value.dataSync()[0]);
}
const mapped = Array.from(vmap((r) => sum(square(r)))(x).dataSync()); // [5, 25]
const file = join(process.argv[2], "lora.safetensors");
await safetensors.write(file, { ...params, weight: W }, { format: "pt" });
const loaded = await safetensors.read(file);
const roundTrip = Object.entries(params).every(([k, t]) =>
  loaded.tensors[k].dtype === t.dtype && loaded.tensors[k].dataSync().every((v, i) => v === t.dataSync()[i]));
const fromBytes = safetensors.deserialize(safetensors.serialize({ x })).tensors.x.dataSync();
const subpaths = [
  subAdapters.lora === adapters.lora, subLinalg.qr === linalg.qr, subLowrank.als === lowrank.als,
  subManifolds.stiefel === manifolds.stiefel, subModels.loadModel === models.loadModel, subOptim.adam === optim.adam,
  subSafetensors.read === safetensors.read,
];
await checkAdapterLaws(adapters.lora({ r: 2 }), { numRuns: 2, seed: 1 });
console.log(JSON.stringify({
  g, losses, mapped, roundTrip, metadata: loaded.metadata, fromBytes: Array.from(fromBytes), subpaths,
}));
`;

const TS_CHECK = `import {
  adapters, grad, jit, key, type LoadModelOptions, manifolds, mean, type ModelConfig, normal, safetensors, square, sum,
  type Tensor, vmap,
} from "@tangent/tangent";
import { arbitraryTensor, checkAdapterLaws } from "@tangent/tangent/testing";
import { lora as loraOf } from "@tangent/tangent/adapters";
import { qr } from "@tangent/tangent/linalg";
import { als } from "@tangent/tangent/lowrank";
import { stiefel } from "@tangent/tangent/manifolds";
import { loadModel } from "@tangent/tangent/models";
import { adamw } from "@tangent/tangent/optim";
import { type Loaded, read } from "@tangent/tangent/safetensors";
const w: Tensor = normal(key(0), [4, 4]);
const g: Tensor = grad((t: Tensor) => mean(square(t)))(w);
const lora = adapters.lora({ r: 2 });
const { params } = lora.init(key(1), { weight: w });
const opt = manifolds.adam({ lr: 1e-3 });
const state = opt.init(params);
const f = jit((t: Tensor) => sum(square(t)));
const v: Tensor = vmap((t: Tensor) => sum(t))(w);
const bytes: Uint8Array = safetensors.serialize({ w });
const loaded: Promise<Loaded> = read("w.safetensors");
const options: LoadModelOptions = { dtype: "float32" };
const config: Promise<ModelConfig> = loadModel("folder", options).then((m) => m.config);
const q: Tensor = qr(w).Q;
await checkAdapterLaws(lora, { in: 4, out: 4 });
export { adamw, als, arbitraryTensor, bytes, config, f, g, loaded, loraOf, q, state, stiefel, v };
`;

/**
 * Where the program has URL and fetch (the DOM, a web worker, Node's globals): the file functions
 * take a file URL and the hub's options a fetch.
 */
const TS_WEB = `import { read, readHeader, write } from "@tangent/tangent/safetensors";
import { resolveModel, type ResolveOptions } from "@tangent/tangent/models";
const url = new URL("file:///tmp/w.safetensors");
const loaded = read(url, { dtype: "float32" });
const header = readHeader(url);
const written: Promise<void> = write(url, {});
const options: ResolveOptions = { fetch, revision: "main" };
const dir: Promise<string> = resolveModel("owner/name", options);
export { dir, header, loaded, written };
`;

/** Where the program has neither URL nor fetch (ES2022 alone): a path is a string, and no look-alike passes. */
const TS_BARE = `import { read } from "@tangent/tangent/safetensors";
import type { ResolveOptions } from "@tangent/tangent/models";
const fromPath = read("w.safetensors");
const lookAlike = { href: "file:///w.safetensors", protocol: "file:", pathname: "/w.safetensors", search: "" };
// @ts-expect-error: no URL type in this program, so no URL-like object stands in for one
const fromLookAlike = read(lookAlike);
// @ts-expect-error: no fetch type in this program, so the fetch option takes nothing
const options: ResolveOptions = { fetch: async () => ({ ok: true }) };
export { fromLookAlike, fromPath, options };
`;

/**
 * URL and fetch as @types/node declares them (shortened): a class of node:url behind a global
 * `var URL` and `interface URL`, and a global function `fetch`; no WebAssembly namespace.
 */
const NODE_GLOBALS = `declare class NodeURL {
  constructor(input: string | NodeURL, base?: string | NodeURL);
  readonly href: string;
  readonly protocol: string;
  readonly pathname: string;
}
interface URL extends NodeURL {}
declare var URL: typeof NodeURL;
declare function fetch(input: string | URL, init?: object): Promise<unknown>;
`;

/** The consumer setups TypeScript checks: name, lib, and the files besides main.ts. */
const TS_SETUPS: [string, string[], string[]][] = [
  ["dom", ["es2023", "dom"], ["web.ts"]],
  ["worker", ["es2022", "webworker"], ["web.ts"]],
  ["node", ["es2022"], ["web.ts", "node-globals.d.ts"]],
  ["bare", ["es2022"], ["bare.ts"]],
];

Deno.test({
  name:
    "the npm build: npm pack, npm install, Node takes a gradient, trains a LoRA layer and runs the laws; tsc checks the .d.ts",
  ignore: skip,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-bundle-" });
    try {
      const dist = join(tmp, "dist");
      await run(Deno.execPath(), ["run", "-A", join(ROOT, "build/build.ts"), "--out", dist, "--quiet"], ROOT);
      const pkg = JSON.parse(await readFile(join(dist, "package.json"), "utf8"));
      assert.equal(pkg.name, "@tangent/tangent");
      const denoExports = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")).exports;
      assert.deepEqual(
        Object.keys(pkg.exports).sort(),
        [...Object.keys(denoExports), "./package.json"].sort(),
        "the npm package offers the subpaths of deno.json's exports",
      );
      // the README's size table: what each entry loads, and tree-shaken programs
      const sizes = JSON.parse(await readFile(join(dist, "sizes.json"), "utf8"));
      const mod = sizes.entries.find((e: { entry: string }) => e.entry === "browser/mod.js");
      assert.ok(mod && mod.files >= 1 && mod.gzip > 0 && mod.gzip < mod.bytes, JSON.stringify(sizes.entries));
      assert.ok(sizes.subsets.length >= 2 && sizes.subsets.every((s: { gzip: number }) => s.gzip < mod.gzip));
      assert.deepEqual(pkg.dependencies ?? {}, {}, "the bundles need no npm dependencies");

      const tarball = (await run("npm", ["pack", "--silent", "--pack-destination", tmp], dist)).trim().split("\n").at(
        -1,
      )!;
      const app = join(tmp, "app");
      await mkdir(app);
      await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
      await run(
        "npm",
        ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", join(tmp, tarball)],
        app,
      );

      // fast-check (the optional peer of ./testing) and TypeScript, from Deno's cache
      const tools = join(tmp, "tools");
      await mkdir(tools);
      const imports = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")).imports;
      await writeFile(
        join(tools, "deno.json"),
        JSON.stringify({
          imports: { "fast-check": imports["fast-check"], typescript: imports.typescript },
          nodeModulesDir: "auto",
        }),
      );
      await run(Deno.execPath(), ["install", "--quiet"], tools);
      const fastCheck = await realpath(join(tools, "node_modules/fast-check"));
      await run("ln", ["-s", fastCheck, join(app, "node_modules/fast-check")], app); // Deno.symlink needs unscoped --allow-write

      await writeFile(join(app, "check.mjs"), NODE_CHECK);
      const result = JSON.parse((await run("node", ["check.mjs", tmp], app)).trim().split("\n").at(-1)!);
      assert.deepEqual(result.g, [0.5, 1, 1.5, 2]);
      assert.deepEqual(result.mapped, [5, 25]);
      assert.equal(result.roundTrip, true, "safetensors write/read in Node gives the LoRA factors back bit for bit");
      assert.deepEqual(result.metadata, { format: "pt" });
      assert.deepEqual(result.fromBytes, [1, 2, 3, 4]);
      assert.deepEqual(result.subpaths, result.subpaths.map(() => true), "a subpath gives other functions");
      const losses: number[] = result.losses;
      assert.ok(losses.every(Number.isFinite), `non-finite loss: ${losses}`);
      assert.ok(losses.at(-1)! < 1e-3 * losses[0], `LoRA training in Node: loss ${losses[0]} → ${losses.at(-1)}`);

      await writeFile(join(app, "main.ts"), TS_CHECK);
      await writeFile(join(app, "web.ts"), TS_WEB);
      await writeFile(join(app, "bare.ts"), TS_BARE);
      await writeFile(join(app, "node-globals.d.ts"), NODE_GLOBALS);
      // a strict consumer that type-checks the shipped declarations too (skipLibCheck off)
      const tsconfig = (lib: string[], files: string[]) =>
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            target: "es2022",
            module: "nodenext",
            moduleResolution: "nodenext",
            lib,
            types: [],
            skipLibCheck: false,
          },
          files,
        });
      const tsc = join(await realpath(join(tools, "node_modules/typescript")), "bin/tsc");
      for (const [name, lib, files] of TS_SETUPS) {
        await writeFile(join(app, `tsconfig.${name}.json`), tsconfig(lib, ["main.ts", ...files]));
        await run("node", [tsc, "-p", `tsconfig.${name}.json`], app);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
});
