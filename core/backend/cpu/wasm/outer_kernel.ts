/**
 * Generator of the outer-product kernel for `gemm_outer.ts`: products whose inner dimension k is
 * long and one of whose outer dimensions is a rank r (the weight gradients of a LoRA step, gᵀ·u:
 * 1024 × 512 · 512 × 8, and (gB)ᵀ·x: 8 × 512 · 512 × 1024, computed as its transpose), as
 * `C += op(A)[:, p] ⊗ op(B)[p, :]` a few steps p at a time, so the long operand is read once, in
 * place, along its rows.
 *
 * The tiled kernels of `gemm_kernel.ts` walk all of k for one tile, so they read a row-major
 * operand down its columns: with rows 4 KiB apart every step of a column falls in one L1 set, and
 * `gemm.ts` first copies such an operand with longer rows (for a LoRA step's gradient, 2 MiB read
 * and written). This kernel walks the long operand along its rows, `STEPS` rows at a time, holding
 * those rows of the short operand in registers, and loads and stores its rows of C once per block
 * of steps (16 KiB a task on two threads, in L1).
 *
 * `outerTall{32,64}(a, sap, b, sbp, c, rows, k, nvt)`: C is `rows` × `nvt` vectors (4 float32 or
 * 2 float64 columns each), row i at `c + i·16·nvt`; op(A)[i, p] at `a + i·es + p·sap` (the long
 * operand, adjacent along i: gᵀ of a row-major g); op(B)[p, :] at `b + p·sbp` (nvt vectors). It
 * first zeroes C, then adds blocks of `STEPS` steps (the last block shorter); within a block, the
 * columns in groups of two vectors (the last may be one: op(B)'s block of the group in registers,
 * the long operand's rows then read again from L1), two rows of C at a time (the last row alone).
 *
 * Bits: every output is summed in order of p from zero, one multiply-add per step (`relaxed_madd`
 * with `fma`, else multiply then add), as the tiled kernels do; storing a float32 or float64 sum
 * between blocks rounds nothing.
 * @module
 */
import { Code, type FuncDef, I32, SIMD, V128 } from "./emit.ts";

/** Steps p per block: the rows of op(B) the kernel holds in registers (4 × 2 vectors). */
const STEPS = 4;
/** Rows of C per iteration of the row loop (their factors are adjacent: one pointer per step). */
const ROWS_UNROLL = 2;

/** `outerTall{32,64}` for element size `es` (see the module doc). */
export function outerTallFunction(name: string, es: 4 | 8, fma: boolean): FuncDef {
  const [splat, add, mul, madd, al] = es === 4
    ? [SIMD.load32Splat, SIMD.f32x4Add, SIMD.f32x4Mul, SIMD.f32x4RelaxedMadd, 2]
    : [SIMD.load64Splat, SIMD.f64x2Add, SIMD.f64x2Mul, SIMD.f64x2RelaxedMadd, 3];
  // parameters
  const A = 0, SAP = 1, B = 2, SBP = 3, C = 4, ROWS = 5, K = 6, NVT = 7;
  // i32 locals: step, rows left, first vector of the group, C's row stride, C pointers (a row and the
  // next), pointers into op(A) (one per step of a block)
  const P = 8, I = 9, G0 = 10, LDC = 11, CP = 12, CP2 = 13, AP = 14;
  // v128 locals: op(B)'s block (STEPS × 2 vectors), sums (ROWS_UNROLL × 2), a splat factor, zero
  const BR = AP + STEPS, ACC = BR + 2 * STEPS, X = ACC + 2 * ROWS_UNROLL, ZERO = X + 1;
  const locals = [...Array(BR - P).fill(I32), ...Array(ZERO - BR + 1).fill(V128)];

  /** `count` (1 or 2) rows of C at CP (and CP2) for `steps` steps, then the pointers advanced. */
  const tile = (c: Code, steps: number, nv: number, count: number) => {
    const row = (r: number) => r === 0 ? CP : CP2;
    if (count === 2) c.get(CP).get(LDC).add().set(CP2);
    for (let r = 0; r < count; r++) {
      for (let v = 0; v < nv; v++) c.get(row(r)).simdMem(SIMD.load, 4, 16 * v).set(ACC + 2 * r + v);
    }
    for (let q = 0; q < steps; q++) {
      for (let r = 0; r < count; r++) {
        c.get(AP + q).simdMem(splat, al, r * es).set(X);
        for (let v = 0; v < nv; v++) {
          const acc = ACC + 2 * r + v, br = BR + 2 * q + v;
          if (fma) c.get(X).get(br).get(acc).simd(madd).set(acc);
          else c.get(acc).get(X).get(br).simd(mul).simd(add).set(acc);
        }
      }
      c.get(AP + q).i32(count * es).add().set(AP + q);
    }
    for (let r = 0; r < count; r++) {
      for (let v = 0; v < nv; v++) c.get(row(r)).get(ACC + 2 * r + v).simdMem(SIMD.store, 4, 16 * v);
    }
    c.get(row(count - 1)).get(LDC).add().set(CP);
  };
  /** Every row of C for `steps` steps from P, in the `nv` vectors of the group from G0. */
  const rows = (c: Code, steps: number, nv: number) => {
    for (let q = 0; q < steps; q++) {
      for (let v = 0; v < nv; v++) {
        c.get(B).get(G0).i32(16).mul().add().get(P).i32(q).add().get(SBP).mul().add();
        c.simdMem(SIMD.load, 4, 16 * v).set(BR + 2 * q + v);
      }
      c.get(A).get(P).i32(q).add().get(SAP).mul().add().set(AP + q);
    }
    c.get(C).get(G0).i32(16).mul().add().set(CP);
    c.get(ROWS).set(I);
    c.block();
    c.loop();
    c.get(I).i32(ROWS_UNROLL).ltU().brIf(1);
    tile(c, steps, nv, ROWS_UNROLL);
    c.get(I).i32(ROWS_UNROLL).sub().set(I);
    c.br(0);
    c.end();
    c.end();
    c.get(I).if();
    tile(c, steps, nv, 1);
    c.end();
  };
  /** A block of `steps` steps from P: the groups of two vectors (the last may be one). */
  const block = (c: Code, steps: number) => {
    c.i32(0).set(G0);
    c.loop();
    c.get(NVT).get(G0).sub().i32(2).ltU().if();
    rows(c, steps, 1);
    c.else();
    rows(c, steps, 2);
    c.end();
    c.get(G0).i32(2).add().tee(G0).get(NVT).ltU().brIf(0);
    c.end();
  };

  const c = new Code();
  c.block();
  c.get(ROWS).eqz().get(K).eqz().or().get(NVT).eqz().or().brIf(0);
  c.get(NVT).i32(16).mul().set(LDC);
  // C = 0 (rows·nvt vectors)
  c.get(C).set(CP);
  c.get(ROWS).get(NVT).mul().set(I);
  c.loop();
  c.get(CP).get(ZERO).simdMem(SIMD.store, 4, 0);
  c.get(CP).i32(16).add().set(CP);
  c.get(I).i32(1).sub().tee(I).brIf(0);
  c.end();
  // whole blocks of STEPS steps while at least STEPS are left, then the last, shorter block
  c.i32(0).set(P);
  c.block();
  c.loop();
  c.get(K).get(P).sub().i32(STEPS).ltU().brIf(1);
  block(c, STEPS);
  c.get(P).i32(STEPS).add().set(P);
  c.br(0);
  c.end();
  c.end();
  for (let st = 1; st < STEPS; st++) {
    c.get(K).get(P).sub().i32(st).eq().if();
    block(c, st);
    c.end();
  }
  c.end();
  return { name, params: Array(8).fill(I32), locals, code: c };
}
