/**
 * `sign` and the casts between a chain's float dtype and bool inside the fused Wasm kernels
 * (`fused_kernel.ts`), as selections on lane masks, bit for bit the eager forms:
 *
 *   sign x        = x > 0 ? 1 : x < 0 ? −1 : x   (±0 and NaN kept)
 *   float → bool  = x ≠ 0 (NaN is true): a lane mask in a vector, 0/1 in a scalar
 *   bool → float  = 1 where set, else +0: the mask's bits and those of 1, or 0/1 converted
 *   same → same   = the value itself
 * @module
 */
import { type Code, SIMD } from "./emit.ts";
import type { Mode } from "./fused_calls.ts";

// vector and scalar opcodes, per mode
const OPS = {
  float32: { splat: 0x13, vlt: 0x43, vgt: 0x44, vne: 0x42, lt: 0x5d, gt: 0x5e, ne: 0x5c, fromU32: 0xb3 },
  float64: { splat: 0x14, vlt: 0x49, vgt: 0x4a, vne: 0x48, lt: 0x63, gt: 0x64, ne: 0x62, fromU32: 0xb8 },
} as const;

/** Pushes the constant `v` of the mode (splat in a vector). */
function konst(c: Code, mode: Mode, v: number, vec: boolean): void {
  if (mode === "float32") c.raw(0x43, ...new Uint8Array(Float32Array.of(v).buffer));
  else c.f64(v);
  if (vec) c.simd(OPS[mode].splat);
}

/** Pushes `sign` of local `a` (a vector of the mode's lanes, or one scalar). */
export function emitSign(c: Code, mode: Mode, a: number, vec: boolean): void {
  const o = OPS[mode];
  const cmp = (op: "lt" | "gt") => {
    c.get(a);
    konst(c, mode, 0, vec);
    if (vec) c.simd(op === "lt" ? o.vlt : o.vgt);
    else c.raw(o[op]);
  };
  const choose = () => (vec ? c.simd(SIMD.v128Bitselect) : c.select());
  konst(c, mode, 1, vec);
  konst(c, mode, -1, vec);
  c.get(a);
  cmp("lt");
  choose(); // x < 0 ? −1 : x
  cmp("gt");
  choose(); // x > 0 ? 1 : …
}

/** Pushes the cast of local `a` from bool (`fromBool`) or the mode's float, to bool (`toBool`) or that float. */
export function emitCast(c: Code, mode: Mode, fromBool: boolean, toBool: boolean, a: number, vec: boolean): void {
  const o = OPS[mode];
  c.get(a);
  if (!fromBool && toBool) {
    konst(c, mode, 0, vec);
    if (vec) c.simd(o.vne);
    else c.raw(o.ne);
  } else if (fromBool && !toBool) {
    if (vec) {
      konst(c, mode, 1, true);
      c.simd(SIMD.v128And);
    } else c.raw(o.fromU32);
  }
}
