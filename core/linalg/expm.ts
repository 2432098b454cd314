/**
 * The matrix exponential `expm` (scaling and squaring with the [13/13] Padé approximant) and its
 * squaring-count primitive.
 * @module
 */
import { registerKernel } from "../backend/backend.ts";
import { cpu, wrap } from "../backend/cpu/mod.ts";
import { bind, definePrimitive, jitTrace, needsBind } from "../primitive.ts";
import { scope } from "../memory.ts";
import { asOneCall, expmNonFiniteError } from "./failure.ts";
import * as o from "../ops/mod.ts";
import { batchMaxSync, checkTensor, type Tensor } from "../tensor.ts";
import { floats, identityLike, matrixShape } from "./helpers.ts";
import { solveAs } from "./solve.ts";

const PADE13 = [
  64764752532480000,
  32382376266240000,
  7771770303897600,
  1187353796428800,
  129060195264000,
  10559470521600,
  670442572800,
  33522128640,
  1323241920,
  40840800,
  960960,
  16380,
  182,
  1,
];
/** ‖A‖₁ up to which the [13/13] Padé approximant is accurate to double precision (Higham 2005). */
const THETA13 = 5.371920351148152;

/** Squarings the device path of `expm` runs (masked): enough for ‖A‖₁ ≤ θ₁₃·2¹² ≈ 2.2·10⁴. */
export const EXPM_DEVICE_SQUARINGS = 12;

/** s = max(0, ⌈log₂(‖A‖₁/θ₁₃)⌉) for the largest ‖A‖₁ of a batch: the squarings `expm` needs. */
function expmSquaringCount(norm1: number): number {
  return norm1 > THETA13 ? Math.ceil(Math.log2(norm1 / THETA13)) : 0;
}

/**
 * The number of squarings of `expm` (a scalar of A's dtype), computed where A lives so that a
 * backend that reads asynchronously (WebGPU) need not wait; a non-finite entry is a DomainError.
 * No gradient flows through it (s is held fixed).
 */
export const expmSquaringsP = definePrimitive<{ max: number }>({
  name: "expmSquarings",
  abstract([a]) {
    matrixShape("expm", a, true);
    return [{ shape: [], dtype: a.dtype }];
  },
});

registerKernel(cpu, "expmSquarings", ([x], [xa]) => {
  const { n, count } = matrixShape("expm", xa, true);
  const d = floats(x);
  let norm1 = 0;
  for (let b = 0; b < count; b++) {
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += Math.abs(d[b * n * n + r * n + c]);
      if (!Number.isFinite(s)) throw expmNonFiniteError(xa.shape);
      norm1 = Math.max(norm1, s);
    }
  }
  const out = xa.dtype === "float64" ? new Float64Array(1) : new Float32Array(1);
  out[0] = expmSquaringCount(norm1);
  return [wrap(out)];
});

/**
 * The squaring count, read on the host. Under `vmap` the count is the batch's largest, the same for
 * every example (its batching rule), so it is read from the batched value itself (a batched
 * tensor's own reads refuse, its value differing between examples in general).
 */
function squaringsOnHost(sT: Tensor): number {
  return batchMaxSync(sT);
}

/**
 * Matrix exponential by scaling and squaring with the [13/13] Padé approximant (Higham 2005):
 * A is scaled by 2⁻ˢ so that ‖A‖₁ ≤ θ₁₃, exp ≈ (V − U)⁻¹(V + U), then squared s times. Built from
 * matmul and solve, so it is differentiable (s is chosen from the value and held fixed). On the
 * CPU, s is read at once; on a backend that reads asynchronously (WebGPU), and while `jit` traces, it stays a tensor:
 * the scaling is a product of masked halvings and the squarings are masked, up to
 * `EXPM_DEVICE_SQUARINGS` of them (a larger ‖A‖₁ is a DomainError there, raised when a result
 * is read), so nothing waits for the GPU.
 * @example
 * ```ts
 * import { tensor } from "@tangent/tangent";
 * import { expm } from "@tangent/tangent/linalg";
 * expm(tensor([[0, 1], [-1, 0]], { dtype: "float64" })); // [[cos 1, sin 1], [-sin 1, cos 1]]
 * ```
 */
export function expm(a: Tensor): Tensor {
  checkTensor("expm", a);
  // on the GPU the masked path makes ~60 intermediates a call: when no transformation sees them (none
  // keeps them for a backward pass or a replay) they go back to the pool at once, not when collected
  const plain = a.backend.name !== "cpu" && !needsBind(a);
  return asOneCall(() => (plain ? scope(() => expmIn(a)) : expmIn(a)));
}

function expmIn(a: Tensor): Tensor {
  const { n, batch } = matrixShape("expm", a, true);
  const sT = bind(expmSquaringsP, [a], { max: EXPM_DEVICE_SQUARINGS })[0];
  // a jit trace keeps the count in a tensor (the masked path, bit for bit the host's on the CPU) so it replays
  const onHost = a.backend.name === "cpu" && jitTrace.trace === null;
  const s = onHost ? squaringsOnHost(sT) : EXPM_DEVICE_SQUARINGS;
  let x = a;
  if (onHost) {
    if (s > 0) x = o.mul(a, 2 ** -s);
  } else {
    // 2⁻ˢ as a product of exact halvings (a power of two: the squarings undo it exactly)
    let f = o.full([], 1, { dtype: a.dtype, like: a });
    for (let k = 0; k < s; k++) f = o.where(o.less(k, sT), o.mul(f, 0.5), f);
    x = o.mul(a, f);
  }
  const b = PADE13;
  const id = o.broadcastTo(identityLike(a, n), [...batch, n, n]);
  const x2 = o.matmul(x, x), x4 = o.matmul(x2, x2), x6 = o.matmul(x4, x2);
  const lin = (c: number[], ms: Tensor[]) => ms.map((m, i) => o.mul(m, c[i])).reduce((p, q) => o.add(p, q));
  // U = X [X6 (b13 X6 + b11 X4 + b9 X2) + b7 X6 + b5 X4 + b3 X2 + b1 I]
  const u = o.matmul(
    x,
    o.add(
      o.matmul(x6, lin([b[13], b[11], b[9]], [x6, x4, x2])),
      lin([b[7], b[5], b[3], b[1]], [x6, x4, x2, id]),
    ),
  );
  // V = X6 (b12 X6 + b10 X4 + b8 X2) + b6 X6 + b4 X4 + b2 X2 + b0 I
  const v = o.add(
    o.matmul(x6, lin([b[12], b[10], b[8]], [x6, x4, x2])),
    lin([b[6], b[4], b[2], b[0]], [x6, x4, x2, id]),
  );
  let r = solveAs("expm", o.sub(v, u), o.add(v, u));
  for (let i = 0; i < s; i++) r = onHost ? o.matmul(r, r) : o.where(o.less(i, sT), o.matmul(r, r), r);
  return r;
}
