/**
 * A tiny WebAssembly bytecode emitter: just enough of the binary format (LEB128 integers, the type,
 * import, function, export and code sections, i32 control flow and 128-bit SIMD) to assemble the
 * GEMM kernels in `gemm_kernel.ts` without an external toolchain. Imported functions (the fused
 * kernels' `Math.*` calls) come first in the function index space: the module's own function `i`
 * is `call`ed as `imports.length + i`.
 * @module
 */

/** Value types of the binary format. */
export const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;

/** Unsigned LEB128 encoding of a non-negative integer. */
export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 encoding of a 32-bit integer. */
export function sleb(v: number): number[] {
  const out: number[] = [];
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** A length-prefixed UTF-8 name. */
function name(s: string): number[] {
  const b = new TextEncoder().encode(s);
  return [...uleb(b.length), ...b];
}

/** A vector: its length, then its items. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A section: its id, byte length, then contents. */
function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** Builder for a function body: each method appends one instruction and returns `this`. */
export class Code {
  /** Encoded instructions (without locals and the final `end`). */
  readonly bytes: number[] = [];
  /** Appends raw bytes. */
  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  /** `local.get i`. */
  get(i: number): this {
    return this.raw(0x20, ...uleb(i));
  }
  /** `local.set i`. */
  set(i: number): this {
    return this.raw(0x21, ...uleb(i));
  }
  /** `local.tee i`. */
  tee(i: number): this {
    return this.raw(0x22, ...uleb(i));
  }
  /** `i32.const v`. */
  i32(v: number): this {
    return this.raw(0x41, ...sleb(v));
  }
  /** `i32.add`. */
  add(): this {
    return this.raw(0x6a);
  }
  /** `i32.sub`. */
  sub(): this {
    return this.raw(0x6b);
  }
  /** `i32.mul`. */
  mul(): this {
    return this.raw(0x6c);
  }
  /** `i32.lt_u`. */
  ltU(): this {
    return this.raw(0x49);
  }
  /** `i32.ne`. */
  ne(): this {
    return this.raw(0x47);
  }
  /** `select` (untyped: picks the first operand when the condition is non-zero). */
  select(): this {
    return this.raw(0x1b);
  }
  /** `block` with no result. */
  block(): this {
    return this.raw(0x02, 0x40);
  }
  /** `loop` with no result. */
  loop(): this {
    return this.raw(0x03, 0x40);
  }
  /** `end` of a block or loop. */
  end(): this {
    return this.raw(0x0b);
  }
  /** `br depth`. */
  br(depth: number): this {
    return this.raw(0x0c, ...uleb(depth));
  }
  /** `br_if depth`. */
  brIf(depth: number): this {
    return this.raw(0x0d, ...uleb(depth));
  }
  /** `if`, with no result or a result of value type `type`. */
  if(type = 0x40): this {
    return this.raw(0x04, type);
  }
  /** `else`. */
  else(): this {
    return this.raw(0x05);
  }
  /** `i32.eq`. */
  eq(): this {
    return this.raw(0x46);
  }
  /** `i32.eqz`. */
  eqz(): this {
    return this.raw(0x45);
  }
  /** `i32.and`. */
  and(): this {
    return this.raw(0x71);
  }
  /** `i32.or`. */
  or(): this {
    return this.raw(0x72);
  }
  /** `f64.const v`. */
  f64(v: number): this {
    return this.raw(0x44, ...new Uint8Array(Float64Array.of(v).buffer));
  }
  /** Scalar memory access `op` (e.g. `I32_LOAD`) with alignment exponent `align` and byte `offset`. */
  mem(op: number, align: number, offset: number): this {
    return this.raw(op, ...uleb(align), ...uleb(offset));
  }
  /** A SIMD instruction (`0xfd` prefix, LEB128 opcode), then immediates. */
  simd(op: number, ...imm: number[]): this {
    return this.raw(0xfd, ...uleb(op), ...imm);
  }
  /** SIMD memory access `op` with alignment exponent `align` and constant byte `offset`. */
  simdMem(op: number, align: number, offset: number): this {
    return this.simd(op, ...uleb(align), ...uleb(offset));
  }
}

/** Scalar load/store opcodes (bit-exact moves of 32- and 64-bit elements). */
export const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_STORE = 0x36, I64_STORE = 0x37;
/** float64 load and store opcodes. */
export const F64_LOAD = 0x2b, F64_STORE = 0x39;

/** SIMD opcodes used by the kernels. */
export const SIMD = {
  load: 0x00,
  load32Splat: 0x09,
  load64Splat: 0x0a,
  store: 0x0b,
  f32x4Eq: 0x41,
  f32x4Ne: 0x42,
  f32x4Lt: 0x43,
  f32x4Gt: 0x44,
  f32x4Le: 0x45,
  f32x4Ge: 0x46,
  load32Zero: 0x5c,
  i8x16Splat: 0x0f,
  i8x16NarrowI16x8S: 0x65,
  i16x8NarrowI32x4S: 0x85,
  i16x8ExtendLowI8x16U: 0x89,
  i32x4ExtendLowI16x8U: 0xa9,
  i32x4Ne: 0x38,
  v128And: 0x4e,
  v128Or: 0x50,
  v128Bitselect: 0x52,
  f32x4Abs: 0xe0,
  f32x4Neg: 0xe1,
  f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4,
  f32x4Sub: 0xe5,
  f32x4Mul: 0xe6,
  f32x4Div: 0xe7,
  f64x2Splat: 0x14,
  f64x2ExtractLane: 0x21,
  v128Xor: 0x51,
  f64x2Add: 0xf0,
  f64x2Sub: 0xf1,
  f64x2Mul: 0xf2,
  f32x4RelaxedMadd: 0x105,
  f64x2RelaxedMadd: 0x107,
} as const;

/** One exported function: its parameter and local types and its body. */
export interface FuncDef {
  /** Export name. */
  name: string;
  /** Parameter types. */
  params: number[];
  /** Result types (none when absent). */
  results?: number[];
  /** Types of the extra locals (indices follow the parameters). */
  locals: number[];
  /** Body. */
  code: Code;
}

/** Memory import `env.memory`: initial pages, optional maximum, shared or not. */
export interface MemoryDef {
  /** Initial size in 64 KiB pages. */
  initial: number;
  /** Maximum size in pages (required when shared). */
  maximum?: number;
  /** Shared memory (for threads). */
  shared?: boolean;
}

/** An imported function `module.name` with its signature. */
export interface ImportDef {
  /** Import module name (e.g. `math`). */
  module: string;
  /** Field name (e.g. `sin`). */
  name: string;
  /** Parameter types. */
  params: number[];
  /** Result types. */
  results: number[];
}

/**
 * Assembles a module importing `env.memory` (and the functions `imports`, indices 0…k−1) and
 * exporting the given functions (indices k…).
 */
export function assemble(memory: MemoryDef, funcs: FuncDef[], imports: ImportDef[] = []): Uint8Array<ArrayBuffer> {
  const sig = (p: number[], r: number[]) => [0x60, ...vec(p.map((t) => [t])), ...vec(r.map((t) => [t]))];
  const types = [...funcs.map((f) => sig(f.params, f.results ?? [])), ...imports.map((f) => sig(f.params, f.results))];
  const limits = memory.maximum === undefined
    ? [0x00, ...uleb(memory.initial)]
    : [memory.shared ? 0x03 : 0x01, ...uleb(memory.initial), ...uleb(memory.maximum)];
  const imported = vec([
    [...name("env"), ...name("memory"), 0x02, ...limits],
    ...imports.map((f, i) => [...name(f.module), ...name(f.name), 0x00, ...uleb(funcs.length + i)]),
  ]);
  const k = imports.length;
  const fnSection = vec(funcs.map((_, i) => uleb(i)));
  const exports = vec(funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(k + i)]));
  const bodies = funcs.map((f) => {
    // locals: run-length groups of equal types
    const groups: number[][] = [];
    for (const t of f.locals) {
      const g = groups[groups.length - 1];
      if (g && g[1] === t) g[0]++;
      else groups.push([1, t]);
    }
    const body = [...vec(groups.map(([n, t]) => [...uleb(n), t])), ...f.code.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, imported),
    ...section(3, fnSection),
    ...section(7, exports),
    ...section(10, vec(bodies)),
  ]);
}
