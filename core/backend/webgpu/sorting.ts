/**
 * WebGPU kernels of the ordering primitives, written plainly (one thread per row or per element):
 * argReduce (first extreme, the first NaN wins), sort (each element's rank among its row, so the
 * stable order, NaN last ascending, costs n comparisons per element) and cumulative (a sequential
 * running sum or product per row). Same semantics as the CPU kernels in `cpu/sorting.ts`.
 * @module
 */
import type { Storage } from "../backend.ts";
import type { WebGPUBackend } from "./backend.ts";
import { grid, Uniforms } from "./runtime.ts";
import { entry, memoCode, WG, wgslType } from "./wgsl.ts";

function split(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

const HEAD = `struct U { n: u32, len: u32, inner: u32, flag: u32 }`;

/** Registers argReduce, sort and cumulative. */
export function registerSorting(gpu: WebGPUBackend): void {
  const k = gpu.kernels;
  k.set("argReduce", ([x], [xa], p: { op: "max" | "min"; axis: number }, [o]): Storage[] => {
    const [outer, n, inner] = split(xa.shape, p.axis);
    const t = wgslType(xa.dtype, `arg${p.op}`);
    const out = gpu.alloc(o);
    const rows = outer * inner;
    const code = memoCode(`argr|${t}|${p.op}`, () =>
      `${HEAD}
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<i32>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.n")}
  let b = i % u.inner; let a = i / u.inner;
  let base = a * u.len * u.inner + b;
  var best = src[base]; var at = 0u;
  if (best == best) {
    for (var j = 1u; j < u.len; j++) {
      let v = src[base + j * u.inner];
      if (v != v) { at = j; break; }
      if (v ${p.op === "max" ? ">" : "<"} best) { best = v; at = j; }
    }
  }
  dst[i] = i32(at);
}`);
    if (rows > 0) {
      gpu.runtime.dispatch({
        code,
        inputs: [gpu.buf(x)],
        output: out,
        uniforms: new Uniforms().u(rows, n, inner, 0).u32,
        groups: grid(Math.ceil(rows / WG)),
      });
    }
    return [gpu.wrap(out, o)];
  });

  k.set("sort", ([x], [xa], p: { axis: number; descending: boolean }, [vo, io]): Storage[] => {
    const [, n, inner] = split(xa.shape, p.axis);
    const t = wgslType(xa.dtype, "sort");
    const vals = gpu.alloc(vo), idx = gpu.alloc(io);
    const total = gpu.size(xa.shape);
    // j comes before i: smaller (larger when descending), NaN the largest, ties by position
    const lt = p.descending ? ">" : "<";
    const code = memoCode(`sort|${t}|${p.descending}`, () =>
      `${HEAD}
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> vals: array<${t}>;
@group(0) @binding(2) var<storage, read_write> idx: array<i32>;
@group(0) @binding(3) var<uniform> u: U;
fn before(a: ${t}, ja: u32, b: ${t}, jb: u32) -> bool {
  let na = a != a; let nb = b != b;
  if (na || nb) { return select(${p.descending ? "na" : "nb"}, ja < jb, na && nb); }
  return a ${lt} b || (a == b && ja < jb);
}
${entry("u.n")}
  let b = i % u.inner; let q = i / u.inner; let me = q % u.len; let a = q / u.len;
  let base = a * u.len * u.inner + b;
  let v = src[i];
  var rank = 0u;
  for (var j = 0u; j < u.len; j++) {
    if (before(src[base + j * u.inner], j, v, me)) { rank++; }
  }
  vals[base + rank * u.inner] = v;
  idx[base + rank * u.inner] = i32(me);
}`);
    if (total > 0) {
      gpu.runtime.dispatch({
        code,
        inputs: [gpu.buf(x)],
        output: vals,
        outputs: [idx],
        uniforms: new Uniforms().u(total, n, inner, 0).u32,
        groups: grid(Math.ceil(total / WG)),
      });
    }
    return [gpu.wrap(vals, vo), gpu.wrap(idx, io)];
  });

  k.set("cumulative", ([x], [xa], p: { op: "sum" | "prod"; axis: number; reverse: boolean }, [o]): Storage[] => {
    const [outer, n, inner] = split(xa.shape, p.axis);
    const t = wgslType(xa.dtype, `cum${p.op}`);
    const out = gpu.alloc(o);
    const rows = outer * inner;
    const code = memoCode(`cum|${t}|${p.op}`, () =>
      `${HEAD}
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t}>;
@group(0) @binding(2) var<uniform> u: U;
${entry("u.n")}
  let b = i % u.inner; let a = i / u.inner;
  let base = a * u.len * u.inner + b;
  var acc = ${t}(${p.op === "sum" ? 0 : 1});
  for (var k = 0u; k < u.len; k++) {
    let at = base + select(k, u.len - 1u - k, u.flag == 1u) * u.inner;
    acc = acc ${p.op === "sum" ? "+" : "*"} src[at];
    dst[at] = acc;
  }
}`);
    if (rows > 0 && n > 0) {
      gpu.runtime.dispatch({
        code,
        inputs: [gpu.buf(x)],
        output: out,
        uniforms: new Uniforms().u(rows, n, inner, p.reverse ? 1 : 0).u32,
        groups: grid(Math.ceil(rows / WG)),
      });
    }
    return [gpu.wrap(out, o)];
  });
}
