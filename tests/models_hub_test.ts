import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { BackendError, FormatError } from "../core/errors.ts";
import { resolveModel } from "../models/hub.ts";

type Repo = Record<string, Uint8Array<ArrayBuffer> | string>;

/**
 * A Hugging Face Hub served from memory, speaking the two routes @huggingface/hub uses for a
 * download: `GET /api/models/<repo>/tree/<rev>` (the file list) and `GET /<repo>/resolve/<rev>/<path>`
 * (a `Range: bytes=0-0` probe for size and ETag, then the whole file). `breakFile` is served as a
 * stream that fails halfway, `truncateFile` as half its bytes with no error.
 */
function fakeHub(repos: Record<string, Repo>, opts: { breakFile?: string; truncateFile?: string } = {}) {
  const requests: string[] = [];
  const bytesOf = (v: Uint8Array<ArrayBuffer> | string) => typeof v === "string" ? new TextEncoder().encode(v) : v;
  const notFound = (body: object, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status: 404,
      headers: { "Content-Type": "application/json", ...headers },
    });
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    assert.equal(url.origin, "https://huggingface.co");
    requests.push(url.pathname);
    const tree = url.pathname.match(/^\/api\/models\/(.+)\/tree\/([^/]+)$/);
    if (tree) {
      const repo = repos[tree[1]];
      if (!repo) return Promise.resolve(notFound({ error: "Repository not found" }));
      const entries = Object.entries(repo).map(([path, v]) => ({ type: "file", path, size: bytesOf(v).length }));
      return Promise.resolve(Response.json(entries));
    }
    const resolve = url.pathname.match(/^\/(.+)\/resolve\/([^/]+)\/(.+)$/);
    const content = resolve ? repos[resolve[1]]?.[decodeURIComponent(resolve[3])] : undefined;
    if (!resolve || content === undefined) {
      return Promise.resolve(notFound({ error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" }));
    }
    const data = bytesOf(content);
    const etag = `"${data.length}-${resolve[3]}"`;
    if (new Headers(init?.headers).get("Range") === "bytes=0-0") {
      return Promise.resolve(
        new Response(data.slice(0, 1), {
          status: 206,
          headers: { "Content-Range": `bytes 0-0/${data.length}`, ETag: etag },
        }),
      );
    }
    if (resolve[3] === opts.breakFile) {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(data.slice(0, data.length >> 1));
          c.error(new Error("connection reset by peer"));
        },
      });
      return Promise.resolve(new Response(body, { status: 200, headers: { ETag: etag } }));
    }
    const body = resolve[3] === opts.truncateFile ? data.slice(0, data.length >> 1) : data;
    return Promise.resolve(new Response(body, { status: 200, headers: { ETag: etag } }));
  };
  return { fetch, requests };
}

const weights = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

const TINY: Repo = {
  "config.json": '{"model_type": "gpt2"}',
  "generation_config.json": '{"eos_token_id": 2}',
  "tokenizer.json": '{"model": {}}',
  "model.safetensors": weights(300_000, 1),
  "README.md": "not downloaded",
  "pytorch_model.bin": "not downloaded either",
};

async function withCache(fn: (cacheDir: string) => Promise<void>): Promise<void> {
  const cacheDir = await mkdtemp("/tmp/tangent-hub-");
  try {
    await fn(cacheDir);
  } finally {
    await rm(cacheDir, { recursive: true });
  }
}

Deno.test("resolveModel downloads a repo's config, tokenizer and weights, then serves it from the cache", async () => {
  await withCache(async (cacheDir) => {
    const hub = fakeHub({ "owner/tiny": TINY });
    const progress: string[] = [];
    const dir = await resolveModel("owner/tiny", { cacheDir, fetch: hub.fetch, onProgress: (m) => progress.push(m) });
    assert.equal(dir, join(cacheDir, "owner--tiny", "main"));
    assert.deepEqual((await readdir(dir)).sort(), [
      ".tangent-model.json",
      "config.json",
      "generation_config.json",
      "model.safetensors",
      "tokenizer.json",
    ]);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, "model.safetensors"))), TINY["model.safetensors"]);
    assert.equal(await readFile(join(dir, "config.json"), "utf8"), TINY["config.json"]);
    assert.ok(progress.some((m) => /^model\.safetensors: 300\.0 kB in .* MB\/s$/.test(m)), progress.join("\n"));
    const first = hub.requests.length;
    assert.equal(first, 1 + 2 * 4); // the listing, then a probe and a GET per file

    const again = await resolveModel("owner/tiny", { cacheDir, fetch: hub.fetch });
    assert.equal(again, dir);
    assert.equal(hub.requests.length, first); // no request at all
  });
});

Deno.test("resolveModel: a bare name, a revision, and an adapter repo", async () => {
  await withCache(async (cacheDir) => {
    const hub = fakeHub({
      gpt2: TINY,
      "me/lora": {
        "adapter_config.json": '{"peft_type": "LORA"}',
        "adapter_model.safetensors": weights(1000, 2),
        "tokenizer.json": "{}",
      },
    });
    const dir = await resolveModel("gpt2", { cacheDir, fetch: hub.fetch, revision: "v1" });
    assert.equal(dir, join(cacheDir, "gpt2", "v1"));
    assert.ok(hub.requests.includes("/api/models/gpt2/tree/v1"));
    const adapter = await resolveModel("me/lora", { cacheDir, fetch: hub.fetch, files: "adapter" });
    assert.deepEqual((await readdir(adapter)).sort(), [
      ".tangent-adapter.json",
      "adapter_config.json",
      "adapter_model.safetensors",
    ]);
    await assert.rejects(resolveModel("me/lora", { cacheDir, fetch: hub.fetch }), /files: "adapter"/);
  });
});

Deno.test("resolveModel: a sharded checkpoint downloads the index and every shard it names", async () => {
  await withCache(async (cacheDir) => {
    const shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    const index = {
      metadata: { total_size: 3000 },
      weight_map: { "a.weight": shards[0], "b.weight": shards[1], "c.weight": shards[0] },
    };
    const repo: Repo = {
      "config.json": "{}",
      "model.safetensors.index.json": JSON.stringify(index),
      [shards[0]]: weights(2000, 3),
      [shards[1]]: weights(1000, 4),
    };
    const hub = fakeHub({ "big/model": repo });
    const dir = await resolveModel("big/model", { cacheDir, fetch: hub.fetch });
    for (const s of shards) assert.deepEqual(new Uint8Array(await readFile(join(dir, s))), repo[s]);
    assert.equal(hub.requests.filter((p) => p.endsWith(shards[0])).length, 2); // fetched once (probe + GET)
    const n = hub.requests.length;
    await resolveModel("big/model", { cacheDir, fetch: hub.fetch });
    assert.equal(hub.requests.length, n);
  });
});

Deno.test("resolveModel: a repo with only pytorch_model.bin asks for safetensors", async () => {
  await withCache(async (cacheDir) => {
    const hub = fakeHub({ "old/model": { "config.json": "{}", "pytorch_model.bin": "pickle" } });
    await assert.rejects(resolveModel("old/model", { cacheDir, fetch: hub.fetch }), (e: Error) => {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, /old\/model@main has only PyTorch \.bin weights; Tangent reads safetensors/);
      assert.match(e.message, /save_pretrained\(dir, safe_serialization=True\)/);
      return true;
    });
  });
});

Deno.test("resolveModel: an unknown repo is a FormatError; an unreachable hub says so plainly", async () => {
  await withCache(async (cacheDir) => {
    const hub = fakeHub({});
    await assert.rejects(resolveModel("nobody/nothing", { cacheDir, fetch: hub.fetch }), (e: Error) => {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, /the hub has no model nobody\/nothing at revision main \(Repository not found/);
      return true;
    });
    // What Deno's fetch throws on a machine with no route to the hub:
    const cause = new Error(
      "error sending request for url (https://huggingface.co/...): client error (Connect): dns error",
    );
    const offline: typeof fetch = () => Promise.reject(new TypeError("fetch failed", { cause }));
    await assert.rejects(resolveModel("owner/tiny", { cacheDir, fetch: offline }), (e: Error) => {
      assert.ok(e instanceof BackendError);
      assert.match(
        e.message,
        /the Hugging Face Hub could not be reached \(fetch failed: error sending request .*dns error\)/,
      );
      assert.match(e.message, /download the folder elsewhere .* and pass its path/);
      return true;
    });
  });
});

Deno.test("resolveModel: a download that breaks off leaves no partial file, and a rerun fetches only the rest", async () => {
  await withCache(async (cacheDir) => {
    const broken = fakeHub({ "owner/tiny": TINY }, { breakFile: "model.safetensors" });
    await assert.rejects(resolveModel("owner/tiny", { cacheDir, fetch: broken.fetch }), (e: Error) => {
      assert.ok(e instanceof BackendError);
      assert.match(e.message, /download of model\.safetensors from owner\/tiny broke off \(connection reset by peer\)/);
      return true;
    });
    const dir = join(cacheDir, "owner--tiny", "main");
    assert.deepEqual((await readdir(dir)).sort(), ["config.json", "generation_config.json", "tokenizer.json"]);
    const short = fakeHub({ "owner/tiny": TINY }, { truncateFile: "model.safetensors" });
    await assert.rejects(resolveModel("owner/tiny", { cacheDir, fetch: short.fetch }), /got 150000 of 300000 bytes/);
    assert.deepEqual((await readdir(dir)).sort(), ["config.json", "generation_config.json", "tokenizer.json"]);

    const hub = fakeHub({ "owner/tiny": TINY });
    await resolveModel("owner/tiny", { cacheDir, fetch: hub.fetch });
    assert.deepEqual(hub.requests, [
      "/api/models/owner/tiny/tree/main",
      "/owner/tiny/resolve/main/model.safetensors",
      "/owner/tiny/resolve/main/model.safetensors",
    ]);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, "model.safetensors"))), TINY["model.safetensors"]);
  });
});

Deno.test("resolveModel: local folders are returned as they are, or named with what they lack", async () => {
  const fixtures = "../shared/fixtures/models";
  assert.equal(await resolveModel(`${fixtures}/tiny_gpt2`), `${fixtures}/tiny_gpt2`);
  assert.equal(
    await resolveModel(`${fixtures}/tiny_gpt2_lora_adapter`, { files: "adapter" }),
    `${fixtures}/tiny_gpt2_lora_adapter`,
  );
  await assert.rejects(
    resolveModel(`${fixtures}/tiny_gpt2_lora_adapter`),
    new RegExp(`folder ${fixtures}/tiny_gpt2_lora_adapter has no config\\.json; .*files: "adapter"`),
  );
  await assert.rejects(
    resolveModel(`${fixtures}/tiny_gpt2`, { files: "adapter" }),
    /tiny_gpt2 has no adapter_config\.json/,
  );
  await assert.rejects(resolveModel(`${fixtures}/tiny_gpt2/config.json`), /is a file/);
  await assert.rejects(resolveModel("./no/such/folder"), (e: Error) => e instanceof FormatError);
});
