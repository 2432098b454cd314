/**
 * CPU linear-algebra kernels on float32 input (computed in float64). Run with
 * `deno bench bench/linalg_kernels_bench.ts`.
 * @module
 */
import { choleskyKernel, eighKernel, luKernel, qrKernel, svdKernel } from "../core/linalg/kernels.ts";

/** Uniform(−½, ½) float32 entries from a fixed LCG seed. */
function randomF32(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

const tall16 = randomF32(1024 * 16, 1);
const tall64 = randomF32(4096 * 64, 2);
const square512 = randomF32(512 * 512, 3);
const spd256 = (() => {
  const x = randomF32(256 * 256, 4), a = new Float32Array(256 * 256);
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < 256; j++) a[i * 256 + j] = x[i * 256 + j] + x[j * 256 + i] + (i === j ? 256 : 0);
  }
  return a;
})();

Deno.bench("qr 1024x16 f32", { group: "qr" }, () => {
  qrKernel(tall16, { m: 1024, n: 16 });
});
Deno.bench("qr 4096x64 f32", { group: "qr" }, () => {
  qrKernel(tall64, { m: 4096, n: 64 });
});
Deno.bench("svd 1024x16 f32", { group: "svd" }, () => {
  svdKernel(tall16, { m: 1024, n: 16 });
});
Deno.bench("svd 4096x64 f32", { group: "svd" }, () => {
  svdKernel(tall64, { m: 4096, n: 64 });
});
Deno.bench("svd 512x512 f32", { group: "svd", n: 8, warmup: 2 }, () => {
  svdKernel(square512, { m: 512, n: 512 });
});
Deno.bench("eigh 256x256 f32", { group: "other", n: 10, warmup: 2 }, () => {
  eighKernel(spd256, { n: 256 });
});
Deno.bench("cholesky 256x256 f32", { group: "other" }, () => {
  choleskyKernel(spd256, { n: 256 });
});
Deno.bench("lu 256x256 f32", { group: "other" }, () => {
  luKernel(spd256, { n: 256 });
});
