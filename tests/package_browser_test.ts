// The browser page (examples/browser/) in headless Chromium: the bundle is built into /tmp, the
// page trains LoRA and HRA on WebGPU (SwiftShader's software adapter, where no GPU is present) and
// then with WebGPU off (the CPU fallback); each run's loss must fall, the page must log no error,
// and the screenshot must be a PNG. Without Chromium or Node the test is skipped, and says why.
import assert from "node:assert/strict";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;
const STEPS = 15;

async function found(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).code === 0;
  } catch {
    return false;
  }
}

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const hasNode = await found("node", ["--version"]);
const hasChromium = await stat(CHROMIUM).then(() => true, () => false);
const reason = !hasChromium
  ? `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`
  : !hasNode
  ? "node is not on PATH (the page's driver, examples/browser/drive.mjs, runs in Node)"
  : null;
if (reason) console.warn(`package_browser_test: SKIPPED: ${reason}`);

interface PageRun {
  title: string;
  errors: string[];
  webgpu: boolean;
  result: { backend: string; steps: number; runs: { name: string; losses: number[] }[] } | { error: string } | null;
  stderr?: string;
}

async function drive(dist: string, extra: string[], status = 0): Promise<PageRun> {
  const out = await new Deno.Command("node", {
    args: [
      join(ROOT, "examples/browser/drive.mjs"),
      "--dist",
      dist,
      "--chromium",
      CHROMIUM,
      "--steps",
      `${STEPS}`,
      ...extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(
    out.code,
    status,
    `drive.mjs exited with ${out.code}, not ${status}:\n${text}\n${new TextDecoder().decode(out.stderr).slice(-3000)}`,
  );
  return JSON.parse(text.split("\n").at(-1)!);
}

function checkRun(page: PageRun, backend: string): void {
  assert.deepEqual(page.errors, [], "the page logged errors");
  assert.equal(page.title, "done", `the page did not finish: ${JSON.stringify(page.result)}`);
  assert.ok(page.result && "runs" in page.result, JSON.stringify(page.result));
  assert.equal(page.result.backend, backend);
  assert.deepEqual(page.result.runs.map((r) => r.name), ["LoRA", "HRA"]);
  for (const { name, losses } of page.result.runs) {
    assert.equal(losses.length, STEPS, name);
    assert.ok(losses.every(Number.isFinite), `${name}: non-finite loss ${losses}`);
    assert.ok(losses.at(-1)! < 0.95 * losses[0], `${name} on ${backend}: the loss did not fall: ${losses}`);
  }
  const lora = page.result.runs[0].losses;
  assert.ok(lora.at(-1)! < 0.2 * lora[0], `LoRA on ${backend}: ${lora[0]} → ${lora.at(-1)}`);
}

Deno.test({
  name: "the browser page fine-tunes LoRA and HRA on WebGPU and on the CPU fallback in headless Chromium",
  ignore: reason !== null,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-browser-" });
    try {
      const dist = join(tmp, "dist");
      const build = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(ROOT, "build/build.ts"), "--out", dist, "--no-types", "--quiet"],
        env: { DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));

      const shot = join(tmp, "screenshot.png");
      const first = await drive(dist, ["--screenshot", shot]);
      // the driver asks for an adapter itself: where there is one, the page must have trained on it
      if (!first.webgpu) {
        console.warn("package_browser_test: this Chromium gives no WebGPU adapter: only the CPU fallback is tested");
      }
      checkRun(first, first.webgpu ? "webgpu" : "cpu");
      const png = await readFile(shot);
      const magic = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
      assert.deepEqual([...png.subarray(0, 8)], magic, "the screenshot is a PNG");
      assert.ok(png.length > 10_000, `screenshot of ${png.length} bytes`);

      if (first.webgpu) {
        const cpu = await drive(dist, ["--no-webgpu"]);
        assert.equal(cpu.webgpu, false);
        checkRun(cpu, "cpu");
      }

      // a page that does not finish in time is a failure of the driver (exit status 2), not a quiet 0
      const late = await drive(dist, ["--no-webgpu", "--timeout", "0"], 2);
      assert.notEqual(late.title, "done");
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
});
