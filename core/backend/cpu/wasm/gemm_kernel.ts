/**
 * Generator of the WebAssembly SIMD GEMM module: for float32 (f32x4 lanes) and float64 (f64x2
 * lanes) a register-blocked `gemm` kernel and two packing routines. The module is assembled at
 * load time by `emit.ts` (a few KiB; no external toolchain).
 *
 * Packed layout (k padded to a multiple of `unroll`, then cut into k blocks of `kc`): block `b`
 * (k steps `b·kc ..`, `kcb` of them) holds every panel; panel `t` of width `w` occupies
 * `kcb·w` consecutive elements, element (lane x, step p) at `p·w + x`. So the A panels (w = mr rows)
 * of block b start at `ap + b·kc·mp·mr·es` and the B panels (w = nr columns) at `bp + b·kc·np·nr·es`.
 *
 * `gemm(ap, bp, cp, mp, np, i0, i1, j0, j1, k, ldc)`: for row panels `i0 ≤ ip < i1` and column
 * panels `j0 ≤ jp < j1` of the mp × np grid, `C tile(ip, jp) += Σ_p Apanel(ip)[p] ⊗ Bpanel(jp)[p]`.
 * C is row-major, `ldc` bytes per row, tiles mr × nr. Loops (Goto/BLIS order): k blocks, row blocks
 * of `mcPanels` panels (an A block stays in L2), column panels (a kc × nr B panel stays in L1), row
 * panels, then the mr × nr register tile: per k step nr/lanes vector loads of B, mr splat loads of A
 * and mr·nr/lanes multiply-adds into accumulators of the element type. float32 is therefore
 * accumulated in float32 (as BLAS and jax-js do); each output element is summed in order of p.
 * With `fma` the multiply-add is `relaxed_madd`: one fused multiply-add where the CPU has FMA (every
 * x86-64 with AVX2, every ARM64), else multiply then add. On Zen 4 that is 25–30% faster than
 * separate `mul` + `add` (fewer instructions per k step) and rounds once instead of twice per step.
 *
 * `packA / packB(src, sq, sk, t0, t1, k, kp, dst, npTot)`: whole panels `t0 ≤ t < t1` of a strided
 * operand: element (lane q, step p) is at `src + (q·sq + p·sk)·es`, written to the packed layout at
 * `dst` (npTot panels in all, `k` real steps of `kp`). Padding steps `k ≤ p < kp` are left for the
 * caller. Bits are moved with integer loads/stores (exact, NaN payloads kept).
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

/** The `gemm` function of the given shape. */
export function gemmFunction(name: string, s: KernelShape): FuncDef {
  const { es, mr, nr, unroll, kc: KC, mcPanels } = s;
  const nv = (nr * es) / 16; // vectors per tile row
  if (!Number.isInteger(nv) || KC % unroll !== 0) throw new Error(`bad kernel shape ${JSON.stringify(s)}`);
  const [splat, add, mul, madd] = es === 4
    ? [SIMD.load32Splat, SIMD.f32x4Add, SIMD.f32x4Mul, SIMD.f32x4RelaxedMadd]
    : [SIMD.load64Splat, SIMD.f64x2Add, SIMD.f64x2Mul, SIMD.f64x2RelaxedMadd];
  const alignS = es === 4 ? 2 : 3;
  // parameters
  const AP = 0, BP = 1, CP = 2, MP = 3, NP = 4, I0 = 5, I1 = 6, J0 = 7, J1 = 8, K = 9, LDC = 10;
  // i32 locals
  const PC = 11, KCL = 12, IC = 13, ICEND = 14, JP = 15, IP = 16, A = 17, B = 18, C = 19, P = 20, CR = 21;
  // v128 locals
  const ACC = 22, BV = ACC + mr * nv, AV = BV + nv;
  const acc = (r: number, v: number) => ACC + r * nv + v;
  const locals = [...Array(CR - PC + 1).fill(I32), ...Array(mr * nv + nv + 1).fill(V128)];

  const c = new Code();
  c.i32(0).set(PC);
  c.loop(); // k blocks
  {
    // kc = min(KC, k − pc)
    c.get(K).get(PC).sub().set(KCL);
    c.i32(KC).get(KCL).i32(KC).get(KCL).ltU().select().set(KCL);
    c.get(I0).set(IC);
    c.loop(); // row blocks
    {
      // icEnd = min(ic + mcPanels, i1)
      c.get(IC).i32(mcPanels).add().tee(ICEND).get(I1).get(ICEND).get(I1).ltU().select().set(ICEND);
      c.get(J0).set(JP);
      c.loop(); // column panels
      {
        c.get(IC).set(IP);
        c.loop(); // row panels
        {
          // a = ap + (pc·mp + ip·kc)·mr·es ; b = bp + (pc·np + jp·kc)·nr·es ; c = cp + ip·mr·ldc + jp·nr·es
          c.get(AP).get(PC).get(MP).mul().get(IP).get(KCL).mul().add().i32(mr * es).mul().add().set(A);
          c.get(BP).get(PC).get(NP).mul().get(JP).get(KCL).mul().add().i32(nr * es).mul().add().set(B);
          c.get(CP).get(IP).i32(mr).mul().get(LDC).mul().add().get(JP).i32(nr * es).mul().add().tee(C).set(CR);
          for (let r = 0; r < mr; r++) {
            for (let v = 0; v < nv; v++) c.get(CR).simdMem(SIMD.load, 4, v * 16).set(acc(r, v));
            if (r < mr - 1) c.get(CR).get(LDC).add().set(CR);
          }
          c.get(KCL).set(P);
          c.loop(); // k steps
          {
            for (let u = 0; u < unroll; u++) {
              for (let v = 0; v < nv; v++) c.get(B).simdMem(SIMD.load, 4, (u * nr * es) + v * 16).set(BV + v);
              for (let r = 0; r < mr; r++) {
                c.get(A).simdMem(splat, alignS, (u * mr + r) * es).set(AV);
                // acc[r][v] += a_r · b_v
                for (let v = 0; v < nv; v++) {
                  if (s.fma) c.get(AV).get(BV + v).get(acc(r, v)).simd(madd).set(acc(r, v));
                  else c.get(acc(r, v)).get(AV).get(BV + v).simd(mul).simd(add).set(acc(r, v));
                }
              }
            }
            c.get(A).i32(unroll * mr * es).add().set(A);
            c.get(B).i32(unroll * nr * es).add().set(B);
            c.get(P).i32(unroll).sub().tee(P).brIf(0);
          }
          c.end();
          c.get(C).set(CR);
          for (let r = 0; r < mr; r++) {
            for (let v = 0; v < nv; v++) c.get(CR).get(acc(r, v)).simdMem(SIMD.store, 4, v * 16);
            if (r < mr - 1) c.get(CR).get(LDC).add().set(CR);
          }
          c.get(IP).i32(1).add().tee(IP).get(ICEND).ltU().brIf(0);
        }
        c.end();
        c.get(JP).i32(1).add().tee(JP).get(J1).ltU().brIf(0);
      }
      c.end();
      c.get(ICEND).tee(IC).get(I1).ltU().brIf(0);
    }
    c.end();
    c.get(PC).i32(KC).add().tee(PC).get(K).ltU().brIf(0);
  }
  c.end();
  return { name, params: Array(11).fill(I32), locals, code: c };
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
  const vectors = (w * es) % 16 === 0 ? (w * es) / 16 : 0;

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
      if (vectors > 0) {
        // contiguous lanes (sq = es): whole v128 moves
        c.get(SQ).i32(es).eq().if();
        c.loop();
        for (let v = 0; v < vectors; v++) c.get(D).get(S).simdMem(SIMD.load, 0, v * 16).simdMem(SIMD.store, 4, v * 16);
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

/** Export names, in the order of `gemmModuleBytes`. */
export const EXPORTS = ["gemm32", "packA32", "packB32", "gemm64", "packA64", "packB64"] as const;

/**
 * The module: imports `env.memory`, exports `EXPORTS` for the given float32 and float64 shapes.
 * (With `fma` it needs relaxed SIMD; `gemm.ts` falls back to `fma: false` where that fails to compile.)
 */
export function gemmModuleBytes(
  memory: MemoryDef,
  f32: KernelShape = F32_SHAPE,
  f64: KernelShape = F64_SHAPE,
): Uint8Array<ArrayBuffer> {
  return assemble(memory, [
    gemmFunction("gemm32", f32),
    packFunction("packA32", f32, f32.mr),
    packFunction("packB32", f32, f32.nr),
    gemmFunction("gemm64", f64),
    packFunction("packA64", f64, f64.mr),
    packFunction("packB64", f64, f64.nr),
  ]);
}
