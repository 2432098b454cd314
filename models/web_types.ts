/**
 * The web-platform types that the file and hub functions' signatures name (`URL`, `fetch`), as the
 * program that uses Tangent declares them.
 *
 * Deno, the DOM lib and `@types/node` declare both; a project compiled with `lib: ["ES2022"]` alone
 * declares neither, and the package's declarations must still type-check there. So each type is the
 * global one where the program has it and `never` where it does not: a path is then a string only,
 * and the `fetch` option takes nothing, which is all such a program can pass anyway; no stand-in
 * type accepts values that the functions could not use.
 * @module
 */

/**
 * The global `URL` (a `file:` URL names a file, as in `safetensors.read(new URL("./w.safetensors",
 * import.meta.url))`); `never` in a program whose types have no `URL`.
 * @example
 * ```ts
 * import { safetensors, tensor } from "@tangent/tangent";
 * const where: safetensors.FileURL = new URL("file:///tmp/w.safetensors");
 * console.log(where.protocol); // file:
 * console.log(safetensors.serialize({ w: tensor([1]) }).length > 0); // true
 * ```
 */
export type FileURL = typeof globalThis extends { URL: { prototype: infer U } } ? U : never;

/**
 * The global `fetch` function's type, for injecting another `fetch` (a proxy, a test double);
 * `never` in a program whose types have no `fetch`.
 * @example
 * ```ts
 * import type { models } from "@tangent/tangent";
 * const logged: models.Fetch = (input, init) => {
 *   console.log("GET", String(input));
 *   return fetch(input, init);
 * };
 * const options: models.ResolveOptions = { fetch: logged };
 * console.log(typeof options.fetch); // function
 * ```
 */
export type Fetch = typeof globalThis extends { fetch: infer F } ? F : never;
