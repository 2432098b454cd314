/**
 * Generator of the WebAssembly SIMD GEMM module: for float32 (f32x4 lanes) and float64 (f64x2
 * lanes) register-blocked kernels and two packing routines. The module is assembled at load time
 * by `emit.ts` (a few tens of KiB; no external toolchain).
 *
 * Packed layout (k padded to a multiple of `unroll`, then cut into k blocks of `kc`): block `b`
 * (k steps `b·kc ..`, `kcb` of them) holds every panel; panel `t` of width `w` occupies
 * `kcb·w` consecutive elements, element (lane x, step p) at `p·w + x`. So the A panels (w = mr rows)
 * of block b start at `ap + b·kc·mp·mr·es` and the B panels (w = nr columns) at `bp + b·kc·np·nr·es`.
 *
 * Kernels `gemm{PP,DP,PD}{32,64}(a, sa, mrows, b, sb, cp, i0, i1, j0, j1, k, kp, ldc, fresh, colsInner)`:
 * for row panels `i0 ≤ ip < i1` and column panels `j0 ≤ jp < j1`,
 * `C tile(ip, jp) += Σ_p A(ip)[p] ⊗ B(jp)[p]` (with `fresh` ≠ 0, `=` instead of `+=`: the first k
 * block starts from zero accumulators and never reads C). Each operand is either packed (`P`: `a` =
 * the packed panels, `sa` = mp, the number of row panels; `b` likewise with `sb` = np) or read where
 * it is (`D`, "direct"): a row-major op(A) at `a`, element (i, p) at `a + i·sa + p·es` (`sa` = bytes per
 * row; tile rows past `mrows` read row `mrows − 1` again, their outputs land in scratch and are
 * dropped, so nothing outside op(A) is read), or a row-major op(B) at `b`, element (p, j) at
 * `b + p·sb + j·es` (the caller leaves `nr` elements of readable slack past op(B)). Direct operands
 * skip packing (a read and a write of each element), which is most of the work when the other
 * operand is narrow. `k` real steps (packed operands are padded with zeros to `kp`; a kernel with a
 * direct operand runs `k` steps, padded ones `kp`, and zero padding leaves every sum's bits alone).
 * C is row-major, `ldc` bytes per row, tiles mr × nr at `cp + ip·mr·ldc + jp·nr·es` (the address
 * arithmetic wraps modulo 2³², so `cp` may be offset below the region it writes).
 *
 * Loops (Goto/BLIS order): k blocks, row blocks of `mcPanels` panels (an A block stays in L2),
 * column panels (a kc × nr B panel stays in L1), row panels, then the mr × nr register tile: per k
 * step nr/lanes vector loads of B, mr splat loads of A and mr·nr/lanes multiply-adds into
 * accumulators of the element type. With `colsInner` the column panels are the inner loop instead:
 * for small k a tile is mostly its stores, and walking down a column of tiles strides by `ldc`
 * (4 KiB for 1024 float32 columns: every row of every tile in the same cache set). float32 is
 * accumulated in float32 (as BLAS and jax-js do); each output element is summed in order of p, so
 * every variant gives the same bits. With `fma` the multiply-add is `relaxed_madd`: one fused
 * multiply-add where the CPU has FMA (every x86-64 with AVX2, every ARM64), else multiply then add.
 * On Zen 4 that is 25–30% faster than separate `mul` + `add` (fewer instructions per k step) and
 * rounds once instead of twice per step.
 *
 * `packA / packB(src, sq, sk, t0, t1, k, kp, dst, npTot)`: whole panels `t0 ≤ t < t1` of a strided
 * operand: element (lane q, step p) is at `src + (q·sq + p·sk)·es`, written to the packed layout at
 * `dst` (npTot panels in all, `k` real steps of `kp`). Padding steps `k ≤ p < kp` are left for the
 * caller. Bits are moved with integer loads/stores (exact, NaN payloads kept).
 *
 * `copyRows` (rows copied to a longer row stride, as whole v128 moves) and `transpose{32,64}` move
 * bits for `gemm.ts`'s rank-r paths (see their docs).
 * @module
 */
import {
  assemble,
  Code,
  type FuncDef,
  I32,
  I32_LOAD,
  I32_STORE,
  I64_LOAD,
  I64_STORE,
  type MemoryDef,
  SIMD,
  V128,
} from "./emit.ts";
import { rotationFunction } from "./rotations_kernel.ts";
import { streamFunction } from "./skinny_kernel.ts";
import { outerTallFunction } from "./outer_kernel.ts";
import { rank1RowsFunction, reflectRowsFunction, sumRowsFunction } from "./reflect_kernel.ts";

/** Shape of a generated kernel. */
export interface KernelShape {
  /** Bytes per element: 4 (float32) or 8 (float64). */
  es: 4 | 8;
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (a multiple of the lanes, 16/es). */
  nr: number;
  /** k steps per loop iteration (k is padded to a multiple of it). */
  unroll: number;
  /** k block (a multiple of `unroll`). */
  kc: number;
  /** Row panels per row block. */
  mcPanels: number;
  /** Use `relaxed_madd` (fused multiply-add where the CPU has FMA) instead of multiply then add. */
  fma: boolean;
}

/**
 * float32: 6×8 tile (12 f32x4 accumulators; with the 2 B vectors and 1 A splat that is 15 of the 16
 * xmm registers). Tuned on the 2-core AMD EPYC (Zen 4) box: 6×8, 5×8 and 2×16 are within 3%;
 * 3×16 and 4×12 spill and lose 40%; `kc` 128–512 and `mcPanels` 16–64 are flat.
 */
export const F32_SHAPE: KernelShape = { es: 4, mr: 6, nr: 8, unroll: 4, kc: 256, mcPanels: 32, fma: true };
/** float64: 3×6 tile (9 f64x2 accumulators); 4×4, 5×4, 6×4 and 2×8 are 3–7% slower, 4×6 and 3×8 spill. */
export const F64_SHAPE: KernelShape = { es: 8, mr: 3, nr: 6, unroll: 4, kc: 256, mcPanels: 32, fma: true };

/**
 * Narrow tiles for products with few rows (m ≤ 16: a rank-r factor times a wide operand read in
 * place): 4 rows of two vectors (8 accumulators, two B loads and 4 A splats per k step), so a
 * rank-8 product fills every row of its two row panels instead of 8 of the 12 that two 6-row panels
 * hold. (8 rows of one vector load B once per tile but issue more loads per multiply-add: 25%
 * slower on Zen 4; 4×12 spills.)
 */
export const F32_NARROW: KernelShape = { es: 4, mr: 4, nr: 8, unroll: 4, kc: 256, mcPanels: 32, fma: true };
/** float64 narrow tile: 4 rows of two f64x2 vectors. */
export const F64_NARROW: KernelShape = { es: 8, mr: 4, nr: 4, unroll: 4, kc: 256, mcPanels: 32, fma: true };

/** Which operands a kernel reads in place (see the module doc). */
export interface GemmVariant {
  /** op(A) row-major, read where it is. */
  directA: boolean;
  /** op(B) row-major, read where it is. */
  directB: boolean;
}

/** The kernel of the given shape and variant (parameters in the module doc). */
export function gemmFunction(
  name: string,
  s: KernelShape,
  v: GemmVariant = { directA: false, directB: false },
): FuncDef {
  const { es, mr, nr, unroll, kc: KC, mcPanels } = s;
  const nv = (nr * es) / 16; // vectors per tile row
  if (!Number.isInteger(nv) || KC % unroll !== 0) throw new Error(`bad kernel shape ${JSON.stringify(s)}`);
  if (v.directA && v.directB) throw new Error("gemm kernel: at most one operand read in place");
  const [splat, add, mul, madd] = es === 4
    ? [SIMD.load32Splat, SIMD.f32x4Add, SIMD.f32x4Mul, SIMD.f32x4RelaxedMadd]
    : [SIMD.load64Splat, SIMD.f64x2Add, SIMD.f64x2Mul, SIMD.f64x2RelaxedMadd];
  const alignS = es === 4 ? 2 : 3;
  const packedBoth = !v.directA && !v.directB;
  // parameters
  const AA = 0, SA = 1, MROWS = 2, BB = 3, SB = 4, CP = 5, I0 = 6, I1 = 7, J0 = 8, J1 = 9, K = 10, KP = 11;
  const LDC = 12, FRESH = 13, COLS = 14;
  // i32 locals; AR: the packed A panel pointer, or one pointer per tile row
  const PC = 15, KCL = 16, KCB = 17, IC = 18, ICEND = 19, JP = 20, IP = 21, B = 22, C = 23, P = 24, CR = 25;
  const ROW = 26, AR = 27;
  const nAr = v.directA ? mr : 1;
  // v128 locals (ZERO is never written)
  const ACC = AR + nAr, BV = ACC + mr * nv, AV = BV + nv, ZERO = AV + 1;
  const acc = (r: number, w: number) => ACC + r * nv + w;
  const locals = [...Array(AR + nAr - PC).fill(I32), ...Array(mr * nv + nv + 2).fill(V128)];

  /** `steps` k steps of the tile, then the pointers advanced past them. */
  const body = (c: Code, steps: number) => {
    for (let u = 0; u < steps; u++) {
      for (let w = 0; w < nv; w++) {
        c.get(B).simdMem(SIMD.load, 4, (v.directB ? 0 : u * nr * es) + w * 16).set(BV + w);
      }
      if (v.directB) c.get(B).get(SB).add().set(B);
      for (let r = 0; r < mr; r++) {
        if (v.directA) c.get(AR + r).simdMem(splat, alignS, u * es).set(AV);
        else c.get(AR).simdMem(splat, alignS, (u * mr + r) * es).set(AV);
        // acc[r][w] += a_r · b_w
        for (let w = 0; w < nv; w++) {
          if (s.fma) c.get(AV).get(BV + w).get(acc(r, w)).simd(madd).set(acc(r, w));
          else c.get(acc(r, w)).get(AV).get(BV + w).simd(mul).simd(add).set(acc(r, w));
        }
      }
    }
    if (v.directA) { for (let r = 0; r < mr; r++) c.get(AR + r).i32(steps * es).add().set(AR + r); }
    else c.get(AR).i32(steps * mr * es).add().set(AR);
    if (!v.directB) c.get(B).i32(steps * nr * es).add().set(B);
  };

  /** The tile (IP, JP) of the current k block. */
  const tile = (c: Code) => {
    if (v.directB) c.get(BB).get(PC).get(SB).mul().add().get(JP).i32(nr * es).mul().add().set(B);
    else c.get(BB).get(PC).get(SB).mul().get(JP).get(KCB).mul().add().i32(nr * es).mul().add().set(B);
    if (v.directA) {
      // row pointers: a + min(ip·mr + r, mrows − 1)·sa + pc·es
      for (let r = 0; r < mr; r++) {
        c.get(IP).i32(mr).mul().i32(r).add().set(ROW);
        c.get(ROW).get(MROWS).i32(1).sub().get(ROW).get(MROWS).ltU().select();
        c.get(SA).mul().get(AA).add().get(PC).i32(es).mul().add().set(AR + r);
      }
    } else c.get(AA).get(PC).get(SA).mul().get(IP).get(KCB).mul().add().i32(mr * es).mul().add().set(AR);
    c.get(CP).get(IP).i32(mr).mul().get(LDC).mul().add().get(JP).i32(nr * es).mul().add().tee(C).set(CR);
    // the first k block of a fresh product starts from zero, else from C
    c.get(FRESH).get(PC).eqz().and().if();
    for (let r = 0; r < mr; r++) for (let w = 0; w < nv; w++) c.get(ZERO).set(acc(r, w));
    c.else();
    for (let r = 0; r < mr; r++) {
      for (let w = 0; w < nv; w++) c.get(CR).simdMem(SIMD.load, 4, w * 16).set(acc(r, w));
      if (r < mr - 1) c.get(CR).get(LDC).add().set(CR);
    }
    c.end();
    if (packedBoth) {
      // kcb (a positive multiple of unroll) padded steps
      c.get(KCB).set(P);
      c.loop();
      body(c, unroll);
      c.get(P).i32(unroll).sub().tee(P).brIf(0);
      c.end();
    } else {
      // kcl real steps: unrolled while p ≥ unroll, then one at a time
      c.get(KCL).set(P);
      c.block();
      c.i32(unroll - 1).get(P).ltU().eqz().brIf(0);
      c.loop();
      body(c, unroll);
      c.get(P).i32(unroll).sub().set(P);
      c.i32(unroll - 1).get(P).ltU().brIf(0);
      c.end();
      c.end();
      c.block();
      c.get(P).eqz().brIf(0);
      c.loop();
      body(c, 1);
      c.get(P).i32(1).sub().tee(P).brIf(0);
      c.end();
      c.end();
    }
    c.get(C).set(CR);
    for (let r = 0; r < mr; r++) {
      for (let w = 0; w < nv; w++) c.get(CR).get(acc(r, w)).simdMem(SIMD.store, 4, w * 16);
      if (r < mr - 1) c.get(CR).get(LDC).add().set(CR);
    }
  };

  const c = new Code();
  c.i32(0).set(PC);
  c.loop(); // k blocks
  {
    // kcl = min(KC, k − pc) real steps; kcb = min(KC, kp − pc) packed steps
    c.get(K).get(PC).sub().set(KCL);
    c.i32(KC).get(KCL).i32(KC).get(KCL).ltU().select().set(KCL);
    c.get(KP).get(PC).sub().set(KCB);
    c.i32(KC).get(KCB).i32(KC).get(KCB).ltU().select().set(KCB);
    c.get(I0).set(IC);
    c.loop(); // row blocks
    {
      // icEnd = min(ic + mcPanels, i1)
      c.get(IC).i32(mcPanels).add().tee(ICEND).get(I1).get(ICEND).get(I1).ltU().select().set(ICEND);
      c.get(COLS).if();
      {
        c.get(IC).set(IP);
        c.loop(); // row panels
        c.get(J0).set(JP);
        c.loop(); // column panels
        tile(c);
        c.get(JP).i32(1).add().tee(JP).get(J1).ltU().brIf(0);
        c.end();
        c.get(IP).i32(1).add().tee(IP).get(ICEND).ltU().brIf(0);
        c.end();
      }
      c.else();
      {
        c.get(J0).set(JP);
        c.loop(); // column panels
        c.get(IC).set(IP);
        c.loop(); // row panels
        tile(c);
        c.get(IP).i32(1).add().tee(IP).get(ICEND).ltU().brIf(0);
        c.end();
        c.get(JP).i32(1).add().tee(JP).get(J1).ltU().brIf(0);
        c.end();
      }
      c.end();
      c.get(ICEND).tee(IC).get(I1).ltU().brIf(0);
    }
    c.end();
    c.get(PC).i32(KC).add().tee(PC).get(KP).ltU().brIf(0);
  }
  c.end();
  return { name, params: Array(15).fill(I32), locals, code: c };
}

/** A packing function for panels of width `w` (see the module doc). */
export function packFunction(name: string, s: KernelShape, w: number): FuncDef {
  const { es, kc: KC } = s;
  const [load, store, align] = es === 4 ? [I32_LOAD, I32_STORE, 2] : [I64_LOAD, I64_STORE, 3];
  // parameters
  const SRC = 0, SQ = 1, SK = 2, T0 = 3, T1 = 4, K = 5, KP = 6, DST = 7, NPT = 8;
  // locals
  const B0 = 9, KCB = 10, KB = 11, T = 12, D = 13, S = 14, P = 15, X = 16;
  const locals = Array(X - B0 + 1).fill(I32);
  // contiguous lanes move as whole v128s, plus one i64 when the panel is 8 bytes past a multiple of 16
  const vectors = Math.floor((w * es) / 16), tail8 = (w * es) % 16 === 8;
  const wholeMoves = (w * es) % 16 === 0 || tail8;

  const c = new Code();
  // byte strides
  c.get(SQ).i32(es).mul().set(SQ);
  c.get(SK).i32(es).mul().set(SK);
  c.i32(0).set(B0);
  c.loop(); // k blocks
  {
    // kcb = min(KC, kp − b0) ; kb = min(kcb, k − b0)
    c.get(KP).get(B0).sub().set(KCB);
    c.i32(KC).get(KCB).i32(KC).get(KCB).ltU().select().set(KCB);
    c.get(K).get(B0).sub().set(KB);
    c.get(KCB).get(KB).get(KCB).get(KB).ltU().select().set(KB);
    c.get(T0).set(T);
    c.loop(); // panels
    {
      // d = dst + (b0·npTot + t·kcb)·w·es ; s = src + t·w·sq + b0·sk (bytes)
      c.get(DST).get(B0).get(NPT).mul().get(T).get(KCB).mul().add().i32(w * es).mul().add().set(D);
      c.get(SRC).get(T).i32(w).mul().get(SQ).mul().add().get(B0).get(SK).mul().add().set(S);
      c.get(KB).set(P);
      const scalarLoop = () => {
        c.loop();
        c.get(S).set(X);
        for (let x = 0; x < w; x++) {
          c.get(D).get(X).mem(load, 0, 0).mem(store, align, x * es);
          if (x < w - 1) c.get(X).get(SQ).add().set(X);
        }
        c.get(S).get(SK).add().set(S);
        c.get(D).i32(w * es).add().set(D);
        c.get(P).i32(1).sub().tee(P).brIf(0);
        c.end();
      };
      if (wholeMoves) {
        // contiguous lanes (sq = es): whole v128 moves
        c.get(SQ).i32(es).eq().if();
        c.loop();
        for (let v = 0; v < vectors; v++) c.get(D).get(S).simdMem(SIMD.load, 0, v * 16).simdMem(SIMD.store, 4, v * 16);
        if (tail8) c.get(D).get(S).mem(I64_LOAD, 0, vectors * 16).mem(I64_STORE, 3, vectors * 16);
        c.get(S).get(SK).add().set(S);
        c.get(D).i32(w * es).add().set(D);
        c.get(P).i32(1).sub().tee(P).brIf(0);
        c.end();
        c.else();
        scalarLoop();
        c.end();
      } else scalarLoop();
      c.get(T).i32(1).add().tee(T).get(T1).ltU().brIf(0);
    }
    c.end();
    c.get(B0).i32(KC).add().tee(B0).get(KP).ltU().brIf(0);
  }
  c.end();
  return { name, params: Array(9).fill(I32), locals, code: c };
}

/**
 * `copyRows(src, ss, dst, ds, rows, bytes)`: copies `rows` rows of `bytes` bytes (rounded up to a
 * multiple of 16: the caller leaves 15 readable and writable bytes of slack) from `src` (rows `ss`
 * bytes apart) to `dst` (rows `ds` bytes apart) as whole v128 moves, 64 bytes a step while they
 * last. `gemm.ts` restrides an operand read in place with it: bits are moved unchanged.
 */
export function copyRowsFunction(): FuncDef {
  const SRC = 0, SS = 1, DST = 2, DS = 3, ROWS = 4, BYTES = 5, X = 6, S = 7, D = 8;
  const c = new Code();
  c.block();
  c.get(ROWS).eqz().get(BYTES).eqz().or().brIf(0);
  c.loop(); // rows
  {
    c.i32(0).set(X);
    c.get(SRC).set(S);
    c.get(DST).set(D);
    // 64-byte chunks while 64 bytes are left, then 16-byte ones
    c.block();
    c.get(BYTES).i32(64).ltU().brIf(0);
    c.loop();
    for (let v = 0; v < 4; v++) c.get(D).get(S).simdMem(SIMD.load, 0, 16 * v).simdMem(SIMD.store, 0, 16 * v);
    c.get(S).i32(64).add().set(S);
    c.get(D).i32(64).add().set(D);
    c.get(X).i32(64).add().set(X);
    c.get(BYTES).get(X).i32(64).add().ltU().eqz().brIf(0); // x + 64 ≤ bytes
    c.end();
    c.end();
    c.block();
    c.get(X).get(BYTES).ltU().eqz().brIf(0);
    c.loop();
    c.get(D).get(S).simdMem(SIMD.load, 0, 0).simdMem(SIMD.store, 0, 0);
    c.get(S).i32(16).add().set(S);
    c.get(D).i32(16).add().set(D);
    c.get(X).i32(16).add().tee(X).get(BYTES).ltU().brIf(0);
    c.end();
    c.end();
    c.get(SRC).get(SS).add().set(SRC);
    c.get(DST).get(DS).add().set(DST);
    c.get(ROWS).i32(1).sub().tee(ROWS).brIf(0);
  }
  c.end();
  c.end();
  return { name: "copyRows", params: Array(6).fill(I32), locals: [I32, I32, I32], code: c };
}

/**
 * `transpose{32,64}(src, dst, m, n, ld, skip)`: `dst[i·ld + j] = src[j·(m + skip/es) + i]` (0 ≤ i <
 * m, 0 ≤ j < n; element offsets, addresses and `skip` in bytes), bits moved with integer loads and
 * stores. `wasmGemm` transposes a product it computed the other way round (Cᵀ in scratch) into C
 * with it, whole (skip 0) or a range of Cᵀ's columns per task.
 */
export function transposeFunction(name: string, es: 4 | 8): FuncDef {
  const [load, store, al] = es === 4 ? [I32_LOAD, I32_STORE, 2] : [I64_LOAD, I64_STORE, 3];
  const SRC = 0, DST = 1, M = 2, N = 3, LD = 4, SKIP = 5, J = 6, I = 7, D = 8, STEP = 9;
  const c = new Code();
  c.get(LD).i32(es).mul().set(STEP);
  c.block();
  c.get(M).eqz().get(N).eqz().or().brIf(0);
  c.i32(0).set(J);
  c.loop(); // columns of dst: rows of src, read in order
  {
    c.get(DST).get(J).i32(es).mul().add().set(D);
    c.get(M).set(I);
    c.loop();
    c.get(D).get(SRC).mem(load, al, 0).mem(store, al, 0);
    c.get(SRC).i32(es).add().set(SRC);
    c.get(D).get(STEP).add().set(D);
    c.get(I).i32(1).sub().tee(I).brIf(0);
    c.end();
    c.get(SRC).get(SKIP).add().set(SRC);
    c.get(J).i32(1).add().tee(J).get(N).ltU().brIf(0);
  }
  c.end();
  c.end();
  return { name, params: Array(6).fill(I32), locals: [I32, I32, I32, I32], code: c };
}

/** Export names, in the order of `gemmModuleBytes`. */
export const EXPORTS = [
  "gemmPP32",
  "gemmDP32",
  "gemmPD32",
  "packA32",
  "packB32",
  "gemmPP64",
  "gemmDP64",
  "gemmPD64",
  "packA64",
  "packB64",
  "rot64v",
  "rot64s",
  "reflectRows64",
  "sumRows64",
  "rank1Rows64",
  "gemmPP32n",
  "gemmDP32n",
  "gemmPD32n",
  "packA32n",
  "packB32n",
  "gemmPP64n",
  "gemmDP64n",
  "gemmPD64n",
  "packA64n",
  "packB64n",
  "copyRows",
  "transpose32",
  "transpose64",
  "stream32",
  "stream64",
  "outerTall32",
  "outerTall64",
] as const;

/**
 * The module: imports `env.memory`, exports `EXPORTS` for the given float32 and float64 shapes (and
 * the rotation and reflector kernels of `rotations_kernel.ts` and `reflect_kernel.ts`, then the
 * kernels of the narrow float32 and float64 shapes). (With `fma` it needs relaxed SIMD; `engine.ts`
 * falls back to `fma: false` where that fails to compile.)
 */
export function gemmModuleBytes(
  memory: MemoryDef,
  f32: KernelShape = F32_SHAPE,
  f64: KernelShape = F64_SHAPE,
  n32: KernelShape = F32_NARROW,
  n64: KernelShape = F64_NARROW,
): Uint8Array<ArrayBuffer> {
  const set = (sfx: string, sh: KernelShape) => [
    gemmFunction(`gemmPP${sfx}`, sh, { directA: false, directB: false }),
    gemmFunction(`gemmDP${sfx}`, sh, { directA: true, directB: false }),
    gemmFunction(`gemmPD${sfx}`, sh, { directA: false, directB: true }),
    packFunction(`packA${sfx}`, sh, sh.mr),
    packFunction(`packB${sfx}`, sh, sh.nr),
  ];
  const rotations = [
    rotationFunction("rot64v", "v"),
    rotationFunction("rot64s", "s"),
    reflectRowsFunction(),
    sumRowsFunction(),
    rank1RowsFunction(),
  ];
  return assemble(memory, [
    ...set("32", f32),
    ...set("64", f64),
    ...rotations,
    ...set("32n", n32),
    ...set("64n", n64),
    copyRowsFunction(),
    transposeFunction("transpose32", 4),
    transposeFunction("transpose64", 8),
    streamFunction("stream32", 4, n32.fma),
    streamFunction("stream64", 8, n64.fma),
    outerTallFunction("outerTall32", 4, n32.fma),
    outerTallFunction("outerTall64", 8, n64.fma),
  ]);
}
