/**
 * WebGPU linear algebra against the CPU float64 reference: every factorization (one workgroup per
 * matrix, and the blocked / block-Jacobi paths with their switch points lowered), the functions
 * built on them, their errors (a DomainError when the result is read, with the CPU's message) and
 * their gradients on PyTorch's fixture losses. Runs on whatever adapter is present (llvmpipe in
 * CI); skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor, TypedArray } from "../mod.ts";
import { DomainError } from "../core/errors.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import { linalgTuning } from "../core/backend/webgpu/linalg_tuning.ts";

const L = T.linalg;
const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_linalg_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

/** max |g − c| ≤ tol · max(1, max |c|). */
function assertClose(got: TypedArray, want: TypedArray, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1, err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(Number(want[i])));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(Number(got[i]) - Number(want[i])));
  assert.ok(err <= tol * scale, `${what}: max error ${err.toExponential(2)} > ${tol} · ${scale.toPrecision(3)}`);
}

/** A float32 random matrix batch on the CPU (the values both backends start from). */
const randn = (seed: number, shape: number[], scale = 1) => T.mul(T.normal(T.key(seed), shape), scale);
const f64 = (t: Tensor) => T.astype(t, "float64");

/**
 * Runs `f` on the float64 CPU copies of `inputs` and on their float32 WebGPU copies (WebGPU the
 * default backend meanwhile); compares every output.
 */
async function parity(what: string, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor[], tol = 1e-4): Promise<void> {
  const want = f(...inputs.map(f64));
  const gin = await Promise.all(inputs.map((t) => T.toBackend(t, "webgpu")));
  await T.useBackend("webgpu");
  let got: Tensor[];
  try {
    got = f(...gin);
  } finally {
    await T.useBackend("cpu");
  }
  for (let i = 0; i < want.length; i++) {
    assert.equal(got[i].backend.name, "webgpu", `${what}: output ${i} stays on the GPU`);
    assert.deepEqual(got[i].shape, want[i].shape, `${what}: output ${i} shape`);
    assertClose(await got[i].data(), want[i].dataSync(), `${what}: output ${i}`, tol);
  }
}

/** A symmetric positive-definite batch. */
const spd = (x: Tensor) => T.add(T.matmulT(x, x, false, true), T.mul(T.eye(x.shape[x.ndim - 1]), x.shape[x.ndim - 1]));
/** A batch with well separated, nonzero eigenvalues: Q diag(1 … n) Qᵀ-like via X + Xᵀ + shift. */
const sym = (x: Tensor) => T.add(x, T.matrixTranspose(x));

/** Every factorization and composed function on shapes reaching the current switch points. */
async function factorizations(label: string, n: number, tall: number, tol: number): Promise<void> {
  const sq = randn(1, [2, n, n]), tl = randn(2, [2, tall, n]), wd = randn(3, [2, n, tall]);
  for (const [name, x] of [["square", sq], ["tall", tl], ["wide", wd]] as const) {
    await parity(`${label} qr ${name}`, [x], (a) => Object.values(L.qr(a)), tol);
    await parity(`${label} svd ${name}`, [x], (a) => Object.values(L.svd(a)), tol);
  }
  await parity(`${label} eigh`, [sq], (a) => Object.values(L.eigh(sym(a))), tol);
  await parity(`${label} cholesky`, [sq], (a) => [L.cholesky(spd(a))], tol);
  await parity(`${label} lu`, [sq], (a) => Object.values(L.luFactor(a)), tol);
  await parity(`${label} lu P L U`, [sq], (a) => Object.values(L.lu(a)), tol);
  const b = randn(4, [2, n, 3]);
  await parity(`${label} solve`, [sq, b], (a, bb) => [L.solve(a, bb)], tol);
  await parity(`${label} inv, det, slogdet`, [sq], (a) => [L.inv(a), L.det(a), ...Object.values(L.slogdet(a))], tol);
  for (const lower of [true, false]) {
    for (const transpose of [false, true]) {
      for (const unitDiagonal of [false, true]) {
        const flags = { lower, transpose, unitDiagonal };
        const shift = (a: Tensor) => T.add(a, T.mul(T.eye(n), 2 * Math.sqrt(n)));
        await parity(`${label} solveTriangular ${JSON.stringify(flags)}`, [sq, b], (a, bb) => [
          L.solveTriangular(shift(a), bb, flags),
          L.solveTriangular(T.reshape(T.slice(shift(a), [[0, 1]]), [n, n]), bb, flags), // one matrix for the batch
        ], tol);
      }
    }
  }
  await parity(`${label} polar, cayley, expm`, [sq], (a) => [
    L.polar(T.slice(a, [[0, 1]])).U,
    L.cayley(T.mul(T.sub(a, T.matrixTranspose(a)), 0.3)),
    L.expm(T.mul(a, 0.5)),
  ], tol * 10);
}

Deno.test({
  name: "webgpu linalg: one workgroup per matrix agrees with the cpu's float64 kernels (conventions included)",
  ...opt,
  async fn() {
    await factorizations("small", 6, 9, 2e-4);
    // tall-skinny Stiefel-like points, a 1×1 and a batch of many small blocks (OFT)
    await parity("qr 200×4", [randn(5, [200, 4])], (a) => Object.values(L.qr(a)), 2e-4);
    await parity("svd 200×4", [randn(6, [200, 4])], (a) => Object.values(L.svd(a)), 2e-4);
    await parity("1×1", [randn(7, [3, 1, 1])], (a) => [...Object.values(L.svd(a)), ...Object.values(L.qr(a))]);
    await parity("oft blocks", [randn(8, [16, 8, 8], 0.3)], (a) => [L.cayley(T.sub(a, T.matrixTranspose(a)))]);
  },
});

Deno.test({
  name: "webgpu linalg: blocked Cholesky / LU / triangular solve and block Jacobi SVD / eigh agree with the cpu",
  ...opt,
  async fn() {
    const saved = { ...linalgTuning };
    Object.assign(linalgTuning, { smallMax: 6, block: 4, jacobiMax: 4, jacobiBlock: 3, jacobiSweeps: 10 });
    try {
      await factorizations("blocked", 14, 17, 5e-4);
    } finally {
      Object.assign(linalgTuning, saved);
    }
  },
});

Deno.test({
  name: "webgpu linalg: rank-deficient and repeated spectra (gauge-invariant checks)",
  ...opt,
  async fn() {
    // two zero columns: the completed singular vectors are orthonormal; U diag(S) Vh = A
    const x = T.concat([randn(9, [7, 3]), T.zeros([7, 2])], 1);
    const eye5 = T.eye(5).dataSync();
    const g = await T.toBackend(x, "webgpu");
    await T.useBackend("webgpu");
    try {
      const { U, S, Vh } = L.svd(g);
      assertClose(await T.matmulT(U, U, true, false).data(), eye5, "UᵀU = I", 1e-5);
      assertClose(await T.matmulT(Vh, Vh, false, true).data(), eye5, "Vh Vhᵀ = I", 1e-5);
      assertClose(await T.matmul(T.mul(U, T.expandDims(S, -2)), Vh).data(), x.dataSync(), "U S Vh = A", 1e-5);
      const s = await S.data();
      assert.equal(s[3], 0);
      assert.equal(s[4], 0);
      // eigh of a projector (eigenvalues 0, 0, 1, 1, 1): V diag(w) Vᵀ = A, V orthogonal
      const q = L.qr(T.normal(T.key(3), [5, 3])).Q;
      const p = T.matmulT(q, q, false, true);
      const { eigenvalues: w, eigenvectors: v } = L.eigh(p);
      assertClose(await w.data(), new Float32Array([0, 0, 1, 1, 1]), "projector eigenvalues", 1e-5);
      assertClose(
        await T.matmul(T.mul(v, T.expandDims(w, -2)), T.matrixTranspose(v)).data(),
        await p.data(),
        "V w Vᵀ",
        1e-5,
      );
    } finally {
      await T.useBackend("cpu");
    }
  },
});

/** The message of the DomainError `f` throws on the CPU (float32 input). */
function cpuError(f: () => Tensor): string {
  try {
    f().dataSync();
  } catch (e) {
    assert.ok(e instanceof DomainError, `the cpu throws a DomainError, got ${e}`);
    return e.message;
  }
  throw new Error("the cpu did not throw");
}

/** Runs `f` on WebGPU copies of `inputs`: no throw on dispatch, the CPU's DomainError on the read. */
async function gpuErrorOnRead(what: string, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor, exact = true) {
  const want = cpuError(() => f(...inputs));
  const gin = await Promise.all(inputs.map((t) => T.toBackend(t, "webgpu")));
  await T.useBackend("webgpu");
  let out: Tensor;
  try {
    out = f(...gin); // returns at once: the failure is only known on the GPU
  } finally {
    await T.useBackend("cpu");
  }
  await assert.rejects(out.data(), (e: unknown) => {
    assert.ok(e instanceof DomainError, `${what}: a DomainError, got ${e}`);
    if (exact) assert.equal(e.message, want, what);
    else assert.equal(e.message.split(":")[0], want.split(":")[0], what);
    return true;
  });
  // reported once: the next read succeeds
  await out.data();
}

Deno.test({
  name: "webgpu linalg: singular, indefinite, non-symmetric and non-finite inputs raise the cpu's DomainError on read",
  ...opt,
  async fn() {
    const x = randn(11, [3, 4, 4]);
    const notPd = T.mul(T.eye(4), T.tensor([1, 2, -1, 3]));
    await gpuErrorOnRead("cholesky", [notPd], (a) => L.cholesky(a));
    // batch entry 3 has an Infinity at row 2, column 3
    const inf = T.tensor(Array.from({ length: 16 }, (_, i) => (i === 11 ? Infinity : i % 5 === 0 ? 2 : 0)), {
      shape: [1, 4, 4],
    });
    const bad = T.concat([spd(x), inf], 0);
    for (
      const [name, f] of [
        ["lu", (a: Tensor) => L.luFactor(a).lu],
        ["qr", (a: Tensor) => L.qr(a).R],
        ["svd", (a: Tensor) => L.svd(a).S],
        ["eigh", (a: Tensor) => L.eigh(T.add(a, T.matrixTranspose(a))).eigenvalues],
        ["cholesky", (a: Tensor) => L.cholesky(a)],
        ["solve", (a: Tensor) => L.solve(a, T.ones([4, 4, 1]))],
        ["expm", (a: Tensor) => L.expm(a)],
      ] as const
    ) {
      await gpuErrorOnRead(`${name} non-finite`, [bad], f);
    }
    const singular = T.concat([randn(12, [4, 3]), T.zeros([4, 1])], 1);
    await gpuErrorOnRead("solve singular", [singular], (a) => L.solve(a, T.ones([4])));
    await gpuErrorOnRead("inv singular", [singular], (a) => L.inv(a));
    await gpuErrorOnRead(
      "solveTriangular zero diagonal",
      [T.mul(T.eye(4), T.tensor([1, 0, 1, 1]))],
      (a) => L.solveTriangular(a, T.ones([4, 2]), { lower: true }),
    );
    await gpuErrorOnRead(
      "solveTriangular non-finite rhs",
      [T.eye(4), T.tensor([1, NaN, 1, 1])],
      (a, b) => L.solveTriangular(a, b, { lower: false }),
    );
    // the asymmetry is computed in float32 on the GPU: the message agrees up to its printed value
    await gpuErrorOnRead("eigh not symmetric", [x], (a) => L.eigh(a).eigenvalues, false);
    // a failure is not raised on dispatch; failures are raised in program order, one per read
    await T.useBackend("webgpu");
    try {
      const a = L.cholesky(await T.toBackend(notPd, "webgpu"));
      const b = L.solve(await T.toBackend(singular, "webgpu"), T.ones([4]));
      await assert.rejects(b.data(), /cholesky: matrix \[4, 4\] is not positive definite: the pivot of column 2/);
      await assert.rejects(a.data(), /solve: matrix \[4, 4\] is singular/);
      assert.ok(Number.isNaN((await a.data())[0]), "a failed matrix reads as NaN");
      // an lu of a singular matrix is not an error (U has a zero pivot), as on the cpu
      const f = L.luFactor(await T.toBackend(singular, "webgpu"));
      assertClose(await f.lu.data(), L.luFactor(f64(singular)).lu.dataSync(), "singular lu");
    } finally {
      await T.useBackend("cpu");
    }
  },
});

// PyTorch's losses through every factorization (../shared/fixtures/linalg.json): value and gradient
interface Tens {
  shape: number[];
  data: number[];
}
const fixtures = JSON.parse(
  await Deno.readTextFile(new URL("../../shared/fixtures/linalg.json", import.meta.url)),
) as Record<string, Record<string, Tens & { value: number; grad: Tens }>>;

function losses(name: "tall" | "square"): Record<string, (a: Tensor) => Tensor> {
  const fx = fixtures[name];
  const t = (k: string) => T.tensor(fx[k].data, { shape: fx[k].shape }); // float32, default backend
  const [G1, G2, G3, gs] = ["G1", "G2", "G3", "gs"].map(t);
  const n = fx.A.shape[1];
  const mT = T.matrixTranspose;
  const cols = (x: Tensor, a: number, b: number) => T.slice(x, [null, [a, b]]);
  const rows = (x: Tensor, a: number, b: number) => T.slice(x, [[a, b], null]);
  const dot = (a: Tensor, b: Tensor) => T.sum(T.mul(a, b));
  const out: Record<string, (a: Tensor) => Tensor> = {
    svdvals_dot_gs: (a) => dot(L.svdvals(a), gs),
    svd_top2_projectors: (a) => {
      const { U, S, Vh } = L.svd(a);
      const ur = cols(U, 0, 2), vr = mT(rows(Vh, 0, 2));
      return T.add(T.add(dot(T.matmul(ur, mT(ur)), G1), dot(T.matmul(vr, mT(vr)), G2)), dot(S, gs));
    },
    qr_projector_and_gram: (a) => {
      const { Q, R } = L.qr(a);
      return T.add(dot(T.matmul(Q, mT(Q)), G1), dot(T.matmul(mT(R), R), G2));
    },
    polar_factor_dot: (a) => {
      const { U, Vh } = L.svd(a);
      return dot(T.matmul(U, Vh), G3);
    },
  };
  if (name === "square") {
    const id = T.eye(n);
    const gram = (a: Tensor) => T.add(T.matmul(a, mT(a)), id);
    Object.assign(out, {
      expm_skew_dot: (a: Tensor) => dot(L.expm(T.sub(a, mT(a))), G1),
      cayley_dot: (a: Tensor) => {
        const s = T.sub(a, mT(a));
        return dot(L.solve(T.add(id, s), T.sub(id, s)), G1);
      },
      eigh_top2: (a: Tensor) => {
        const { eigenvalues: w, eigenvectors: v } = L.eigh(T.add(a, mT(a)));
        const top = cols(v, n - 2, n);
        return T.add(dot(w, T.arange(0, n, 1, { dtype: "float32" })), dot(T.matmul(top, mT(top)), G1));
      },
      logdet_gram: (a: Tensor) => L.slogdet(gram(a)).logabsdet,
      inv_gram_dot: (a: Tensor) => dot(L.inv(gram(a)), G1),
    });
  }
  return out;
}

Deno.test({
  name: "webgpu linalg: values and gradients of PyTorch's fixture losses (float32 tolerance)",
  ...opt,
  async fn() {
    await T.useBackend("webgpu");
    try {
      for (const name of ["tall", "square"] as const) {
        const fx = fixtures[name];
        const A = T.tensor(fx.A.data, { shape: fx.A.shape });
        for (const [entry, f] of Object.entries(losses(name))) {
          const [value, g] = T.valueAndGrad(f)(A);
          assert.equal(g.backend.name, "webgpu");
          const want = fx[entry];
          assertClose(await value.data(), new Float64Array([want.value]), `${name}.${entry} value`, 1e-4);
          assertClose(await g.data(), Float64Array.from(want.grad.data), `${name}.${entry} gradient`, 1e-3);
        }
      }
    } finally {
      await T.useBackend("cpu");
    }
  },
});

Deno.test({
  name: "webgpu linalg: gradients through the blocked paths match the cpu",
  ...opt,
  async fn() {
    const saved = { ...linalgTuning };
    Object.assign(linalgTuning, { smallMax: 6, block: 4, jacobiMax: 4, jacobiBlock: 3 });
    try {
      const x = randn(21, [10, 10]);
      const f = (a: Tensor) =>
        T.add(
          T.add(L.slogdet(spd(a)).logabsdet, T.sum(L.cholesky(spd(a)))),
          T.add(T.sum(T.mul(L.solve(T.add(a, T.mul(T.eye(10), 6)), T.ones([10, 2])), 0.1)), T.sum(L.svdvals(a))),
        );
      const want = T.grad(f)(f64(x));
      await T.useBackend("webgpu");
      let got: Tensor;
      try {
        got = T.grad(f)(await T.toBackend(x, "webgpu"));
      } finally {
        await T.useBackend("cpu");
      }
      assertClose(await got.data(), want.dataSync(), "blocked gradient", 1e-3);
    } finally {
      Object.assign(linalgTuning, saved);
    }
  },
});

Deno.test({
  name: "webgpu linalg: on a software adapter a kernel that would outrun its loop cap throws a BackendError",
  ...opt,
  ignore: !gpuOk || linalgTuning.loopCap === Infinity,
  async fn() {
    const big = await T.toBackend(randn(31, [150, 150]), "webgpu");
    assert.throws(() => L.qr(big), (e: unknown) => {
      assert.ok(e instanceof T.BackendError);
      assert.match(
        e.message,
        /qr: a matrix of \[150, 150\] needs about [\d,]+ loop iterations .* run it on the cpu backend/,
      );
      return true;
    });
    // the blocked and block-Jacobi paths keep their loops short: the same size works there
    const want = L.svdvals(f64(await T.toBackend(big, "cpu")));
    assertClose(await L.svdvals(big).data(), want.dataSync(), "svdvals 150×150", 1e-4);
    const spdOf = (x: Tensor) => T.add(T.matmulT(x, x, false, true), T.mul(T.eye(150, { like: x }), 150));
    const spdCpu = f64(spdOf(await T.toBackend(big, "cpu")));
    assertClose(await L.cholesky(spdOf(big)).data(), L.cholesky(spdCpu).dataSync(), "cholesky 150×150", 1e-4);
  },
});
