/**
 * `.d.ts` declarations for the npm package, emitted by TypeScript's compiler API from the sources
 * (no type check: `deno check` and the publish dry run own that; the library has explicit types
 * on its exports, so declarations need no inference across files). Relative `.ts` specifiers
 * become `.js`, which TypeScript resolves to the `.d.ts` beside them.
 * @module
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ts from "typescript";

/**
 * Emits declarations of `entries` (paths relative to `root`) and everything they import into `out`.
 * @param root the repository root
 * @param entries entry files, relative to root
 * @param out output folder (the layout of root is kept)
 * @param nodeModules a node_modules folder holding the npm packages the sources import
 */
export async function emitDeclarations(
  root: string,
  entries: string[],
  out: string,
  nodeModules: string,
): Promise<void> {
  const options: ts.CompilerOptions = {
    declaration: true,
    emitDeclarationOnly: true,
    noCheck: true,
    allowImportingTsExtensions: true,
    rootDir: root,
    outDir: out,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2024.d.ts", "lib.esnext.d.ts", "lib.dom.d.ts"],
    types: [],
    skipLibCheck: true,
    strict: true,
    baseUrl: root,
    paths: { "*": [`${nodeModules}/*`] },
  };
  const program = ts.createProgram(entries.map((e) => join(root, e)), options);
  const result = program.emit(undefined, undefined, undefined, true);
  const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" };
    throw new Error(`declaration emit failed:\n${ts.formatDiagnostics(errors, host)}`);
  }
  await rewriteSpecifiers(out);
}

/** `from "./x.ts"` → `from "./x.js"` (and `import("./x.ts")`) in every .d.ts under dir. */
async function rewriteSpecifiers(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await rewriteSpecifiers(p);
    else if (e.name.endsWith(".d.ts")) {
      const text = await readFile(p, "utf8");
      const fixed = text.replace(/(["'])(\.\.?\/[^"']*?)\.ts\1/g, "$1$2.js$1");
      if (fixed !== text) await writeFile(p, fixed);
    }
  }
}
