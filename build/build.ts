/**
 * `deno task build`: bundles the package's entry points (`mod.ts`, `testing.ts`) with esbuild into
 * `dist/` as minified ES modules with source maps, sharing one copy of the library, and adds one small
 * module per namespace subpath of deno.json "exports" (`./adapters`, `./optim`, …) that re-exports
 * that namespace of `mod.js` (the same functions, no second copy), once for browsers (`dist/browser/`) and once for
 * Node (`dist/node/`), emits `.d.ts` declarations (`dist/types/`) with TypeScript, and writes
 * `dist/package.json`, so `npm pack` in `dist/` makes an installable package (no dependencies;
 * fast-check, which the `./testing` entry imports, is an optional peer dependency).
 *
 * - npm packages the library imports are bundled; esbuild finds them in a scratch `node_modules`
 *   that `deno install` fills from Deno's cache (versions pinned in deno.json).
 * - Browser build: `node:` modules are replaced by stubs whose functions throw a clear error when
 *   called (they serve only the file-based model functions), and `@huggingface/hub` (downloads
 *   into a cache folder) likewise; importing the bundle touches none of them.
 * - Both builds: the few `Deno.*` members the library uses are provided by a shim that falls back
 *   to Node's `process` (or nothing, in a browser); the build fails if the library uses another.
 *
 * Usage: `deno run -A build/build.ts [--out dist] [--no-types] [--quiet]`; prints the bundle sizes
 * (raw and gzipped) and writes them to `<out>/sizes.json`.
 * @module
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import { emitDeclarations } from "./declarations.ts";
import { type BundleSize, type EntrySize, entrySizes, fileSizes, type SubsetSize, subsetSizes } from "./sizes.ts";
import { stubModule } from "./stubs.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** One entry point of the package: its subpath (`.`, `./adapters`), bundle name and source file. */
export interface Entry {
  /** The subpath in deno.json "exports" and in the npm package's "exports". */
  subpath: string;
  /** The bundle's name in `browser/` and `node/` (`mod`, `testing`, `adapters`, …). */
  name: string;
  /** The source, relative to the repository root (`mod.ts`, `core/linalg/mod.ts`). */
  source: string;
}

/**
 * The entry points of deno.json "exports", so the npm package offers the same subpaths as JSR. Those
 * named after a namespace of mod.ts (`./adapters` → `adapters`) become re-exports of it.
 */
export function entriesOf(exports: Record<string, string>): Entry[] {
  return Object.entries(exports).map(([subpath, src]) => {
    const source = src.replace(/^\.\//, "");
    const name = subpath === "." ? "mod" : subpath.replace(/^\.\//, "");
    if (!/^[a-z][a-z0-9_-]*$/.test(name)) {
      throw new Error(`deno.json "exports": subpath ${subpath} gives no plain bundle name; use ./<name>`);
    }
    return { subpath, name, source };
  });
}
/** Source folders of the library (what the bundles contain). */
const LIBRARY = ["core", "autodiff", "manifolds", "adapters", "lowrank", "models", "testing", "mod.ts", "testing.ts"];
/** The `Deno` members the shim provides (build/shims/deno.ts). */
const SHIMMED_DENO = new Set(["env", "pid"]);
/** npm packages the browser build replaces by throwing stubs (they need a file system). */
const BROWSER_STUBBED_NPM = ["@huggingface/hub"];
/** An import statement from a module the browser build stubs: [, type, clause, specifier]. */
const STUBBED_IMPORT = new RegExp(
  `import\\s+(type\\s+)?([^;]*?)\\s+from\\s+"(node:[^"]+|${BROWSER_STUBBED_NPM.map(reEscape).join("|")})"`,
  "g",
);
/** Build tools in deno.json's imports, not bundled. */
const TOOLS = new Set(["esbuild", "typescript", "@webgpu/types"]);
/**
 * npm packages left as imports and declared as peer dependencies: fast-check, which the `./testing`
 * entry's types and values share with the user's own properties (one copy, not a bundled second).
 */
const PEERS = ["fast-check"];

/** What `build` produced (also written to `<out>/sizes.json`, less `out`). */
export interface BuildResult {
  /** The output folder. */
  out: string;
  /** Sizes of the JavaScript files (no source maps). */
  sizes: BundleSize[];
  /** What importing each entry point loads (its file and the chunks it imports statically). */
  entries: EntrySize[];
  /** Tree-shaken browser bundles of typical programs (build/sizes.ts SUBSETS). */
  subsets: SubsetSize[];
}

/** Options of `build`. */
export interface BuildOptions {
  /** Output folder (default `<repo>/dist`); replaced whole. */
  out?: string;
  /** Emit `.d.ts` declarations (default true). */
  types?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

async function sourceFiles(path: string): Promise<string[]> {
  if (path.endsWith(".ts")) return [path];
  const out: string[] = [];
  for (const e of await readdir(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) out.push(...await sourceFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Code without comments, string contents kept (good enough to find `Deno.x` and imports). */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/**
 * Scans the library: the names imported from each `node:` module (for the browser stubs) and the
 * `Deno` members used outside comments (each must be shimmed).
 */
async function scanLibrary(): Promise<{ nodeImports: Map<string, Set<string>>; deno: Map<string, string[]> }> {
  const nodeImports = new Map<string, Set<string>>();
  const deno = new Map<string, string[]>();
  for (const top of LIBRARY) {
    for (const file of await sourceFiles(join(ROOT, top))) {
      const code = stripComments(await readFile(file, "utf8"));
      for (const m of code.matchAll(STUBBED_IMPORT)) {
        if (m[1]) continue;
        const names = nodeImports.get(m[3]) ?? new Set<string>();
        nodeImports.set(m[3], names);
        const braces = /\{([^}]*)\}/.exec(m[2]);
        if (!braces) {
          throw new Error(
            `${relative(ROOT, file)}: \`import ${m[2]} from "${m[3]}"\`: the browser stubs need named imports`,
          );
        }
        for (const part of braces[1].split(",")) {
          const name = part.trim();
          if (name && !name.startsWith("type ")) names.add(name.split(/\s+as\s+/)[0]);
        }
      }
      // a quoted name (`Symbol.for("Deno.customInspect")`, the inspection hook core/tensor.ts registers) is no use
      for (const m of code.matchAll(/(?<!["'`])\bDeno\.([A-Za-z_$][\w$]*)/g)) {
        const files = deno.get(m[1]) ?? [];
        files.push(relative(ROOT, file));
        deno.set(m[1], files);
      }
    }
  }
  return { nodeImports, deno };
}

/** A scratch folder whose node_modules holds the npm packages of deno.json's imports. */
async function installDeps(imports: Record<string, string>, log: (l: string) => void): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tangent-build-" });
  const npm = Object.fromEntries(
    Object.entries(imports).filter(([name, spec]) => spec.startsWith("npm:") && !TOOLS.has(name)),
  );
  await writeFile(join(dir, "deno.json"), JSON.stringify({ imports: npm, nodeModulesDir: "auto" }));
  log(`installing ${Object.keys(npm).join(", ")} into a scratch node_modules`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--quiet"],
    cwd: dir,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`deno install failed in ${dir}:\n${new TextDecoder().decode(out.stderr)}`);
  return dir;
}

/** Replaces `node:` modules (and the stubbed npm packages) by throwing stubs in the browser build. */
function browserStubs(nodeImports: Map<string, Set<string>>): esbuild.Plugin {
  const npm = new RegExp(`^(${BROWSER_STUBBED_NPM.map(reEscape).join("|")})$`);
  return {
    name: "tangent-browser-stubs",
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, namespace: "tangent-stub" }));
      b.onResolve({ filter: npm }, (a) => ({ path: a.path, namespace: "tangent-stub" }));
      b.onLoad({ filter: /.*/, namespace: "tangent-stub" }, (a) => ({
        contents: stubModule(a.path, [...(nodeImports.get(a.path) ?? [])]),
        loader: "js",
      }));
    },
  };
}

function bundleOptions(
  platform: "browser" | "node",
  entries: Entry[],
  out: string,
  nodePaths: string[],
  nodeImports: Map<string, Set<string>>,
): esbuild.BuildOptions & { metafile: true } {
  return {
    absWorkingDir: ROOT,
    entryPoints: entries.map((e) => ({ out: e.name, in: join(ROOT, e.source) })),
    outdir: join(out, platform),
    bundle: true,
    splitting: true, // the entries share one copy of the library (one backend registry, one Tensor class)
    format: "esm",
    platform,
    target: "es2022",
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: "linked",
    chunkNames: "chunks/[name]-[hash]",
    nodePaths,
    external: PEERS,
    inject: [join(ROOT, "build/shims/deno.ts")],
    plugins: platform === "browser" ? [browserStubs(nodeImports)] : [],
    logLevel: "silent",
  };
}

/**
 * The module of a namespace subpath: the namespace's value exports, taken from `mod.js`. Checks that
 * the subpath's own module (deno.json "exports") exports the same values as mod.ts's namespace.
 */
async function namespaceModule(e: Entry): Promise<string> {
  const mod = await import(pathToFileURL(join(ROOT, "mod.ts")).href);
  const own = Object.keys(await import(pathToFileURL(join(ROOT, e.source)).href)).sort();
  const ns = mod[e.name] as Record<string, unknown> | undefined;
  const names = Object.keys(ns ?? {}).sort();
  if (!ns || own.join() !== names.join()) {
    throw new Error(
      `deno.json "exports" ${e.subpath} (${e.source}) is not mod.ts's namespace ${e.name}: ` +
        `export it from mod.ts as \`export * as ${e.name} from "./${e.source}"\`, or bundle it as an entry of its own`,
    );
  }
  return `// ${e.subpath}: the ${e.name} namespace of mod.js (generated by build/build.ts)\n` +
    `import { ${e.name} as ns } from "./mod.js";\n` +
    `export const { ${names.join(", ")} } = ns;\n`;
}

/** Whether an entry is bundled (mod.ts, testing.ts) or re-exports a namespace of mod.ts. */
const bundled = (e: Entry) => e.subpath === "." || e.subpath === "./testing";

async function bundle(options: esbuild.BuildOptions & { metafile: true }, platform: string): Promise<esbuild.Metafile> {
  const r = await esbuild.build(options);
  for (const w of r.warnings) console.warn(`esbuild (${platform}): ${w.text}`);
  if (Deno.env.get("TANGENT_BUILD_ANALYZE")) console.error(await esbuild.analyzeMetafile(r.metafile));
  return r.metafile;
}

/**
 * The package.json that makes `dist/` an npm package: no dependencies (the npm packages the library
 * uses are bundled), fast-check as an optional peer for `./testing`.
 */
function packageJson(
  config: { name: string; version: string; license: string; description?: string; imports: Record<string, string> },
  entries: Entry[],
  types: boolean,
) {
  const entry = (e: Entry) => ({
    ...(types ? { types: `./types/${e.source.replace(/\.ts$/, ".d.ts")}` } : {}),
    browser: `./browser/${e.name}.js`,
    node: `./node/${e.name}.js`,
    default: `./browser/${e.name}.js`,
  });
  return {
    name: config.name,
    version: config.version,
    description: config.description,
    license: config.license,
    type: "module",
    exports: { ...Object.fromEntries(entries.map((e) => [e.subpath, entry(e)])), "./package.json": "./package.json" },
    ...(types ? { types: "./types/mod.d.ts" } : {}),
    files: ["browser", "node", ...(types ? ["types"] : []), "README.md"],
    // the ./testing entry imports these; the main entry needs none
    peerDependencies: Object.fromEntries(
      PEERS.map((p) => [p, `^${config.imports[p].replace(/^npm:[^@]*@?[^@]*@/, "")}`]),
    ),
    peerDependenciesMeta: Object.fromEntries(PEERS.map((p) => [p, { optional: true }])),
    sideEffects: true,
    engines: { node: ">=20.16" },
    keywords: ["autodiff", "tensor", "webgpu", "peft", "lora", "manifolds"],
  };
}

/** Builds the package into `opts.out` (default `dist/`). */
export async function build(opts: BuildOptions = {}): Promise<BuildResult> {
  const log = opts.log ?? (() => {});
  const out = resolve(opts.out ?? join(ROOT, "dist"));
  const config = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8"));
  const entries = entriesOf(config.exports);
  const { nodeImports, deno } = await scanLibrary();
  for (const [member, files] of deno) {
    if (!SHIMMED_DENO.has(member)) {
      throw new Error(
        `Deno.${member} (in ${[...new Set(files)].join(", ")}) has no shim in build/shims/deno.ts: the Node and ` +
          `browser bundles would fail where it runs; use a node: module or add the member to the shim`,
      );
    }
  }
  const deps = await installDeps(config.imports, log);
  // write beside the target and rename, so a failed build leaves the previous dist/ whole
  const tmp = `${out}.tmp-${crypto.randomUUID()}`;
  try {
    const nodePaths = [join(deps, "node_modules")];
    const metafiles: esbuild.Metafile[] = [];
    for (const platform of ["browser", "node"] as const) {
      log(`bundling for ${platform}`);
      metafiles.push(
        await bundle(bundleOptions(platform, entries.filter(bundled), tmp, nodePaths, nodeImports), platform),
      );
    }
    for (const e of entries.filter((e) => !bundled(e))) {
      const source = await namespaceModule(e);
      for (const platform of ["browser", "node"]) await writeFile(join(tmp, platform, `${e.name}.js`), source);
    }
    log("measuring tree-shaken programs");
    const subsets = await subsetSizes(
      bundleOptions("browser", entries.filter(bundled), tmp, nodePaths, nodeImports),
      esbuild.build,
      ROOT,
    );
    if (opts.types !== false) {
      log("emitting .d.ts declarations");
      await emitDeclarations(ROOT, entries.map((e) => e.source), join(tmp, "types"), join(deps, "node_modules"));
    }
    await writeFile(
      join(tmp, "package.json"),
      JSON.stringify(packageJson(config, entries, opts.types !== false), null, 2) + "\n",
    );
    await writeFile(join(tmp, "README.md"), await npmReadme(config));
    const sizes = await fileSizes(tmp);
    const entrySized = metafiles.flatMap((m) => entrySizes(m, ROOT, tmp, sizes));
    await writeFile(
      join(tmp, "sizes.json"),
      JSON.stringify({ entries: entrySized, subsets, files: sizes }, null, 2) + "\n",
    );
    await mkdir(dirname(out), { recursive: true });
    // the HTML reference of `deno task doc` lives in dist/docs: keep it
    await rename(join(out, "docs"), join(tmp, "docs")).catch(() => {});
    await rm(out, { recursive: true, force: true });
    await rename(tmp, out);
    return { out, sizes, entries: entrySized, subsets };
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(deps, { recursive: true, force: true });
    await esbuild.stop();
  }
}

/** The npm README: the repository README with a note on the two builds. */
async function npmReadme(config: { name: string }): Promise<string> {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  return `<!-- generated by build/build.ts -->\n` +
    `> npm build of ${config.name}: \`import { grad, adapters } from "${config.name}"\` loads \`browser/mod.js\` ` +
    `in browsers and bundlers, \`node/mod.js\` in Node; the file-based model functions need Node or Deno.\n\n` +
    readme;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string" },
      "no-types": { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("deno run -A build/build.ts [--out dist] [--no-types] [--quiet]");
    Deno.exit(0);
  }
  const log = values.quiet ? () => {} : (l: string) => console.error(`build: ${l}`);
  const { out, entries, subsets } = await build({ out: values.out, types: !values["no-types"], log });
  if (!values.quiet) {
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`.padStart(9);
    console.log(`built ${relative(Deno.cwd(), out) || "."} (sizes.json has every file); importing an entry loads:`);
    for (const e of entries) {
      console.log(`  ${e.entry.padEnd(22)} ${String(e.files).padStart(3)} files ${kb(e.bytes)}  gzip ${kb(e.gzip)}`);
    }
    console.log("tree-shaken browser bundles of programs importing:");
    for (const s of subsets) console.log(`  ${s.name.padEnd(66)} ${kb(s.bytes)}  gzip ${kb(s.gzip)}`);
  }
}
