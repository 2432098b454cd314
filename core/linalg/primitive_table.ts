/**
 * The linear-algebra primitives by name, for the transformations' rule tables (internal: not part
 * of the `linalg` entry).
 * @module
 */
import type { Primitive } from "../primitive.ts";
import "./cpu_kernels.ts";
import { choleskyP, eighP, luP, qrP, svdP, triangularSolveP } from "./primitives.ts";
import { expmSquaringsP } from "./expm.ts";

/**
 * Every linear-algebra primitive by name: with `PRIMITIVES` (core/primitives.ts), the key set of
 * the transformations' rule tables (a rule missing for one of them fails to compile).
 * @internal
 */
export const LINALG_PRIMITIVES: {
  readonly qr: Primitive<Record<never, never>>;
  readonly svd: Primitive<Record<never, never>>;
  readonly eigh: Primitive<Record<never, never>>;
  readonly cholesky: Primitive<Record<never, never>>;
  readonly lu: Primitive<{ op?: string }>;
  readonly triangularSolve: Primitive<{ lower: boolean; transpose: boolean; unitDiagonal: boolean; op: string }>;
  readonly expmSquarings: Primitive<{ max: number }>;
} = {
  qr: qrP,
  svd: svdP,
  eigh: eighP,
  cholesky: choleskyP,
  lu: luP,
  triangularSolve: triangularSolveP,
  expmSquarings: expmSquaringsP,
};
