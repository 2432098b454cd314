/**
 * Retraction and transport on stiefel(4096, p), p ∈ {16, 64}, float32, CPU; and one landing step
 * against one QR-retraction Riemannian SGD step. Run: `deno bench -A bench/manifolds_bench.ts`.
 */
import "../mod.ts";
import { key, mul, normal, split } from "../mod.ts";
import { landingField, landingSafeStep, type Stiefel, stiefel } from "../manifolds/mod.ts";
import { minimum, sub } from "../core/ops/mod.ts";

const n = 4096;
for (const p of [16, 64]) {
  const variants: [string, Stiefel][] = [
    ["qr", stiefel(n, p, { retraction: "qr" })],
    ["polar", stiefel(n, p, { retraction: "polar" })],
    ["cayley", stiefel(n, p, { retraction: "cayley" })],
    ["cayley, 2 iterations", stiefel(n, p, { retraction: "cayley", cayleyIterations: 2 })],
  ];
  const [k1, k2, k3] = split(key(p), 3);
  const x0 = variants[0][1].random(k1);
  const v = mul(variants[0][1].randomTangent(k2, x0), 0.01);
  const g = normal(k3, [n, p]);
  for (const [name, St] of variants) {
    const x = St.assertOn(x0, 1e-3);
    Deno.bench(`stiefel(${n}, ${p}) retract ${name}`, { group: `retract p=${p}` }, () => {
      St.retract(x, v).dataSync();
    });
  }
  const St = variants[0][1];
  Deno.bench(`stiefel(${n}, ${p}) transport (projection)`, { group: `transport p=${p}` }, () => {
    St.transport(x0, x0, v).dataSync();
  });
  Deno.bench(`stiefel(${n}, ${p}) QR-retraction SGD step`, { group: `step p=${p}`, baseline: true }, () => {
    St.retract(x0, mul(St.egradToRgrad(x0, g), -0.01)).dataSync();
  });
  Deno.bench(`stiefel(${n}, ${p}) landing step (safe step)`, { group: `step p=${p}` }, () => {
    const f = landingField(x0, g, 1);
    sub(x0, mul(f, minimum(landingSafeStep(x0, f), 0.01))).dataSync();
  });
}

// WebGPU (set TANGENT_BENCH_WEBGPU=1): the matmul-only paths, landing and the iterative Cayley
// retraction (QR, SVD and LU have no WebGPU kernels yet). Each iteration runs 20 steps and waits
// once, so the figure is 20 steps (divide by 20).
if (Deno.env.get("TANGENT_BENCH_WEBGPU") === "1") {
  const { syncWebGPU, webgpuAvailable } = await import("../core/backend/webgpu/mod.ts");
  if (await webgpuAvailable()) {
    const { asPoint } = await import("../manifolds/mod.ts");
    const { scope, toBackend, useBackend } = await import("../mod.ts");
    const inputs = [16, 64].map((p) => {
      const St = stiefel(n, p, { retraction: "cayley", cayleyIterations: 2 });
      const [k1, k2, k3] = split(key(p), 3);
      const x = stiefel(n, p).random(k1);
      return { p, St, x, v: mul(St.randomTangent(k2, St.assertOn(x)), 0.01), g: normal(k3, [n, p]) };
    });
    for (const { p, St, x: xc, v: vc, g: gc } of inputs) {
      const x = asPoint(await toBackend(xc, "webgpu"), St);
      const v = await toBackend(vc, "webgpu"), g = await toBackend(gc, "webgpu");
      const twenty = (f: () => unknown) => async () => {
        await useBackend("webgpu"); // constants (identities) are made on the current backend
        for (let i = 0; i < 20; i++) scope(f);
        await syncWebGPU();
        await useBackend("cpu");
      };
      Deno.bench(
        `webgpu stiefel(${n}, ${p}) ×20 retract cayley, 2 iterations`,
        { group: `webgpu p=${p}` },
        twenty(() => St.retract(x, v)),
      );
      Deno.bench(
        `webgpu stiefel(${n}, ${p}) ×20 transport`,
        { group: `webgpu p=${p}` },
        twenty(() => St.transport(x, x, v)),
      );
      Deno.bench(
        `webgpu stiefel(${n}, ${p}) ×20 landing step`,
        { group: `webgpu p=${p}` },
        twenty(() => {
          const f = landingField(x, g, 1);
          return sub(x, mul(f, minimum(landingSafeStep(x, f), 0.01)));
        }),
      );
    }
  }
}
