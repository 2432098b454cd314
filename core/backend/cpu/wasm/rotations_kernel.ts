/**
 * Generator of the plane-rotation kernels of the CPU Wasm module (float64): a recorded list of
 * rotations applied to the rows of a matrix, as the SVD's and eigh's QR iterations leave them for
 * their singular / eigenvector rows.
 *
 * `rot64v / rot64s(rows, stride, c0, c1, ops, nops, cs, chunk)`: rows start at `rows`, `stride`
 * bytes apart; columns are the bytes `c0 …< c1` of each row, walked in chunks of `chunk` bytes
 * (every row's chunk stays in cache while all rotations pass over it), 16 bytes (v: an f64x2) or 8
 * bytes (s: scalar) at a time — the caller cuts a row range into the two. `ops` holds `nops`
 * records of four int32: `[kind, a, b, ci]`:
 * - kind 0, a chain: rotations j = a …< b on rows (j, j+1) in that order, (c, s) = `cs` f64 pairs
 *   from index ci; four rotations at a time share one load and store of rows j … j+4 (as the
 *   JavaScript `rotSeqUp` does), the last ones one by one;
 * - kind 1, one rotation on rows (a, b) with (c, s) at `cs` f64 index ci.
 * A rotation of rows (x, y) is x ← c·x + s·y, y ← c·y − s·x with the products rounded before the
 * sum, exactly as the JavaScript `rot` of `core/linalg` computes it (the same bits).
 * @module
 */
import { Code, F64, F64_LOAD, F64_STORE, type FuncDef, I32, I32_LOAD, SIMD, V128 } from "./emit.ts";

/** Bytes per step of each variant: one f64x2 vector, or one float64. */
export const ROT_STEP = { v: 16, s: 8 } as const;

/** The rotation kernel of one step width (see the module doc). */
export function rotationFunction(name: string, width: keyof typeof ROT_STEP): FuncDef {
  const step = ROT_STEP[width];
  const vec = width === "v";
  // parameters
  const ROWS = 0, STRIDE = 1, C0 = 2, C1 = 3, OPS = 4, NOPS = 5, CS = 6, CHUNK = 7;
  // i32 locals
  const CH = 8, CHEND = 9, OP = 10, KIND = 11, A = 12, B = 13, V = 14, P = 15, Q = 16, J = 17, R = 18;
  // value locals (v128 or f64): rows x0…x4, coefficients c0…c3, s0…s3, a temporary
  const X = 19, CC = X + 5, SS = CC + 4, T = SS + 4;
  const locals = [...Array(R - CH + 1).fill(I32), ...Array(14).fill(vec ? V128 : F64)];
  const c = new Code();
  const load = (dst: number) => {
    if (vec) c.simdMem(SIMD.load, 0, 0).set(dst);
    else c.mem(F64_LOAD, 3, 0).set(dst);
  };
  const store = () => (vec ? c.simdMem(SIMD.store, 0, 0) : c.mem(F64_STORE, 3, 0));
  const splat = (off: number, dst: number) => {
    c.get(Q);
    if (vec) c.simdMem(SIMD.load64Splat, 3, off).set(dst);
    else c.mem(F64_LOAD, 3, off).set(dst);
  };
  const mul = () => (vec ? c.simd(SIMD.f64x2Mul) : c.raw(0xa2));
  const add = () => (vec ? c.simd(SIMD.f64x2Add) : c.raw(0xa0));
  const sub = () => (vec ? c.simd(SIMD.f64x2Sub) : c.raw(0xa1));
  /** Rotation i of locals (x, y): pushes c·x + s·y, leaves y ← c·y − s·x (via T). */
  const rotate = (i: number, x: number, y: number) => {
    c.get(CC + i).get(x);
    mul();
    c.get(SS + i).get(y);
    mul();
    add();
    c.get(CC + i).get(y);
    mul();
    c.get(SS + i).get(x);
    mul();
    sub();
    c.set(T);
    c.set(x); // x ← c·x + s·y (popped first, from under T's value)
    c.get(T).set(y);
  };
  /** Address of row `row` (an i32 local) at column byte V, left on the stack. */
  const at = (row: number, plus = 0) => {
    c.get(ROWS).get(row);
    if (plus) c.i32(plus).add();
    c.get(STRIDE).mul().add().get(V).add();
  };
  /** One rotation (coefficient slot 0) of rows `ra` and `rb` (i32 locals) over the chunk. */
  const single = (ra: number, rb: number) => {
    c.get(CH).set(V);
    c.loop();
    at(ra);
    load(X);
    at(rb);
    load(X + 1);
    rotate(0, X, X + 1);
    at(ra);
    c.get(X);
    store();
    at(rb);
    c.get(X + 1);
    store();
    c.get(V).i32(step).add().tee(V).get(CHEND).ltU().brIf(0);
    c.end();
  };

  c.get(C0).set(CH);
  c.loop(); // column chunks
  {
    // chEnd = min(ch + chunk, c1)
    c.get(CH).get(CHUNK).add().tee(CHEND).get(C1).get(CHEND).get(C1).ltU().select().set(CHEND);
    c.i32(0).set(OP);
    c.block();
    c.get(NOPS).eqz().brIf(0);
    c.loop(); // operations
    {
      c.get(OPS).get(OP).i32(16).mul().add().set(P);
      c.get(P).mem(I32_LOAD, 2, 0).set(KIND);
      c.get(P).mem(I32_LOAD, 2, 4).set(A);
      c.get(P).mem(I32_LOAD, 2, 8).set(B);
      c.get(P).mem(I32_LOAD, 2, 12).i32(8).mul().get(CS).add().set(Q); // (c, s) address
      c.get(KIND).eqz().if();
      {
        // a chain: four rotations per pass over the chunk (rows j … j+4 loaded and stored once), then singles
        c.get(A).set(J);
        c.block();
        c.loop();
        {
          c.get(B).get(J).i32(4).add().ltU().brIf(1); // b < j + 4: fewer than four left
          for (let i = 0; i < 4; i++) {
            splat(16 * i, CC + i);
            splat(16 * i + 8, SS + i);
          }
          c.get(CH).set(V);
          c.loop();
          {
            for (let i = 0; i < 5; i++) {
              at(J, i);
              load(X + i);
            }
            for (let i = 0; i < 4; i++) rotate(i, X + i, X + i + 1);
            for (let i = 0; i < 5; i++) {
              at(J, i);
              c.get(X + i);
              store();
            }
            c.get(V).i32(step).add().tee(V).get(CHEND).ltU().brIf(0);
          }
          c.end();
          c.get(Q).i32(64).add().set(Q);
          c.get(J).i32(4).add().set(J);
          c.br(0);
        }
        c.end();
        c.end();
        c.block();
        c.loop();
        {
          c.get(J).get(B).ltU().eqz().brIf(1);
          splat(0, CC);
          splat(8, SS);
          c.get(J).i32(1).add().set(R);
          single(J, R);
          c.get(Q).i32(16).add().set(Q);
          c.get(R).set(J);
          c.br(0);
        }
        c.end();
        c.end();
      }
      c.else();
      {
        splat(0, CC);
        splat(8, SS);
        single(A, B);
      }
      c.end();
      c.get(OP).i32(1).add().tee(OP).get(NOPS).ltU().brIf(0);
    }
    c.end();
    c.end();
    c.get(CHEND).tee(CH).get(C1).ltU().brIf(0);
  }
  c.end();
  return { name, params: Array(8).fill(I32), locals, code: c };
}
