/**
 * Writing result files so that nothing is ever left half-written: write a temporary name in the
 * same folder, then rename it over the target (atomic on one file system).
 * @module
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `data` to `path` atomically: creates the folder if needed, writes
 * `.<name>.<random>.tmp` beside the target, then renames it to `path`, so readers see the old
 * file or the whole new one, never a part. The temporary file is removed if the write fails.
 * @param path the file to (over)write
 * @param data text (written as UTF-8) or bytes
 * @example
 * ```ts
 * import { writeFileAtomic } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/out/report.md`, "# Report\n");
 * ```
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
