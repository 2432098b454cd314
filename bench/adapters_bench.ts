/**
 * Forward + backward time per adapter on one 1024 × 1024 linear layer with 512 tokens, CPU
 * float32, beside a plain dense layer: the loss is `sum(y ⊙ G)` and the gradients are taken with
 * respect to the trainable tensors and the input x (as backpropagation through a network needs).
 *
 * - `deno run -A bench/adapters_bench.ts [rounds]` prints, per case, the best of `rounds` timed runs
 *   (default 5; rounds interleave the cases) after a warm-up, in ms, with the trainable parameter
 *   count and the ratio to the frozen dense layer.
 * - `deno bench -A bench/adapters_bench.ts` runs the same cases under `Deno.bench`.
 * @module
 */
import { key, matmulT, mul, normal, split, sum, type Tensor, valueAndGrad } from "../mod.ts";
import {
  type Adapter,
  boft,
  dora,
  type Frozen,
  frozenLinear,
  hra,
  linear,
  loha,
  lokh,
  lokr,
  lora,
  oft,
  polar,
  sorsa,
  vera,
} from "../adapters/mod.ts";

const D = 1024, TOKENS = 512;
const [kw, kb, kx, kg, ki] = split(key(0), 5);
const base = { weight: normal(kw, [D, D]).mul(1 / 32), bias: normal(kb, [D]) };
const x = normal(kx, [TOKENS, D]);
const G = normal(kg, [TOKENS, D]);

// deno-lint-ignore no-explicit-any
const cases: [string, Adapter<any, any>][] = [
  ["lora r=8", lora({ r: 8, alpha: 16 })],
  ["dora r=8", dora({ r: 8, alpha: 16 })],
  ["hra r=8", hra({ r: 8 })],
  ["oft bs=32 neumann", oft({ blockSize: 32 })],
  ["oft bs=32 exact", oft({ blockSize: 32, cayley: "exact" })],
  ["boft bs=32 N=2", boft({ blockSize: 32, butterflyFactors: 2 })],
  ["loha r=8", loha({ r: 8 })],
  ["lokr r=8", lokr({ r: 8 })],
  ["vera r=256", vera({ r: 256 })],
  ["lokh r=8", lokh({ r: 8 })],
  ["sorsa r=8", sorsa({ r: 8 })],
  ["polar r=8", polar({ r: 8 })],
];

/** One forward + backward of the adapted layer; returns the tensors to wait on. */
function step(ad: Adapter<unknown, Frozen>, params: unknown, frozen: Frozen): Tensor[] {
  const [loss, [gp, gx]] = valueAndGrad(
    (p: unknown, xx: Tensor) => sum(mul(ad.apply(p, frozen, xx), G)),
    { argnums: [0, 1] },
  )(params, x);
  return [loss, gx, ...Object.values(gp as Record<string, Tensor>)];
}

/** Dense layer, W and b trainable (full fine-tuning of the layer). */
function denseStep(): Tensor[] {
  const [loss, [gw, gb, gx]] = valueAndGrad(
    (w: Tensor, b: Tensor, xx: Tensor) => sum(mul(linear(xx, w, b), G)),
    { argnums: [0, 1, 2] },
  )(base.weight, base.bias, x);
  return [loss, gw, gb, gx];
}

/** Frozen dense layer: only the input gradient (the floor every adapter pays). */
function frozenStep(): Tensor[] {
  const [loss, gx] = valueAndGrad((xx: Tensor) => sum(mul(frozenLinear(xx, base.weight, base.bias), G)))(x);
  return [loss, gx];
}

/** One 512 × 1024 × 1024 product, the unit the others are made of. */
function matmulStep(): Tensor[] {
  return [matmulT(x, base.weight, false, true)];
}

const sync = (ts: Tensor[]) => ts.forEach((t) => t.dataSync());

const runs: [string, number, () => Tensor[]][] = [
  ["dense (W, b trainable)", D * D + D, denseStep],
  ["dense frozen (grad x only)", 0, frozenStep],
  ["(one 512×1024×1024 matmul)", 0, matmulStep],
  ...cases.map(([name, ad]): [string, number, () => Tensor[]] => {
    const { params, frozen } = ad.init(ki, base);
    return [name, ad.trainableCount(params), () => step(ad, params, frozen)];
  }),
];

if (import.meta.main) {
  // rounds interleave the cases, so load from other processes hits them alike; best per case
  const rounds = Number(Deno.args[0] ?? 5);
  const best = runs.map(() => Infinity);
  runs.forEach(([, , fn]) => sync(fn())); // warm-up (JIT, Wasm, workers)
  for (let r = 0; r < rounds; r++) {
    runs.forEach(([, , fn], i) => {
      const t0 = performance.now();
      sync(fn());
      best[i] = Math.min(best[i], performance.now() - t0);
    });
  }
  console.log(`forward+backward, ${D}×${D} layer, ${TOKENS} tokens, CPU float32 (best of ${rounds} rounds)`);
  console.log(`${"case".padEnd(28)} ${"ms".padStart(8)}   ${"params".padStart(8)}   vs frozen dense`);
  runs.forEach(([name, count], i) => {
    const rel = (best[i] / best[1]).toFixed(2);
    console.log(`${name.padEnd(28)} ${best[i].toFixed(1).padStart(8)}   ${String(count).padStart(8)}   ${rel}×`);
  });
} else {
  for (const [name, , fn] of runs) Deno.bench({ name, group: "adapters", n: 5, warmup: 1 }, () => sync(fn()));
}
