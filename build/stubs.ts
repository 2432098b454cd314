/**
 * Stub modules for the browser build: each imported name becomes a function that throws, when
 * called, an error naming the module and the way out (use Node or Deno for files), so importing the
 * bundle never fails and only the file-based functions do. Capitalised names become classes, so
 * `instanceof` checks against them stay valid (and false).
 * @module
 */

/**
 * The source of a stub for `specifier` exporting `names`.
 * @param specifier the module replaced (`node:fs/promises`, `@huggingface/hub`)
 * @param names the names the library imports from it
 */
export function stubModule(specifier: string, names: readonly string[]): string {
  const why = `${specifier} is not available in the browser build of Tangent: ` +
    `this function reads or writes files; run it in Node or Deno, or pass bytes instead of paths where the API takes them`;
  const lines = [`const why = ${JSON.stringify(why)};`];
  for (const name of names) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`stub for ${specifier}: bad export name ${name}`);
    lines.push(
      /^[A-Z]/.test(name)
        ? `export class ${name} extends Error { constructor() { super(why); } }`
        : `export function ${name}() { throw new Error(${JSON.stringify(`${name}: `)} + why); }`,
    );
  }
  return lines.join("\n") + "\n";
}
