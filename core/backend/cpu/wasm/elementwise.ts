/**
 * WebAssembly SIMD kernels for float32 elementwise arithmetic (add, sub, mul, div, max, min) on
 * the CPU backend, generated with the emitter of `emit.ts`, on the memory where CPU tensors live
 * (`heap.ts`): when the operands and the result are in it, a kernel runs over them in place (196,608
 * elements: 0.03 ms); otherwise operands are copied into scratch in L2-sized chunks and the result
 * copied out (0.09 ms; the compiled JavaScript loop: 0.17 ms).
 *
 * Results are bit-identical to the JavaScript loops: IEEE float32 `+ − × ÷` are correctly rounded,
 * as is float64 arithmetic rounded to float32 (53 ≥ 2·24 + 2 bits); max and min select with the
 * loops' rule `x > y || x ≠ x ? x : y` (NaN from either side propagates, ties keep the second).
 *
 * Unary kernels: neg, abs and sqrt in f32x4 (exact: the sign bit; sqrt correctly rounded, as
 * `Math.sqrt` rounded to float32 is). exp and tanh were tried two lanes at a time in f64x2 with the
 * operations of `fastmath.ts` (table-free, degree-9 polynomial, bit-identical): 0.78 and 1.03 ms on
 * 196,608 elements against 0.74 and 1.14 ms for the table-driven JavaScript forms, so they stay in
 * JavaScript.
 *
 * A binary kernel walks `rows` rows of `cols` outputs (a multiple of 4); each operand is either a vector
 * along the row (16 bytes per 4 outputs) or one scalar per row (splat), with its own byte stride
 * from row to row (0 repeats the row). That covers, after coalescing, same-shape operands, scalars,
 * a row vector broadcast down a matrix and a column broadcast across it.
 * @module
 */
import { assemble, Code, type FuncDef, I32, SIMD, V128 } from "./emit.ts";
import { getHeap, heapAddress, scratch } from "./heap.ts";
import { COMPARE_OPS, compareFunction, SELECT_LAYOUTS, type SimdCompareOp, whereFunction } from "./select_kernel.ts";

export type { SimdCompareOp } from "./select_kernel.ts";

/** The operations with SIMD kernels. */
export type SimdArithOp = "add" | "sub" | "mul" | "div" | "max" | "min";

const OPS: readonly SimdArithOp[] = ["add", "sub", "mul", "div", "max", "min"];
/** Operand layouts: each operand a vector along the row (v) or a per-row scalar (s). */
const LAYOUTS = ["vv", "vs", "sv"] as const;

/** Outputs per chunk: three operands of this many float32 stay within a 1 MiB L2 cache. */
const CHUNK = 32768;

/** Pushes `op(x, y)` for the v128 locals x and y. */
function emitOp(c: Code, op: SimdArithOp, x: number, y: number): void {
  switch (op) {
    case "add":
      c.get(x).get(y).simd(SIMD.f32x4Add);
      return;
    case "sub":
      c.get(x).get(y).simd(SIMD.f32x4Sub);
      return;
    case "mul":
      c.get(x).get(y).simd(SIMD.f32x4Mul);
      return;
    case "div":
      c.get(x).get(y).simd(SIMD.f32x4Div);
      return;
    case "max":
    case "min":
      // bitselect(x, y, (x > y or x < y) | x ≠ x)
      c.get(x).get(y);
      c.get(x).get(y).simd(op === "max" ? SIMD.f32x4Gt : SIMD.f32x4Lt);
      c.get(x).get(x).simd(SIMD.f32x4Ne).simd(SIMD.v128Or);
      c.simd(SIMD.v128Bitselect);
      return;
  }
}

/** `name(a, aRow, b, bRow, o, rows, colBytes)`: the kernel of one operation and operand layout. */
function kernel(op: SimdArithOp, layout: (typeof LAYOUTS)[number]): FuncDef {
  const A = 0, AROW = 1, B = 2, BROW = 3, O = 4, ROWS = 5, COLB = 6, J = 7, VA = 8, VB = 9;
  const aVec = layout[0] === "v", bVec = layout[1] === "v";
  const c = new Code();
  c.loop(); // rows
  {
    if (!aVec) c.get(A).simdMem(SIMD.load32Splat, 2, 0).set(VA);
    if (!bVec) c.get(B).simdMem(SIMD.load32Splat, 2, 0).set(VB);
    c.i32(0).set(J);
    c.loop(); // 4 outputs per step
    {
      if (aVec) c.get(A).get(J).add().simdMem(SIMD.load, 0, 0).set(VA);
      if (bVec) c.get(B).get(J).add().simdMem(SIMD.load, 0, 0).set(VB);
      c.get(O).get(J).add();
      emitOp(c, op, VA, VB);
      c.simdMem(SIMD.store, 0, 0);
      c.get(J).i32(16).add().tee(J).get(COLB).ltU().brIf(0);
    }
    c.end();
    c.get(A).get(AROW).add().set(A);
    c.get(B).get(BROW).add().set(B);
    c.get(O).get(COLB).add().set(O);
    c.get(ROWS).i32(1).sub().tee(ROWS).brIf(0);
  }
  c.end();
  return { name: `${op}_${layout}`, params: Array(7).fill(I32), locals: [I32, V128, V128], code: c };
}

/** Unary operations with SIMD kernels (float32 in and out). */
export type SimdUnaryOp = "neg" | "abs" | "sqrt";
const UNARY_OPS: readonly SimdUnaryOp[] = ["neg", "abs", "sqrt"];
const UNARY_CODE: Record<SimdUnaryOp, number> = { neg: SIMD.f32x4Neg, abs: SIMD.f32x4Abs, sqrt: SIMD.f32x4Sqrt };

/** `name(a, o, bytes)`: `o[i] = op(a[i])` over `bytes` (a multiple of 16). */
function unaryKernelFn(op: SimdUnaryOp): FuncDef {
  const A = 0, O = 1, NB = 2, J = 3;
  const c = new Code();
  c.i32(0).set(J);
  c.loop();
  {
    c.get(O).get(J).add();
    c.get(A).get(J).add().simdMem(SIMD.load, 0, 0).simd(UNARY_CODE[op]);
    c.simdMem(SIMD.store, 0, 0);
    c.get(J).i32(16).add().tee(J).get(NB).ltU().brIf(0);
  }
  c.end();
  return { name: `u_${op}`, params: [I32, I32, I32], locals: [I32], code: c };
}

type Fn = (a: number, aRow: number, b: number, bRow: number, o: number, rows: number, colBytes: number) => void;

interface Engine {
  memory: WebAssembly.Memory;
  // deno-lint-ignore ban-types
  fns: Map<string, Function>;
  view: Float32Array;
}

let engine: Engine | null | undefined;

/** Instantiates the module on the heap's memory on first use; `null` (cached) where WebAssembly SIMD is unavailable. */
function getEngine(): Engine | null {
  if (engine !== undefined) return engine;
  engine = null;
  const heap = getHeap();
  if (!heap) return null;
  try {
    const funcs = [
      ...OPS.flatMap((op) => LAYOUTS.map((l) => kernel(op, l))),
      ...UNARY_OPS.map(unaryKernelFn),
      ...COMPARE_OPS.flatMap((op) => LAYOUTS.map((l) => compareFunction(op, l))),
      ...SELECT_LAYOUTS.map(whereFunction),
    ];
    const module = new WebAssembly.Module(assemble(heap.def, funcs));
    const ex = new WebAssembly.Instance(module, { env: { memory: heap.memory } }).exports;
    // deno-lint-ignore ban-types
    const fns = new Map(funcs.map((f) => [f.name, ex[f.name] as unknown as Function]));
    engine = { memory: heap.memory, fns, view: new Float32Array(heap.memory.buffer) };
  } catch {
    // no SIMD: the JavaScript loops do everything
  }
  return engine;
}

/** Whether the SIMD kernels are available (compiled on first call). */
export function simdAvailable(): boolean {
  return getEngine() !== null;
}

/** A scratch region of `bytes` (refreshing the view if the memory grew); −1 when it cannot be had. */
function scratchAt(e: Engine, bytes: number): number {
  const at = scratch("elementwise", bytes);
  if (e.view.buffer !== e.memory.buffer) e.view = new Float32Array(e.memory.buffer);
  return at;
}

/** Byte address of `data` in the memory: where it lives, or a copy in scratch `slot`; −1 when neither. */
function placed(e: Engine, data: Float32Array | Uint8Array, slot: string): number {
  const at = heapAddress(data);
  if (at >= 0) return at;
  const to = scratch(slot, data.byteLength + 16);
  if (to < 0) return -1;
  if (e.view.buffer !== e.memory.buffer) e.view = new Float32Array(e.memory.buffer);
  new Uint8Array(e.memory.buffer, to, data.byteLength).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  return to;
}

/**
 * `out[i] = a op b ? 1 : 0` over contiguous float32 operands, each a vector (`vec`) or one scalar,
 * into bool bytes; false (out untouched) without WebAssembly SIMD or when `out` is not in the memory.
 */
export function simdCompare32(
  op: SimdCompareOp,
  a: Float32Array,
  aVec: boolean,
  b: Float32Array,
  bVec: boolean,
  out: Uint8Array,
): boolean {
  const e = getEngine();
  const oAt = heapAddress(out);
  if (!e || oAt < 0 || !(aVec || bVec)) return false;
  const aAt = placed(e, a, "elementwise-a"), bAt = placed(e, b, "elementwise-b");
  if (aAt < 0 || bAt < 0) return false;
  const n = out.length, n16 = n >> 4;
  (e.fns.get(`cmp_${op}_${aVec ? "v" : "s"}${bVec ? "v" : "s"}`) as (...x: number[]) => void)(aAt, bAt, oAt, n16);
  for (let i = 16 * n16; i < n; i++) {
    const x = a[aVec ? i : 0], y = b[bVec ? i : 0];
    out[i] = (op === "eq"
        ? x === y
        : op === "ne"
        ? x !== y
        : op === "lt"
        ? x < y
        : op === "le"
        ? x <= y
        : op === "gt"
        ? x > y
        : x >= y)
      ? 1
      : 0;
  }
  return true;
}

/**
 * `out[i] = cond[i] ≠ 0 ? a : b` over contiguous float32 (bits selected exactly), `cond` bool bytes,
 * `a` and `b` each a vector or one scalar; false (out untouched) without WebAssembly SIMD or when
 * `out` is not in the memory.
 */
export function simdWhere32(
  cond: Uint8Array,
  a: Float32Array,
  aVec: boolean,
  b: Float32Array,
  bVec: boolean,
  out: Float32Array,
): boolean {
  const e = getEngine();
  const oAt = heapAddress(out);
  if (!e || oAt < 0) return false;
  const cAt = placed(e, cond, "elementwise-c"),
    aAt = placed(e, a, "elementwise-a"),
    bAt = placed(e, b, "elementwise-b");
  if (cAt < 0 || aAt < 0 || bAt < 0) return false;
  const n = out.length, n4 = n >> 2;
  (e.fns.get(`where_${aVec ? "v" : "s"}${bVec ? "v" : "s"}`) as (...x: number[]) => void)(cAt, aAt, bAt, oAt, n4);
  const ai = new Int32Array(a.buffer, a.byteOffset, a.length), bi = new Int32Array(b.buffer, b.byteOffset, b.length);
  const oi = new Int32Array(out.buffer, out.byteOffset, n);
  for (let i = 4 * n4; i < n; i++) oi[i] = cond[i] !== 0 ? ai[aVec ? i : 0] : bi[bVec ? i : 0];
  return true;
}

/** `op(x, y)` in float32, as the SIMD kernels compute it (for the few outputs past the last whole vector). */
function scalarOp(op: SimdArithOp, x: number, y: number): number {
  switch (op) {
    case "add":
      return x + y;
    case "sub":
      return x - y;
    case "mul":
      return x * y;
    case "div":
      return x / y;
    case "max":
      return x > y || x !== x ? x : y;
    case "min":
      return x < y || x !== x ? x : y;
  }
}

/**
 * One operand of a row-structured map: `vec` (one element per output along the row) or a per-row
 * scalar, and `rowStride` in elements from one row to the next (0 repeats).
 */
export interface SimdOperand {
  /** The elements (read from index 0 of the first row). */
  data: Float32Array;
  /** One element per output along the row (else one per row, splat across it). */
  vec: boolean;
  /** Elements from one row's start to the next (0: every row reads the same). */
  rowStride: number;
}

const align16 = (x: number) => (x + 15) & ~15;

/**
 * `out[r·cols + j] = op(a(r, j), b(r, j))` for `rows × cols` outputs, where an operand reads
 * `data[r·rowStride + j]` (vec) or `data[r·rowStride]`. Returns false (out untouched) when
 * WebAssembly SIMD is unavailable, when neither operand is a vector, or for several rows of fewer
 * than 256 outputs that are not a multiple of 4.
 */
export function simdBinary32(
  op: SimdArithOp,
  a: SimdOperand,
  b: SimdOperand,
  out: Float32Array,
  rows: number,
  cols: number,
): boolean {
  const e = getEngine();
  if (!e || !(a.vec || b.vec)) return false;
  if (rows > 1 && cols % 4 !== 0) {
    // rows that do not fill whole vectors: one padded row at a time (long rows only)
    if (cols < 256) return false;
    const row = (o: SimdOperand, r: number): SimdOperand => ({
      data: o.rowStride === 0 ? o.data : o.data.subarray(r * o.rowStride),
      vec: o.vec,
      rowStride: 0,
    });
    for (let r = 0; r < rows; r++) {
      simdBinary32(op, row(a, r), row(b, r), out.subarray(r * cols, (r + 1) * cols), 1, cols);
    }
    return true;
  }
  const fn = e.fns.get(`${op}_${a.vec ? "v" : "s"}${b.vec ? "v" : "s"}`) as Fn;
  const oAt = heapAddress(out);
  // a result in the memory: operands elsewhere (a scalar, a bias, an input made outside any scope)
  // are copied in whole first (one copy instead of the chunked path's three)
  const aAt = oAt < 0 ? -1 : placed(e, a.data, "elementwise-a");
  const bAt = oAt < 0 ? -1 : placed(e, b.data, "elementwise-b");
  if (oAt >= 0 && aAt >= 0 && bAt >= 0) {
    // in place: whole vectors in Wasm, the last cols mod 4 outputs of a single row in JS
    const whole = rows === 1 ? cols & ~3 : cols;
    if (whole > 0) fn(aAt, 4 * a.rowStride, bAt, 4 * b.rowStride, oAt, rows, 4 * whole);
    for (let j = whole; j < cols; j++) out[j] = scalarOp(op, a.data[a.vec ? j : 0], b.data[b.vec ? j : 0]);
    return true;
  }
  // rows of one chunk; a single long row is cut into chunks of whole vectors
  const rowsPer = rows === 1 ? 1 : Math.max(1, Math.floor(CHUNK / cols));
  const colsPer = rows === 1 ? Math.min(cols, CHUNK) : cols;
  const span = (o: SimdOperand, nr: number, nc: number) =>
    o.rowStride === 0 ? (o.vec ? nc : 1) : (nr - 1) * o.rowStride + (o.vec ? nc : 1);
  const padded = (colsPer + 3) & ~3;
  const bytesA = align16(4 * (span(a, rowsPer, padded) + 3)), bytesB = align16(4 * (span(b, rowsPer, padded) + 3));
  const base = scratchAt(e, bytesA + bytesB + rowsPer * padded * 4 + 16);
  if (base < 0) return false;
  const pa = base, pb = base + bytesA, po = base + bytesA + bytesB;
  const v = e.view;
  const load = (o: SimdOperand, at: number, r0: number, nr: number, c0: number, nc: number) => {
    const start = r0 * o.rowStride + (o.vec ? c0 : 0);
    v.set(o.data.subarray(start, start + span(o, nr, nc)), at / 4);
  };
  for (let r0 = 0; r0 < rows; r0 += rowsPer) {
    const nr = Math.min(rowsPer, rows - r0);
    for (let c0 = 0; c0 < cols; c0 += colsPer) {
      const nc = Math.min(colsPer, cols - c0), ncp = (nc + 3) & ~3;
      load(a, pa, r0, nr, c0, nc);
      load(b, pb, r0, nr, c0, nc);
      fn(pa, 4 * a.rowStride, pb, 4 * b.rowStride, po, nr, 4 * ncp);
      const dst = r0 * cols + c0;
      if (ncp === nc) out.set(v.subarray(po / 4, po / 4 + nr * nc), dst);
      else out.set(v.subarray(po / 4, po / 4 + nc), dst); // (a single row: nr = 1)
    }
  }
  return true;
}

type UnaryFn = (a: number, o: number, bytes: number) => void;

/** `out[i] = op(a[i])` over contiguous float32 arrays; false (out untouched) without WebAssembly SIMD. */
export function simdUnary32(op: SimdUnaryOp, a: Float32Array, out: Float32Array): boolean {
  const e = getEngine();
  if (!e) return false;
  const fn = e.fns.get(`u_${op}`) as UnaryFn;
  const n = a.length, oAt = heapAddress(out), aAt = oAt < 0 ? -1 : placed(e, a, "elementwise-a");
  if (aAt >= 0 && oAt >= 0) {
    // in place: whole vectors in Wasm, the last n mod 4 in JS
    const whole = n & ~3;
    if (whole > 0) fn(aAt, oAt, 4 * whole);
    for (let i = whole; i < n; i++) out[i] = op === "neg" ? -a[i] : op === "abs" ? Math.abs(a[i]) : Math.sqrt(a[i]);
    return true;
  }
  const per = Math.min(n, 2 * CHUNK);
  const bytes = align16(4 * per);
  const base = scratchAt(e, 2 * bytes);
  if (base < 0) return false;
  const v = e.view;
  for (let i0 = 0; i0 < n; i0 += per) {
    const m = Math.min(per, n - i0);
    v.set(a.subarray(i0, i0 + m), base / 4);
    fn(base, base + bytes, align16(4 * m));
    out.set(v.subarray((base + bytes) / 4, (base + bytes) / 4 + m), i0);
  }
  return true;
}
