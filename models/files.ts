/**
 * Files written whole: a temporary name in the same folder, renamed when complete, so a reader
 * never sees half a file and a failure leaves the previous file (or none) in place.
 * @module
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FormatError } from "../core/errors.ts";

/** A temporary name beside `path` (same folder, so the final rename is atomic). */
export function temporaryPath(path: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(2)).join("");
  return join(dirname(path), `.${basename(path)}.tmp-${rand}`);
}

/**
 * Writes `path` through a temporary file in the same folder: `fill` writes the content through
 * `write(chunk)` (called as often as needed), then the file is renamed into place. The folder is
 * created when missing (a FormatError names it when it cannot be, e.g. a file has its name). On any failure the
 * temporary file is removed and the error rethrown.
 * @example
 * ```ts
 * import { writeAtomic } from "@tangent/tangent/models";
 * const dir = await Deno.makeTempDir();
 * await writeAtomic(`${dir}/a.txt`, async (write) => {
 *   await write(new TextEncoder().encode("hello "));
 *   await write(new TextEncoder().encode("world"));
 * });
 * ```
 */
export async function writeAtomic(
  path: string,
  fill: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "EEXIST" || code === "ENOTDIR"
      ? ": a file has that name (or a folder on its way is a file)"
      : "";
    throw new FormatError(
      `writing ${path}: cannot create the folder ${dirname(path)} (${(e as Error).message})${why}; choose another path`,
    );
  }
  const tmp = temporaryPath(path);
  const fh = await open(tmp, "wx");
  try {
    try {
      await fill(async (chunk) => {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      });
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes a whole text or byte file atomically (see `writeAtomic`).
 * @example
 * ```ts
 * import { writeFileAtomic } from "@tangent/tangent/models";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/results.json`, JSON.stringify({ ok: true }));
 * ```
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return writeAtomic(path, (write) => write(bytes));
}
