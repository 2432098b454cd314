/**
 * Creating tensors.
 * @module
 */
import { getBackend } from "../backend/backend.ts";
import { allocate, type DType, dtypeOfArray, type TypedArray } from "../dtype.ts";
import { DTypeError, fmtShape, ShapeError } from "../errors.ts";
import { bind1 } from "../primitive.ts";
import { fullP } from "../primitives.ts";
import { type NestedArray, Tensor } from "../tensor.ts";

/** Options for creation functions. */
export interface CreateOptions {
  /** Element type (float32 unless said otherwise). */
  dtype?: DType;
  /** Create on this tensor's backend instead of the default one (helper constants of an op). */
  like?: Tensor;
}

function checkShape(op: string, shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: shape ${fmtShape(shape)} must hold non-negative integers`);
    }
  }
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let a: NestedArray = data;
  while (Array.isArray(a)) {
    shape.push(a.length);
    a = a[0];
  }
  return shape;
}

/**
 * A tensor from a number, nested arrays or a typed array.
 * @param data the elements; nested arrays must be rectangular
 * @param opts `shape` (required to reshape a flat typed array or list) and `dtype` (default float32,
 *   or the typed array's own type)
 * @example
 * ```ts
 * import { tensor } from "../../mod.ts";
 * const x = tensor([[1, 2], [3, 4]], { dtype: "float64" });
 * ```
 */
export function tensor(
  data: NestedArray | TypedArray,
  opts: CreateOptions & { shape?: readonly number[] } = {},
): Tensor {
  let flat: ArrayLike<number>;
  let shape: readonly number[];
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    flat = data;
    shape = opts.shape ?? [data.length];
    dtype = opts.dtype ?? dtypeOfArray(data);
  } else {
    shape = inferShape(data);
    const out: number[] = [];
    const walk = (a: NestedArray, ax: number) => {
      if (ax === shape.length) {
        if (Array.isArray(a)) {
          throw new ShapeError(
            `tensor: nested arrays are ragged (expected shape ${fmtShape(shape)}); give every row the same length`,
          );
        }
        out.push(typeof a === "boolean" ? (a ? 1 : 0) : a);
        return;
      }
      if (!Array.isArray(a) || a.length !== shape[ax]) {
        throw new ShapeError(
          `tensor: nested arrays are ragged (expected shape ${fmtShape(shape)}); give every row the same length`,
        );
      }
      for (const v of a) walk(v, ax + 1);
    };
    walk(data, 0);
    flat = out;
    let first: NestedArray = data;
    while (Array.isArray(first)) first = first[0];
    dtype = opts.dtype ?? (typeof first === "boolean" ? "bool" : "float32");
    if (opts.shape) shape = opts.shape;
  }
  checkShape("tensor", shape);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== flat.length) {
    throw new ShapeError(
      `tensor: ${flat.length} elements do not fill shape ${fmtShape(shape)} (${n} elements); fix the shape or the data`,
    );
  }
  const arr = allocate(dtype, n);
  if (dtype === "int32") {
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(flat[i])) {
        throw new DTypeError(`tensor: ${flat[i]} is not an int32 value; round it or use a float dtype`);
      }
      arr[i] = flat[i];
    }
  } else if (dtype === "bool") {
    for (let i = 0; i < n; i++) arr[i] = flat[i] ? 1 : 0;
  } else {
    arr.set(flat);
  }
  const b = opts.like?.backend ?? getBackend();
  return new Tensor(b.fromHost(arr, { shape, dtype }), shape, dtype);
}

/** A tensor filled with `value` (on `like`'s backend when given). */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkShape("full", shape);
  const dtype = opts.dtype ?? "float32";
  if (dtype === "int32" && !Number.isInteger(value)) {
    throw new DTypeError(`full: ${value} is not an int32 value; round it or use a float dtype`);
  }
  const params = { shape: [...shape], value: dtype === "bool" ? Number(value !== 0) : value, dtype };
  if (opts.like && opts.like.backend !== getBackend()) {
    const k = opts.like.backend.kernels.get("full")!;
    return new Tensor(k([], [], params, [params])[0], shape, dtype);
  }
  return bind1(fullP, [], params);
}

/** Zeros. */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}
/** Ones. */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}
/** Zeros with `x`'s shape and dtype. */
export function zerosLike(x: Tensor): Tensor {
  return full(x.shape, 0, { dtype: x.dtype, like: x });
}
/** Ones with `x`'s shape and dtype. */
export function onesLike(x: Tensor): Tensor {
  return full(x.shape, 1, { dtype: x.dtype, like: x });
}

/** The n×m identity (ones on diagonal `k`). */
export function eye(n: number, opts: CreateOptions & { m?: number; k?: number } = {}): Tensor {
  const m = opts.m ?? n, k = opts.k ?? 0;
  const a = allocate(opts.dtype ?? "float32", n * m);
  for (let i = 0; i < n; i++) if (i + k >= 0 && i + k < m) a[i * m + i + k] = 1;
  return tensor(a, { shape: [n, m], like: opts.like });
}

/** `[start, start + step, ...)` up to `stop` (exclusive); `arange(n)` is `0..n−1`. */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new ShapeError("arange: step must not be 0");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? (Number.isInteger(start) && Number.isInteger(step) ? "int32" : "float32");
  const a = allocate(dtype, n);
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return tensor(a, { like: opts.like });
}

/** `num` evenly spaced values from `start` to `stop` inclusive. */
export function linspace(start: number, stop: number, num: number, opts: CreateOptions = {}): Tensor {
  const a = allocate(opts.dtype ?? "float32", num);
  for (let i = 0; i < num; i++) a[i] = num === 1 ? start : start + ((stop - start) * i) / (num - 1);
  return tensor(a, { like: opts.like });
}
