/**
 * The op table (issue 14), in the spirit of PyTorch's OpInfo: for every public op, sample inputs
 * (0-d, zero-size, NaN and ±Infinity, extreme magnitudes), a float64 reference written here in plain
 * JavaScript, and the error inputs with the error class and the words the message must contain.
 * Every backend runs the table: the CPU in float64, float32, int32 and bool, WebGPU (where an adapter
 * exists) in float32, int32 and bool, and each backend again with its inputs on one backend while the
 * default is the other (ops follow their inputs, not the default backend).
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { DType, Tensor } from "../mod.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { ERROR_CASES } from "./reliability_errors.ts";
import { type Host, type OpInfo, OPS } from "./reliability_table.ts";

const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("reliability_ops_test: no WebGPU adapter; the WebGPU rows are skipped");
await T.useBackend("cpu");

const round: Record<DType, (v: number) => number> = {
  float64: (v) => v,
  float32: Math.fround,
  float16: Math.f16round,
  int32: (v) => v | 0,
  bool: (v) => (v ? 1 : 0),
};

/** `got` equals the reference within the dtype's tolerance; NaN matches NaN, ±∞ itself. */
function assertClose(got: ArrayLike<number>, want: Host, dtype: DType, what: string, tol: number): void {
  assert.equal(got.length, want.data.length, `${what}: ${got.length} elements, the reference has ${want.data.length}`);
  for (let i = 0; i < got.length; i++) {
    const g = Number(got[i]), w = round[dtype](want.data[i]);
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${what}: element ${i} is ${g}, the reference NaN`);
      continue;
    }
    if (g === w) continue;
    const ok = Number.isFinite(w) && Math.abs(g - w) <= tol * Math.max(1, Math.abs(w));
    assert.ok(ok, `${what}: element ${i} is ${g}, the reference ${w}`);
  }
}

const TOL: Record<DType, number> = { float64: 1e-12, float32: 2e-6, float16: 2e-3, int32: 0, bool: 0 };

async function readAll(out: Tensor | Tensor[]): Promise<Tensor[]> {
  const list = Array.isArray(out) ? out : [out];
  for (const t of list) await t.data();
  return list;
}

/** Runs every sample of `info` in `dtype`: inputs made on `inputs`, with `dflt` the default backend. */
async function runSamples(info: OpInfo, dtype: DType, inputs: string, dflt: string): Promise<number> {
  let n = 0;
  for (const [k, sample] of info.samples(dtype).entries()) {
    await T.useBackend(inputs);
    const args = sample.map((a) => (isHost(a) ? T.tensor(a.data, { shape: a.shape, dtype: a.dtype }) : a));
    await T.useBackend(dflt);
    const what = `${info.name} [${dtype}, sample ${k}, inputs on ${inputs}, default ${dflt}]`;
    const hostArgs = sample.map((a) => (isHost(a) ? { ...a, data: a.data.map(round[a.dtype]) } : a));
    const want = info.ref(...hostArgs);
    let outs: Tensor[];
    try {
      outs = await readAll(info.op(...args));
    } catch (e) {
      throw new Error(`${what}: threw ${(e as Error).name}: ${(e as Error).message}`);
    } finally {
      await T.useBackend("cpu");
    }
    const wants = Array.isArray(want) ? want : [want];
    assert.equal(outs.length, wants.length, `${what}: number of outputs`);
    for (const [i, o] of outs.entries()) {
      assert.deepEqual([...o.shape], wants[i].shape, `${what}: output ${i} shape`);
      assert.equal(o.dtype, wants[i].dtype, `${what}: output ${i} dtype`);
      const onInputs = sample.some(isHost) ? inputs : dflt;
      assert.equal(o.backend.name, onInputs, `${what}: output ${i} lives on ${o.backend.name}`);
      assertClose(await o.data(), wants[i], wants[i].dtype, `${what}: output ${i}`, info.tol?.[dtype] ?? TOL[dtype]);
    }
    n++;
  }
  return n;
}

function isHost(a: unknown): a is Host {
  return typeof a === "object" && a !== null && "data" in a && "shape" in a && "dtype" in a;
}

const backends = gpuOk ? ["cpu", "webgpu"] : ["cpu"];

for (const info of OPS) {
  Deno.test({
    name: `op table: ${info.name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      let ran = 0;
      for (const dtype of info.dtypes) {
        for (const b of backends) {
          if (b === "webgpu" && (dtype === "float64" || info.cpuOnly)) continue;
          ran += await runSamples(info, dtype, b, b);
          // inputs on one backend, the default on the other: the result stays with the inputs
          if (gpuOk && dtype !== "float64" && !info.cpuOnly) {
            ran += await runSamples(info, dtype, b, b === "cpu" ? "webgpu" : "cpu");
          } else if (gpuOk && dtype === "float64" && b === "cpu") ran += await runSamples(info, dtype, "cpu", "webgpu");
        }
      }
      assert.ok(ran > 0, `${info.name}: no sample ran`);
    },
  });
}

for (const c of ERROR_CASES) {
  Deno.test({
    name: `op table errors: ${c.name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      for (const b of c.cpuOnly ? ["cpu"] : backends) {
        await T.useBackend(b);
        let thrown: unknown;
        try {
          // an error may surface at once or, on a backend that reads asynchronously, when read
          const out = c.call();
          if (out instanceof T.Tensor) await out.data();
          else if (Array.isArray(out)) { for (const t of out) if (t instanceof T.Tensor) await t.data(); }
        } catch (e) {
          thrown = e;
        } finally {
          await T.useBackend("cpu");
        }
        assert.ok(thrown !== undefined, `${c.name} on ${b}: no error`);
        assert.ok(
          thrown instanceof c.error,
          `${c.name} on ${b}: ${(thrown as Error).name}: ${(thrown as Error).message}`,
        );
        const msg = (thrown as Error).message;
        for (const w of c.words) assert.ok(msg.includes(w), `${c.name} on ${b}: "${msg}" lacks "${w}"`);
      }
    },
  });
}

/** Copies every tensor leaf of `tree` to backend `name`, keeping manifold tags. */
async function moveTree<X>(tree: X, name: string): Promise<X> {
  const leaves = await Promise.all(
    T.treeLeaves(tree).map(async (t) => {
      const m = T.manifolds.manifoldOf(t);
      const moved = await T.toBackend(t, name);
      return m ? T.manifolds.asPoint(moved, m) : moved;
    }),
  );
  return T.treeUnflatten(tree, leaves);
}

const ADAPTERS: [string, T.Adapter<unknown, T.Frozen>][] = [
  ["lora", T.adapters.lora({ r: 4 })],
  ["dora", T.adapters.dora({ r: 4 })],
  ["hra", T.adapters.hra({ r: 4 })],
  ["oft", T.adapters.oft({ blockSize: 4 })],
  ["boft", T.adapters.boft({ blockSize: 4, butterflyFactors: 2 })],
  ["loha", T.adapters.loha({ r: 4 })],
  ["lokr", T.adapters.lokr({ r: 2 })],
  ["vera", T.adapters.vera({ r: 4 })],
  ["lokh", T.adapters.lokh({ r: 4 })],
  ["sorsa", T.adapters.sorsa({ r: 4 })],
  ["polar", T.adapters.polar({ r: 4 })],
] as [string, T.Adapter<unknown, T.Frozen>][];

Deno.test({
  name: "ops follow their inputs' backend: adapters' apply, regularizer and merge with the other default",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const [kw, kx, ka] = T.split(T.key(3), 3);
    const weight = T.mul(T.normal(kw, [12, 16]), 0.3), x = T.normal(kx, [5, 16]);
    for (const [name, ad] of ADAPTERS) {
      const { params, frozen } = ad.init(ka, { weight });
      const want = [ad.apply(params, frozen, x), ad.regularizer(params), ad.merge(params, frozen) as Tensor];
      for (const [on, dflt] of [["webgpu", "cpu"], ["cpu", "webgpu"]]) {
        const [p, f, xi] = [await moveTree(params, on), await moveTree(frozen, on), await T.toBackend(x, on)];
        await T.useBackend(dflt);
        let got: Tensor[];
        try {
          got = [ad.apply(p, f, xi), ad.regularizer(p), ad.merge(p, f) as Tensor];
          for (const g of got) await g.data();
        } catch (e) {
          throw new Error(
            `${name} with inputs on ${on}, default ${dflt}: ${(e as Error).name}: ${(e as Error).message}`,
          );
        } finally {
          await T.useBackend("cpu");
        }
        for (const [i, g] of got.entries()) {
          assert.equal(g.backend.name, on, `${name} output ${i} with inputs on ${on}, default ${dflt}`);
          const w = want[i].dataSync(), d = await g.data();
          const scale = Math.max(1, ...w.map(Math.abs));
          d.forEach((v, j) =>
            assert.ok(Math.abs(v - w[j]) <= 2e-4 * scale, `${name} output ${i} [${j}]: ${v} vs ${w[j]}`)
          );
        }
      }
    }
  },
});

Deno.test({
  name: "ops follow their inputs' backend: checkGrad and manifold ops on cpu float64 with webgpu the default",
  ignore: !gpuOk,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const x = T.tensor([[0.5, -1], [2, 0.25]], { dtype: "float64" });
    const St = T.manifolds.stiefel(4, 2), E = T.manifolds.euclidean([2, 2]);
    const p = St.random(T.key(1), { dtype: "float64" }), v = St.randomTangent(T.key(2), p);
    await T.useBackend("webgpu");
    try {
      assert.ok(T.checkGrad((a: Tensor) => T.sum(T.mul(T.tanh(a), T.linalg.det(a))), [x]) <= 1);
      for (const t of [St.exp(p, v), E.constraintViolation(x), T.triu(x), T.diag(x), T.linalg.inv(x)]) {
        assert.equal(t.backend.name, "cpu");
        assert.equal(t.dtype, "float64");
      }
      const onGpu = await T.toBackend(T.astype(x, "float32"), "webgpu");
      assert.throws(() => T.checkGrad((a: Tensor) => T.sum(a), [onGpu]), T.BackendError);
    } finally {
      await T.useBackend("cpu");
    }
  },
});

Deno.test({
  name: "manifolds stay on the manifold at edge inputs: zero vectors, huge steps, rank-deficient polar",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const M = T.manifolds;
    for (const b of backends) {
      await T.useBackend(b);
      try {
        const S = M.sphere(3), OB = M.oblique(3, 2);
        const p0 = await S.project(T.zeros([3])).data();
        assert.deepEqual([...p0], [1, 0, 0], `${b}: sphere.project(0) is e₁`);
        const q = await OB.project(T.tensor([[0, 3], [0, 0], [0, -4]])).data();
        assert.deepEqual(
          [...q].map((v) => Math.round(v * 1e6) / 1e6),
          [1, 0.6, 0, 0, 0, -0.8],
          `${b}: oblique zero column`,
        );
        const x = S.project(T.tensor([1, 0, 0]));
        for (const step of [1e20, 1e-25]) {
          const y = await S.retract(x, T.tensor([0, step, 0])).data();
          const want = step > 1 ? [0, 1, 0] : [1, step, 0];
          y.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${b}: retract by ${step}: ${[...y]}`));
          // on WebGPU too: its float32 sin/cos reduce the argument exactly (README: Errors and guarantees)
          const e = await S.exp(x, T.tensor([0, step, 0])).data();
          assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-5, `${b}: exp by ${step}: ${[...e]}`);
        }
        const St = M.stiefel(6, 2, { retraction: "cayley", cayleyIterations: 4 });
        const p = St.random(T.key(5)), v = T.mul(St.randomTangent(T.key(6), p), 100);
        const r = St.retract(p, v);
        const err = (await St.constraintViolation(r).data())[0];
        assert.ok(err < 1e-4, `${b}: iterative Cayley with a long step: ‖YᵀY − I‖ = ${err}`);
        const small = T.mul(St.randomTangent(T.key(7), p), 1e-3);
        const exact = M.stiefel(6, 2, { retraction: "cayley" });
        const d = await T.sub(St.retract(p, small), exact.retract(p, small)).data();
        assert.ok(Math.max(...d.map(Math.abs)) < 1e-6, `${b}: an ordinary step is not shortened`);
      } finally {
        await T.useBackend("cpu");
      }
    }
    // polar's gradient at a rank-deficient input: finite (the full-rank part), not NaN
    const a = T.tensor([[2, 0], [0, 0], [0, 0]], { dtype: "float64" });
    const g = T.grad((t: Tensor) =>
      T.sum(T.mul(T.linalg.polar(t).U, T.tensor([[1, 2], [3, 4], [5, 6]], { dtype: "float64" })))
    )(a);
    const gv = g.dataSync();
    assert.ok(gv.every(Number.isFinite), `polar gradient at rank 1: ${[...gv]}`);
    // along the full-rank direction it is the exact derivative: d/dt U(a + t e₀₀) = 0 (U stays e₀₀)
    assert.ok(Math.abs(gv[0]) < 1e-12, `polar gradient along the kept direction: ${gv[0]}`);
  },
});

Deno.test("eigh gradients: the gap cutoff follows the dtype and the spectrum, and dropped terms are reported", () => {
  const q = T.linalg.qr(T.normal(T.key(1), [4, 4], { dtype: "float64" })).Q;
  const sym = (w: number[]) => {
    const a = T.matmul(T.mul(q, T.tensor(w, { dtype: "float64" })), T.matrixTranspose(q));
    return T.mul(T.add(a, T.matrixTranspose(a)), 0.5);
  };
  const c = T.normal(T.key(2), [4, 4], { dtype: "float64" });
  const gaugeDependent = (x: Tensor) => T.sum(T.mul(T.linalg.eigh(x).eigenvectors, T.astype(c, x.dtype)));
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    // a true relative gap of 1e-5 (3.3e-6 of the largest eigenvalue): float32 keeps the term
    const a = sym([1, 1 + 1e-5, 2, 3]);
    const g64 = T.grad(gaugeDependent)(a).dataSync();
    const g32 = T.grad(gaugeDependent)(T.astype(a, "float32")).dataSync();
    const scale = Math.max(...g64.map(Math.abs));
    g32.forEach((v: number, i: number) =>
      assert.ok(Math.abs(v - g64[i]) < 0.05 * scale, `float32 ${i}: ${v} vs ${g64[i]}`)
    );
    assert.equal(warnings.length, 0, warnings.join("\n"));
    // an exactly repeated eigenvalue: a loss of the eigenspace (the projector onto it), not of its
    // basis, gets its exact gradient and no warning
    const r = sym([1, 1, 2, 3]);
    const projector = (x: Tensor) => {
      const v = T.slice(T.linalg.eigh(x).eigenvectors, [null, [0, 2]]);
      return T.sum(T.mul(T.matmul(v, T.matrixTranspose(v)), T.astype(c, x.dtype)));
    };
    const gp = T.grad(projector)(T.astype(r, "float32")).dataSync();
    const h = 1e-6, n = 16;
    for (let i = 0; i < n; i++) {
      const e = new Float64Array(n);
      e[i] += 0.5;
      e[(i % 4) * 4 + Math.floor(i / 4)] += 0.5; // a symmetric direction
      const d = T.tensor(e, { shape: [4, 4], dtype: "float64" });
      const fd = (projector(T.add(r, T.mul(d, h))).item() - projector(T.sub(r, T.mul(d, h))).item()) / (2 * h);
      const an = gp[i] * 0.5 + gp[(i % 4) * 4 + Math.floor(i / 4)] * 0.5;
      assert.ok(Math.abs(an - fd) < 1e-4, `projector ${i}: ${an} vs finite differences ${fd}`);
    }
    assert.equal(warnings.length, 0, warnings.join("\n"));
    // ... while one that depends on that basis is told, once
    T.grad(gaugeDependent)(T.astype(r, "float32"));
    T.grad(gaugeDependent)(T.astype(r, "float32"));
    assert.equal(warnings.length, 1);
    for (const w of ["eigh", "dropped", "float32", "float64"]) assert.ok(warnings[0].includes(w), warnings[0]);
  } finally {
    console.warn = warn;
  }
});
