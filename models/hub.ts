/**
 * A model or adapter folder from a local path or the Hugging Face Hub.
 *
 * The Hub protocol (the tree listing, `resolve/<revision>/<file>` downloads) is
 * `@huggingface/hub`'s; this file picks the files Tangent reads (configs, tokenizer, safetensors
 * weights and their shards), writes each one under a temporary name and renames it when complete,
 * and explains failures: a repository with only PyTorch pickles, an id the hub does not know, a hub
 * that cannot be reached.
 * @module
 */

import { mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { downloadFile, HubApiError, listFiles } from "@huggingface/hub";
import { BackendError, FormatError, TangentError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import type { Fetch } from "./web_types.ts";

/** Options of {@link resolveModel}. */
export interface ResolveOptions {
  /** Where downloads go (default `$TANGENT_CACHE`, else `~/.cache/tangent/hub`). */
  cacheDir?: string;
  /** Branch, tag or commit on the hub (default `"main"`). A branch is fetched once, then read from the cache. */
  revision?: string;
  /** The `fetch` to use (tests inject one; a proxy can too). */
  fetch?: Fetch;
  /** Progress lines: file name, bytes, MB/s. */
  onProgress?: (msg: string) => void;
  /** `"model"` (default): config, tokenizer and weights; `"adapter"`: a PEFT adapter's config and weights. */
  files?: "model" | "adapter";
}

const REQUIRED = { model: "config.json", adapter: "adapter_config.json" } as const;
const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const SAFE_NAME = /^[\w.-]+(\/[\w.-]+)*$/;

/**
 * The members of the global `Deno` that this file reads, declared here (no code: at run time `Deno`
 * is the global, or in the npm bundles the shim of build/shims/deno.ts), so that the file also
 * type-checks in a project whose lib has no `deno.ns` (`["ESNext", "DOM"]`, for the browser).
 */
declare const Deno: { readonly env: { get(name: string): string | undefined }; readonly pid: number };

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env
  }
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false);
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function size(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${mb(bytes)} MB`;
}

/** An error's message followed by its causes' (`fetch failed: error sending request ...: dns error`). */
function messageOf(e: unknown): string {
  const parts: string[] = [];
  for (let c = e, depth = 0; c !== undefined && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    parts.push(c instanceof Error ? c.message : String(c));
    if (!(c instanceof Error)) break;
  }
  return parts.join(": ");
}

/** The error to throw for a failure of `@huggingface/hub` or of the network under it. */
function hubError(e: unknown, repo: string, revision: string, path?: string): Error {
  if (e instanceof TangentError) return e;
  const message = messageOf(e);
  const elsewhere = `or download the folder elsewhere (\`hf download ${repo} --local-dir DIR\`) and pass its path`;
  if (e instanceof HubApiError) {
    if (e.statusCode === 404) {
      const what = path === undefined ? `model ${repo} at revision ${revision}` : `${path} in ${repo}@${revision}`;
      return new FormatError(`resolveModel: the hub has no ${what} (${message}); check the id and revision`);
    }
    if (e.statusCode === 401 || e.statusCode === 403) {
      return new FormatError(
        `resolveModel: ${repo} is private or gated (status ${e.statusCode}): accept its terms on the hub and set ` +
          `HF_TOKEN, ${elsewhere}`,
      );
    }
    return new BackendError(
      `resolveModel: the hub answered status ${e.statusCode} for ${path ?? "the file list"} of ${repo} (${message}); ` +
        `retry later, ${elsewhere}`,
    );
  }
  return new BackendError(
    `resolveModel: the Hugging Face Hub could not be reached (${message}); download the folder elsewhere ` +
      `(\`hf download ${repo} --local-dir DIR\`) and pass its path`,
  );
}

/** What to say when a folder or repository has PyTorch pickles where Tangent reads safetensors. */
function pickleOnly(where: string, files: "model" | "adapter"): FormatError {
  const save = files === "model"
    ? "load it with transformers (AutoModelForCausalLM.from_pretrained) and save it with " +
      "model.save_pretrained(dir, safe_serialization=True)"
    : "load it with PEFT (PeftModel.from_pretrained) and save it with model.save_pretrained(dir, safe_serialization=True)";
  return new FormatError(
    `resolveModel: ${where} has only PyTorch .bin weights; Tangent reads safetensors: ${save}, then pass that folder`,
  );
}

/**
 * A local folder holding a model (or, with `files: "adapter"`, a PEFT adapter). An existing folder
 * is returned as it is, once it holds `config.json` (`adapter_config.json`). Anything else shaped
 * like a hub id (`owner/name` or `name`) is downloaded into
 * `cacheDir/<owner>--<name>/<revision>/`: `config.json`, `generation_config.json`,
 * `tokenizer.json`, `tokenizer_config.json` (each when the repository has it) and the weights
 * (`model.safetensors`, or `model.safetensors.index.json` and every shard it names); for an
 * adapter `adapter_config.json` and `adapter_model.safetensors`. Each file is written under a
 * temporary name and renamed when complete, so an interrupted download leaves no partial file and
 * the next call fetches only what is missing; a folder already complete is returned without any
 * request. `HF_TOKEN` (for gated models) and `HF_ENDPOINT` (a mirror) are read from the
 * environment.
 * @param idOrDir a folder path, or a hub id such as `"openai-community/gpt2"`
 * @param opts cache folder, revision, fetch, progress callback, model or adapter files
 * @returns the folder's path
 * @throws FormatError for a folder missing its config, an unknown repository, or one with only
 *   `.bin` weights; BackendError when the hub cannot be reached or a download breaks off
 * @example
 * ```ts
 * import { resolveModel } from "@tangent/tangent/models";
 * const dir = await resolveModel("../shared/fixtures/models/tiny_gpt2"); // a local folder: returned as is
 * const adapter = await resolveModel("../shared/fixtures/models/tiny_gpt2_lora_adapter", { files: "adapter" });
 * ```
 */
export async function resolveModel(idOrDir: string, opts: ResolveOptions = {}): Promise<string> {
  checkOptions(
    "resolveModel",
    opts,
    optionKeys<ResolveOptions>({ cacheDir: true, revision: true, fetch: true, onProgress: true, files: true }),
  );
  const files = opts.files ?? "model";
  const required = REQUIRED[files];
  const local = await stat(idOrDir).catch(() => undefined);
  if (local) {
    if (!local.isDirectory()) {
      throw new FormatError(`resolveModel: ${idOrDir} is a file; pass the folder that holds ${required}`);
    }
    if (!(await exists(join(idOrDir, required)))) {
      const hint = files === "model" && (await exists(join(idOrDir, "adapter_config.json")))
        ? `it holds adapter_config.json: resolve it with { files: "adapter" }`
        : `pass a folder written by save_pretrained (${files === "model" ? "transformers" : "PEFT"})`;
      throw new FormatError(`resolveModel: folder ${idOrDir} has no ${required}; ${hint}`);
    }
    return idOrDir;
  }
  if (!HUB_ID.test(idOrDir) || idOrDir.includes("..")) {
    throw new FormatError(
      `resolveModel: ${idOrDir} is neither an existing folder nor a hub id (owner/name); check the path`,
    );
  }
  return await download(idOrDir, files, opts);
}

async function download(repo: string, files: "model" | "adapter", opts: ResolveOptions): Promise<string> {
  const revision = opts.revision ?? "main";
  if (revision === "" || revision === "." || revision === "..") {
    throw new FormatError(`resolveModel: revision ${JSON.stringify(revision)} is not a branch, tag or commit`);
  }
  const root = opts.cacheDir ?? env("TANGENT_CACHE") ?? join(env("HOME") ?? homedir(), ".cache", "tangent", "hub");
  const dir = join(root, repo.replace("/", "--"), revision.replaceAll("/", "--"));
  const marker = join(dir, `.tangent-${files}.json`);
  const say = opts.onProgress ?? (() => {});

  // A folder a previous call completed: no request at all.
  const done = await readFile(marker, "utf8").then((t) => {
    const files = (JSON.parse(t) as { files?: unknown }).files;
    return Array.isArray(files) ? files.map(String) : undefined;
  }).catch(() => undefined);
  if (done && (await Promise.all(done.map((f) => exists(join(dir, f))))).every(Boolean)) {
    say(`${repo}@${revision}: in the cache at ${dir}`);
    return dir;
  }

  const token = env("HF_TOKEN");
  const params = {
    repo,
    revision,
    fetch: opts.fetch,
    hubUrl: env("HF_ENDPOINT"),
    accessToken: token?.startsWith("hf_") ? token : undefined,
  };
  const listed = new Set<string>();
  try {
    for await (const entry of listFiles(params)) if (entry.type === "file") listed.add(entry.path);
  } catch (e) {
    throw hubError(e, repo, revision);
  }

  const required = REQUIRED[files];
  if (!listed.has(required)) {
    const hint = files === "model" && listed.has("adapter_config.json")
      ? `it is a PEFT adapter: resolve it with { files: "adapter" }`
      : `is it a ${files === "model" ? "transformers model" : "PEFT adapter"} repository?`;
    throw new FormatError(`resolveModel: ${repo}@${revision} has no ${required}; ${hint}`);
  }
  const wanted: string[] = [required];
  if (files === "model") {
    for (const f of ["generation_config.json", "tokenizer.json", "tokenizer_config.json"]) {
      if (listed.has(f)) wanted.push(f);
    }
    if (listed.has("model.safetensors")) wanted.push("model.safetensors");
    else if (listed.has("model.safetensors.index.json")) wanted.push("model.safetensors.index.json");
    else if (listed.has("pytorch_model.bin") || listed.has("pytorch_model.bin.index.json")) {
      throw pickleOnly(`${repo}@${revision}`, files);
    } else {
      throw new FormatError(
        `resolveModel: ${repo}@${revision} has no model.safetensors (nor an index of shards); pass a repository ` +
          `with safetensors weights`,
      );
    }
  } else if (listed.has("adapter_model.safetensors")) wanted.push("adapter_model.safetensors");
  else if (listed.has("adapter_model.bin")) throw pickleOnly(`${repo}@${revision}`, files);
  else throw new FormatError(`resolveModel: ${repo}@${revision} has no adapter_model.safetensors`);

  say(`${repo}@${revision}: into ${dir}`);
  for (const f of wanted) await fetchFile(f);
  if (wanted.includes("model.safetensors.index.json")) {
    const path = join(dir, "model.safetensors.index.json");
    let shards: string[];
    try {
      shards = [...new Set(Object.values(JSON.parse(await readFile(path, "utf8")).weight_map) as string[])];
    } catch (e) {
      throw new FormatError(`resolveModel: ${path} is not a safetensors index (${(e as Error).message})`);
    }
    for (const s of shards) {
      if (typeof s !== "string" || !SAFE_NAME.test(s) || s.split("/").includes("..")) {
        throw new FormatError(`resolveModel: ${path} names a shard ${JSON.stringify(s)} outside the repository`);
      }
      await fetchFile(s);
      wanted.push(s);
    }
  }
  const tmp = `${marker}.${Deno.pid}-${crypto.randomUUID()}.part`;
  await writeFile(tmp, JSON.stringify({ repo, revision, files: wanted }));
  await rename(tmp, marker);
  return dir;

  /** Downloads `path` into the cache folder unless it is there, under a temporary name first. */
  async function fetchFile(path: string): Promise<void> {
    const dest = join(dir, path);
    if (await exists(dest)) return say(`${path}: in the cache`);
    let blob: Blob | null;
    try {
      blob = await downloadFile({ ...params, path, xet: false });
    } catch (e) {
      throw hubError(e, repo, revision, path);
    }
    if (!blob) throw new FormatError(`resolveModel: ${repo}@${revision} has no ${path}, which it names`);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.${Deno.pid}-${crypto.randomUUID()}.part`;
    const file = await open(tmp, "w");
    const start = performance.now();
    let bytes = 0, last = start;
    const rate = () => `${mb(bytes / Math.max((performance.now() - start) / 1000, 1e-3))} MB/s`;
    try {
      const reader = blob.stream().getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        await file.write(r.value);
        bytes += r.value.byteLength;
        if (performance.now() - last > 1000) {
          last = performance.now();
          say(`${path}: ${size(bytes)} of ${size(blob.size)}, ${rate()}`);
        }
      }
      if (bytes !== blob.size) throw new Error(`got ${bytes} of ${blob.size} bytes`);
      await file.close();
    } catch (e) {
      await file.close().catch(() => {});
      await rm(tmp, { force: true });
      throw new BackendError(
        `resolveModel: the download of ${path} from ${repo} broke off (${messageOf(e)}); nothing of it was kept: ` +
          `run again to fetch what is missing, or download the folder elsewhere and pass its path`,
      );
    }
    await rename(tmp, dest);
    say(`${path}: ${size(bytes)} in ${((performance.now() - start) / 1000).toFixed(1)} s, ${rate()}`);
  }
}
