/**
 * Sizes at which the WebGPU linear algebra switches from one workgroup per matrix to the blocked
 * algorithms, and the guard for software adapters. Tests lower the switch points to reach the
 * blocked paths with small matrices.
 *
 * llvmpipe (Mesa's software rasterizer, which CI tests the kernels on) ends the loops of a shader
 * invocation after 65,535 iterations in all (measured: a loop of 100 × 1000 iterations stopped
 * after 66 of the outer ones) and then carries on with wrong numbers. Hardware adapters have no
 * such cap. On a software adapter the switch points are lowered (the blocked kernels run short
 * loops) and a kernel whose invocations would loop longer throws a BackendError instead of
 * returning garbage.
 * @module
 */
import { BackendError, fmtShape } from "../../errors.ts";

/** Switch points and block sizes of the WebGPU linear algebra. */
export interface LinalgTuning {
  /** Cholesky, LU and triangular solves of larger order are blocked. */
  smallMax: number;
  /** Block size of the blocked Cholesky, LU and triangular solve. */
  block: number;
  /** SVDs with min(m, n) above this, and eigh above this order, use block Jacobi. */
  jacobiMax: number;
  /** Columns per block of the block Jacobi (pairs of blocks are decomposed by one workgroup). */
  jacobiBlock: number;
  /** Sweeps of the block Jacobi (it cannot stop early without reading back). */
  jacobiSweeps: number;
  /** Largest workgroup of the one-workgroup-per-matrix kernels (a power of two, ≥ 32). */
  maxGroup: number;
  /** Loop iterations one shader invocation may run (Infinity, or 65,535 on llvmpipe). */
  loopCap: number;
}

/** The switch points in use (mutable, for tests and benchmarks). */
export const linalgTuning: LinalgTuning = {
  smallMax: 128,
  block: 64,
  jacobiMax: 128,
  jacobiBlock: 16,
  jacobiSweeps: 10,
  maxGroup: 256,
  loopCap: Infinity,
};

/** Switch points for a software adapter (llvmpipe): small workgroups, short loops. */
export function useSoftwareTuning(): void {
  Object.assign(linalgTuning, { maxGroup: 64, smallMax: 64, jacobiMax: 32, loopCap: 65_535 });
}

/**
 * Throws when a kernel's invocations would run about `iterations` loop iterations, more than the
 * adapter runs (`linalgTuning.loopCap`; only software adapters have a cap).
 */
export function checkLoops(op: string, shape: readonly number[], iterations: number): void {
  if (iterations <= linalgTuning.loopCap * 0.9) return;
  throw new BackendError(
    `${op}: a matrix of ${fmtShape(shape)} needs about ${Math.round(iterations).toLocaleString("en-US")} loop ` +
      `iterations in one shader invocation, and this software adapter (llvmpipe) ends a shader's loops after ` +
      `${linalgTuning.loopCap.toLocaleString("en-US")} (its results would be wrong); run it on the cpu backend ` +
      `(toBackend(a, "cpu")) or on a GPU`,
  );
}

/** Workgroup size the one-workgroup kernels use for order about n (see groupSize). */
function wgs(n: number): number {
  return Math.min(n <= 24 ? 64 : 256, linalgTuning.maxGroup);
}

/** Sweeps the loop estimates assume for the Jacobi kernels (they usually converge in fewer). */
const SWEEPS = 12;

/**
 * About the most loop iterations one invocation of the kernels for an op runs (upper estimates;
 * only compared with `loopCap`).
 */
export const loopEstimates = {
  /** Triangular solve of order n with k right-hand sides. */
  triangularSolve(n: number, k: number): number {
    const check = (n * n + n * k) / wgs(n) + n;
    const solve = n > linalgTuning.smallMax ? n * linalgTuning.block : (n * n) / 2;
    return Math.max(check, solve);
  },
  /** Cholesky or LU of order n. */
  factor(n: number): number {
    const scan = (2 * n * n) / wgs(n);
    if (n > linalgTuning.smallMax) {
      const nb = linalgTuning.block;
      return Math.max(scan, (n * nb * nb) / wgs(n) + 4 * n, nb * nb);
    }
    return scan + (n * n * n) / (3 * wgs(n)) + (4 * n * n) / wgs(n) + 16 * n;
  },
  /** Householder QR of m × n (one workgroup per matrix). */
  qr(m: number, n: number): number {
    const g = wgs(Math.max(m, n)), k = Math.min(m, n);
    let it = (4 * m * n) / g + (m * k) / g;
    const reflect = (j: number, cs: number, ce: number) => {
      for (let c0 = cs; c0 < ce; c0 += g) {
        const nc = Math.min(g, ce - c0), phases = Math.floor(g / nc);
        it += (m - j) / phases + phases + ((m - j) * nc) / g;
      }
    };
    for (let j = 0; j < k; j++) {
      it += (2 * (m - j)) / g + 16;
      reflect(j, j + 1, n);
      reflect(j, j, k);
    }
    return it + (m * k + k * n) / g;
  },
  /** One-sided Jacobi SVD of m × n (one workgroup per matrix). */
  svd(m: number, n: number): number {
    const p = Math.max(m, n), q = Math.min(m, n), g0 = wgs(p);
    const pairs = Math.ceil(q / 2), g = Math.max(1, Math.floor(g0 / Math.min(pairs, g0)));
    const chunks = Math.ceil(pairs / g0);
    const sweep = Math.max(1, q) * chunks * ((3 * p) / g + g + q / g + 2);
    const finish = q * ((3 * p) / g0 + q + (2 * Math.max(m, n)) / g0 + 16);
    return (3 * m * n) / g0 + SWEEPS * sweep + finish;
  },
  /** Two-sided Jacobi eigh of order n (one workgroup per matrix). */
  eigh(n: number): number {
    const g = wgs(n), pairs = Math.ceil(n / 2);
    const sweep = Math.max(1, n) * Math.ceil(pairs / g) * ((3 * pairs * n) / g + 4);
    return (4 * n * n) / g + SWEEPS * sweep + n * (n + n / g + 16) + (2 * n * n * n + n * n) / g;
  },
  /** Block Jacobi (SVD, eigh) of m × n: the per-matrix scan and the per-column kernels. */
  blockJacobi(m: number, n: number): number {
    const p = Math.max(m, n), q = Math.min(m, n), o = 2 * linalgTuning.jacobiBlock;
    return Math.max((3 * m * n) / wgs(q), p, 2 * q + (2 * p) / wgs(p), loopEstimates.eigh(o));
  },
  /** expm's squaring count: one workgroup over the whole batch. */
  expm(n: number, count: number): number {
    return count * ((3 * n * n) / 64 + n);
  },
};
