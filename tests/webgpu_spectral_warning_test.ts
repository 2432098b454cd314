/**
 * The eigh / SVD gradients' dropped-gap warning on WebGPU: the gradient encodes the check as kernels
 * (core/backend/webgpu/spectral_gaps.ts) and the next read prints the CPU's message; warnings share
 * the failure log with failures without hiding them. Skipped with a warning where WebGPU is absent.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { DomainError } from "../core/errors.ts";
import { webgpuAvailable } from "../core/backend/webgpu/mod.ts";
import type { WebGPUBackend } from "../core/backend/webgpu/backend.ts";
import { StatusWarning } from "../core/backend/webgpu/linalg_status.ts";
import { encodeDroppedGapCheck } from "../core/backend/webgpu/spectral_gaps.ts";

const L = T.linalg;
const gpuOk = await webgpuAvailable();
if (!gpuOk) console.warn("webgpu_spectral_warning_test: no WebGPU adapter; skipping");
await T.useBackend("cpu");
const opt = { ignore: !gpuOk, sanitizeOps: false, sanitizeResources: false };

/** Runs `f` with console.warn recorded; returns what it printed (and `f`'s result). */
async function warnings<R>(f: () => Promise<R> | R): Promise<[string[], R]> {
  const seen: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void seen.push(a.join(" "));
  try {
    return [seen, await f()];
  } finally {
    console.warn = warn;
  }
}

/** Runs `f` with WebGPU the default backend. */
async function onGpu<R>(f: () => Promise<R>): Promise<R> {
  await T.useBackend("webgpu");
  try {
    return await f();
  } finally {
    await T.useBackend("cpu");
  }
}

// eigenvalues 1 and 1 + 2⁻²¹ (a gap of 9.5e-8 relative to max |λ| = 5, under 2·4·ε = 9.5e-7), 3, 5;
// diagonal, so both backends compute these values exactly and the messages' numbers agree
const near = T.mul(T.eye(4), T.tensor([5, 1, 1 + 2 ** -21, 3]));
const apart = T.mul(T.eye(4), T.tensor([5, 1, 2, 3]));
// a basis-dependent loss: a non-symmetric weighting of the eigenvectors
const G = T.reshape(T.arange(16, { dtype: "float32" }), [4, 4]);
const loss = (a: Tensor) => T.sum(T.mul(L.eigh(a).eigenvectors, G));

Deno.test({
  name: "webgpu spectral warning: eigh's gradient warns at the first read with the cpu's message, once",
  ...opt,
  async fn() {
    // well separated: no warning on either backend
    const [cpuApart] = await warnings(() => T.grad(loss)(apart).data());
    assert.deepEqual(cpuApart, []);
    const ga = await T.toBackend(apart, "webgpu"), gG = await T.toBackend(G, "webgpu");
    const gpuLoss = (a: Tensor) => T.sum(T.mul(L.eigh(a).eigenvectors, gG));
    const [gpuApart, gApart] = await warnings(() => onGpu(() => T.grad(gpuLoss)(ga).data()));
    assert.deepEqual(gpuApart, [], "a well-separated spectrum does not warn");
    assert.deepEqual([...gApart], [...T.grad(loss)(apart).dataSync()], "the gradient is the cpu's");

    // near-repeated, but a loss that does not depend on the basis inside the pair: no warning
    const invariant = (g: Tensor) => (a: Tensor) => {
      const { eigenvalues: w, eigenvectors: v } = L.eigh(a);
      return T.sum(T.mul(T.matmul(T.mul(v, T.expandDims(w, -2)), T.matrixTranspose(v)), g));
    };
    const [cpuInv] = await warnings(() => T.grad(invariant(G))(near).data());
    assert.deepEqual(cpuInv, []);
    const gn = await T.toBackend(near, "webgpu");
    const [gpuInv] = await warnings(() => onGpu(() => T.grad(invariant(gG))(gn).data()));
    assert.deepEqual(gpuInv, [], "a basis-invariant loss does not warn");

    // near-repeated: the cpu warns at once
    const [cpuNear] = await warnings(() => T.grad(loss)(near));
    assert.equal(cpuNear.length, 1, "the cpu warns");
    assert.match(cpuNear[0], /^eigh \(gradient\): dropped 1 term\(s\) .* float32 .*closest 9\.5e-8\)/);
    // WebGPU: nothing while the gradient is computed (no wait), the cpu's message at the first read
    const [before, g] = await warnings(() => onGpu(() => Promise.resolve(T.grad(gpuLoss)(gn))));
    assert.deepEqual(before, [], "the gradient itself does not read");
    const [atRead, values] = await warnings(() => g.data());
    assert.deepEqual(atRead, cpuNear, "the read prints the cpu's warning");
    assert.deepEqual([...values], [...T.grad(loss)(near).dataSync()], "the gradient is the cpu's");
    // once per op and dtype
    const [again] = await warnings(() => onGpu(() => T.grad(gpuLoss)(gn).data()));
    assert.deepEqual(again, []);
  },
});

/** Encodes a warning status (a 2×2 pair at relative gap 0) under the key `once` on the GPU. */
async function encodeWarning(once: string): Promise<void> {
  const v = await T.toBackend(T.tensor([1, 1]), "webgpu");
  const s = await T.toBackend(T.tensor([1]), "webgpu");
  const k = await T.toBackend(T.tensor([[0, 1], [0, 0]]), "webgpu");
  encodeDroppedGapCheck(
    v.backend as WebGPUBackend,
    v._storage,
    s._storage,
    k._storage,
    { count: 1, n: 2, tol: 1e-6, root: 2 ** -11.5, skewPart: true },
    `test|${once}`,
    (f) => new StatusWarning(`${once}: ${f.index} at ${f.value}`, once),
  );
}

const notPd = T.mul(T.eye(4), T.tensor([1, 2, -1, 3]));
const pdError = /cholesky: matrix \[4, 4\] is not positive definite: the pivot of column 2/;

Deno.test({
  name: "webgpu spectral warning: warnings do not hide failures, before or after them",
  ...opt,
  async fn() {
    const bad = await T.toBackend(notPd, "webgpu");
    // a warning, then a failure, one read: the warning is printed and the failure thrown
    const [w1] = await warnings(async () => {
      await encodeWarning("w1");
      const c = L.cholesky(bad);
      await assert.rejects(c.data(), pdError);
      await c.data(); // thrown once
    });
    assert.deepEqual(w1, ["w1: 1 at 0"]);
    // a warning read alone throws nothing; a later failure still throws
    const [w2] = await warnings(async () => {
      await encodeWarning("w2");
      await bad.data();
      const c = L.cholesky(bad);
      await assert.rejects(c.data(), pdError);
    });
    assert.deepEqual(w2, ["w2: 1 at 0"]);
    // more warnings than the log holds before a read: they take one entry, the failure is kept
    const [w3] = await warnings(async () => {
      for (let i = 0; i < 100; i++) await encodeWarning("w3");
      const c = L.cholesky(bad);
      await assert.rejects(c.data(), (e: unknown) => {
        assert.ok(e instanceof DomainError);
        assert.match(e.message, pdError);
        assert.doesNotMatch(e.message, /later failure/);
        return true;
      });
    });
    assert.deepEqual(w3, ["w3: 1 at 0"]);
    // a failure, then a warning: the read throws the failure and prints the warning
    const [w4] = await warnings(async () => {
      const c = L.cholesky(bad);
      await encodeWarning("w4");
      await assert.rejects(c.data(), pdError);
    });
    assert.deepEqual(w4, ["w4: 1 at 0"]);
  },
});

Deno.test({
  name: "webgpu spectral warning: under jit(vmap(...)) every example is checked (svd) while tracing, as on the cpu",
  ...opt,
  async fn() {
    // σ = 5, 1 + 2⁻²¹, 1, 3 in the second example only: σ² apart by 2⁻²⁰ (3.8e-8 of max σ² = 25)
    const a = T.stack([T.mul(T.eye(4), T.tensor([5, 1, 2, 3])), T.mul(T.eye(4), T.tensor([5, 1 + 2 ** -21, 1, 3]))]);
    const svdLoss = (w: Tensor) => (x: Tensor) => T.sum(T.mul(L.svd(x).U, w));
    const f = (w: Tensor) => T.vmap(T.grad(svdLoss(w)));
    const [cpu, want] = await warnings(() => f(G)(a).dataSync());
    assert.equal(cpu.length, 1, "the cpu warns");
    assert.match(cpu[0], /^svd \(gradient\): dropped 1 term\(s\) .*closest 3\.8e-8\)/);
    const ga = await T.toBackend(a, "webgpu"), gG = await T.toBackend(G, "webgpu");
    const j = T.jit(f(gG));
    const [gpu, got] = await warnings(() => onGpu(() => j(ga).data()));
    assert.deepEqual(gpu, cpu, "WebGPU prints the cpu's warning at the read");
    assert.deepEqual([...got], [...want]);
    // the replay computes the same gradient (and skips the check: shown already)
    const [again, replay] = await warnings(() => onGpu(() => j(ga).data()));
    assert.deepEqual(again, []);
    assert.deepEqual([...replay], [...want]);
  },
});

Deno.test({
  name: "webgpu spectral warning: the check counts every pair of a large batch (grid-stride, many workgroups)",
  ...opt,
  async fn() {
    const n = 12, tol = 2e-6, root = 2 ** -11.5;
    for (const count of [1, 700, 4000]) {
      // per matrix: values i·(1 + b%3) with some pairs repeated; k with a large term on some pairs
      const v = new Float32Array(count * n), s = new Float32Array(count), k = new Float32Array(count * n * n);
      let r = 12345 + count;
      const rand = () => (r = (r * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let b = 0; b < count; b++) {
        for (let i = 0; i < n; i++) {
          // a tenth of the values repeat the previous one by 2-8 ulps (gap ≤ 1.5e-5, tol·scale ≥ 2.4e-5)
          const p = v[b * n + i - 1];
          v[b * n + i] = rand() < 0.1 && i > 0 ? p + p * 2 ** -22 * (1 + b % 4) : i + 1 + b % 3;
        }
        s[b] = v[b * n + n - 1] + 2 ** -(b % 7);
        for (let e = 0; e < n * n; e++) k[b * n * n + e] = rand() < 0.3 ? rand() * 4 - 2 : 0;
      }
      let kmax = 0;
      for (const x of k) kmax = Math.max(kmax, Math.abs(x));
      let want = 0, closest = Infinity;
      for (let b = 0; b < count; b++) {
        for (let i = 0; i < n; i++) {
          for (let j = i + 1; j < n; j++) {
            const gap = Math.abs(v[b * n + j] - v[b * n + i]);
            const term = Math.abs(k[b * n * n + i * n + j] - k[b * n * n + j * n + i]);
            if (gap <= tol * s[b] && term > root * kmax) want++, closest = Math.min(closest, gap / s[b]);
          }
        }
      }
      assert.ok(want > 0 || count === 1, `count ${count}: the data has dropped pairs`);
      const [vg, sg, kg] = await Promise.all(
        [T.tensor(v), T.tensor(s), T.tensor(k)].map((t) => T.toBackend(t, "webgpu")),
      );
      let seen: [number, number] | null = null;
      encodeDroppedGapCheck(
        vg.backend as WebGPUBackend,
        vg._storage,
        sg._storage,
        kg._storage,
        { count, n, tol, root, skewPart: true },
        `test|big|${count}`,
        (f) => (seen = [f.index, f.value], new StatusWarning("", `big|${count}`)),
      );
      await vg.data();
      if (want === 0) assert.equal(seen, null, `count ${count}: no status`);
      else {
        assert.equal(seen![0], want, `count ${count}: pairs dropped`);
        assert.ok(Math.abs(seen![1] - closest) <= 1e-6 * closest, `count ${count}: closest ${seen![1]} vs ${closest}`);
      }
      if (count === 4000) assert.ok(closest > 0, "some close pairs are not equal");
    }
  },
});
