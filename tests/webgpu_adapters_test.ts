/**
 * Every built-in adapter's training step on WebGPU against the CPU reference (float32 on both, the
 * CPU's factorizations computing in float64): `init` (SVD,
 * QR, Stiefel sampling and Cayley maps included) on a base layer that lives on the GPU, the loss,
 * its gradient and one optimizer update, all with WebGPU as the default backend and nothing moved
 * to the host but the final comparison. Also a custom adapter that needs a small solve, written as
 * a new user would, and the Stiefel retractions. Skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import {
  type Adapter,
  boft,
  dora,
  type Frozen,
  frozenLinear,
  hra,
  type LinearBase,
  loha,
  lokh,
  lokr,
  lora,
  oft,
  polar,
  sorsa,
  vera,
} from "../adapters/mod.ts";
import {
  landing,
  type Optimizer,
  type Orthogonal,
  orthogonal,
  riemannianAdam,
  riemannianSgd,
  type Stiefel,
  stiefel,
} from "../manifolds/mod.ts";
import { webgpuAvailable, webgpuMemory } from "../core/backend/webgpu/mod.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_adapters_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

const OUT = 12, IN = 16, TOKENS = 5;

/** The layer, input and target of every case, as float32 values (the GPU's) on the CPU. */
function data(seed: number) {
  const [kw, kb, kx, ky] = T.split(T.key(seed), 4);
  return {
    weight: T.mul(T.normal(kw, [OUT, IN]), 0.3),
    bias: T.mul(T.normal(kb, [OUT]), 0.1),
    x: T.normal(kx, [TOKENS, IN]),
    y: T.normal(ky, [TOKENS, OUT]),
  };
}

interface StepResult {
  /** Initial parameters, loss, gradients and updated parameters, as host arrays in tree order. */
  init: Float64Array[];
  loss: number;
  grads: Float64Array[];
  next: Float64Array[];
}

async function leaves(tree: unknown): Promise<Float64Array[]> {
  return await Promise.all(T.treeLeaves(tree).map(async (t) => Float64Array.from(await t.data())));
}

/** init → loss → grad → one optimizer update, on `backend` (the default while it runs). */
async function step(
  ad: Adapter<unknown, Frozen>,
  optimizer: Optimizer<unknown>,
  backend: "cpu" | "webgpu",
  seed: number,
): Promise<StepResult> {
  const d = data(seed);
  // float32 on both (random initialisations draw the same float32 numbers on every backend; the
  // CPU's factorizations compute in float64 and round)
  const dtype = "float32";
  const move = async (t: Tensor) => backend === "cpu" ? t : await T.toBackend(t, "webgpu");
  const [weight, bias, x, y] = await Promise.all([d.weight, d.bias, d.x, d.y].map(move));
  await T.useBackend(backend);
  try {
    const base: LinearBase = { weight, bias };
    const { params, frozen } = ad.init(T.key(seed + 1), base);
    for (const l of T.treeLeaves([params, frozen])) {
      assert.equal(l.backend.name, backend, `${ad.kind}: init made a tensor on ${l.backend.name}`);
      assert.equal(l.dtype, dtype);
    }
    const lossOf = (p: unknown) => T.add(T.mean(T.square(T.sub(ad.apply(p, frozen, x), y))), ad.regularizer(p));
    const [loss, g] = T.valueAndGrad(lossOf)(params);
    const state = optimizer.init(params);
    const { params: next } = optimizer.update(g, state, params);
    for (const l of T.treeLeaves([g, next])) assert.equal(l.backend.name, backend);
    return {
      init: await leaves(params),
      loss: (await loss.data())[0],
      grads: await leaves(g),
      next: await leaves(next),
    };
  } finally {
    await T.useBackend("cpu");
  }
}

function assertNear(got: Float64Array[], want: Float64Array[], what: string, tol: number): void {
  assert.equal(got.length, want.length, `${what}: leaves`);
  got.forEach((g, i) => {
    let err = 0, scale = 1e-3;
    for (let j = 0; j < g.length; j++) {
      err = Math.max(err, Math.abs(g[j] - want[i][j]));
      scale = Math.max(scale, Math.abs(want[i][j]));
    }
    assert.ok(
      err <= tol * scale,
      `${what} leaf ${i}: max error ${err.toExponential(2)} > ${tol} · ${scale.toPrecision(3)}`,
    );
  });
}

async function parity(name: string, ad: Adapter<unknown, Frozen>, optimizer: Optimizer<unknown>, seed = 3) {
  const c = await step(ad, optimizer, "cpu", seed);
  const g = await step(ad, optimizer, "webgpu", seed);
  assertNear(g.init, c.init, `${name} init`, 1e-4);
  assert.ok(Math.abs(g.loss - c.loss) <= 1e-4 * Math.abs(c.loss), `${name} loss: webgpu ${g.loss}, cpu ${c.loss}`);
  assertNear(g.grads, c.grads, `${name} gradient`, 1e-3);
  assertNear(g.next, c.next, `${name} update`, 1e-3);
}

/**
 * A custom method a user might write in a few lines: LoRA whose update is preconditioned by a
 * small r × r solve, ΔW = B (I + SSᵀ)⁻¹ A, everything else borrowed from `lora`.
 */
function solvedLora(r: number): Adapter<{ A: Tensor; B: Tensor; S: Tensor }, Frozen> {
  const base = lora({ r });
  type P = { A: Tensor; B: Tensor; S: Tensor };
  const delta = (p: P) => {
    const eye = T.eye(r, { dtype: p.S.dtype, like: p.S });
    return T.matmul(p.B, T.linalg.solve(T.add(eye, T.matmulT(p.S, p.S, false, true)), p.A));
  };
  return {
    ...base,
    kind: "solved-lora",
    init(key: T.Key, b: LinearBase) {
      const { params, frozen } = base.init(key, b);
      const [ks, kb] = T.split(key);
      const dtype = b.weight.dtype;
      return {
        params: {
          A: params.A,
          B: T.mul(T.normal(kb, params.B.shape, { dtype }), 0.1),
          S: T.mul(T.normal(ks, [r, r], { dtype }), 0.5),
        },
        frozen,
      };
    },
    apply: (p: P, f: Frozen, x: Tensor) =>
      T.add(frozenLinear(x, f.weight, f.bias), T.matmulT(x, delta(p), false, true)),
    merge: (p: P, f: Frozen) => T.add(f.weight, delta(p)),
    unmerge: (p: P, _f: Frozen, m: Tensor) => T.sub(m, delta(p)),
    trainableCount: (p: P) => p.A.size + p.B.size + p.S.size,
  } as unknown as Adapter<P, Frozen>;
}

// SGD-type updates for the comparison: Adam's first step is about lr·sign(g) per component, which
// turns rounding-level gradient components into full-size differences between backends
const sgd = riemannianSgd({ lr: 0.05 }) as Optimizer<unknown>;
// deno-lint-ignore no-explicit-any
const cases: [string, Adapter<any, any>, Optimizer<unknown>?][] = [
  ["lora", lora({ r: 4, alpha: 8 })],
  ["lora pissa", lora({ r: 4, init: "pissa" })],
  ["lora olora", lora({ r: 4, init: "olora" })],
  ["dora", dora({ r: 4 })],
  ["hra", hra({ r: 4, lambda: 0.1 })],
  ["hra stiefel", hra({ r: 3, manifold: "stiefel" })],
  ["oft neumann", oft({ blockSize: 4 })],
  ["oft exact", oft({ blockSize: 4, cayley: "exact" })],
  ["boft", boft({ blockSize: 4, butterflyFactors: 2 })],
  ["loha", loha({ r: 4 })],
  ["lokr", lokr({ r: 2 })],
  ["vera", vera({ r: 4 })],
  ["lokh", lokh({ r: 4 })],
  // γ = 0: at init UᵀU − I is rounding noise, and the regulariser's gradient M/‖M‖ its direction
  ["sorsa", sorsa({ r: 4 })],
  ["polar (riemannian sgd, qr retraction)", polar({ r: 4 })],
  ["polar (landing, safe step)", polar({ r: 4 }), landing({ lr: 0.05 }) as Optimizer<unknown>],
  ["custom: lora with an r × r solve", solvedLora(3)],
];

Deno.test({
  name: "webgpu adapters: every built-in adapter's init, loss, gradient and update match the cpu",
  ...opt,
  async fn() {
    for (const [name, ad, o] of cases) await parity(name, ad, o ?? sgd);
  },
});

Deno.test({
  name: "webgpu adapters: Stiefel retractions (qr, polar, cayley) and the orthogonal group's on the gpu",
  ...opt,
  async fn() {
    const manifolds: [string, Stiefel | Orthogonal][] = [
      ...(["qr", "polar", "cayley"] as const).map((
        r,
      ): [string, Stiefel] => [`stiefel ${r}`, stiefel(10, 3, { retraction: r })]),
      ...(["cayley", "exp"] as const).map((
        r,
      ): [string, Orthogonal] => [`orthogonal ${r}`, orthogonal(10, { retraction: r })]),
    ];
    for (const [name, m] of manifolds) {
      const run = async (backend: "cpu" | "webgpu") => {
        const dtype = "float32";
        await T.useBackend(backend);
        try {
          // deno-lint-ignore no-explicit-any
          const mm = m as any;
          const x = mm.random(T.key(4), { dtype });
          const v = mm.toTangent(x, T.normal(T.key(5), x.shape, { dtype }));
          const y: Tensor = mm.retract(x, T.mul(v, 0.3));
          assert.equal(y.backend.name, backend);
          return Float64Array.from(await y.data());
        } finally {
          await T.useBackend("cpu");
        }
      };
      assertNear([await run("webgpu")], [await run("cpu")], name, 1e-4);
    }
  },
});

Deno.test({
  name: "webgpu adapters: memory stays flat over training steps through factorizations (OFT exact, PoLAR's QR)",
  ...opt,
  async fn() {
    await T.useBackend("webgpu");
    try {
      const d = data(9);
      const [weight, x, y] = await Promise.all([d.weight, d.x, d.y].map((t) => T.toBackend(t, "webgpu")));
      for (const ad of [oft({ blockSize: 4, cayley: "exact" }), polar({ r: 3 })] as Adapter<unknown, Frozen>[]) {
        const { params: p0, frozen } = ad.init(T.key(2), { weight });
        const o = riemannianAdam({ lr: 0.01 }) as Optimizer<unknown>;
        let params = p0, state = o.init(p0);
        const lossOf = (p: unknown) => T.mean(T.square(T.sub(ad.apply(p, frozen, x), y)));
        const live: number[] = [], created: number[] = [];
        for (let i = 0; i < 60; i++) {
          ({ params, state } = T.scope(() => o.update(T.grad(lossOf)(params), state, params), {
            release: { params, state },
          }));
          if (i % 10 === 9) {
            const m = webgpuMemory();
            live.push(m.liveBytes);
            created.push(m.createdBuffers);
          }
        }
        assert.ok(Number.isFinite((await lossOf(params).data())[0]));
        assert.ok(live.every((v) => v === live[1]), `${ad.kind}: live bytes vary: ${[...new Set(live)]}`);
        assert.ok(created.every((v) => v === created[1]), `${ad.kind}: buffers created grow: ${[...new Set(created)]}`);
      }
    } finally {
      await T.useBackend("cpu");
    }
  },
});
