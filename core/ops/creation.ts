/**
 * Creating tensors.
 * @module
 */
import { getBackend } from "../backend/backend.ts";
import { allocate, checkDType, type DType, dtypeOfArray, isFloat16Array, type TypedArray } from "../dtype.ts";
import { BackendError, DomainError, DTypeError, fmtShape, ShapeError } from "../errors.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { bind1 } from "../primitive.ts";
import { fullP } from "../primitives.ts";
import { checkTensor, type NestedArray, Tensor } from "../tensor.ts";

/** Options for creation functions. */
export interface CreateOptions {
  /** Element type (float32 unless said otherwise). */
  dtype?: DType;
  /** Create on this tensor's backend instead of the default one (helper constants of an op). */
  like?: Tensor;
}

const CREATE_KEYS = optionKeys<CreateOptions>({ dtype: true, like: true });
const TENSOR_KEYS = [...CREATE_KEYS, "shape"], EYE_KEYS = [...CREATE_KEYS, "m", "k"];

function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape)) {
    throw new ShapeError(`${op}: shape ${String(shape)} is not an array; give extents as a list, e.g. [2, 3]`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: shape ${fmtShape(shape)} must hold non-negative integers`);
    }
  }
}

/** Throws unless `v` fits the dtype: int32 values are integers in range (no silent wrap-around). */
function checkValue(op: string, v: number, dtype: DType): void {
  if (dtype !== "int32") return;
  if (!Number.isInteger(v)) throw new DTypeError(`${op}: ${v} is not an int32 value; round it or use a float dtype`);
  if (v < -2147483648 || v > 2147483647) {
    throw new DomainError(
      `${op}: ${v} is outside int32's range [-2147483648, 2147483647]; use a float dtype or a smaller value`,
    );
  }
}

/** A host array of `n` elements, or a BackendError naming `op` when it cannot be allocated. */
function hostArray(op: string, dtype: DType, n: number, shape: readonly number[]): TypedArray {
  try {
    return allocate(dtype, n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new BackendError(
      `${op}: cannot allocate ${fmtShape(shape)} ${dtype} on the host (${e.message}); use a smaller shape`,
    );
  }
}

/** What a typed array passed to `tensor` may be: the arrays the four dtypes are stored in. */
function checkTypedArray(data: ArrayBufferView): void {
  if (
    data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array ||
    data instanceof Uint8Array || isFloat16Array(data)
  ) return;
  throw new DTypeError(
    `tensor: a ${data.constructor.name} is not supported; pass a Float16Array, Float32Array, Float64Array, Int32Array or ` +
      `Uint8Array (bool), or convert it (Float32Array.from(data))`,
  );
}

/** The name of a value that is not a tensor element, for error messages. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === "string") return `"${v}" (a string)`;
  return `${String(v)} (${Array.isArray(v) ? "an array" : `a ${typeof v}`})`;
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
 * import { tensor } from "@tangent/tangent";
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
  checkOptions("tensor", opts, TENSOR_KEYS, '{ dtype: "float64" }');
  if (opts.dtype !== undefined) checkDType("tensor", opts.dtype);
  if (ArrayBuffer.isView(data)) {
    checkTypedArray(data);
    flat = data;
    shape = opts.shape ?? [data.length];
    dtype = opts.dtype ?? dtypeOfArray(data);
  } else {
    if (typeof data !== "number" && typeof data !== "boolean" && !Array.isArray(data)) {
      throw new DTypeError(`tensor: data is ${describe(data)}; pass a number, nested arrays or a typed array`);
    }
    shape = inferShape(data);
    const out: number[] = [];
    const walk = (a: NestedArray, ax: number) => {
      if (ax === shape.length) {
        if (Array.isArray(a)) {
          throw new ShapeError(
            `tensor: nested arrays are ragged (expected shape ${fmtShape(shape)}); give every row the same length`,
          );
        }
        if (typeof a !== "number" && typeof a !== "boolean") {
          throw new DTypeError(
            `tensor: element ${out.length} is ${describe(a)}; elements must be numbers or booleans`,
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
  const arr = hostArray("tensor", dtype, n, shape);
  if (dtype === "int32") {
    for (let i = 0; i < n; i++) {
      checkValue("tensor", flat[i], dtype);
      arr[i] = flat[i];
    }
  } else if (dtype === "bool") {
    for (let i = 0; i < n; i++) arr[i] = flat[i] !== 0 ? 1 : 0; // NaN is true, as in NumPy
  } else {
    arr.set(flat);
  }
  const b = opts.like?.backend ?? getBackend();
  return new Tensor(b.fromHost(arr, { shape, dtype }), shape, dtype);
}

/** A tensor filled with `value` (on `like`'s backend when given). */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  return fill("full", shape, value, opts);
}

function fill(op: string, shape: readonly number[], value: number | boolean, opts: CreateOptions): Tensor {
  checkShape(op, shape);
  checkOptions(op, opts, CREATE_KEYS, '{ dtype: "float64" }');
  const dtype = checkDType(op, opts.dtype ?? "float32");
  if (typeof value !== "number" && typeof value !== "boolean") {
    throw new DTypeError(`${op}: the value is ${describe(value)}; give a number`);
  }
  const v = Number(value);
  checkValue(op, v, dtype);
  const params = { shape: [...shape], value: dtype === "bool" ? Number(v !== 0) : v, dtype };
  if (opts.like && opts.like.backend !== getBackend()) {
    const k = opts.like.backend.kernels.get("full")!;
    return new Tensor(k([], [], params, [params])[0], shape, dtype);
  }
  return bind1(fullP, [], params, op);
}

/** Zeros. */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return fill("zeros", shape, 0, opts);
}
/** Ones. */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return fill("ones", shape, 1, opts);
}
/** Zeros with `x`'s shape and dtype. */
export function zerosLike(x: Tensor): Tensor {
  checkTensor("zerosLike", x);
  return full(x.shape, 0, { dtype: x.dtype, like: x });
}
/** Ones with `x`'s shape and dtype. */
export function onesLike(x: Tensor): Tensor {
  checkTensor("onesLike", x);
  return full(x.shape, 1, { dtype: x.dtype, like: x });
}

/** The n×m identity (ones on diagonal `k`). */
export function eye(n: number, opts: CreateOptions & { m?: number; k?: number } = {}): Tensor {
  checkOptions("eye", opts, EYE_KEYS, "{ m: 3 }");
  const m = opts.m ?? n, k = opts.k ?? 0;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 0 || m < 0 || !Number.isInteger(k)) {
    throw new ShapeError(`eye: n = ${n}, m = ${m} must be non-negative integers and k = ${k} an integer`);
  }
  const a = hostArray("eye", checkDType("eye", opts.dtype ?? "float32"), n * m, [n, m]);
  for (let i = Math.max(0, -k), end = Math.min(n, m - k); i < end; i++) a[i * m + i + k] = 1; // the diagonal only
  return tensor(a, { shape: [n, m], like: opts.like });
}

/**
 * `[start, start + step, ...)` up to `stop` (exclusive); `arange(n)` is `0..n−1`. int32 when start
 * and step are integers, else float32, unless `dtype` says otherwise; the options may follow any of
 * the numbers, as `jnp.arange(n, dtype=...)`: `arange(4, { dtype: "float64" })`, `arange(1, 4, opts)`.
 * @example
 * ```ts
 * import { arange } from "@tangent/tangent";
 * arange(4); // int32 [0, 1, 2, 3]
 * arange(4, { dtype: "float64" }); // float64 [0, 1, 2, 3]
 * arange(0, 1, 0.25); // float32 [0, 0.25, 0.5, 0.75]
 * ```
 */
export function arange(stop: number, opts?: CreateOptions): Tensor;
/** `[start, stop)` in steps of 1. */
export function arange(start: number, stop: number, opts?: CreateOptions): Tensor;
/** `[start, stop)` in steps of `step` (`stop` undefined: `[0, start)`). */
export function arange(start: number, stop?: number, step?: number, opts?: CreateOptions): Tensor;
export function arange(
  start: number,
  stop?: number | CreateOptions,
  step: number | CreateOptions = 1,
  opts: CreateOptions = {},
): Tensor {
  // the options object may come right after the last number given (JAX's arange(n, dtype=...))
  const isOpts = (v: unknown): v is CreateOptions => v !== null && typeof v === "object";
  if (isOpts(stop) || isOpts(step)) {
    if (arguments.length > (isOpts(stop) ? 2 : 3)) {
      throw new DomainError(
        `arange: the options come last; got more arguments after them (arange(stop, opts), arange(start, stop, ` +
          `opts) or arange(start, stop, step, opts))`,
      );
    }
    if (isOpts(stop)) [stop, step, opts] = [undefined, 1, stop];
    else [step, opts] = [1, step as CreateOptions];
  }
  checkOptions("arange", opts, CREATE_KEYS, '{ dtype: "float64" }');
  if (stop === undefined) [start, stop] = [0, start];
  for (const [name, v] of [["start", start], ["stop", stop], ["step", step]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new DomainError(`arange: ${name} is ${String(v)}; start, stop and step must be finite numbers`);
    }
  }
  if (step === 0) throw new ShapeError("arange: step must not be 0");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDType(
    "arange",
    opts.dtype ?? (Number.isInteger(start) && Number.isInteger(step) ? "int32" : "float32"),
  );
  if (n > 0) checkValue("arange", start + (n - 1) * step, dtype);
  const a = hostArray("arange", dtype, n, [n]);
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return tensor(a, { like: opts.like });
}

/** `num` evenly spaced values from `start` to `stop` inclusive. */
export function linspace(start: number, stop: number, num: number, opts: CreateOptions = {}): Tensor {
  checkOptions("linspace", opts, CREATE_KEYS, '{ dtype: "float64" }');
  if (!Number.isInteger(num) || num < 0) {
    throw new ShapeError(`linspace: num = ${num} must be a non-negative integer (the number of values)`);
  }
  if (typeof start !== "number" || typeof stop !== "number" || !Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new DomainError(`linspace: start = ${start} and stop = ${stop} must be finite numbers`);
  }
  const a = hostArray("linspace", checkDType("linspace", opts.dtype ?? "float32"), num, [num]);
  for (let i = 0; i < num; i++) a[i] = num === 1 ? start : start + ((stop - start) * i) / (num - 1);
  return tensor(a, { like: opts.like });
}
