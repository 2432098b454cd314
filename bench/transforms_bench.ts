/**
 * Transformations bench (issue 11): the gradient of a chain of 200 small elementwise ops, eager
 * and under `jit`, and a LoRA r = 8 training step on a frozen 1024×1024 layer with 512 tokens,
 * eager and jitted (with SGD written out, and the whole step with `optim.adam`); jax-js 0.1.25 (`jit(grad(f))` and a jitted step on its wasm device) on the
 * same functions in the same run.
 *
 * Usage: deno run -A bench/transforms_bench.ts [--quick] [--no-jaxjs]
 * Prints one JSON line per measurement: per-call milliseconds, the median and the least of
 * `rounds` rounds of `calls` calls each (after a warm-up); jax-js calls end with `await data()`
 * on the result (it is lazy), Tangent's are synchronous on the CPU.
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { jitGraphs } from "../autodiff/jit.ts";
import { commandLine } from "../examples/cli.ts";

const values = commandLine(
  Deno.args,
  "deno run -A bench/transforms_bench.ts [options]",
  "The gradient of a 200-op chain and a LoRA step, eager and under jit, beside jax-js; one JSON line per measurement.",
  {
    quick: { type: "boolean", help: "fewer calls and rounds" },
    "no-jaxjs": { type: "boolean", help: "skip jax-js" },
  },
);
const quick = values.quick === true;

function report(o: Record<string, unknown>): void {
  console.log(JSON.stringify(o));
}

/** Median and least per-call ms of `rounds` rounds of `calls` calls of `fn` (after `warm` calls). */
async function time(fn: () => unknown, calls: number, rounds: number, warm: number): Promise<[number, number]> {
  for (let i = 0; i < warm; i++) await fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    per.push((performance.now() - t0) / calls);
  }
  per.sort((a, b) => a - b);
  return [per[Math.floor(per.length / 2)], per[0]];
}

// --- the 200-op chain: 40 × (mul, add, tanh, mul, sub) on a [64] float32 vector, then sum -------
const N = 64, ITERS = 40;
const chain = (x: Tensor) => {
  let y = x;
  for (let i = 0; i < ITERS; i++) y = T.sub(T.tanh(T.add(T.mul(y, 1.01), 0.1)), T.mul(y, 0.05));
  return T.sum(y);
};
const x = T.mul(T.ones([N]), 0.3);
const g = T.grad(chain), gj = T.jit(g);
const [calls, rounds, warm] = quick ? [50, 3, 50] : [400, 7, 300];
for (const [variant, fn] of [["eager grad", () => g(x)], ["jit(grad)", () => gj(x)]] as const) {
  const [med, min] = await time(fn, variant === "eager grad" ? calls / 4 : calls, rounds, warm);
  report({ case: "chain200 grad", lib: "tangent", variant, ms: +med.toFixed(4), minMs: +min.toFixed(4) });
}
{
  const a = g(x).dataSync(), b = gj(x).dataSync();
  report({ case: "chain200 grad", check: "jit equals eager bit for bit", ok: a.every((v, i) => Object.is(v, b[i])) });
}

// --- LoRA r = 8 on a frozen 1024×1024 layer, 512 tokens: y = x Wᵀ + 2 (x Aᵀ) Bᵀ, MSE, SGD step ---
const D = 1024, R = 8, TOK = 512, LR = 0.01;
const [k1, k2, k3, k4] = T.split(T.key(0), 4);
const W = T.mul(T.normal(k1, [D, D]), 1 / 32), X = T.normal(k2, [TOK, D]), Y = T.normal(k3, [TOK, D]);
type Lora = { A: Tensor; B: Tensor };
const loss = (p: Lora, w: Tensor, xs: Tensor, ys: Tensor) => {
  const y = T.add(
    T.matmul(xs, T.matrixTranspose(w)),
    T.mul(T.matmul(T.matmul(xs, T.matrixTranspose(p.A)), T.matrixTranspose(p.B)), 2),
  );
  return T.mean(T.square(T.sub(y, ys)));
};
const step = (p: Lora, w: Tensor, xs: Tensor, ys: Tensor): Lora => {
  const gr = T.grad(loss)(p, w, xs, ys);
  return { A: T.sub(p.A, T.mul(gr.A, LR)), B: T.sub(p.B, T.mul(gr.B, LR)) };
};
const stepJ = T.jit(step);
const p0: Lora = { A: T.mul(T.normal(k4, [R, D]), 0.01), B: T.zeros([D, R]) };
const [lc, lr, lw] = quick ? [2, 3, 2] : [5, 5, 3];
for (const [variant, fn] of [["eager step", step], ["jit step", stepJ]] as const) {
  let p = p0;
  const [med, min] = await time(() => (p = fn(p, W, X, Y)), lc, lr, lw);
  report({ case: "lora r8 1024² 512 tokens", lib: "tangent", variant, ms: +med.toFixed(3), minMs: +min.toFixed(3) });
}
{
  const a = step(p0, W, X, Y), b = stepJ(p0, W, X, Y);
  const same = (u: Tensor, v: Tensor) => u.dataSync().every((e, i) => Object.is(e, v.dataSync()[i]));
  report({
    case: "lora r8 1024² 512 tokens",
    check: "jit equals eager bit for bit",
    ok: same(a.A, b.A) && same(a.B, b.B),
  });
}

// --- the same layer, the whole training step with Adam: eager, and one jitted step -------------
// (the optimizer's step count is an int32 tensor, so the state a step returns replays the trace)
const opt = T.optim.adam({ lr: 1e-3 });
const adamStep = (p: Lora, s: T.optim.AdamState, w: Tensor, xs: Tensor, ys: Tensor) => {
  const [value, gr] = T.valueAndGrad(loss)(p, w, xs, ys);
  const next = opt.update(gr, s, p);
  return { loss: value, params: next.params, state: next.state };
};
const adamStepJ = T.jit(adamStep);
for (const [variant, fn] of [["eager step", adamStep], ["jit step", adamStepJ]] as const) {
  let p = p0, s = opt.init(p0);
  const [med, min] = await time(() => ({ params: p, state: s } = fn(p, s, W, X, Y)), lc, lr, lw);
  report({
    case: "lora r8 1024² 512 tokens, adam",
    lib: "tangent",
    variant,
    ms: +med.toFixed(3),
    minMs: +min.toFixed(3),
  });
}
{
  let pe = p0, se = opt.init(p0), pj = p0, sj = opt.init(p0), ok = true;
  const same = (u: Tensor, v: Tensor) => u.dataSync().every((e, i) => Object.is(e, v.dataSync()[i]));
  for (let i = 0; i < 3; i++) {
    ({ params: pe, state: se } = adamStep(pe, se, W, X, Y));
    ({ params: pj, state: sj } = adamStepJ(pj, sj, W, X, Y));
    ok &&= same(pe.A, pj.A) && same(pe.B, pj.B) && same(se.mu[0], sj.mu[0]) && same(se.nu[1], sj.nu[1]);
  }
  report({
    case: "lora r8 1024² 512 tokens, adam",
    check: "jit equals eager bit for bit, one trace",
    ok,
    traces: jitGraphs(adamStepJ).length,
  });
}

// --- jax-js on the same functions -----------------------------------------------------------
if (!values["no-jaxjs"]) {
  // deno-lint-ignore no-import-prefix
  const jx = await import("npm:@jax-js/jax@0.1.25");
  const { defaultDevice, grad, init, jit, numpy: np } = jx;
  const devices = await init();
  // its wasm device (the "cpu" device is a reference interpreter: minutes for this chain)
  for (const dev of ["wasm"] as const) {
    if (!devices.includes(dev)) continue;
    defaultDevice(dev);
    // deno-lint-ignore no-explicit-any
    const f = (v: any) => {
      let y = v;
      for (let i = 0; i < ITERS; i++) y = np.tanh(y.ref.mul(1.01).add(0.1)).sub(y.mul(0.05));
      return y.sum();
    };
    const jg = jit(grad(f));
    const xv = np.ones([N]).mul(0.3);
    const [med, min] = await time(() => jg(xv.ref).data(), calls, rounds, warm);
    report({
      case: "chain200 grad",
      lib: "jax-js@0.1.25",
      device: dev,
      variant: "jit(grad)",
      ms: +med.toFixed(4),
      minMs: +min.toFixed(4),
    });
    const Wj = np.array(W.dataSync() as Float32Array<ArrayBuffer>).reshape([D, D]);
    const Xj = np.array(X.dataSync() as Float32Array<ArrayBuffer>).reshape([TOK, D]);
    const Yj = np.array(Y.dataSync() as Float32Array<ArrayBuffer>).reshape([TOK, D]);
    // deno-lint-ignore no-explicit-any
    const lossJ = (p: any, w: any, xs: any, ys: any) => {
      const y = np.matmul(xs.ref, w.transpose()).add(np.matmul(np.matmul(xs, p.A.transpose()), p.B.transpose()).mul(2));
      const e = y.sub(ys);
      return e.ref.mul(e).mean();
    };
    // deno-lint-ignore no-explicit-any
    const stepJx = jit((p: any, w: any, xs: any, ys: any) => {
      const gr = grad(lossJ)({ A: p.A.ref, B: p.B.ref }, w, xs, ys);
      return { A: p.A.sub(gr.A.mul(LR)), B: p.B.sub(gr.B.mul(LR)) };
    });
    let pj = { A: np.array(p0.A.dataSync() as Float32Array<ArrayBuffer>).reshape([R, D]), B: np.zeros([D, R]) };
    const [lm, ln] = await time(
      async () => {
        pj = stepJx(pj, Wj.ref, Xj.ref, Yj.ref);
        await pj.B.ref.data();
      },
      lc,
      lr,
      lw,
    );
    report({
      case: "lora r8 1024² 512 tokens",
      lib: "jax-js@0.1.25",
      device: dev,
      variant: "jit step",
      ms: +lm.toFixed(3),
      minMs: +ln.toFixed(3),
    });
  }
}
Deno.exit(0); // jax-js's Wasm worker threads would keep the process alive
