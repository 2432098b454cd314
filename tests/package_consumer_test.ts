// A user's project type-checks against Tangent: a consumer folder under /tmp with its own deno.json
// (no compilerOptions, so Deno's defaults; an import map to this checkout's entry points and the npm
// packages they import) runs `deno check` on a file that uses both entry points and every namespace,
// then `deno test` (no permissions) on a test that trains a LoRA layer through jit, maps with vmap
// and round-trips safetensors bytes; and `deno check` again with the libs of a Deno project that
// builds for the browser (`["ESNext", "DOM"]`: no `Deno` namespace), which type-checks Tangent's
// own sources under them.
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const root = new URL("../", import.meta.url);
/** The npm packages the library's own modules import (bare specifiers, mapped as in our deno.json). */
const LIBRARY_NPM = ["fast-check", "@huggingface/tokenizers", "@huggingface/hub"];

const CONSUMER = `import {
  adapters,
  grad,
  jit,
  key,
  linalg,
  loadModel,
  type LoadModelOptions,
  lowrank,
  manifolds,
  matmul,
  mean,
  type ModelConfig,
  models,
  normal,
  optim,
  safetensors,
  scope,
  split,
  square,
  sub,
  transpose,
  type Tensor,
  useBackend,
  valueAndGrad,
  vmap,
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
const sgd = optim.chain(optim.clipByGlobalNorm(1), optim.sgd({ lr: 0.1 }));
const jitted = jit((p: typeof params) => loss(p));
const rows: Tensor = vmap((row: Tensor) => mean(square(row)))(x);
const loadOptions: LoadModelOptions = { dtype: "float32" };
const config: Promise<ModelConfig> = loadModel("no-such-folder", loadOptions).then((m) => m.config, () => cfg({}));
if (await webgpuAvailable()) await useBackend("webgpu");
await checkAdapterLaws(adapters.hra({ r: 2 }), { in: 6, out: 4 });
await checkManifoldLaws(manifolds.sphere(4));
console.log(g, bytes.length, typeof k, typeof cfg, typeof arbitraryTensor, sgd, jitted, rows, config);
`;

const CONSUMER_TEST = `import assert from "node:assert/strict";
import {
  adapters, jit, key, manifolds, matmul, mean, mul, normal, safetensors, scope, split, square, sub, sum, tensor,
  type Tensor, transpose, valueAndGrad, vmap,
} from "@tangent/tangent";
import { checkAdapterLaws } from "@tangent/tangent/testing";

Deno.test("a LoRA layer trains through jit; vmap; safetensors bytes", async () => {
  const [kx, kw, ka, kb, kc] = split(key(0), 5);
  const x = normal(kx, [64, 16]), w = normal(kw, [8, 16]);
  const y = matmul(x, transpose(sub(w, mul(matmul(normal(kb, [8, 4]), normal(kc, [4, 16])), 0.5))));
  const lora = adapters.lora({ r: 4, alpha: 8 });
  const { params: p0, frozen } = lora.init(ka, { weight: w });
  type P = typeof p0;
  const loss = (p: P): Tensor => mean(square(sub(lora.apply(p, frozen, x), y)));
  const opt = manifolds.adam({ lr: 0.05 });
  const step = jit((p: P, s: ReturnType<typeof opt.init>) => {
    const [l, g] = valueAndGrad(loss)(p);
    return { ...opt.update(g, s, p), value: l };
  });
  let params = p0, state = opt.init(p0);
  const losses: number[] = [];
  for (let i = 0; i < 100; i++) {
    let value: Tensor;
    ({ params, state, value } = scope(() => step(params, state)));
    losses.push(value.dataSync()[0]);
  }
  assert.ok(losses.at(-1)! < 1e-2 * losses[0], \`\${losses[0]} -> \${losses.at(-1)}\`);
  assert.deepEqual(Array.from(vmap((r: Tensor) => sum(r))(tensor([[1, 2], [3, 4]])).dataSync()), [3, 7]);
  const back = safetensors.deserialize(safetensors.serialize({ ...params })); // an interface has no index signature
  assert.deepEqual(Array.from(back.tensors.A.dataSync()), Array.from(params.A.dataSync()));
  await checkAdapterLaws(adapters.lora({ r: 2 }), { numRuns: 2, seed: 1 });
});
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
    await writeFile(join(dir, "main_test.ts"), CONSUMER_TEST);
    const browser = { imports, compilerOptions: { lib: ["ESNext", "DOM"] } };
    await writeFile(join(dir, "deno.browser.json"), JSON.stringify(browser, null, 2));
    for (
      const args of [
        ["check", "--quiet", "main.ts", "main_test.ts"],
        ["test", "--quiet", "main_test.ts"],
        ["check", "--quiet", "--config", "deno.browser.json", "main.ts"],
      ]
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: dir,
        env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, `deno ${args.join(" ")} failed in the consumer project ${dir}:\n${text}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
