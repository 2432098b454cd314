/**
 * The CPU kernels of the linear-algebra primitives (`primitives.ts`): the factorizations of
 * `kernels.ts` on each matrix of a batch, failures raised as typed errors.
 * @module
 */
import { registerKernel } from "../backend/backend.ts";
import { cpu, own, wrap } from "../backend/cpu/mod.ts";
import { asymmetryError } from "./failure.ts";
import {
  choleskyKernel,
  eighKernel,
  luKernel,
  qrKernel,
  svdKernel,
  symmetryError,
  triangularSolveKernel,
} from "./kernels.ts";
import { floats, matrixShape, raise, SYMMETRY_TOL } from "./helpers.ts";
import type { TriParams } from "./primitives.ts";

registerKernel(cpu, "qr", ([x], [xa]) => {
  const { m, n, count } = matrixShape("qr", xa);
  const r = qrKernel(floats(x), { m, n, batch: count });
  if (r.failures.length) raise("qr", r.failures[0], xa, n);
  return [own(r.q), own(r.r)];
});

registerKernel(cpu, "svd", ([x], [xa], p: { op?: string }) => {
  const op = p?.op ?? "svd";
  const { m, n, count } = matrixShape(op, xa);
  const r = svdKernel(floats(x), { m, n, batch: count });
  if (r.failures.length) raise(op, r.failures[0], xa, n);
  return [own(r.u), own(r.s), own(r.vh)];
});

registerKernel(cpu, "eigh", ([x], [xa]) => {
  const { n, count } = matrixShape("eigh", xa, true);
  const data = floats(x);
  const asym = symmetryError(data, { n, batch: count });
  for (let b = 0; b < count; b++) {
    if (asym[b] > SYMMETRY_TOL[xa.dtype]) {
      throw asymmetryError(xa.shape, b, asym[b], SYMMETRY_TOL[xa.dtype]);
    }
  }
  const r = eighKernel(data, { n, batch: count });
  if (r.failures.length) raise("eigh", r.failures[0], xa, n);
  return [own(r.eigenvalues), own(r.eigenvectors)];
});

registerKernel(cpu, "cholesky", ([x], [xa]) => {
  const { n, count } = matrixShape("cholesky", xa, true);
  const r = choleskyKernel(floats(x), { n, batch: count });
  if (r.failures.length) raise("cholesky", r.failures[0], xa, n);
  return [own(r.l)];
});

registerKernel(cpu, "lu", ([x], [xa], p: { op?: string }) => {
  const op = p?.op ?? "lu";
  const { n, count } = matrixShape(op, xa, true);
  const r = luKernel(floats(x), { n, batch: count });
  const bad = r.failures.find((f) => f.kind === "nonFinite");
  if (bad) raise(op, bad, xa, n);
  const sign = xa.dtype === "float64" ? Float64Array.from(r.sign) : Float32Array.from(r.sign);
  return [own(r.lu), wrap(r.perm), wrap(sign)];
});

registerKernel(cpu, "triangularSolve", ([a, b], [aa, ba], p: TriParams) => {
  const n = aa.shape[aa.shape.length - 1], k = ba.shape[ba.shape.length - 1];
  const count = ba.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const r = triangularSolveKernel(floats(a), floats(b), {
    n,
    k,
    lower: p.lower,
    transpose: p.transpose,
    unitDiagonal: p.unitDiagonal,
    batch: count,
  });
  if (r.failures.length) {
    const f = r.failures[0];
    if (f.input === "b") raise(p.op, f, ba, k, "right-hand side");
    raise(p.op, f, aa, n, "matrix");
  }
  return [own(r.x)];
});
