/**
 * An adapter of one's own through the whole hand-off: adapt a real (tiny) GPT-2, train a step, save
 * the PEFT folder, read it back with a reader passed to `loadPeftAdapter` (no registry), same logits.
 * Also: an adapter without `toPeft` (its params under their pytree paths) and a frozen field of its
 * own typed in `F` (`f.A`, `f.weight`, `f.bias` without `!`: this file type-checks only so).
 */
import assert from "node:assert/strict";
import {
  adapters,
  adaptModel,
  key,
  loadModel,
  loadPeftAdapter,
  manifolds,
  normal,
  savePeftAdapter,
  slice,
  type Tensor,
  tensor,
  valueAndGrad,
  zeros,
} from "../mod.ts";
import { FormatError } from "../core/errors.ts";
import { type AdaptedModel, adaptedModel, crossEntropy, getPath, type PeftLayer } from "../models/mod.ts";
import type { Adapter, Frozen, LinearBase } from "../adapters/mod.ts";
import { adapt } from "../adapters/mod.ts";

const { countScalars, frozenLinear, tangentPeftConfig, zeroLike } = adapters;
const model = await loadModel("../shared/fixtures/models/tiny_gpt2", { dtype: "float64" });
const ids = tensor([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3]], { dtype: "int32" });
const inputs = slice(ids, [null, [0, 9]]), labels = slice(ids, [null, [1, 10]]);

/** The Adapter JSDoc's method: LoRA with A ∈ St(in, r), ΔW = B Aᵀ, under PEFT-like names (A stored transposed). */
type SP = { A: manifolds.Point<manifolds.Stiefel>; B: Tensor };
const stiefelLora = (r: number): Adapter<SP> => ({
  kind: "stiefel_lora",
  identityAtInit: true,
  init: (k, { weight, bias }) => {
    const dtype = weight.dtype === "float64" ? "float64" : "float32";
    const A = manifolds.stiefel(weight.shape[1], r).random(k, { dtype });
    return { params: { A, B: zeros([weight.shape[0], r], { dtype }) }, frozen: { weight, bias } };
  },
  apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(p.A).matmul(p.B.mT)),
  merge: (p, f) => f.weight.add(p.B.matmul(p.A.mT)),
  unmerge: (p, _f, merged) => merged.sub(p.B.matmul(p.A.mT)),
  regularizer: zeroLike,
  trainableCount: countScalars,
  toPeft: (p, o) => {
    const pre = o?.prefix ? `${o.prefix}.` : "";
    return { [`${pre}lora_A.weight`]: p.A.mT, [`${pre}lora_B.weight`]: p.B };
  },
  orthogonalFactors: (p) => [p.A],
  peftConfig: () => tangentPeftConfig("STIEFEL_LORA", { r }),
});

/** Its reader: the inverse of toPeft, A back on its manifold. */
const readStiefelLora = ({ config, base, tensors }: PeftLayer) => {
  const r = config.r as number, A = tensors["lora_A.weight"].mT;
  return {
    adapter: stiefelLora(r),
    params: { A: manifolds.stiefel(A.shape[0], r).assertOn(A, 1e-12), B: tensors["lora_B.weight"] },
    frozen: { ...base },
  };
};

/** LoRA-FA: A drawn once and frozen (a frozen field of its own, typed in F), B trained; no toPeft. */
interface FaFrozen extends LinearBase {
  readonly A: Tensor;
}
const loraFa = (r: number): Adapter<{ B: Tensor }, FaFrozen> => ({
  kind: "lora_fa",
  identityAtInit: true,
  init: (k, { weight, bias }) => {
    const dtype = weight.dtype === "float64" ? "float64" : "float32", [out, inF] = weight.shape;
    return {
      params: { B: zeros([out, r], { dtype }) },
      frozen: { weight, bias, A: normal(k, [r, inF], { dtype }).div(Math.sqrt(inF)) },
    };
  },
  apply: (p, f, x) => frozenLinear(x, f.weight, f.bias).add(x.matmul(f.A.mT).matmul(p.B.mT)),
  merge: (p, f) => f.weight.add(p.B.matmul(f.A)),
  unmerge: (p, f, merged) => merged.sub(p.B.matmul(f.A)),
  regularizer: zeroLike,
  trainableCount: countScalars,
  frozenToPeft: (f, o) => ({ [`${o?.prefix ? `${o.prefix}.` : ""}lora_fa_A`]: f.A }),
  peftConfig: () => tangentPeftConfig("LORA_FA", { r }),
});

/** One Riemannian Adam step on the next-token loss. */
function trainStep<P>(peft: AdaptedModel<P>): Record<string, P> {
  const [, g] = valueAndGrad((p: Record<string, P>) => crossEntropy(peft.apply(p, inputs), labels))(peft.params);
  const opt = manifolds.riemannianAdam({ lr: 0.05 });
  return opt.update(g, opt.init(peft.params), peft.params).params;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("own adapter (Stiefel LoRA): trained, saved, loadPeftAdapter with its reader gives the same logits exactly", async () => {
  const peft = adaptModel(model, { target: "c_attn", adapter: stiefelLora(2), key: key(7) });
  const params = trainStep(peft);
  const want = peft.apply(params, ids).dataSync();
  assert.ok(
    Math.abs(want[0] - model.apply(model.params, ids).dataSync()[0]) > 1e-6,
    "the step moved the model off its base",
  );
  await withDir(async (dir) => {
    const saved = await savePeftAdapter(dir, peft, params);
    assert.equal(saved.config.peft_type, "STIEFEL_LORA");
    assert.equal(saved.config.tensor_names, undefined, "it has toPeft: PEFT-like names");
    assert.match(saved.notes.join("\n"), /loadPeftAdapter\(model, dir, \{ adapters: \{ STIEFEL_LORA: /);
    const seen: string[] = [];
    const back = await loadPeftAdapter(model, dir, {
      adapters: {
        stiefel_lora: (layer) => {
          seen.push(`${layer.module}: ${Object.keys(layer.tensors).sort().join(", ")}; r = ${layer.config.r}`);
          return readStiefelLora(layer);
        },
      },
    });
    assert.deepEqual(seen, [
      "transformer.h.0.attn.c_attn: lora_A.weight, lora_B.weight; r = 2",
      "transformer.h.1.attn.c_attn: lora_A.weight, lora_B.weight; r = 2",
    ]);
    assert.deepEqual(Array.from(back.apply(back.params, ids).dataSync()), Array.from(want));
    // the params come back as points of their manifold, so training goes on as before
    const A = (back.params["transformer.h.0.attn.c_attn"] as SP).A;
    assert.equal((manifolds.manifoldOf(A) as manifolds.Manifold | undefined)?.name, manifolds.stiefel(32, 2).name);
  });
});

Deno.test("own adapter without toPeft, with a frozen field of its own: saved under its pytree paths, read back exactly", async () => {
  const peft = adaptModel(model, { target: "c_attn,c_proj", adapter: loraFa(3), key: key(3) });
  const params = trainStep(peft);
  const want = peft.apply(params, ids).dataSync();
  const path = "transformer.h.1.mlp.c_proj";
  // adaptModel's and adapt's toPeft fall back to Tangent's names, with PEFT's adapter-name segment
  assert.deepEqual(Object.keys(peft.toPeft(params)).filter((k) => k.includes(path)), [`base_model.model.${path}.B`]);
  assert.equal(
    Object.keys(peft.toPeft(params, { prefix: "m", adapterName: "default" }))[0],
    `m.${peft.paths[0]}.B.default`,
  );
  const plain = adapt({ proj: { weight: normal(key(1), [4, 6]) } }, { target: "proj", adapter: loraFa(2) });
  assert.deepEqual(Object.keys(plain.toPeft(plain.params)), ["base_model.model.proj.B"]);
  await withDir(async (dir) => {
    const saved = await savePeftAdapter(dir, peft, params);
    assert.equal(saved.config.tensor_names, "tangent");
    assert.match(
      saved.notes.join("\n"),
      /lora_fa adapter has no toPeft\(\).*base_model\.model\.transformer\.h\.0\.attn\.c_attn\.B/,
    );
    assert.doesNotMatch(saved.notes.join("\n"), /frozen weight/);
    const written = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
    assert.equal(written.tensor_names, "tangent");
    const back = await loadPeftAdapter(model, dir, {
      adapters: {
        LORA_FA: ({ config, base, tensors }) => ({
          adapter: loraFa(config.r as number),
          params: { B: tensors.B },
          frozen: { ...base, A: tensors.lora_fa_A },
        }),
      },
    });
    assert.deepEqual(back.paths, peft.paths);
    assert.equal(back.paths.length, 6); // c_attn, attn.c_proj and mlp.c_proj of both blocks
    assert.deepEqual(Array.from(back.apply(back.params, ids).dataSync()), Array.from(want));
  });
});

Deno.test("a reader sees each module's r where savePeftAdapter wrote a rank_pattern", async () => {
  const paths = model.linearPaths.filter((p) => p.endsWith("c_attn"));
  const layers: Record<string, { adapter: Adapter<{ B: Tensor }, FaFrozen>; frozen: Frozen }> = {};
  const params: Record<string, { B: Tensor }> = {};
  paths.forEach((p, i) => {
    const ad = loraFa(i + 2), w = getPath(model.params, p) as LinearBase;
    const s = ad.init(key(i), w);
    layers[p] = { adapter: ad, frozen: s.frozen as unknown as Frozen };
    params[p] = { B: normal(key(10 + i), s.params.B.shape, { dtype: "float64" }) };
  });
  const peft = adaptedModel(model, layers, params);
  const want = peft.apply(params, ids).dataSync();
  await withDir(async (dir) => {
    const saved = await savePeftAdapter(dir, peft, peft.params);
    assert.deepEqual(saved.config.rank_pattern, { [paths[1]]: 3 });
    const rs: number[] = [];
    const back = await loadPeftAdapter(model, dir, {
      adapters: {
        LORA_FA: ({ config, base, tensors }) => {
          rs.push(config.r as number);
          return {
            adapter: loraFa(config.r as number),
            params: { B: tensors.B },
            frozen: { ...base, A: tensors.lora_fa_A },
          };
        },
      },
    });
    assert.deepEqual(rs, [2, 3]);
    assert.deepEqual(Array.from(back.apply(back.params, ids).dataSync()), Array.from(want));
  });
});

Deno.test("loadPeftAdapter: an unknown type without a reader names the adapters option; a bad reader is named", async () => {
  const peft = adaptModel(model, { target: "c_attn", adapter: loraFa(2) });
  await withDir(async (dir) => {
    await savePeftAdapter(dir, peft, peft.params);
    await assert.rejects(() => loadPeftAdapter(model, dir), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /peft_type 'LORA_FA' is not one Tangent reads/);
      assert.match(e.message, /pass a reader for it: loadPeftAdapter\(model, dir, \{ adapters: \{ LORA_FA: \(/);
      return true;
    });
    await assert.rejects(
      () => loadPeftAdapter(model, dir, { adapters: { STIEFEL_LORA: readStiefelLora } }),
      /readers were given for STIEFEL_LORA only/,
    );
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      () => loadPeftAdapter(model, dir, { adapters: { LORA_FA: (() => ({ params: {} })) as any } }),
      (e: unknown) => {
        assert.ok(e instanceof FormatError, String(e));
        assert.match(e.message, /the reader for LORA_FA returned \{ params \} for transformer\.h\.0\.attn\.c_attn/);
        return true;
      },
    );
  });
});

Deno.test("loadPeftAdapter: a reader's params are held to its adapter's init (a missing name, a factor off its manifold)", async () => {
  const peft = adaptModel(model, { target: "c_attn", adapter: stiefelLora(2), key: key(7) });
  await withDir(async (dir) => {
    await savePeftAdapter(dir, peft, trainStep(peft));
    // a name the folder does not hold reads as undefined: named with the names it holds
    const misnamed = (layer: PeftLayer) => ({
      ...readStiefelLora(layer),
      params: { A: readStiefelLora(layer).params.A, B: layer.tensors["lora_B"] },
    });
    await assert.rejects(() => loadPeftAdapter(model, dir, { adapters: { STIEFEL_LORA: misnamed } }), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /reader for STIEFEL_LORA returned params for transformer\.h\.0\.attn\.c_attn laid out/);
      assert.match(e.message, /keys \[A\] returned vs \[A, B\]/);
      assert.match(e.message, /the folder's tensors for it are lora_A\.weight, lora_B\.weight/);
      return true;
    });
    // A as a plain tensor: a Riemannian optimizer would step it as Euclidean
    const plain = (layer: PeftLayer) => ({
      ...readStiefelLora(layer),
      params: { A: layer.tensors["lora_A.weight"].mT, B: layer.tensors["lora_B.weight"] },
    });
    await assert.rejects(() => loadPeftAdapter(model, dir, { adapters: { STIEFEL_LORA: plain } }), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(
        e.message,
        /returned A of transformer\.h\.0\.attn\.c_attn as a plain tensor, where stiefel_lora's init/,
      );
      assert.match(e.message, /assertOn/);
      return true;
    });
  });
});

Deno.test("savePeftAdapter: an adapter without toPeft under a PEFT type is refused, naming tangentPeftConfig", async () => {
  const { toPeft: _names, ...unnamed } = adapters.lora({ r: 2 });
  const peft = adaptModel(model, { target: "c_attn", adapter: unnamed });
  // adaptModel's toPeft names its params by their paths all the same
  assert.deepEqual(Object.keys(peft.toPeft(peft.params)).slice(0, 2), [
    "base_model.model.transformer.h.0.attn.c_attn.A",
    "base_model.model.transformer.h.0.attn.c_attn.B",
  ]);
  await withDir(async (dir) => {
    await assert.rejects(() => savePeftAdapter(dir, peft, peft.params), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /\(lora\) has no toPeft\(\), so its tensors have no LORA names/);
      assert.match(e.message, /adapters\.tangentPeftConfig\("MY_LORA"/);
      return true;
    });
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "nothing written");
  });
});

Deno.test("built-in adapters keep their PEFT names and fromPeft is a reader too", async () => {
  const peft = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2 }) });
  const params = trainStep(peft);
  await withDir(async (dir) => {
    const saved = await savePeftAdapter(dir, peft, params);
    assert.equal(saved.config.tensor_names, undefined);
    const back = await loadPeftAdapter(model, dir, { adapters: { LORA: adapters.fromPeft } });
    assert.deepEqual(Object.keys(back.toPeft(back.params)), Object.keys(peft.toPeft(params)));
    assert.deepEqual(
      Array.from(back.apply(back.params, ids).dataSync()),
      Array.from((await loadPeftAdapter(model, dir)).apply(back.params, ids).dataSync()),
    );
  });
});

Deno.test("savePeftAdapter: adaptModel's model without params is refused (its own are the initial adapters); a loaded one saves", async () => {
  const peft = adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2 }) });
  await withDir(async (dir) => {
    await assert.rejects(() => savePeftAdapter(dir, peft), (e: unknown) => {
      assert.ok(e instanceof FormatError, String(e));
      assert.match(e.message, /no params given.*as adaptModel initialised them.*savePeftAdapter\(dir, peft, params\)/);
      return true;
    });
    await savePeftAdapter(dir, peft, trainStep(peft));
    const back = await loadPeftAdapter(model, dir);
    await withDir(async (again) => {
      await savePeftAdapter(again, back); // a loaded adapter's own params are the trained ones
      const twice = await loadPeftAdapter(model, again);
      assert.deepEqual(
        Array.from(twice.apply(twice.params, ids).dataSync()),
        Array.from(back.apply(back.params, ids).dataSync()),
      );
    });
  });
});
