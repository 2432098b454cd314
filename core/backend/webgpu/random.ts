/**
 * Counter-based random numbers on the GPU: Threefry-2x32 (20 rounds) in u32 arithmetic with the
 * word layouts of core/random.ts (classic and partitionable), so bits and float32 uniforms equal
 * the CPU's bit for bit and normals (the same Box–Muller) agree to float32 rounding.
 * @module
 */
import type { KeyLayout } from "../../threefry.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, mathLib, memoCode, WG, wgslType } from "./wgsl.ts";

/** WGSL Threefry-2x32, 20 rounds (5 groups of 4 rotations, a key injection after each group). */
export const THREEFRY_WGSL = `fn rotl(x: u32, r: u32) -> u32 { return (x << r) | (x >> (32u - r)); }
fn mix4(v: vec2<u32>, r: vec4<u32>) -> vec2<u32> {
  var x0 = v.x; var x1 = v.y;
  x0 += x1; x1 = rotl(x1, r.x) ^ x0;
  x0 += x1; x1 = rotl(x1, r.y) ^ x0;
  x0 += x1; x1 = rotl(x1, r.z) ^ x0;
  x0 += x1; x1 = rotl(x1, r.w) ^ x0;
  return vec2<u32>(x0, x1);
}
fn threefry(k0: u32, k1: u32, c0: u32, c1: u32) -> vec2<u32> {
  let k2 = k0 ^ k1 ^ 0x1bd11bdau;
  let ra = vec4<u32>(13u, 15u, 26u, 6u);
  let rb = vec4<u32>(17u, 29u, 16u, 24u);
  var x = vec2<u32>(c0 + k0, c1 + k1);
  x = mix4(x, ra); x += vec2<u32>(k1, k2 + 1u);
  x = mix4(x, rb); x += vec2<u32>(k2, k0 + 2u);
  x = mix4(x, ra); x += vec2<u32>(k0, k1 + 3u);
  x = mix4(x, rb); x += vec2<u32>(k1, k2 + 4u);
  x = mix4(x, ra); x += vec2<u32>(k2, k0 + 5u);
  return x;
}
fn unit(w: u32) -> f32 { return bitcast<f32>((w >> 9u) | 0x3f800000u) - 1.0; }`;

/** The params of a random application the kernel reads. */
interface RandomParams {
  key: readonly number[];
  dist: "bits" | "uniform" | "normal";
  layout?: KeyLayout;
}

/**
 * Registers random (bits as int32, float32 uniform and normal), in the classic or the
 * partitionable layout. With B keys (2B words, a draw under vmap) the output is B equal blocks,
 * block r drawn with key r: one dispatch, the keys in a buffer.
 */
export function registerRandom(gpu: WebGPUBackend): void {
  gpu.kernels.set("random", (_i, _a, p: RandomParams, [o]) => {
    const t = wgslType(o.dtype, p.dist === "bits" ? "randomBits" : p.dist);
    const out = gpu.alloc(o);
    const b = p.key.length / 2, n = gpu.size(o.shape) / b;
    if (n === 0) return [gpu.wrap(out, o)];
    const many = b > 1;
    // block r's key and first element (one key: the uniforms' k0, k1 and 0)
    const head = many
      ? `let r = i / u.t;
  let c = i - r * u.t;
  let k0 = keys[2u * r]; let k1 = keys[2u * r + 1u]; let at = r * u.n;`
      : `let c = i; let k0 = u.k0; let k1 = u.k1; let at = 0u;`;
    const part = p.layout === "partitionable";
    let body: string, threads: number;
    if (part) {
      // word j is the xor of threefry(k, (0, j))'s outputs (sizes stay below 2³², the high counter 0)
      threads = n;
      const word = (j: string) => `pw(k0, k1, ${j})`;
      body = p.dist === "normal"
        ? `out[at + c] = sqrt(-2.0 * t_log(1.0 - unit(${word("c")}))) * t_cos2pi(unit(${word("u.n + c")}));`
        : `out[at + c] = ${p.dist === "bits" ? `bitcast<i32>(${word("c")})` : `unit(${word("c")})`};`;
    } else if (p.dist === "normal") {
      // pair j of 2n words gives u_j and u_{n+j}: z_j = √(−2 ln(1 − u_j)) · cos(2π u_{n+j})
      threads = n;
      body = `let w = threefry(k0, k1, c, u.n + c);
  out[at + c] = sqrt(-2.0 * t_log(1.0 - unit(w.x))) * t_cos2pi(unit(w.y));`;
    } else {
      // pair c of n words gives words c and M + c (M = ⌈n/2⌉)
      const conv = (w: string) => (p.dist === "bits" ? `bitcast<i32>(${w})` : `unit(${w})`);
      threads = Math.ceil(n / 2);
      body = `let m = u.m;
  let hi = m + c < u.n;
  let w = threefry(k0, k1, c, select(0u, m + c, hi));
  out[at + c] = ${conv("w.x")};
  if (hi) { out[at + m + c] = ${conv("w.y")}; }`;
    }
    const code = memoCode(
      `rnd|${p.dist}|${t}|${many}|${part}`,
      () =>
        `struct U { n: u32, m: u32, k0: u32, k1: u32, t: u32, all: u32 }
${many ? "@group(0) @binding(0) var<storage, read> keys: array<u32>;\n" : ""}@group(0) @binding(${
          many ? 1 : 0
        }) var<storage, read_write> out: array<${t}>;
@group(0) @binding(${many ? 2 : 1}) var<uniform> u: U;
${THREEFRY_WGSL}
${part ? "fn pw(k0: u32, k1: u32, j: u32) -> u32 { let w = threefry(k0, k1, 0u, j); return w.x ^ w.y; }" : ""}
${p.dist === "normal" ? mathLib(["t_log", "t_sinq"]) : ""}
${entry("u.all")}
  ${head}
  ${body}
}`,
    );
    const keys = many ? gpu.runtime.alloc(4 * p.key.length, true) : undefined;
    if (keys) gpu.runtime.upload(keys, Uint32Array.from(p.key, (v) => v >>> 0));
    gpu.runtime.dispatch({
      code,
      inputs: keys ? [keys] : [],
      output: out,
      uniforms: new Uniforms().u(n, Math.ceil(n / 2), many ? 0 : p.key[0], many ? 0 : p.key[1], threads, threads * b)
        .u32,
      groups: grid(Math.ceil((threads * b) / WG)),
    });
    if (keys) gpu.runtime.free(keys); // later work is handed it only after this dispatch (runtime.ts)
    return [gpu.wrap(out, o)];
  });
}
