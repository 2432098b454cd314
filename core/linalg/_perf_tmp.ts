import * as K from "./kernels.ts";
function rnd(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
function mat(m: number, n: number, seed: number) {
  const r = rnd(seed);
  const a = new Float32Array(m * n);
  for (let i = 0; i < a.length; i++) a[i] = r();
  return a;
}
function time(name: string, f: () => unknown, reps = 5) {
  f();
  f();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  console.log(name, best.toFixed(2), "ms (min)");
}
const only = Deno.args[0];
const a1 = mat(1024, 16, 1), a2 = mat(4096, 64, 2), a3 = mat(512, 512, 3);
if (!only || only === "qr") {
  time("qr 1024x16", () => K.qrKernel(a1, { m: 1024, n: 16 }), 30);
  time("qr 4096x64", () => K.qrKernel(a2, { m: 4096, n: 64 }), 10);
}
if (!only || only === "svd") {
  time("svd 1024x16", () => K.svdKernel(a1, { m: 1024, n: 16 }), 30);
  time("svd 4096x64", () => K.svdKernel(a2, { m: 4096, n: 64 }), 10);
  time("svd 4096x64 gk", () => K.svdKernel(a2, { m: 4096, n: 64, method: "gk" }), 10);
}
if (!only || only === "big") time("svd 512 gk", () => K.svdKernel(a3, { m: 512, n: 512 }), 4);
if (!only || only === "small") {
  const a4 = mat(128, 128, 4);
  time("svd 128 jacobi", () => K.svdKernel(a4, { m: 128, n: 128, method: "jacobi" }), 5);
  time("svd 128 gk", () => K.svdKernel(a4, { m: 128, n: 128, method: "gk" }), 5);
  const a5 = mat(64, 64, 4);
  time("svd 64 jacobi", () => K.svdKernel(a5, { m: 64, n: 64, method: "jacobi" }), 10);
  time("svd 64 gk", () => K.svdKernel(a5, { m: 64, n: 64, method: "gk" }), 10);
  const a6 = mat(32, 32, 4);
  time("svd 32 jacobi", () => K.svdKernel(a6, { m: 32, n: 32, method: "jacobi" }), 30);
  time("svd 32 gk", () => K.svdKernel(a6, { m: 32, n: 32, method: "gk" }), 30);
}
if (!only || only === "other") {
  const s = new Float64Array(512 * 512);
  const x = mat(512, 512, 9);
  for (let i = 0; i < 512; i++) for (let j = 0; j < 512; j++) s[i * 512 + j] = x[i * 512 + j] + x[j * 512 + i];
  time("eigh 512", () => K.eighKernel(s, { n: 512 }), 3);
  time("lu 512", () => K.luKernel(x, { n: 512 }), 3);
  time("chol 512", () => {
    const a = new Float64Array(512 * 512);
    for (let i = 0; i < 512; i++) a[i * 513] = 512;
    return K.choleskyKernel(a, { n: 512 });
  }, 3);
}
