/**
 * Every command-line job's `--help` (the demo, generate, reproduce, and the benches built on
 * `examples/cli.ts`) exits 0 and gives each option that takes a value a placeholder saying what
 * the value is (`--out <dir>`), never a bare `<value>` (needs --allow-run; skipped without it).
 */
import assert from "node:assert/strict";

const canRun = (await Deno.permissions.query({ name: "run", command: Deno.execPath() })).state === "granted";

/** Each job, and placeholders its help must show. */
const JOBS: { script: string; shows: string[] }[] = [
  { script: "examples/study.ts", shows: ["--out <dir>", "--export-peft <dir>", "--model <dir|hub id>", "--steps <n>"] },
  { script: "examples/generate.ts", shows: ["--adapter <dir>", "--prompt <text>", "--backend cpu|webgpu"] },
  { script: "reproduce/main.ts", shows: ["--out <dir>"] },
  { script: "bench/models_bench.ts", shows: ["--rounds <n>"] },
  { script: "bench/cpu_peers.ts", shows: ["--rounds <n>"] },
  { script: "bench/webgpu_adapters_bench.ts", shows: ["--dim <n>"] },
  { script: "bench/transforms_bench.ts", shows: ["--quick"] },
  { script: "bench/fused_chain_bench.ts", shows: ["--quick"] },
];

/** An option line of a help text: `  -h, --name <placeholder>   what it does`. */
const OPTION = /^\s+(?:-\w, )?--([\w-]+)(?: (\S+))?\s{2,}\S/;

for (const { script, shows } of JOBS) {
  Deno.test({
    name: `${script} --help: every value has a placeholder saying what it is`,
    ignore: !canRun,
    fn: async () => {
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-env", "--allow-write=/tmp", script, "--help"],
        env: { DENO_NO_UPDATE_CHECK: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(stdout);
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      assert.match(text, /^Usage: /);
      const options = text.split("\n").map((l) => l.match(OPTION)).filter((m) => m !== null);
      assert.ok(options.length >= 2, `${script}: options listed\n${text}`);
      for (const [line, , placeholder] of options) {
        assert.notEqual(placeholder, "<value>", `${script}: ${line.trim()}`);
      }
      for (const s of shows) assert.ok(text.includes(s), `${script}: ${s}\n${text}`);
    },
  });
}
