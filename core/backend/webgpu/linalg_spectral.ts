/**
 * `svd` and `eigh` on WebGPU. Up to order `linalgTuning.jacobiMax` (min(m, n) for the SVD) one
 * workgroup per matrix runs the Jacobi kernels of linalg_jacobi.ts; larger matrices go through
 * the block Jacobi of linalg_block_jacobi.ts, whose pair steps are batched matmuls and small
 * Jacobi eigensolvers.
 * @module
 */
import type { Storage } from "../backend.ts";
import { asymmetryError } from "../../linalg/failure.ts";
import type { WebGPUBackend } from "./backend.ts";
import { blockJacobiEigh, blockJacobiSvd } from "./linalg_block_jacobi.ts";
import { eighCode, svdCode } from "./linalg_jacobi.ts";
import { describe, type FailureLog, STATUS } from "./linalg_status.ts";
import { groupSize, runPerMatrix } from "./linalg_wgsl.ts";
import { Uniforms } from "./runtime.ts";
import { checkLoops, linalgTuning, loopEstimates } from "./linalg_tuning.ts";

/** Relative asymmetry `eigh` accepts in float32 (the CPU's tolerance). */
const SYMMETRY_TOL = 1e-4;

/** Registers `svd` and `eigh`. */
export function registerSpectral(gpu: WebGPUBackend, log: FailureLog): void {
  gpu.kernels.set("svd", ([x], [xa], params: { op?: string }, [uo, so, vo]): Storage[] => {
    const op = params?.op ?? "svd";
    const nd = xa.shape.length;
    const m = xa.shape[nd - 2], n = xa.shape[nd - 1];
    const p = Math.max(m, n), q = Math.min(m, n);
    const cnt = xa.shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const block = q > linalgTuning.jacobiMax;
    checkLoops(op, xa.shape, block ? loopEstimates.blockJacobi(m, n) : loopEstimates.svd(m, n));
    const u = gpu.alloc(uo), s = gpu.alloc(so), vh = gpu.alloc(vo);
    if (cnt > 0) {
      const region = log.region(cnt);
      if (block) blockJacobiSvd(gpu, gpu.buf(x), [u, s, vh], region, m, n, cnt, linalgTuning);
      else {
        const scratch = gpu.runtime.alloc(cnt * (p * q + q * q + 2 * q) * 4);
        runPerMatrix(
          gpu,
          svdCode(groupSize(p)),
          [gpu.buf(x)],
          [u, s, vh, scratch, region],
          new Uniforms().u(m, n, cnt).u32,
          cnt,
        );
        gpu.runtime.free(scratch);
      }
      log.fold(region, cnt, `${op}|${xa.shape}`, describe(op, xa.shape, n));
    }
    return [gpu.wrap(u, uo), gpu.wrap(s, so), gpu.wrap(vh, vo)];
  });

  gpu.kernels.set("eigh", ([x], [xa], _p, [wo, vo]): Storage[] => {
    const n = xa.shape[xa.shape.length - 1];
    const cnt = xa.shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const block = n > linalgTuning.jacobiMax;
    checkLoops("eigh", xa.shape, block ? loopEstimates.blockJacobi(n, n) : loopEstimates.eigh(n));
    const w = gpu.alloc(wo), v = gpu.alloc(vo);
    if (cnt > 0) {
      const region = log.region(cnt);
      if (n > linalgTuning.jacobiMax) {
        blockJacobiEigh(gpu, gpu.buf(x), [w, v], region, n, cnt, SYMMETRY_TOL, linalgTuning);
      } else {
        const scratch = gpu.runtime.alloc(cnt * 4 * n * n * 4);
        runPerMatrix(
          gpu,
          eighCode(groupSize(n)),
          [gpu.buf(x)],
          [w, v, scratch, region],
          new Uniforms().u(n, cnt).f(SYMMETRY_TOL).u(0).u32,
          cnt,
        );
        gpu.runtime.free(scratch);
      }
      const std = describe("eigh", xa.shape, n);
      log.fold(
        region,
        cnt,
        `eigh|${xa.shape}`,
        (f) => f.kind === STATUS.notSymmetric ? asymmetryError(xa.shape, f.batch, f.value, SYMMETRY_TOL) : std(f),
      );
    }
    return [gpu.wrap(w, wo), gpu.wrap(v, vo)];
  });
}
