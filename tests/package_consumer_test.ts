// A user's project type-checks against Tangent: a consumer folder under /tmp with its own deno.json
// (no compilerOptions, so Deno's defaults; an import map to this checkout's entry points and the npm
// packages they import) runs `deno check` on a file that uses both entry points.
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const root = new URL("../", import.meta.url);
/** The npm packages the library's own modules import (bare specifiers, mapped as in our deno.json). */
const LIBRARY_NPM = ["fast-check", "@huggingface/tokenizers", "@huggingface/hub"];

const CONSUMER = `import {
  adapters,
  grad,
  key,
  linalg,
  lowrank,
  manifolds,
  matmul,
  mean,
  models,
  normal,
  safetensors,
  scope,
  split,
  square,
  sub,
  transpose,
  type Tensor,
  useBackend,
  valueAndGrad,
  webgpuAvailable,
} from "@tangent/tangent";
import { arbitraryTensor, checkAdapterLaws, checkManifoldLaws } from "@tangent/tangent/testing";

const [kx, kw, ka] = split(key(0), 3);
const x: Tensor = normal(kx, [16, 8]);
const weight = normal(kw, [4, 8]);
const lora = adapters.lora({ r: 2 });
const { params, frozen } = lora.init(ka, { weight });
const loss = (p: typeof params): Tensor => mean(square(sub(lora.apply(p, frozen, x), matmul(x, transpose(weight)))));
const g: typeof params = grad(loss)(params);
const opt = manifolds.adam({ lr: 1e-2 });
let state = opt.init(params);
const step = scope(() => {
  const [, gr] = valueAndGrad(loss)(params);
  return opt.update(gr, state, params);
});
state = step.state;
const q: Tensor = linalg.qr(normal(key(3), [5, 3])).Q;
const k = lowrank.als;
const tensors: Record<string, Tensor> = { q };
const bytes: Uint8Array = safetensors.serialize(tensors);
const cfg = models.parseConfig;
if (await webgpuAvailable()) await useBackend("webgpu");
await checkAdapterLaws(adapters.hra({ r: 2 }), { in: 6, out: 4 });
await checkManifoldLaws(manifolds.sphere(4));
console.log(g, bytes.length, typeof k, typeof cfg, typeof arbitraryTensor);
`;

Deno.test("a consumer project with its own deno.json type-checks @tangent/tangent and @tangent/tangent/testing", async () => {
  const ours = JSON.parse(await readFile(new URL("deno.json", root), "utf8")) as { imports: Record<string, string> };
  const imports: Record<string, string> = {
    "@tangent/tangent": new URL("mod.ts", root).href,
    "@tangent/tangent/testing": new URL("testing.ts", root).href,
  };
  for (const name of LIBRARY_NPM) {
    assert.ok(ours.imports[name], `deno.json "imports" has no entry for ${name}, which the library imports`);
    imports[name] = ours.imports[name];
  }
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "tangent-consumer-" });
  try {
    await writeFile(join(dir, "deno.json"), JSON.stringify({ imports }, null, 2));
    await writeFile(join(dir, "main.ts"), CONSUMER);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "main.ts"],
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, `deno check failed in the consumer project ${dir}:\n${text}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
