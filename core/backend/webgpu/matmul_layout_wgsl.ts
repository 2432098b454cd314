/**
 * What the WGSL matmul variants share: the operands' layout (transposes, vec4 alignment), the
 * bindings and dims uniform, and the index expressions of op(A) and op(B).
 * @module
 */

export interface Layout {
  transA: boolean;
  transB: boolean;
  alignA: boolean;
  alignB: boolean;
  alignC: boolean;
}

/** Shared declarations: bindings (vec4 arrays where aligned) and the dims uniform. */
export function header(L: Layout): string {
  const t = (aligned: boolean) => (aligned ? "vec4<f32>" : "f32");
  return `// tangent matmul: C = ${L.transA ? "A^T" : "A"} @ ${L.transB ? "B^T" : "B"}
struct Dims { m: u32, n: u32, k: u32, batch: u32, strideA: u32, strideB: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> A: array<${t(L.alignA)}>;
@group(0) @binding(1) var<storage, read> B: array<${t(L.alignB)}>;
@group(0) @binding(2) var<storage, read_write> C: array<${t(L.alignC)}>;
@group(0) @binding(3) var<uniform> dims: Dims;
`;
}

/** WGSL expression: flat element index of op(A)[row, kk] (row < m, kk < k) from batch base `base`. */
export function aIndex(L: Layout, row: string, kk: string): string {
  return L.transA ? `aBase + (${kk}) * M + (${row})` : `aBase + (${row}) * K + (${kk})`;
}
/** WGSL expression: flat element index of op(B)[kk, col]. */
export function bIndex(L: Layout, kk: string, col: string): string {
  return L.transB ? `bBase + (${col}) * K + (${kk})` : `bBase + (${kk}) * N + (${col})`;
}
/** Scalar element read of a possibly vec4-typed buffer. */
export function scalarRead(buf: "A" | "B", aligned: boolean, idx: string): string {
  return aligned ? `${buf}[(${idx}) >> 2u][(${idx}) & 3u]` : `${buf}[${idx}]`;
}
