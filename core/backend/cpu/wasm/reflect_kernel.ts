/**
 * Generator of the Householder-reflector kernels of the CPU Wasm module (float64, f64x2 lanes):
 * the level-2 steps of an unblocked bidiagonalization or QR panel on rows of a row-major buffer.
 *
 * - `reflectRows64(v, rows, stride, count, len, tau)`: for each of `count` rows r (at
 *   `rows + r·stride`, `len` float64 from there): w = τ·(row · v), row −= w·v. Four rows at a time
 *   share each load of v.
 * - `sumRows64(u, rows, stride, count, len, out)`: out = Σ_t u[t]·row_t (`len` float64; `out` is
 *   overwritten).
 * - `rank1Rows64(u, rows, stride, count, len, w, alpha)`: row_t += (alpha·u[t])·w for each row t
 *   (`alpha` is the float64 at byte address `alpha`).
 * `len` is a number of float64; an odd last element is done in scalar arithmetic. Every address is
 * in bytes.
 * @module
 */
import { Code, F64, F64_LOAD, F64_STORE, type FuncDef, I32, SIMD, V128 } from "./emit.ts";

const f64Mul = 0xa2, f64Add = 0xa0, f64Sub = 0xa1;

/** Sum of the two lanes of the f64x2 on the stack (leaves an f64). */
function hsum(c: Code, tmp: number): void {
  c.set(tmp);
  c.get(tmp).simd(SIMD.f64x2ExtractLane, 0).get(tmp).simd(SIMD.f64x2ExtractLane, 1).raw(f64Add);
}

/** `reflectRows64` (see the module doc). */
export function reflectRowsFunction(): FuncDef {
  const V = 0, ROWS = 1, STRIDE = 2, COUNT = 3, LEN = 4, TAU = 5; // TAU: f64 parameter
  const R = 6, I = 7, P0 = 8, NB = 9, LIM = 10, ADDR = 11; // i32 locals
  const ACC = 12, VV = 16, T = 17, W = 18; // v128 acc[4], v, tmp; f64 w[4] from W
  const c = new Code();
  // nb = bytes of whole vectors
  c.get(LEN).i32(8).mul().i32(-16).and().set(NB);
  c.i32(0).set(R);
  c.block();
  c.loop(); // rows, four at a time then one at a time
  {
    c.get(R).get(COUNT).ltU().eqz().brIf(1);
    // how many rows this pass: 4 if available else 1
    c.i32(1).set(LIM);
    c.get(R).i32(4).add().get(COUNT).ltU().get(R).i32(4).add().get(COUNT).eq().or().if();
    c.i32(4).set(LIM);
    c.end();
    c.get(ROWS).get(R).get(STRIDE).mul().add().set(P0);
    for (const lim of [4, 1]) {
      c.get(LIM).i32(lim).eq().if();
      const acc = (k: number) => ACC + k;
      for (let k = 0; k < lim; k++) c.get(T).get(T).simd(SIMD.v128Xor).set(acc(k)); // zero
      // dots over whole vectors
      c.i32(0).set(I);
      c.block();
      c.get(NB).eqz().brIf(0);
      c.loop();
      c.get(V).get(I).add().simdMem(SIMD.load, 3, 0).set(VV);
      for (let k = 0; k < lim; k++) {
        c.get(acc(k));
        c.get(P0).get(I).add().get(STRIDE).i32(k).mul().add().simdMem(SIMD.load, 3, 0).get(VV).simd(SIMD.f64x2Mul);
        c.simd(SIMD.f64x2Add).set(acc(k));
      }
      c.get(I).i32(16).add().tee(I).get(NB).ltU().brIf(0);
      c.end();
      c.end();
      for (let k = 0; k < lim; k++) {
        c.get(acc(k));
        hsum(c, T);
        // odd last element
        c.get(LEN).i32(1).and().if(F64);
        c.get(P0).get(NB).add().get(STRIDE).i32(k).mul().add().mem(F64_LOAD, 3, 0);
        c.get(V).get(NB).add().mem(F64_LOAD, 3, 0).raw(f64Mul);
        c.else();
        c.f64(0);
        c.end();
        c.raw(f64Add).get(TAU).raw(f64Mul).set(W + k);
      }
      // rows −= w·v
      c.i32(0).set(I);
      c.block();
      c.get(NB).eqz().brIf(0);
      c.loop();
      c.get(V).get(I).add().simdMem(SIMD.load, 3, 0).set(VV);
      for (let k = 0; k < lim; k++) {
        c.get(P0).get(I).add().get(STRIDE).i32(k).mul().add().set(ADDR);
        c.get(ADDR);
        c.get(ADDR).simdMem(SIMD.load, 3, 0);
        c.get(W + k).simd(SIMD.f64x2Splat).get(VV).simd(SIMD.f64x2Mul);
        c.simd(SIMD.f64x2Sub).simdMem(SIMD.store, 3, 0);
      }
      c.get(I).i32(16).add().tee(I).get(NB).ltU().brIf(0);
      c.end();
      c.end();
      c.get(LEN).i32(1).and().if();
      for (let k = 0; k < lim; k++) {
        c.get(P0).get(NB).add().get(STRIDE).i32(k).mul().add().set(ADDR);
        c.get(ADDR).get(ADDR).mem(F64_LOAD, 3, 0);
        c.get(W + k).get(V).get(NB).add().mem(F64_LOAD, 3, 0).raw(f64Mul).raw(f64Sub);
        c.mem(F64_STORE, 3, 0);
      }
      c.end();
      c.get(R).i32(lim).add().set(R);
      c.i32(0).set(LIM); // (no second branch in this pass)
      c.end();
    }
    c.br(0);
  }
  c.end();
  c.end();
  return {
    name: "reflectRows64",
    params: [I32, I32, I32, I32, I32, F64],
    locals: [I32, I32, I32, I32, I32, I32, V128, V128, V128, V128, V128, V128, F64, F64, F64, F64],
    code: c,
  };
}

/**
 * dst[i] += src[i]·s for the `len` float64 at byte addresses `dst` and `src` (locals), `s` an f64x2
 * splat (local): two lanes a step up to `nb` = 8·len rounded down to 16 bytes, then the odd last
 * element in scalar arithmetic. Uses the i32 local `i`.
 */
function axpyRow(c: Code, dst: number, src: number, s: number, i: number, nb: number, len: number): void {
  c.i32(0).set(i);
  c.block();
  c.get(nb).eqz().brIf(0);
  c.loop();
  c.get(dst).get(i).add();
  c.get(dst).get(i).add().simdMem(SIMD.load, 3, 0);
  c.get(src).get(i).add().simdMem(SIMD.load, 3, 0).get(s).simd(SIMD.f64x2Mul);
  c.simd(SIMD.f64x2Add).simdMem(SIMD.store, 3, 0);
  c.get(i).i32(16).add().tee(i).get(nb).ltU().brIf(0);
  c.end();
  c.end();
  c.get(len).i32(1).and().if();
  c.get(dst).get(nb).add();
  c.get(dst).get(nb).add().mem(F64_LOAD, 3, 0);
  c.get(src).get(nb).add().mem(F64_LOAD, 3, 0).get(s).simd(SIMD.f64x2ExtractLane, 0).raw(f64Mul).raw(f64Add);
  c.mem(F64_STORE, 3, 0);
  c.end();
}

/** `sumRows64` (see the module doc). */
export function sumRowsFunction(): FuncDef {
  const U = 0, ROWS = 1, STRIDE = 2, COUNT = 3, LEN = 4, OUT = 5;
  const T = 6, I = 7, P = 8, NB = 9; // i32
  const UT = 10; // v128 splat of u[t]
  const c = new Code();
  c.get(LEN).i32(8).mul().i32(-16).and().set(NB);
  // out = 0
  c.i32(0).set(I);
  c.block();
  c.get(LEN).eqz().brIf(0);
  c.loop();
  c.get(OUT).get(I).add().f64(0).mem(F64_STORE, 3, 0);
  c.get(I).i32(8).add().tee(I).get(LEN).i32(8).mul().ltU().brIf(0);
  c.end();
  c.end();
  c.i32(0).set(T);
  c.block();
  c.get(COUNT).eqz().brIf(0);
  c.loop();
  {
    c.get(ROWS).get(T).get(STRIDE).mul().add().set(P);
    c.get(U).get(T).i32(8).mul().add().simdMem(SIMD.load64Splat, 3, 0).set(UT);
    axpyRow(c, OUT, P, UT, I, NB, LEN);
    c.get(T).i32(1).add().tee(T).get(COUNT).ltU().brIf(0);
  }
  c.end();
  c.end();
  return { name: "sumRows64", params: Array(6).fill(I32), locals: [I32, I32, I32, I32, V128], code: c };
}

/** `rank1Rows64` (see the module doc). */
export function rank1RowsFunction(): FuncDef {
  const U = 0, ROWS = 1, STRIDE = 2, COUNT = 3, LEN = 4, W = 5, ALPHA = 6;
  const T = 7, I = 8, P = 9, NB = 10; // i32
  const UT = 11; // v128 splat of alpha·u[t]
  const c = new Code();
  c.get(LEN).i32(8).mul().i32(-16).and().set(NB);
  c.i32(0).set(T);
  c.block();
  c.get(COUNT).eqz().brIf(0);
  c.loop();
  {
    c.get(ROWS).get(T).get(STRIDE).mul().add().set(P);
    c.get(U).get(T).i32(8).mul().add().mem(F64_LOAD, 3, 0).get(ALPHA).mem(F64_LOAD, 3, 0).raw(f64Mul);
    c.simd(SIMD.f64x2Splat).set(UT);
    axpyRow(c, P, W, UT, I, NB, LEN);
    c.get(T).i32(1).add().tee(T).get(COUNT).ltU().brIf(0);
  }
  c.end();
  c.end();
  return { name: "rank1Rows64", params: Array(7).fill(I32), locals: [I32, I32, I32, I32, V128], code: c };
}
