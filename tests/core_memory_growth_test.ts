/**
 * Memory stays bounded across whole training runs on the CPU: the adapter study trains thirteen
 * methods one after another in one process, so what one run leaves behind must not add up, whether
 * its tensors were released by `scope` or left to the garbage collector. Each scenario runs in a
 * process of its own (tests/scripts/memory_growth.ts) so other tests' memory does not mix in; after
 * the first round, two more rounds may not grow the resident set by more than 64 MB, each measured
 * after a full collection (a test of what stays reachable, not of when V8 collects, nor of speed).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./scripts/memory_growth.ts", import.meta.url));

async function rounds(scenario: string): Promise<number[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--v8-flags=--expose-gc", script, scenario],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `the ${scenario} scenario failed:\n${text}`);
  return JSON.parse(text.trim().split("\n").findLast((l) => l.startsWith("["))!);
}

for (
  const [scenario, what] of [
    ["training", "consecutive training runs (tensors released by scope)"],
    ["forward", "unscoped forward passes (tensors left to the garbage collector)"],
  ]
) {
  Deno.test(`CPU: ${what} do not accumulate memory`, async () => {
    const rss = await rounds(scenario);
    const growth = (rss[3] - rss[1]) / 2 ** 20;
    assert.ok(
      growth < 64,
      `resident memory grew by ${growth.toFixed(0)} MB over two more rounds ` +
        `(${rss.map((b) => (b / 2 ** 20).toFixed(0)).join(" → ")} MB)`,
    );
  });
}
