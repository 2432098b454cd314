/**
 * A PEFT method of one's own, end to end: the "scaled rotation" adapter, an input-side transform
 * `W' = W H` with `H = I + U diag(d) Uᵀ`, `U ∈ St(in, r)` on the Stiefel manifold and `d ∈ ℝʳ`
 * learned (0 at init, so the layer starts at the base; `d = −2` on a column is HRA's reflection,
 * `d > −1` keeps H invertible: `H⁻¹ = I + U diag(−d/(1 + d)) Uᵀ`). `r·in + r` trainable scalars.
 *
 * Written as a plain `Adapter` object, checked by the law kit (`tests/audit_peft_method_test.ts`),
 * then, run as a program: put on the tiny Llama's q/v projections, trained with Riemannian Adam on
 * U and AdamW on d (`optim.partition`) in a jitted step, saved under a type of its own, read back
 * with its reader, merged, and used to generate.
 *
 * Run: `deno run --allow-read --allow-write=/tmp examples/scaled_rotation.ts [model folder]`.
 * @module
 */
import {
  type AdaptedModel,
  adaptModel,
  generate,
  jit,
  loadModel,
  loadPeftAdapter,
  models,
  type PeftLayerReader,
  savePeftAdapter,
  slice,
  type Tensor,
  tensor,
  treeMap,
  valueAndGrad,
  zeros,
} from "@tangent/tangent";
import { type Adapter, countScalars, frozenLinear, tangentPeftConfig, zeroLike } from "@tangent/tangent/adapters";
import { manifoldOf, type Point, type Stiefel, stiefel } from "@tangent/tangent/manifolds";
import { adamw, partition, riemannianAdam } from "@tangent/tangent/optim";

/** The trainable parameters: an orthonormal frame U (`in × r`) and the scales d (`[r]`). */
export type ScaledRotationParams = { U: Point<Stiefel>; d: Tensor };

/** `U diag(d) Uᵀ`, the part of H beyond the identity (`in × in`). */
const lowRank = (U: Tensor, d: Tensor) => U.mul(d).matmul(U.mT);

/** The scaled-rotation adapter of rank r (see the module doc). */
export const scaledRotation = (r: number): Adapter<ScaledRotationParams> => ({
  kind: "scaled_rotation",
  identityAtInit: true,
  init: (k, { weight, bias }) => {
    const dtype = weight.dtype === "float64" ? "float64" : "float32"; // float32 on a float16 base
    const U = stiefel(weight.shape[1], r).random(k, { dtype });
    return { params: { U, d: zeros([r], { dtype }) }, frozen: { weight, bias } };
  },
  // y = x H Wᵀ + b = (x Wᵀ + b) + (x U diag(d) Uᵀ) Wᵀ: the update outside the base product, so U and d get gradients
  apply: (p, f, x) =>
    frozenLinear(x, f.weight, f.bias).add(frozenLinear(x.matmul(p.U).mul(p.d).matmul(p.U.mT), f.weight)),
  merge: (p, f) => f.weight.add(f.weight.matmul(lowRank(p.U, p.d))),
  unmerge: (p, _f, merged) => merged.add(merged.matmul(lowRank(p.U, p.d.neg().div(p.d.add(1))))),
  regularizer: zeroLike,
  trainableCount: countScalars,
  orthogonalFactors: (p) => [p.U],
  // no toPeft: U and d are saved under their own names, <module>.U and <module>.d
  peftConfig: () => tangentPeftConfig("SCALED_ROTATION", { r }),
});

/** Reads a folder `savePeftAdapter` wrote back (`loadPeftAdapter`'s `adapters.SCALED_ROTATION`). */
export const readScaledRotation: PeftLayerReader = ({ config, base, tensors }) => {
  const r = config.r as number;
  // U back as a Stiefel point: a plain tensor would be stepped off the manifold by riemannianAdam, silently
  const U = stiefel(base.weight.shape[1], r).assertOn(tensors.U, 1e-5);
  return { adapter: scaledRotation(r), params: { U, d: tensors.d }, frozen: { ...base } };
};

/** Riemannian Adam on every manifold point (U), AdamW with decoupled decay on the rest (d). */
export const scaledRotationOptimizer = (lr = 1e-2) =>
  partition(
    { riemannian: riemannianAdam({ lr }), euclidean: adamw({ lr, weightDecay: 0.01 }) },
    (p) => treeMap((t: Tensor) => (manifoldOf(t) ? "riemannian" : "euclidean"), p),
  );

/**
 * Trains the scaled rotation on `target` of `model` for `steps` jitted steps on one token batch
 * and returns the adapted model, its trained parameters and the loss before and after.
 */
export function trainScaledRotation(
  model: models.CausalLM,
  opts: { target: string; r: number; steps: number; lr?: number; tokens: number[][] },
): {
  peft: AdaptedModel<ScaledRotationParams>;
  params: Record<string, ScaledRotationParams>;
  losses: [number, number];
} {
  const peft = adaptModel(model, { target: opts.target, adapter: scaledRotation(opts.r) });
  const batch = tensor(opts.tokens, { dtype: "int32" }), T = opts.tokens[0].length;
  const [x, y] = [slice(batch, [null, [0, T - 1]]), slice(batch, [null, [1, T]])];
  const loss = (p: typeof peft.params) => models.crossEntropy(peft.apply(p, x), y);
  const opt = scaledRotationOptimizer(opts.lr);
  type S = ReturnType<typeof opt.init>;
  const step = jit((p: typeof peft.params, s: S) => {
    const [value, g] = valueAndGrad(loss)(p);
    const next = opt.update(g, s, p);
    return { loss: value, params: next.params, state: next.state };
  });
  let params = peft.params, state = opt.init(params);
  const first = loss(params).item();
  for (let i = 0; i < opts.steps; i++) ({ params, state } = step(params, state));
  return { peft, params, losses: [first, loss(params).item()] };
}

if (import.meta.main) {
  const dir = Deno.args[0] ?? new URL("../../shared/fixtures/models/tiny_llama", import.meta.url).pathname;
  const model = await loadModel(dir);
  const tokens = [[1, 5, 9, 3, 7, 2, 4, 11, 13, 6], [3, 8, 1, 12, 5, 9, 2, 7, 4, 10]];
  const { peft, params, losses } = trainScaledRotation(model, {
    target: "q_proj,v_proj",
    r: 4,
    steps: 30,
    lr: 5e-2,
    tokens,
  });
  console.log(`loss ${losses[0].toFixed(4)} → ${losses[1].toFixed(4)}, ${peft.trainableCount(params)} trainable`);
  const out = await Deno.makeTempDir({ prefix: "scaled_rotation_" });
  const saved = await savePeftAdapter(out, peft, params);
  console.log(`saved to ${out} (${saved.config.peft_type}):\n  ${saved.notes.join("\n  ")}`);
  const back = await loadPeftAdapter(model, out, { adapters: { SCALED_ROTATION: readScaledRotation } });
  const prompt = tensor([tokens[0].slice(0, 5)], { dtype: "int32" });
  const [a] = await generate(peft, params, prompt, { maxNewTokens: 8 });
  const [b] = await generate(back, back.params, prompt, { maxNewTokens: 8 });
  const [c] = await generate(model, peft.merge(params), prompt, { maxNewTokens: 8 }); // merged into the base
  console.log(`trained ${a.join(" ")}\nread back ${b.join(" ")}\nmerged ${c.join(" ")}`);
}
