/**
 * Generator of the row-streaming kernel for products with a small inner dimension (k ≤ 8: the
 * rank-r product (xAᵀ)·Bᵀ of a LoRA step, 512 × 8 times 8 × 1024), for `gemm.ts`.
 *
 * `stream{32,64}(a, sai, sap, b, kp, c, ldc, rows, np, k)`: for rows `0 ≤ i < rows` of C and `np`
 * panels of op(B) packed as the narrow kernels' B panels (`gemm_kernel.ts`: 32 bytes a step, two
 * vectors of 4 float32 or 2 float64 lanes; panel t's step p at `b + (t·kp + p)·32`), C's row i at
 * `c + i·ldc`, k ≤ `STREAM_MAX_K` (else nothing is written): `C[i, :] = Σ_p op(A)[i, p] · op(B)[p, :]`,
 * op(A)[i, p] at `a + i·sai + p·sap` (byte strides, any layout). Per row the k factors of op(A) are
 * splat into registers once, then the row is walked two panels at a time: per vector one load of
 * op(B) per step (the panels stay in L1: 8 steps of a few hundred columns), the multiply-adds in
 * order of p (four independent chains, one per vector) and one store of C. Beside the 6×8 tiles
 * this has no per-tile setup, pads no k steps (the tiles run k rounded up to 4) and writes each
 * row of C in order (one thread: 512 × 8 · 8 × 1024 174 → 171 µs least, 128 × 8 · 8 × 256 14 → 12,
 * 512 × 2 · 2 × 1024 116 → 67; at k = 12 and 16 two passes reloading C were slower than the tiles).
 *
 * Bits: each output is summed in order of p from zero, one multiply-add per step (`relaxed_madd`
 * with `fma`, else multiply then add), exactly as the tiled kernels of `gemm_kernel.ts` do.
 * @module
 */
import { Code, type FuncDef, I32, SIMD, V128 } from "./emit.ts";

/** Most k steps of the kernel (its factors of op(A) are held in registers). */
export const STREAM_MAX_K = 8;

/** The kernel for element size `es` (see the module doc). */
export function streamFunction(name: string, es: 4 | 8, fma: boolean): FuncDef {
  const [splat, add, mul, madd] = es === 4
    ? [SIMD.load32Splat, SIMD.f32x4Add, SIMD.f32x4Mul, SIMD.f32x4RelaxedMadd]
    : [SIMD.load64Splat, SIMD.f64x2Add, SIMD.f64x2Mul, SIMD.f64x2RelaxedMadd];
  const alignS = es === 4 ? 2 : 3;
  // parameters
  const A = 0, SAI = 1, SAP = 2, B = 3, KP = 4, C = 5, LDC = 6, ROWS = 7, NP = 8, K = 9;
  // i32 locals
  const I = 10, V = 11, BP = 12, CP = 13, AP = 14, PSTRIDE = 15;
  // v128 locals: factors, four C vectors, one B vector, zero (never written)
  const AF = 16, C0 = AF + STREAM_MAX_K, X = C0 + 4, ZERO = X + 1;
  const locals = [...Array(AF - I).fill(I32), ...Array(ZERO - AF + 1).fill(V128)];

  /** `count` (1 or 2) panels at BP / CP for `st` steps, then the pointers advanced past them. */
  const panels = (c: Code, st: number, count: number) => {
    const nv = 2 * count;
    for (let u = 0; u < nv; u++) c.get(ZERO).set(C0 + u);
    for (let q = 0; q < st; q++) {
      for (let u = 0; u < nv; u++) {
        c.get(BP);
        if (u >= 2) c.get(PSTRIDE).add();
        c.simdMem(SIMD.load, 4, 32 * q + 16 * (u & 1)).set(X);
        if (fma) c.get(AF + q).get(X).get(C0 + u).simd(madd).set(C0 + u);
        else c.get(C0 + u).get(AF + q).get(X).simd(mul).simd(add).set(C0 + u);
      }
    }
    for (let u = 0; u < nv; u++) c.get(CP).get(C0 + u).simdMem(SIMD.store, 0, 16 * u);
    c.get(BP).get(PSTRIDE);
    if (count === 2) c.get(PSTRIDE).add();
    c.add().set(BP);
    c.get(CP).i32(32 * count).add().set(CP);
  };
  /** Row I for `st` steps: its factors, then pairs of panels (4 vectors, 4 chains), then the odd panel. */
  const row = (c: Code, st: number) => {
    c.get(A).get(I).get(SAI).mul().add().set(AP);
    for (let q = 0; q < st; q++) {
      c.get(AP).simdMem(splat, alignS, 0).set(AF + q);
      if (q < st - 1) c.get(AP).get(SAP).add().set(AP);
    }
    c.get(B).set(BP);
    c.get(C).get(I).get(LDC).mul().add().set(CP);
    c.get(NP).i32(1).raw(0x76).tee(V); // i32.shr_u
    c.if();
    c.loop();
    panels(c, st, 2);
    c.get(V).i32(1).sub().tee(V).brIf(0);
    c.end();
    c.end();
    c.get(NP).i32(1).and().if();
    panels(c, st, 1);
    c.end();
  };

  const c = new Code();
  c.block();
  c.get(NP).eqz().get(K).eqz().or().get(ROWS).eqz().or().i32(STREAM_MAX_K).get(K).ltU().or().brIf(0);
  c.get(KP).i32(32).mul().set(PSTRIDE);
  // one loop over the rows per k (the steps are unrolled)
  for (let st = 1; st <= STREAM_MAX_K; st++) {
    c.get(K).i32(st).eq().if();
    c.i32(0).set(I);
    c.loop();
    row(c, st);
    c.get(I).i32(1).add().tee(I).get(ROWS).ltU().brIf(0);
    c.end();
    c.end();
  }
  c.end();
  return { name, params: Array(10).fill(I32), locals, code: c };
}
