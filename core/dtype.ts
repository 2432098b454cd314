/**
 * Element types and the one promotion rule.
 *
 * Promotion: `bool < int32 < float16 < float32 < float64`; a binary op computes in the larger of its
 * operands' dtypes (so do matmul, where's branches, and concat/stack of several tensors). Plain JavaScript numbers are weakly typed: they take the tensor operand's
 * dtype (an integer-valued number with an int32 tensor stays int32; a fractional one with an int32
 * or bool tensor promotes to float32), as in JAX. Arithmetic (add, sub, mul) on bool operands
 * counts in int32; div and pow compute integers and bools in float32.
 *
 * float16 is a storage type for frozen weights: stored in a `Float16Array` (2 bytes per element),
 * computed in float32 or float64 and rounded once to float16 (round to nearest even) when a float16
 * result is stored, as PyTorch does on the CPU. float16 beside float32 computes in float32.
 * @module
 */
import { DTypeError } from "./errors.ts";

/** The element type of a tensor. */
export type DType = "float16" | "float32" | "float64" | "int32" | "bool";

/**
 * `Float16Array`'s constructor and instance types where the TypeScript lib has them (ES2025, Deno);
 * `never` for a consumer compiling against an older lib, whose types then still check.
 */
export type Float16ArrayConstructorType = typeof globalThis extends { Float16Array: infer C } ? C : never;
/** An instance of `Float16Array` (see {@linkcode Float16ArrayConstructorType}). */
export type Float16ArrayType = Float16ArrayConstructorType extends { prototype: infer A } ? A : never;

/** A typed array holding a tensor's elements (bool is stored as one byte per element). */
export type TypedArray = Float16ArrayType | Float32Array | Float64Array | Int32Array | Uint8Array;

const RANK: Record<DType, number> = { bool: 0, int32: 1, float16: 2, float32: 3, float64: 4 };

/** All dtypes, in promotion order. */
export const DTYPES: readonly DType[] = ["bool", "int32", "float16", "float32", "float64"];

/**
 * `d` itself when it is one of the five dtypes; otherwise a DTypeError naming `op` (a dtype from
 * another library, "int64" or "bfloat16", would otherwise fail far from the call).
 */
export function checkDType(op: string, d: unknown): DType {
  if (typeof d === "string" && Object.hasOwn(RANK, d)) return d as DType;
  throw new DTypeError(
    `${op}: unknown dtype ${typeof d === "string" ? `"${d}"` : String(d)}; use one of ${DTYPES.join(", ")}`,
  );
}

/** True for float16, float32 and float64. */
export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64" || d === "float16";
}

/** The dtype two operands are promoted to. */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The dtype a plain number takes beside a tensor of dtype `d`. */
export function weakDType(d: DType, value: number): DType {
  if (isFloat(d)) return d;
  return Number.isInteger(value) ? (d === "bool" && value !== 0 && value !== 1 ? "int32" : d) : "float32";
}

/** Allocates a zeroed typed array for `n` elements of dtype `d`. */
export function allocate(d: DType, n: number): TypedArray {
  switch (d) {
    case "float16":
      return new (float16Array("allocate"))(n);
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int32":
      return new Int32Array(n);
    case "bool":
      return new Uint8Array(n);
  }
}

/** The dtype a typed array stores naturally. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (isFloat16Array(a)) return "float16";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof Int32Array) return "int32";
  return "bool";
}

/** Bytes per element. */
export function itemSize(d: DType): number {
  return d === "float64" ? 8 : d === "bool" ? 1 : d === "float16" ? 2 : 4;
}

/**
 * Whether `a` is a `Float16Array` (false, without a ReferenceError, where the runtime has none:
 * Node 20, older browsers).
 * @example
 * ```ts
 * import { isFloat16Array } from "./dtype.ts";
 * isFloat16Array(new Float32Array(2)); // false
 * ```
 */
export function isFloat16Array(a: unknown): a is Float16ArrayType {
  return typeof Float16Array !== "undefined" && a instanceof Float16Array;
}

/**
 * The `Float16Array` constructor, or a DTypeError naming `op` where the runtime lacks it (Deno 2.9
 * and recent Chrome and Firefox have it; Node 20 does not).
 * @example
 * ```ts
 * import { float16Array } from "./dtype.ts";
 * const h = float16Array("example").from([1, 0.1]); // [1, 0.0999755859375]
 * ```
 */
export function float16Array(op: string): Float16ArrayConstructorType {
  if (typeof Float16Array === "undefined") {
    throw new DTypeError(
      `${op}: this JavaScript runtime has no Float16Array, so float16 tensors cannot be stored; ` +
        `use float32 (astype(x, "float32"), or loadModel without dtype: "float16")`,
    );
  }
  return Float16Array;
}
