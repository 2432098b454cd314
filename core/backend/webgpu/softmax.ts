/**
 * WebGPU kernels of `logSoftmax` and its VJP, with the semantics of the CPU kernels in
 * `cpu/softmax.ts`: a team of threads per row (up to a workgroup, ~16 elements a thread) walks a
 * strided part of the row, and trees in workgroup memory combine the team's maximum (a NaN wins)
 * and its sum; then each thread writes its elements.
 *
 *   y = z − log Σ eᶻ,  p = eʸ,  z = x − m,  m = max x (0 when the maximum is ±∞ or NaN)
 *   dx = g − p·Σg
 *
 * The rows holding NaN or ±∞ are written by explicit cases on the bits (NaN everywhere for a NaN or
 * an all −∞ row; NaN at +∞ and −∞ elsewhere for a row holding +∞), since WGSL lets a compiler assume
 * that no value is ∞ or NaN. Sums are float32 (the CPU's are float64). The threads of a team past
 * the last row skip the work rather than return early, as in the argReduce kernel.
 * @module
 */
import { axisSplit, type Storage } from "../backend.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid, Uniforms } from "./runtime.ts";
import { mathLib, memoCode, rowTeam, teamEntry, WG, wgslType } from "./wgsl.ts";

/** The shared head of both kernels: bindings (inputs, then outputs, then the uniforms) and helpers. */
function head(inputs: string[], outputs: string[]): string {
  const bind = (name: string, i: number, access: string) =>
    `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<f32>;`;
  return `struct U { rows: u32, n: u32, inner: u32, lgS: u32 }
${inputs.map((name, i) => bind(name, i, "read")).join("\n")}
${outputs.map((name, i) => bind(name, inputs.length + i, "read_write")).join("\n")}
@group(0) @binding(${inputs.length + outputs.length}) var<uniform> u: U;
var<workgroup> red: array<f32, ${WG}>;
${mathLib(["t_inf", "t_exp", "t_log"])}
fn fbits(v: f32) -> u32 { return bitcast<u32>(v) & 0x7fffffffu; }
fn is_nan(v: f32) -> bool { return fbits(v) > 0x7f800000u; }`;
}

/** WGSL: `red[li]` combined over each team by `op`, as a tree; the team's result is then `red[li − lane]`. */
const teamTree = (op: (a: string, b: string) => string) =>
  `workgroupBarrier();
  for (var s = S >> 1u; s > 0u; s >>= 1u) {
    if (lane < s) { red[li] = ${op("red[li]", "red[li + s]")}; }
    workgroupBarrier();
  }`;

/** WGSL of the forward kernel. */
function forwardCode(): string {
  return memoCode("logsoftmax", () =>
    `${head(["src"], ["dst", "prob"])}
// the maximum, a NaN preferred over any number
fn mx(a: f32, b: f32) -> f32 { return select(a, b, is_nan(b) || (!is_nan(a) && b > a)); }
${teamEntry()}
  let live = r < u.rows;
  let base = (r / u.inner) * u.n * u.inner + r % u.inner;
  var m = -t_inf();
  if (live) { for (var j = lane; j < u.n; j += S) { m = mx(m, src[base + j * u.inner]); } }
  red[li] = m;
  ${teamTree((x, y) => `mx(${x}, ${y})`)}
  let M = red[li - lane];
  workgroupBarrier();
  let mb = bitcast<u32>(M);
  let finite = fbits(M) < 0x7f800000u;
  let sh = select(0.0, M, finite);
  var acc = 0.0;
  if (live && finite) { for (var j = lane; j < u.n; j += S) { acc += t_exp(src[base + j * u.inner] - sh); } }
  red[li] = acc;
  ${teamTree((x, y) => `${x} + ${y}`)}
  let l = t_log(red[li - lane]);
  for (var j = lane; live && j < u.n; j += S) {
    let at = base + j * u.inner;
    let v = src[at];
    var y: f32;
    if (finite) {
      y = select((v - sh) - l, -t_inf(), bitcast<u32>(v) == 0xff800000u);
    } else if (mb == 0x7f800000u) {
      y = select(-t_inf(), t_nan(), bitcast<u32>(v) == 0x7f800000u); // +∞ in the row: ∞ − ∞ there, −∞ elsewhere
    } else {
      y = t_nan(); // a NaN, or every element −∞
    }
    dst[at] = y;
    prob[at] = select(t_exp(y), t_nan(), is_nan(y)); // eʸ; t_exp(−∞) is 0
  }
}`);
}

/** WGSL of the VJP kernel. */
function vjpCode(): string {
  return memoCode("logsoftmax-vjp", () =>
    `${head(["p", "g"], ["dst"])}
${teamEntry()}
  let live = r < u.rows;
  let base = (r / u.inner) * u.n * u.inner + r % u.inner;
  var acc = 0.0;
  if (live) { for (var j = lane; j < u.n; j += S) { acc += g[base + j * u.inner]; } }
  red[li] = acc;
  ${teamTree((x, y) => `${x} + ${y}`)}
  let sg = red[li - lane];
  for (var j = lane; live && j < u.n; j += S) {
    let at = base + j * u.inner;
    let pv = p[at];
    dst[at] = select(g[at] - pv * sg, t_nan(), is_nan(pv));
  }
}`);
}

/** Registers `logSoftmax` and `logSoftmaxVjp`. */
export function registerSoftmax(gpu: WebGPUBackend): void {
  const k = gpu.kernels;
  const run = (code: string, ins: Storage[], shape: readonly number[], axis: number, outs: Storage[]) => {
    const [outer, n, inner] = axisSplit(shape, axis);
    const rows = outer * inner, S = rowTeam(n);
    if (rows === 0 || n === 0) return;
    gpu.runtime.dispatch({
      code,
      inputs: ins.map((s) => gpu.buf(s)),
      output: gpu.buf(outs[0]),
      outputs: outs.slice(1).map((s) => gpu.buf(s)),
      uniforms: new Uniforms().u(rows, n, inner, Math.log2(S)).u32,
      groups: grid(Math.ceil(rows / (WG / S))),
    });
  };
  k.set("logSoftmax", ([x], [xa], p: { axis: number }, [o, po]): Storage[] => {
    wgslType(xa.dtype, "logSoftmax");
    const outs = [gpu.wrap(gpu.alloc(o), o), gpu.wrap(gpu.alloc(po), po)];
    run(forwardCode(), [x], xa.shape, p.axis, outs);
    return outs;
  });
  k.set("logSoftmaxVjp", ([prob, g], [pa], p: { axis: number }, [o]): Storage[] => {
    wgslType(pa.dtype, "logSoftmax");
    const out = gpu.wrap(gpu.alloc(o), o);
    run(vjpCode(), [prob, g], pa.shape, p.axis, [out]);
    return [out];
  });
}
