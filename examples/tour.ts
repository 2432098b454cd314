/**
 * A short tour of the layer-level API: fine-tune one frozen layer towards a target with several adapters
 * (LoRA, HRA, exactly orthogonal HRA, PoLAR, SORSA), each a few lines of Tangent, and print what
 * each learned: loss, trainable scalars, stable rank of ΔW and how orthogonal its factors stayed.
 * Then check one adapter against Hugging Face PEFT's own numbers when the fixtures are present.
 *
 * Run: `deno task tour`.
 * @module
 */
import {
  adapters,
  key,
  manifolds,
  matmul,
  mean,
  normal,
  split,
  square,
  sub,
  type Tensor,
  tensor,
  valueAndGrad,
} from "@tangent/tangent";

const [kw, kd, kx, ka] = split(key(0), 4);
const d = 32, tokens = 256, dtype = "float64";

// A "pretrained" layer W and a target W·H, H four Householder reflections on the input side:
// a rank-4 change that every adapter below can express, to be discovered from input/output pairs.
const W = normal(kw, [d, d], { dtype }).div(Math.sqrt(d));
const H = adapters.householderWY(adapters.unitColumns(normal(kd, [d, 4], { dtype })));
const U = adapters.unitColumns(normal(kd, [d, 4], { dtype }));
const target = W.add(matmul(matmul(matmul(W, U), H), U.mT)); // W(I + UΓUᵀ)
const x = normal(kx, [tokens, d], { dtype });
const y = matmul(x, target.mT);

type AnyAdapter = adapters.Adapter<unknown, adapters.Frozen>;
const runs: [string, AnyAdapter, manifolds.Optimizer][] = [
  ["lora r=4", adapters.lora({ r: 4, alpha: 8 }) as AnyAdapter, manifolds.adam({ lr: 2e-2 })],
  ["hra r=4", adapters.hra({ r: 4 }) as AnyAdapter, manifolds.adam({ lr: 2e-2 })],
  [
    "hra r=4 on the oblique manifold",
    adapters.hra({ r: 4, manifold: "oblique" }) as AnyAdapter,
    manifolds.riemannianAdam({ lr: 2e-2 }),
  ],
  [
    "polar r=4 (Stiefel X, Y)",
    adapters.polar({ r: 4, alpha: 4 }) as AnyAdapter,
    manifolds.riemannianAdam({ lr: 2e-2 }),
  ],
  ["sorsa r=4", adapters.sorsa({ r: 4, gamma: 0.1 }) as AnyAdapter, manifolds.adam({ lr: 2e-2 })],
];

console.log(`Fine-tuning a frozen ${d}×${d} layer on ${tokens} tokens (float64), 400 Adam steps each:\n`);
for (const [name, adapter, opt] of runs) {
  let { params, frozen } = adapter.init(ka, { weight: W });
  const loss = (p: unknown) => mean(square(sub(adapter.apply(p, frozen, x), y))).add(adapter.regularizer(p));
  const step = valueAndGrad(loss);
  let state = opt.init(params);
  let first = NaN, last = NaN;
  for (let i = 0; i < 400; i++) {
    const [value, g] = step(params);
    if (i === 0) first = value.item();
    last = value.item();
    ({ params, state } = opt.update(g, state, params));
  }
  const delta = sub(adapter.merge(params, frozen), W);
  const ortho = adapter.orthogonalFactors?.(params, frozen) ?? [];
  const orthoErr = ortho.length ? Math.max(...ortho.map((f: Tensor) => adapters.orthogonalityError(f).item())) : NaN;
  console.log(
    `${name.padEnd(32)} loss ${first.toExponential(2)} → ${last.toExponential(2)}   ` +
      `params ${String(adapter.trainableCount(params)).padStart(4)}   ` +
      `stable rank ΔW ${adapters.stableRank(delta).item().toFixed(2)}` +
      (Number.isNaN(orthoErr) ? "" : `   ‖FᵀF − I‖ ${orthoErr.toExponential(1)}`),
  );
}

// Held to PEFT: rebuild PEFT's HRA layer from its config and tensors, and compare outputs.
const fixture = new URL("../../shared/fixtures/peft/hra.json", import.meta.url);
try {
  const f = JSON.parse(await Deno.readTextFile(fixture));
  const t = (j: { shape: number[]; data: number[] }) => tensor(Float64Array.from(j.data), { shape: j.shape });
  const tensors = Object.fromEntries(Object.entries(f.adapter_params).map(([k, v]) => [k, t(v as never)]));
  const built = adapters.fromPeft({
    config: f.config,
    base: { weight: t(f.base.weight), bias: t(f.base.bias) },
    tensors,
  });
  const ours = built.adapter.apply(built.params, built.frozen, t(f.x));
  const err = sub(ours, t(f.y)).abs().max().item() / t(f.y).abs().max().item();
  console.log(
    `\nHRA rebuilt from PEFT 0.21's state dict reproduces PEFT's output to ${err.toExponential(1)} (relative).`,
  );
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e;
  console.log("\n(../shared/fixtures not found: skipping the comparison with PEFT)");
}
