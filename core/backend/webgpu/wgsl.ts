/**
 * WGSL building blocks shared by the kernels: element types, the linear invocation index, and a
 * float32 math library (exp, log, sin, cos, tanh, erf, pow) written out in WGSL so that results
 * match the CPU backend to float32 accuracy on every adapter (WGSL's built-in transcendental
 * functions may be far less accurate, e.g. sin/cos to 2⁻¹¹ absolute).
 * @module
 */
import type { DType } from "../../dtype.ts";
import { DTypeError } from "../../errors.ts";

const codes = new Map<string, string>();

/**
 * The WGSL source for `key`, generated once by `make`: kernels look their source up by a short key
 * instead of regenerating it, and the runtime's pipeline cache then sees the same string object.
 */
export function memoCode(key: string, make: () => string): string {
  let c = codes.get(key);
  if (c === undefined) codes.set(key, c = make());
  return c;
}

/** Workgroup size of the one-dimensional kernels. */
export const WG = 256;

/**
 * Threads of a team that reduces one row of n elements (argReduce, logSoftmax): ~16 elements a
 * thread, a power of two, at most a workgroup.
 */
export function rowTeam(n: number): number {
  return Math.min(WG, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(n / 16)))));
}

/** The WGSL element type storing `d` (bool is stored as u32 0/1). */
export function wgslType(d: DType, op = "webgpu"): "f32" | "i32" | "u32" {
  switch (d) {
    case "float32":
      return "f32";
    case "int32":
      return "i32";
    case "bool":
      return "u32";
    default:
      throw new DTypeError(
        `${op}: ${d} is not supported on the webgpu backend (WebGPU has no float64); ` +
          `use the cpu backend for float64 (toBackend(t, "cpu") or useBackend("cpu")), or astype(x, "float32")`,
      );
  }
}

/** Bytes per element on the GPU (every dtype takes 4). */
export const GPU_ITEM = 4;

/**
 * Kernel entry that computes the linear invocation index `i` over a 2-D grid (see `grid`) and
 * returns when `i >= limit`.
 */
export function entry(limit: string): string {
  return `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.y * nwg.x + wg.x) * ${WG}u + li;
  if (i >= ${limit}) { return; }`;
}

/**
 * Kernel entry for teams of `S` = 2^`u.lgS` threads (`rowTeam`): a thread's `lane` in its team and
 * its team's index, named `team` (a row, or a block of one), over a 2-D grid (see `grid`); the
 * uniforms `u` have a `lgS` field.
 */
export function teamEntry(team = "r"): string {
  return `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let S = 1u << u.lgS;
  let lane = li & (S - 1u);
  let ${team} = (wg.y * nwg.x + wg.x) * (${WG}u >> u.lgS) + (li >> u.lgS);`;
}

/** Reads element `ax` of a `array<vec4<u32>, N>` uniform field. */
export const AT = `fn at8(v: array<vec4<u32>, 2>, ax: u32) -> u32 { return v[ax >> 2u][ax & 3u]; }`;

const MATH: Record<string, { deps: string[]; code: string }> = {
  t_inf: {
    deps: [],
    // from a var, not a constant: Tint (Chromium's WGSL compiler) rejects a constant expression whose
    // value is inf or NaN ("value inf cannot be represented as 'f32'"); naga accepts both
    code: `fn t_inf() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
fn t_nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }`,
  },
  t_opq: {
    deps: [],
    // v itself, hidden from the compiler behind the fused kernels' uniform word p0 (always 0):
    // WGSL lets a compiler assume no ∞ or NaN, and llvmpipe folds x − x and x + (−x) to 0, where
    // IEEE (and the CPU backend) give NaN for x = ±∞ or NaN. Only for the fused elementwise kernels.
    code: `fn t_opq(v: f32) -> f32 { return bitcast<f32>(bitcast<u32>(v) ^ u.p0); }`,
  },
  t_exp: {
    deps: ["t_inf"],
    // eˣ: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), eʳ by Cephes' expf polynomial.
    code: `fn t_exp(x: f32) -> f32 {
  if (x != x) { return x; }
  if (x > 88.72283935546875) { return t_inf(); }
  if (x < -103.97208) { return 0.0; }
  let n = round(x * 1.4426950408889634);
  var r = fma(-n, 0.693359375, x);
  r = fma(n, 2.12194440e-4, r);
  var p = 1.9875691500e-4;
  p = fma(p, r, 1.3981999507e-3);
  p = fma(p, r, 8.3334519073e-3);
  p = fma(p, r, 4.1665795894e-2);
  p = fma(p, r, 1.6666665459e-1);
  p = fma(p, r, 5.0000001201e-1);
  let e = fma(p, r * r, r) + 1.0;
  let ni = i32(n);
  let h = ni / 2;
  return ldexp(ldexp(e, h), ni - h);
}`,
  },
  t_logp: {
    deps: [],
    // Cephes' logf polynomial: log(1 + x) − x + x²/2 ≈ x³·P(x) for x in [√½ − 1, √2 − 1], z = x².
    code: `fn t_logp(x: f32, z: f32) -> f32 {
  var y = 7.0376836292e-2;
  y = fma(y, x, -1.1514610310e-1);
  y = fma(y, x, 1.1676998740e-1);
  y = fma(y, x, -1.2420140846e-1);
  y = fma(y, x, 1.4249322787e-1);
  y = fma(y, x, -1.6668057665e-1);
  y = fma(y, x, 2.0000714765e-1);
  y = fma(y, x, -2.4999993993e-1);
  y = fma(y, x, 3.3333331174e-1);
  return y * x * z;
}`,
  },
  t_log: {
    deps: ["t_inf", "t_logp"],
    // ln x = e·ln2 + ln(1 + f), x = 2ᵉ(1 + f) with 1 + f ∈ [√½, √2), ln(1 + f) by Cephes' logf polynomial.
    code: `fn t_log(x0: f32) -> f32 {
  if (!(x0 > 0.0)) { return select(t_nan(), -t_inf(), x0 == 0.0); }
  if (x0 == t_inf()) { return x0; }
  let fe = frexp(x0);
  var e = f32(fe.exp);
  var x = fe.fract;
  if (x < 0.70710678118654752) { e -= 1.0; x = x + x - 1.0; } else { x = x - 1.0; }
  let z = x * x;
  var y = t_logp(x, z);
  y = fma(e, -2.12194440e-4, y);
  y = fma(z, -0.5, y);
  return fma(e, 0.693359375, x + y);
}`,
  },
  t_sinq: {
    deps: [],
    // sin(r + q·π/2) for |r| ≤ π/4: Cephes' sinf/cosf polynomials, picked by q mod 4.
    code: `fn t_sinq(r: f32, q: i32) -> f32 {
  let z = r * r;
  let s = fma(fma(fma(-1.9515295891e-4, z, 8.3321608736e-3), z, -1.6666654611e-1) * z, r, r);
  let c = fma(fma(fma(2.443315711809948e-5, z, -1.388731625493765e-3), z, 4.166664568298827e-2) * z, z,
              fma(-0.5, z, 1.0));
  let m = q & 3;
  if (m == 0) { return s; }
  if (m == 1) { return c; }
  if (m == 2) { return -s; }
  return -c;
}
// x = q·π/2 + r, |r| ≤ π/4, with π/2 split in three parts (exact products for |q| < 2¹⁶).
fn t_reduce(x: f32) -> vec2<f32> {
  let q = round(x * 0.63661977236758134);
  var r = fma(-q, 1.5703125, x);
  r = fma(-q, 4.837512969970703125e-4, r);
  r = fma(-q, 7.54978995489188216e-8, r);
  return vec2<f32>(r, q);
}
// The 64-bit product a·b of two u32, as (high, low) words, from 16-bit halves (WGSL has no u64).
fn t_mul32(a: u32, b: u32) -> vec2<u32> {
  let ll = (a & 0xffffu) * (b & 0xffffu);
  let lh = (a & 0xffffu) * (b >> 16u);
  let hl = (a >> 16u) * (b & 0xffffu);
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return vec2<u32>((a >> 16u) * (b >> 16u) + (lh >> 16u) + (hl >> 16u) + (mid >> 16u), (ll & 0xffffu) | (mid << 16u));
}
// 96 bits of the stream (32 zero bits, then the first 224 bits of 2/π) from bit p on, as 3 words.
fn t_2opi(p: u32) -> vec3<u32> {
  var t = array<u32, 8>(0u, 0xA2F9836Eu, 0x4E441529u, 0xFC2757D1u, 0xF534DDC0u, 0xDB629599u, 0x3C439041u, 0xFE5163ABu);
  let w = p >> 5u;
  let sh = p & 31u;
  if (sh == 0u) { return vec3<u32>(t[w], t[w + 1u], t[w + 2u]); }
  let k = 32u - sh;
  return vec3<u32>((t[w] << sh) | (t[w + 1u] >> k), (t[w + 1u] << sh) | (t[w + 2u] >> k),
                   (t[w + 2u] << sh) | (t[w + 3u] >> k));
}
// Payne–Hanek for 2⁻⁷ ≤ |x| < ∞ in integer arithmetic (exact on every adapter, fused fma or not; the
// three-part Cody–Waite t_reduce is off by 4e-7 at 3e4 where fma does not fuse, as on llvmpipe):
// |x| = m·2^(e−23), and |x|·2/π mod 4 = m·W / 2⁹⁴ with W the 96 bits of 2/π from bit e − 25 on (earlier
// bits add multiples of 4); q = its integer part mod 4, r = (its fraction, rounded to [−½, ½))·π/2.
fn t_reduce_big(x: f32) -> vec2<f32> {
  let bits = bitcast<u32>(x) & 0x7fffffffu;
  let m = (bits & 0x7fffffu) | 0x800000u;
  let w = t_2opi((bits >> 23u) - 127u + 7u);
  let a = t_mul32(m, w.z);
  let b = t_mul32(m, w.y);
  let c = t_mul32(m, w.x);
  let p0 = a.y;
  let p1 = a.x + b.y;
  let c1 = select(0u, 1u, p1 < b.y);
  let t2 = b.x + c.y;
  let p2 = t2 + c1;
  var q = i32(p2 >> 30u);
  let hi = (p2 << 2u) | (p1 >> 30u);
  let lo = (p1 << 2u) | (p0 >> 30u);
  var f = f32(hi) * 2.3283064365386963e-10 + f32(lo) * 5.421010862427522e-20;
  if (f >= 0.5) { f -= 1.0; q += 1; }
  let r = f * 1.5707963267948966;
  return select(vec2<f32>(r, f32(q)), vec2<f32>(-r, f32(-q)), x < 0.0);
}
fn t_reduce_any(x: f32) -> vec2<f32> {
  let a = abs(x);
  if (a > 0.78 && a <= 3.4028234663852886e38) { return t_reduce_big(x); }
  return t_reduce(x);
}
fn t_sin(x: f32) -> f32 { let v = t_reduce_any(x); return t_sinq(v.x, i32(v.y)); }
fn t_cos(x: f32) -> f32 { let v = t_reduce_any(x); return t_sinq(v.x, i32(v.y) + 1); }
// cos(2πu) for u in turns: u = q/4 + t exactly, |t| ≤ 1/8, so only 2πt is rounded.
fn t_cos2pi(u: f32) -> f32 {
  let q = round(u * 4.0);
  let t = u - q * 0.25;
  return t_sinq(t * 6.283185307179586, i32(q) + 1);
}`,
  },
  t_tanh: {
    deps: ["t_exp"],
    // tanh: Cephes' odd polynomial for |x| < 0.625, else 1 − 2/(e^{2|x|} + 1).
    code: `fn t_tanh(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.625) {
    let z = x * x;
    let p = fma(fma(fma(fma(-5.70498872745e-3, z, 2.06390887954e-2), z, -5.37397155531e-2), z,
                    1.33314422036e-1), z, -3.33332819422e-1);
    return fma(p * z, x, x);
  }
  if (a > 10.0) { return sign(x); }
  let r = 1.0 - 2.0 / (t_exp(2.0 * a) + 1.0);
  return select(r, -r, x < 0.0);
}`,
  },
  t_erf: {
    deps: ["t_exp"],
    // erf: odd minimax polynomial below 0.9277, 1 − exp(poly(|x|)) above (N. Juffa's erff, ≈1 ulp).
    code: `fn t_erf(a: f32) -> f32 {
  let t = abs(a);
  let s = a * a;
  if (t > 0.927734375) {
    var r = fma(-1.72853470e-5, t, 3.83197126e-4);
    let u = fma(-3.88396438e-3, t, 2.42546219e-2);
    r = fma(r, s, u);
    r = fma(r, t, -1.06777877e-1);
    r = fma(r, t, -6.34846687e-1);
    r = fma(r, t, -1.28717512e-1);
    r = fma(r, t, -t);
    r = 1.0 - t_exp(r);
    return select(r, -r, a < 0.0);
  }
  var r = -5.96761703e-4;
  r = fma(r, s, 4.99119423e-3);
  r = fma(r, s, -2.67681349e-2);
  r = fma(r, s, 1.12819925e-1);
  r = fma(r, s, -3.76125336e-1);
  r = fma(r, s, 1.28379166e-1);
  return fma(r, a, a);
}`,
  },
  t_pow: {
    deps: ["t_exp", "t_log"],
    // xʸ = e^{y ln|x|}, negative finite x only for integer y (sign from y's parity), as Math.pow.
    code: `fn t_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (y == 1.0) { return x; }
  if (y == 2.0) { return x * x; }
  if (x != x || y != y) { return t_nan(); }
  let ax = abs(x);
  let yi = floor(y) == y;
  // −∞ to a non-integer power is +∞ (y > 0) or +0 (y < 0), as Math.pow and C's pow
  if (x < 0.0 && !yi && ax != t_inf()) { return t_nan(); }
  var r: f32;
  if (ax == 0.0) { r = select(t_inf(), 0.0, y > 0.0); }
  else if (ax == t_inf()) { r = select(0.0, t_inf(), y > 0.0); }
  else if (y == 0.5) { r = sqrt(ax); }
  else { r = t_exp(y * t_log(ax)); }
  let odd = yi && abs(y) < 16777216.0 && floor(y * 0.5) != y * 0.5;
  // the sign bit, so that −0 to an odd power keeps it (−0 or −∞), as Math.pow
  return select(r, -r, (bitcast<u32>(x) >> 31u) == 1u && odd);
}`,
  },
  t_log1p: {
    deps: ["t_log", "t_logp"],
    // log(1 + x): for √½ − 1 < x < √2 − 1 Cephes' logf polynomial on x itself (1 + x is never formed),
    // elsewhere log(1 + x), whose rounding of 1 + x costs under an ulp there. (Goldberg's
    // log(u)·x/(u − 1) with u = 1 + x does not survive a compiler that folds (1 + x) − 1 to x, as
    // llvmpipe's does: log1p(−1e−7) came out −1.19e−7 and log1p(1e−30) 0.)
    code: `fn t_log1p(x: f32) -> f32 {
  if (!(x > -0.2928932188134524 && x < 0.41421356237309515)) { return t_log(1.0 + x); }
  if (x == 0.0) { return x; }
  let z = x * x;
  var y = t_logp(x, z);
  y = fma(z, -0.5, y);
  return x + y;
}`,
  },
  t_expm1: {
    deps: ["t_exp", "t_log"],
    // eˣ − 1 = (u − 1)·x/log(u) with u = eˣ rounded (Kahan); exact x where u rounds to 1
    code: `fn t_expm1(x: f32) -> f32 {
  let u = t_exp(x);
  if (u == 1.0) { return x; }
  let um = u - 1.0;
  if (um == -1.0 || u == t_inf() || x != x) { return um; }
  return um * (x / t_log(u));
}`,
  },
  t_f2i: {
    deps: [],
    // float → int32 as Math.trunc(x) | 0: truncation, then wrap-around modulo 2³²; NaN and ±∞ give 0.
    code: `fn t_f2i(x: f32) -> i32 {
  if (!(abs(x) < 3.0e38)) { return 0; }
  let a = abs(trunc(x));
  let m = a - floor(a / 4294967296.0) * 4294967296.0;
  let v = bitcast<i32>(u32(m));
  return select(v, -v, x < 0.0);
}`,
  },
};

/** The WGSL source of the math functions `names` and their dependencies, each once. */
export function mathLib(names: Iterable<string>): string {
  const out: string[] = [];
  const done = new Set<string>();
  const add = (n: string) => {
    if (done.has(n)) return;
    done.add(n);
    const f = MATH[n];
    for (const d of f.deps) add(d);
    out.push(f.code);
  };
  for (const n of names) add(n);
  return out.join("\n");
}
