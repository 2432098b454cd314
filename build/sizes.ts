/**
 * Bundle sizes for `deno task build`: each output file, what loading each entry point fetches (its
 * file and the chunks it imports statically), and the tree-shaken size of a few typical programs
 * (what an app's bundler keeps). The README's size table comes from `dist/sizes.json`.
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import type * as esbuild from "esbuild";

/** One output file's size. */
export interface BundleSize {
  /** Path under the output folder. */
  file: string;
  /** Bytes. */
  bytes: number;
  /** Bytes after gzip -9. */
  gzip: number;
}

/** What importing one entry point loads: its file and the chunks it imports statically. */
export interface EntrySize {
  /** `browser/mod.js`, `node/adapters.js`, … */
  entry: string;
  /** How many files (the entry and its chunks). */
  files: number;
  /** Bytes. */
  bytes: number;
  /** Bytes after gzip -9, file by file. */
  gzip: number;
}

/** The tree-shaken browser bundle of a small program. */
export interface SubsetSize {
  /** What the program imports. */
  name: string;
  /** Bytes. */
  bytes: number;
  /** Bytes after gzip -9. */
  gzip: number;
}

const gzip = (bytes: Uint8Array): number => gzipSync(bytes, { level: 9 }).length;

// what every program below imports from the package root
const CORE = [
  "tensor",
  "matmul",
  "add",
  "sub",
  "mul",
  "mean",
  "sum",
  "square",
  "exp",
  "log",
  "key",
  "split",
  "normal",
  "grad",
  "valueAndGrad",
  "jit",
  "vmap",
  "scope",
  "useBackend",
  "webgpuAvailable",
];

/**
 * Programs bundled for the browser with tree shaking: the imports of the README's size table.
 * Keys are the table's rows; values, the names each imports from the package root.
 */
export const SUBSETS: Record<string, string[]> = {
  "core: tensors, ops, autodiff, jit, vmap, CPU and WebGPU backends": CORE,
  "core with linalg, manifolds, optim and adapters": [...CORE, "linalg", "manifolds", "optim", "adapters"],
};

/** Sizes of the `.js` files under `out` (not `types/`). */
export async function fileSizes(out: string): Promise<BundleSize[]> {
  const sizes: BundleSize[] = [];
  for (const file of await jsFiles(out)) {
    const bytes = await readFile(file);
    sizes.push({ file: relative(out, file), bytes: bytes.length, gzip: gzip(bytes) });
  }
  return sizes.sort((a, b) => a.file.localeCompare(b.file));
}

async function jsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== "types") out.push(...await jsFiles(p));
    else if (e.name.endsWith(".js")) out.push(p);
  }
  return out;
}

/**
 * What each entry point of a build loads: walks the metafile's static imports from each entry.
 * @param metafile esbuild's metafile of the build
 * @param root esbuild's working directory (the metafile's paths are relative to it)
 * @param out the output folder the sizes' paths are relative to
 * @param sizes the files' sizes ({@link fileSizes})
 */
export function entrySizes(metafile: esbuild.Metafile, root: string, out: string, sizes: BundleSize[]): EntrySize[] {
  const bySize = new Map(sizes.map((s) => [s.file, s]));
  const rel = (p: string) => relative(out, resolve(root, p));
  const result: EntrySize[] = [];
  for (const [path, output] of Object.entries(metafile.outputs)) {
    if (!output.entryPoint || !path.endsWith(".js") || rel(path).includes("/chunks/")) continue; // not dynamic chunks
    const seen = new Set<string>();
    const walk = (p: string) => {
      if (seen.has(p)) return;
      seen.add(p);
      for (const i of metafile.outputs[p]?.imports ?? []) {
        if (i.kind === "import-statement" && !i.external) walk(i.path);
      }
    };
    walk(path);
    const files = [...seen].map((p) => bySize.get(rel(p))).filter((s): s is BundleSize => s !== undefined);
    result.push({
      entry: rel(path),
      files: files.length,
      bytes: files.reduce((a, s) => a + s.bytes, 0),
      gzip: files.reduce((a, s) => a + s.gzip, 0),
    });
  }
  return result.sort((a, b) => a.entry.localeCompare(b.entry));
}

/**
 * Tree-shaken, minified browser bundles of the {@link SUBSETS} programs.
 * @param options esbuild options of the browser build (plugins, shims, paths) to bundle with
 * @param build esbuild's `build`
 * @param root the repository root
 */
export async function subsetSizes(
  options: esbuild.BuildOptions,
  build: typeof esbuild.build,
  root: string,
): Promise<SubsetSize[]> {
  const result: SubsetSize[] = [];
  for (const [name, names] of Object.entries(SUBSETS)) {
    const r = await build({
      ...options,
      entryPoints: undefined,
      outdir: undefined,
      splitting: false,
      sourcemap: false,
      metafile: false,
      legalComments: "none",
      write: false,
      stdin: {
        contents: `export { ${names.join(", ")} } from ${JSON.stringify(join(root, "mod.ts"))};`,
        resolveDir: root,
        loader: "ts",
      },
    });
    const js = r.outputFiles.find((f) => f.path.endsWith(".js")) ?? r.outputFiles[0];
    result.push({ name, bytes: js.contents.length, gzip: gzip(js.contents) });
  }
  return result;
}
