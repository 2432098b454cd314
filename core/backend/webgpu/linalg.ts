/**
 * Linear-algebra primitives that run on the GPU without a host round trip. `triangularSolve`
 * (X = op(A)⁻¹B, A triangular) is substitution with one thread per right-hand-side column: meant
 * for the small r × r systems of adapters (HRA's WY factor Γ), O(n²) sequential work per column.
 * Unlike the CPU kernel it cannot report a singular or non-finite matrix without waiting for the
 * GPU: those give ±∞/NaN. The factorizations (qr, svd, eigh, cholesky, lu) have no WebGPU kernel:
 * move their (small) inputs with `toBackend(t, "cpu")`.
 * @module
 */
import type { Storage } from "../backend.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, memoCode, WG, wgslType } from "./wgsl.ts";

/** Registers triangularSolve. */
export function registerLinalg(gpu: WebGPUBackend): void {
  gpu.kernels.set(
    "triangularSolve",
    (
      [a, b],
      [aa, ba],
      p: { lower: boolean; transpose: boolean; unitDiagonal: boolean; op: string },
      [o],
    ): Storage[] => {
      const n = aa.shape[aa.shape.length - 1], k = ba.shape[ba.shape.length - 1];
      const count = ba.shape.slice(0, -2).reduce((x, y) => x * y, 1);
      const aBatched = aa.shape.length > 2 ? 1 : 0;
      const t = wgslType(o.dtype, p.op);
      const out = gpu.alloc(o);
      // x_i = (b_i − Σ_{j solved} w_ij x_j) / w_ii, w = op(A), rows in solving order
      const code = memoCode(
        `trs|${t}`,
        () =>
          `struct U { n: u32, k: u32, total: u32, aBatched: u32, lower: u32, trans: u32, unit: u32 }
@group(0) @binding(0) var<storage, read> A: array<${t}>;
@group(0) @binding(1) var<storage, read> B: array<${t}>;
@group(0) @binding(2) var<storage, read_write> X: array<${t}>;
@group(0) @binding(3) var<uniform> u: U;
fn w(base: u32, i: u32, j: u32) -> ${t} {
  return select(A[base + i * u.n + j], A[base + j * u.n + i], u.trans != 0u);
}
${entry("u.total")}
  let n = u.n; let k = u.k;
  let bi = i / k; let c = i % k;
  let aBase = select(0u, bi * n * n, u.aBatched != 0u);
  let xBase = bi * n * k + c;
  for (var s = 0u; s < n; s++) {
    let r = select(n - 1u - s, s, u.lower != 0u);
    var acc = B[xBase + r * k];
    let j0 = select(r + 1u, 0u, u.lower != 0u);
    let j1 = select(n, r, u.lower != 0u);
    for (var j = j0; j < j1; j++) { acc -= w(aBase, r, j) * X[xBase + j * k]; }
    if (u.unit == 0u) { acc /= w(aBase, r, r); }
    X[xBase + r * k] = acc;
  }
}`,
      );
      const total = count * k;
      if (total > 0 && n > 0) {
        const lower = p.lower !== p.transpose ? 1 : 0;
        gpu.runtime.dispatch({
          code,
          inputs: [gpu.buf(a), gpu.buf(b)],
          output: out,
          uniforms: new Uniforms().u(n, k, total, aBatched, lower, p.transpose ? 1 : 0, p.unitDiagonal ? 1 : 0).u32,
          groups: grid(Math.ceil(total / WG)),
        });
      }
      return [gpu.wrap(out, o)];
    },
  );
}
