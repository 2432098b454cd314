/**
 * `expmSquarings` on WebGPU: the number of squarings s = max(0, ⌈log₂(‖A‖₁/θ₁₃)⌉) of `expm`
 * for the largest ‖A‖₁ of a batch, left on the device (the CPU path reads it back; here `expm`
 * masks a fixed number of squarings with it). One workgroup walks the batch; a non-finite entry,
 * or an s beyond the squarings the device path runs, is recorded in the failure log.
 * @module
 */
import type { Storage } from "../backend.ts";
import { DomainError, fmtShape } from "../../errors.ts";
import { expmNonFiniteError } from "../../linalg/failure.ts";
import type { WebGPUBackend } from "./backend.ts";
import { type FailureLog, STATUS } from "./linalg_status.ts";
import { header, scanBad } from "./linalg_wgsl.ts";
import { checkLoops, linalgTuning, loopEstimates } from "./linalg_tuning.ts";
import { Uniforms } from "./runtime.ts";
import { memoCode } from "./wgsl.ts";

/** ‖A‖₁ up to which the [13/13] Padé approximant needs no scaling (Higham 2005). */
const THETA13 = 5.371920351148152;
/** Status kind: more squarings than the device path runs. */
const TOO_LARGE = 7;

function code(wgs: number): string {
  return memoCode(`la-expm-s|${wgs}`, () =>
    `${
      header(wgs, [
        { name: "A", type: "f32" },
        { name: "SO", type: "f32", rw: true },
        { name: "ST", type: "u32", rw: true },
      ], ["n", "count", "smax", "theta"])
    }
${scanBad("A")}
@compute @workgroup_size(${wgs})
fn main(@builtin(local_invocation_index) t: u32) {
  let n = u.n; let nn = n * n; let theta = bitcast<f32>(u.theta);
  var best = 0.0;
  for (var b = 0u; b < u.count; b++) {
    let bad = firstBadA(t, b * nn, nn);
    var mx = 0.0;
    for (var c = t; c < n; c += WGS) {
      var s = 0.0;
      for (var r = 0u; r < n; r++) { s += abs(A[b * nn + r * n + c]); }
      mx = max(mx, s);
    }
    let norm = wmax(t, mx);
    let sb = select(0.0, ceil(log2(norm / theta)), norm > theta);
    var kind = 0u; var idx = 0u; var val = 0.0;
    if (bad != NONE) { kind = 1u; idx = bad; } else {
      best = max(best, norm);
      if (sb > f32(u.smax)) { kind = ${TOO_LARGE}u; val = norm; }
    }
    if (t == 0u) { ST[4u * b] = kind; ST[4u * b + 1u] = idx; ST[4u * b + 2u] = bitcast<u32>(val); ST[4u * b + 3u] = 0u; }
  }
  if (t == 0u) { SO[0] = select(0.0, ceil(log2(best / theta)), best > theta); }
}`);
}

/** Registers `expmSquarings`. */
export function registerExpm(gpu: WebGPUBackend, log: FailureLog): void {
  gpu.kernels.set("expmSquarings", ([x], [xa], p: { max: number }, [o]): Storage[] => {
    const n = xa.shape[xa.shape.length - 1];
    const cnt = xa.shape.slice(0, -2).reduce((a, b) => a * b, 1);
    checkLoops("expm", xa.shape, loopEstimates.expm(n, cnt));
    const out = gpu.alloc(o);
    const region = log.region(cnt);
    const wgs = Math.min(64, linalgTuning.maxGroup);
    gpu.runtime.dispatch({
      code: code(wgs),
      inputs: [gpu.buf(x)],
      output: out,
      outputs: [region],
      uniforms: new Uniforms().u(n, cnt, p.max).f(THETA13).u32,
      groups: [1, 1, 1],
    });
    log.fold(
      region,
      cnt,
      `expm|${xa.shape}`,
      (f) =>
        f.kind === STATUS.nonFinite ? expmNonFiniteError(xa.shape) : new DomainError(
          `expm: ‖A‖₁ = ${f.value.toPrecision(4)} of the input ${fmtShape(xa.shape)} needs more than the ${p.max} ` +
            `squarings expm runs on the webgpu backend without reading back (‖A‖₁ ≤ ${
              (THETA13 * 2 ** p.max).toPrecision(3)
            }); scale the input down or compute it on the cpu backend`,
        ),
    );
    return [gpu.wrap(out, o)];
  });
}
