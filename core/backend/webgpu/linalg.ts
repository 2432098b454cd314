/**
 * The linear-algebra primitives on WebGPU, all without a host round trip: `cholesky`, `lu`, `qr`,
 * `svd`, `eigh`, `triangularSolve` and `expmSquarings` (linalg_expm.ts), float32. Small matrices
 * (the blocks of OFT and BOFT, an adapter's r × r systems, tall-skinny Stiefel points) get one
 * workgroup each (linalg_lu.ts, linalg_qr.ts, linalg_jacobi.ts); large ones go through blocked
 * algorithms whose trailing updates are the matmul kernel (linalg_blocked.ts), or block Jacobi
 * (linalg_block_jacobi.ts); the switch points are in linalg_tuning.ts. QR has no blocked form
 * yet: one workgroup per matrix at any size (O(mnk) on one workgroup; fine for the tall-skinny
 * matrices adapters have, slow for a large square one).
 *
 * Failures (a non-finite entry, a singular or non-positive-definite matrix, a non-symmetric input
 * to `eigh`) raise the CPU's DomainError when a result is read (see linalg_status.ts); the failed
 * matrix's results are NaN meanwhile. On a software adapter (llvmpipe) a kernel whose shader
 * loops would outrun the adapter's loop cap throws a BackendError at once (linalg_tuning.ts).
 * @module
 */
import type { Storage } from "../backend.ts";
import { failureError } from "../../linalg/failure.ts";
import type { WebGPUBackend } from "./backend.ts";
import type { GPUBuffer } from "./gpu_types.ts";
import { blockedCholesky, blockedLu, blockedTriangularSolve } from "./linalg_blocked.ts";
import { checkLoops, linalgTuning, loopEstimates, useSoftwareTuning } from "./linalg_tuning.ts";
import { choleskyCode, luCode, triangularCheckCode } from "./linalg_lu.ts";
import { registerQr } from "./linalg_qr.ts";
import { registerExpm } from "./linalg_expm.ts";
import { registerSpectral } from "./linalg_spectral.ts";
import { describe, failureLog, kernelFailure, STATUS } from "./linalg_status.ts";
import { groupSize, runPerMatrix } from "./linalg_wgsl.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, memoCode, WG, wgslType } from "./wgsl.ts";

function count(shape: readonly number[]): number {
  return shape.slice(0, -2).reduce((a, b) => a * b, 1);
}

interface TriParams {
  lower: boolean;
  transpose: boolean;
  unitDiagonal: boolean;
  op: string;
}

/** Substitution with one thread per right-hand-side column (fine up to orders of a few hundred). */
function substitutionCode(t: string): string {
  return memoCode(
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
}

/** Encodes X = op(A)⁻¹B by substitution into `out` (no checks). */
export function substitute(
  gpu: WebGPUBackend,
  a: GPUBuffer,
  b: GPUBuffer,
  out: GPUBuffer,
  dims: { n: number; k: number; count: number; aBatched: boolean },
  p: { lower: boolean; transpose: boolean; unitDiagonal: boolean },
): void {
  const total = dims.count * dims.k;
  if (total === 0 || dims.n === 0) return;
  const lower = p.lower !== p.transpose ? 1 : 0;
  gpu.runtime.dispatch({
    code: substitutionCode("f32"),
    inputs: [a, b],
    output: out,
    uniforms: new Uniforms().u(
      dims.n,
      dims.k,
      total,
      dims.aBatched ? 1 : 0,
      lower,
      p.transpose ? 1 : 0,
      p.unitDiagonal ? 1 : 0,
    ).u32,
    groups: grid(Math.ceil(total / WG)),
  });
}

/** Registers the linear-algebra kernels. */
export function registerLinalg(gpu: WebGPUBackend): void {
  const log = failureLog(gpu);
  if (/llvmpipe|lavapipe|swiftshader|software/i.test(gpu.description)) useSoftwareTuning();

  gpu.kernels.set("triangularSolve", ([a, b], [aa, ba], p: TriParams, [o]): Storage[] => {
    const n = aa.shape[aa.shape.length - 1], k = ba.shape[ba.shape.length - 1];
    const cnt = count(ba.shape);
    wgslType(o.dtype, p.op);
    checkLoops(p.op, aa.shape, loopEstimates.triangularSolve(n, k));
    const out = gpu.alloc(o);
    if (cnt === 0) return [gpu.wrap(out, o)];
    const dims = { n, k, count: cnt, aBatched: aa.shape.length > 2 };
    // checks first (they read A and B as given)
    const region = log.region(cnt);
    runPerMatrix(
      gpu,
      triangularCheckCode(groupSize(n)),
      [gpu.buf(a), gpu.buf(b)],
      [region],
      new Uniforms().u(n, k, cnt, dims.aBatched ? 1 : 0, p.unitDiagonal ? 1 : 0).u32,
      cnt,
    );
    log.fold(
      region,
      cnt,
      `trs|${p.op}|${aa.shape}|${ba.shape}`,
      (f) =>
        f.kind === STATUS.nonFiniteB
          ? failureError(p.op, kernelFailure(f), ba.shape, k, "right-hand side")
          : failureError(p.op, kernelFailure(f), aa.shape, n, "matrix"),
    );
    if (n > linalgTuning.smallMax) blockedTriangularSolve(gpu, gpu.buf(a), gpu.buf(b), out, dims, p, linalgTuning);
    else substitute(gpu, gpu.buf(a), gpu.buf(b), out, dims, p);
    return [gpu.wrap(out, o)];
  });

  gpu.kernels.set("cholesky", ([x], [xa], _p, [o]): Storage[] => {
    const n = xa.shape[xa.shape.length - 1], cnt = count(xa.shape);
    checkLoops("cholesky", xa.shape, loopEstimates.factor(n));
    const out = gpu.alloc(o);
    if (cnt === 0) return [gpu.wrap(out, o)];
    const region = log.region(cnt);
    if (n > linalgTuning.smallMax) blockedCholesky(gpu, gpu.buf(x), out, region, n, cnt, linalgTuning);
    else {
      runPerMatrix(gpu, choleskyCode(groupSize(n)), [gpu.buf(x)], [out, region], new Uniforms().u(n, cnt).u32, cnt);
    }
    log.fold(region, cnt, `cholesky|${xa.shape}`, describe("cholesky", xa.shape, n));
    return [gpu.wrap(out, o)];
  });

  gpu.kernels.set("lu", ([x], [xa], p, [lo, po, so]): Storage[] => {
    const op = (p as { op?: string } | undefined)?.op ?? "lu"; // the public function (solve, inv, det, ...)
    const n = xa.shape[xa.shape.length - 1], cnt = count(xa.shape);
    checkLoops(op, xa.shape, loopEstimates.factor(n));
    const lu = gpu.alloc(lo), perm = gpu.alloc(po), sign = gpu.alloc(so);
    const wrapAll = () => [gpu.wrap(lu, lo), gpu.wrap(perm, po), gpu.wrap(sign, so)];
    if (cnt === 0) return wrapAll();
    const region = log.region(cnt);
    if (n > linalgTuning.smallMax) blockedLu(gpu, gpu.buf(x), [lu, perm, sign], region, n, cnt, linalgTuning);
    else {
      runPerMatrix(
        gpu,
        luCode(groupSize(n)),
        [gpu.buf(x)],
        [lu, perm, sign, region],
        new Uniforms().u(n, cnt).u32,
        cnt,
      );
    }
    log.fold(region, cnt, `lu|${op}|${xa.shape}`, describe(op, xa.shape, n));
    return wrapAll();
  });

  registerQr(gpu, log);
  registerExpm(gpu, log);
  registerSpectral(gpu, log);
}
