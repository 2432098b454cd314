/**
 * The linear-algebra primitives — `qr`, `svd`, `eigh`, `cholesky`, `lu` and triangular solves —
 * with their shape rules and VJP rules written with differentiable ops (so gradients of gradients
 * work).
 * @module
 */
import type { DType } from "../dtype.ts";
import { DTypeError, fmtShape, ShapeError } from "../errors.ts";
import { definePrimitive } from "../primitive.ts";
import { unbroadcast } from "../primitives.ts";
import * as o from "../ops/mod.ts";
import type { Tensor } from "../tensor.ts";
import {
  bindNonEmpty,
  diagEmbed,
  EPS,
  gapMatrix,
  guardedReciprocal,
  identityLike,
  matrixShape,
  skew,
  warnDroppedGaps,
} from "./helpers.ts";

/** Reduced Householder QR, A = QR: Q (…, m, k), R (…, k, n), k = min(m, n), diag(R) ≥ 0. */
export const qrP = definePrimitive<Record<never, never>>({
  name: "qr",
  abstract([a]) {
    const { batch, m, n } = matrixShape("qr", a);
    const k = Math.min(m, n);
    return [{ shape: [...batch, m, k], dtype: a.dtype }, { shape: [...batch, k, n], dtype: a.dtype }];
  },
  vjp([gQ, gR], [a], [q, r]) {
    if (!gQ && !gR) return [null];
    const [m, n] = a.shape.slice(-2);
    if (m >= n) return [qrBackwardTall(q, r, gQ, gR)];
    // wide: A = Q[X | Y], X = Q U square: gX from the square rule with gQ + Y gVᵀ, gY = Q gV
    const rx = o.slice(r, [...r.shape.slice(0, -1).map(() => null), [0, m]]);
    const ry = o.slice(r, [...r.shape.slice(0, -1).map(() => null), [m, n]]);
    const gU = gR && o.slice(gR, [...gR.shape.slice(0, -1).map(() => null), [0, m]]);
    const gV = gR && o.slice(gR, [...gR.shape.slice(0, -1).map(() => null), [m, n]]);
    const y = o.matmul(q, ry);
    const gQx = gV ? o.add(gQ ?? o.zerosLike(q), o.matmulT(y, gV, false, true)) : gQ;
    const gX = qrBackwardTall(q, rx, gQx, gU);
    const gY = gV ? o.matmul(q, gV) : o.zerosLike(y);
    return [o.concat([gX, gY], -1)];
  },
});

/** QR VJP for m ≥ n: Ā = [Q̄ + Q copyltu(M)] R⁻ᵀ, M = triu(R̄Rᵀ − QᵀQ̄), copyltu(M) = M + Mᵀ − diag(M). */
function qrBackwardTall(q: Tensor, r: Tensor, gQ: Tensor | null, gR: Tensor | null): Tensor {
  let m: Tensor | null = null;
  if (gR) m = o.matmulT(gR, r, false, true);
  if (gQ) {
    const qtg = o.matmulT(q, gQ, true, false);
    m = m ? o.sub(m, qtg) : o.neg(qtg);
  }
  const mu = o.triu(m!);
  const sym = o.sub(o.add(mu, o.matrixTranspose(mu)), diagEmbed(o.diag(mu)));
  let y = o.matmul(q, sym);
  if (gQ) y = o.add(y, gQ);
  // Ā = Y R⁻ᵀ  ⇔  Āᵀ = R⁻¹ Yᵀ
  return o.matrixTranspose(triangularSolveRaw(r, o.matrixTranspose(y), false, false, false, "qr (gradient)"));
}

/**
 * Thin SVD, A = U diag(S) Vh: U (…, m, k), S (…, k) descending, Vh (…, k, n). `op` (default "svd")
 * is the public function its errors name: `svdvals`, `polar`, `matrixNorm` factor through it.
 */
export const svdP = definePrimitive<{ op?: string }>({
  name: "svd",
  abstract([a], p) {
    const { batch, m, n } = matrixShape(p.op ?? "svd", a);
    const k = Math.min(m, n);
    return [
      { shape: [...batch, m, k], dtype: a.dtype },
      { shape: [...batch, k], dtype: a.dtype },
      { shape: [...batch, k, n], dtype: a.dtype },
    ];
  },
  vjp([gU, gS, gVh], [a], [u, s, vh]) {
    if (!gU && !gS && !gVh) return [null];
    const [m, n] = a.shape.slice(-2);
    const k = Math.min(m, n);
    if (!gU && !gVh) return [o.matmul(o.mul(u, o.expandDims(gS!, -2)), vh)]; // U diag(S̄) Vh
    // inner = F ∘ (skew(UᵀŪ) S_row + S_col skew(Vh V̄)) + diag(S̄), Fᵢⱼ = 1/(σⱼ² − σᵢ²) guarded
    const s2 = o.square(s);
    const smax2 = o.max(s2, { axis: -1, keepdims: true });
    const f = gapMatrix(s2, smax2);
    const sRow = o.expandDims(s, -2), sCol = o.expandDims(s, -1);
    let core: Tensor | null = null;
    if (gU) core = o.mul(skew(o.matmulT(u, gU, true, false)), sRow);
    if (gVh) {
      const t = o.mul(sCol, skew(o.matmulT(vh, gVh, false, true)));
      core = core ? o.add(core, t) : t;
    }
    warnDroppedGaps("svd", s2, o.squeeze(smax2, -1), core!, false);
    let inner = o.mul(f, core!);
    if (gS) inner = o.add(inner, diagEmbed(gS));
    // 1/σ guarded where σ is numerically zero
    const smax = o.max(s, { axis: -1, keepdims: true });
    const sinv = guardedReciprocal(s, o.mul(smax, EPS[a.dtype] * Math.max(m, n)));
    if (m > k && gU) {
      // Ā = [U inner + (I − UUᵀ) Ū S⁻¹] Vh
      const gUs = o.mul(gU, o.expandDims(sinv, -2));
      const t = o.add(o.matmul(u, inner), o.sub(gUs, o.matmul(u, o.matmulT(u, gUs, true, false))));
      return [o.matmul(t, vh)];
    }
    if (n > k && gVh) {
      // Ā = U [inner Vh + S⁻¹ V̄ᵀ (I − VVᵀ)]
      const sg = o.mul(o.expandDims(sinv, -1), gVh);
      const t = o.add(o.matmul(inner, vh), o.sub(sg, o.matmul(o.matmulT(sg, vh, false, true), vh)));
      return [o.matmul(u, t)];
    }
    return [o.matmul(u, o.matmul(inner, vh))];
  },
});

/** Symmetric eigendecomposition A = V diag(w) Vᵀ: w (…, n) ascending, V (…, n, n). */
export const eighP = definePrimitive<Record<never, never>>({
  name: "eigh",
  abstract([a]) {
    const { batch, n } = matrixShape("eigh", a, true);
    return [{ shape: [...batch, n], dtype: a.dtype }, { shape: [...batch, n, n], dtype: a.dtype }];
  },
  vjp([gw, gV], [_a], [w, v]) {
    if (!gw && !gV) return [null];
    // Ā = V (diag(w̄) + F ∘ skew(VᵀV̄)/2) Vᵀ, Fᵢⱼ = 1/(wⱼ − wᵢ) guarded (symmetric by construction)
    let inner: Tensor | null = gw ? diagEmbed(gw) : null;
    if (gV) {
      const scale = o.max(o.abs(w), { axis: -1, keepdims: true });
      const k = o.matmulT(v, gV, true, false);
      warnDroppedGaps("eigh", w, o.squeeze(scale, -1), k, true);
      const t = o.mul(gapMatrix(w, scale), o.mul(skew(k), 0.5));
      inner = inner ? o.add(inner, t) : t;
    }
    return [o.matmul(v, o.matmulT(inner!, v, false, true))];
  },
});

/** Cholesky factor A = L Lᵀ (L lower, positive diagonal); reads A's lower triangle. */
export const choleskyP = definePrimitive<Record<never, never>>({
  name: "cholesky",
  abstract([a]) {
    matrixShape("cholesky", a, true);
    return [{ shape: a.shape, dtype: a.dtype }];
  },
  vjp([gL], [_a], [l]) {
    if (!gL) return [null];
    // Ā = sym(L⁻ᵀ Φ(LᵀL̄) L⁻¹), Φ = lower triangle with the diagonal halved
    const p = o.tril(o.matmulT(l, gL, true, false));
    const phi = o.sub(p, o.mul(diagEmbed(o.diag(p)), 0.5));
    const x = triangularSolveRaw(l, phi, true, true, false, "cholesky (gradient)"); // L⁻ᵀ Φ
    const g = o.matrixTranspose(triangularSolveRaw(l, o.matrixTranspose(x), true, true, false, "cholesky (gradient)"));
    return [o.mul(o.add(g, o.matrixTranspose(g)), 0.5)];
  },
});

/**
 * LU with partial pivoting, P A = L U packed in one matrix, the row permutation, and det P. `op`
 * (default "lu") is the public function its errors name: `solve`, `inv`, `det`, ... factor through it.
 */
export const luP = definePrimitive<{ op?: string }>({
  name: "lu",
  abstract([a], p) {
    const { batch, n } = matrixShape(p.op ?? "lu", a, true);
    return [
      { shape: a.shape, dtype: a.dtype },
      { shape: [...batch, n], dtype: "int32" },
      { shape: batch, dtype: a.dtype },
    ];
  },
  vjp([gLU], [_a], [lu, perm]) {
    if (!gLU) return [null];
    // A = Pᵀ L U: Ā = Pᵀ L⁻ᵀ [tril(LᵀL̄, −1) + triu(ŪUᵀ)] U⁻ᵀ with L̄, Ū the two parts of the cotangent
    const n = lu.shape[lu.ndim - 1];
    const l = o.add(o.tril(lu, -1), identityLike(lu, n)), u = o.triu(lu);
    const phi = o.add(
      o.tril(o.matmulT(l, o.tril(gLU, -1), true, false), -1),
      o.triu(o.matmulT(o.triu(gLU), u, false, true)),
    );
    const x = triangularSolveRaw(lu, phi, true, true, true, "lu (gradient)"); // L⁻ᵀ Φ
    const y = o.matrixTranspose(triangularSolveRaw(lu, o.matrixTranspose(x), false, false, false, "lu (gradient)"));
    return [o.matmulT(permutationMatrix(perm, lu.dtype), y, true, false)];
  },
});

/** P with (P A)ᵢ = A_{perm[i]}: Pᵢⱼ = [j = perm[i]]. */
export function permutationMatrix(perm: Tensor, dtype: DType): Tensor {
  return o.astype(o.oneHot(perm, perm.shape[perm.ndim - 1]), dtype);
}

export interface TriParams {
  lower: boolean;
  transpose: boolean;
  unitDiagonal: boolean;
  /** Name used in error messages. */
  op: string;
}

/** X = op(A)⁻¹ B for triangular A (…, n, n) and B (…, n, k); A's batch is B's or empty. */
export const triangularSolveP = definePrimitive<TriParams>({
  name: "triangularSolve",
  abstract([a, b], { op }) {
    const sa = matrixShape(op, a, true), sb = matrixShape(op, b);
    if (a.dtype !== b.dtype) {
      throw new DTypeError(`${op}: dtypes differ (${a.dtype}, ${b.dtype}); convert one with astype`);
    }
    if (sb.m !== sa.n) {
      throw new ShapeError(
        `${op}: right-hand side ${fmtShape(b.shape)} has ${sb.m} rows but the matrix ${
          fmtShape(a.shape)
        } is ${sa.n}×${sa.n}`,
      );
    }
    if (sa.batch.length > 0 && (sa.batch.length !== sb.batch.length || sa.batch.some((d, i) => d !== sb.batch[i]))) {
      throw new ShapeError(
        `${op}: batch axes differ: ${fmtShape(a.shape)} and ${fmtShape(b.shape)}; broadcast them first`,
      );
    }
    return [{ shape: b.shape, dtype: b.dtype }];
  },
  vjp([gX], [a, b], [x], { lower, transpose, unitDiagonal, op }) {
    if (!gX) return [null, null];
    // B̄ = op(A)⁻ᵀ X̄; op(A)̄ = −B̄ Xᵀ, restricted to the triangle that was read
    const gB = triangularSolveRaw(a, gX, lower, !transpose, unitDiagonal, `${op} (gradient)`);
    let gA = transpose ? o.neg(o.matmulT(x, gB, false, true)) : o.neg(o.matmulT(gB, x, false, true));
    gA = lower ? o.tril(gA, unitDiagonal ? -1 : 0) : o.triu(gA, unitDiagonal ? 1 : 0);
    return [unbroadcast(gA, a.shape), unbroadcast(gB, b.shape)];
  },
});

export function triangularSolveRaw(
  a: Tensor,
  b: Tensor,
  lower: boolean,
  transpose: boolean,
  unitDiagonal: boolean,
  op: string,
): Tensor {
  // share A when it has no batch axes; otherwise broadcast both to one batch shape
  if (a.ndim > 2 || b.ndim > 2) {
    const batch = broadcastBatch(op, a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (a.ndim > 2) a = broadcastMatrix(a, batch);
    b = broadcastMatrix(b, batch);
  }
  if (a.shape[a.ndim - 1] === 0) return o.zerosLike(b); // 0×0 systems: nothing to solve (b has no rows)
  return bindNonEmpty(triangularSolveP, [a, b], { lower, transpose, unitDiagonal, op })[0];
}

export function broadcastBatch(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length), out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: batch axes [${a.join(", ")}] and [${b.join(", ")}] do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function broadcastMatrix(x: Tensor, batch: readonly number[]): Tensor {
  const shape = [...batch, ...x.shape.slice(-2)];
  if (shape.length === x.ndim && shape.every((d, i) => d === x.shape[i])) return x;
  return o.broadcastTo(x, shape);
}
