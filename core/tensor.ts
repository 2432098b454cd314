/**
 * The tensor value: an immutable n-dimensional array on a backend.
 * @module
 */
import type { Backend, Storage } from "./backend/backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { BackendError, DomainError, DTypeError, ShapeError } from "./errors.ts";
import { noteCreated } from "./memory.ts";
import type { Trace } from "./primitive.ts";
import * as ops from "./ops/mod.ts";
import type { ReduceOptions } from "./ops/reduce.ts";

/**
 * Counts reads of tensor values by the host (`data`, `dataSync` and what builds on them): `jit`
 * compares it around a trace to tell a function whose control flow depends on values (not
 * replayable) from one that only runs primitives, and sets `watch` while tracing to learn which
 * read it was (`"item()"`, ...) and where.
 * @internal
 */
export const valueReads: { count: number; watch?: (what: string) => void } = { count: 0 };

/**
 * Notes a read of a value by the host: `what` names it (`"item()"`) for `jit`'s report.
 * @internal
 */
export function noteValueRead(what: string): void {
  valueReads.count++;
  valueReads.watch?.(what);
}

/**
 * Every element `t` holds, read synchronously: under `vmap` those of all its examples (the batched
 * value, nested vmaps unwrapped), where `t.dataSync()` refuses. For checks that hold for the whole
 * batch (the largest violation, a count shared by every example).
 * @internal
 */
export function batchElementsSync(t: Tensor): TypedArray {
  let v = t;
  while (v._bt) v = v._bt.value;
  return v._readSync("dataSync()");
}

/**
 * The largest of `batchElementsSync(t)` (NaN if any is NaN, as `Math.max`).
 * @internal
 */
export function batchMaxSync(t: Tensor): number {
  let m = -Infinity;
  for (const v of batchElementsSync(t)) m = Number.isNaN(v) || Number.isNaN(m) ? NaN : Math.max(m, Number(v));
  return m;
}

/** Nested arrays of numbers, as `tensor` accepts and `array()` returns. */
export type NestedArray = number | boolean | NestedArray[];

/**
 * An immutable n-dimensional array. Ops return new tensors; nothing mutates one.
 * Create tensors with `tensor`, `zeros`, `normal`, ...; read them with `await t.data()`.
 */
export class Tensor {
  /** Extent of each axis (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** @internal backend storage, possibly shared with aliases. */
  readonly _storage: Storage;
  /** @internal identities in the traces that track this tensor. */
  _tr?: [Trace, number][];
  /**
   * @internal set while a `vmap` interprets this tensor: its level and the batched value (batch axis
   * first); `shape` is then one example's shape and the elements live in `value`.
   */
  _bt?: { readonly level: number; readonly value: Tensor };

  /** @internal use `tensor(...)` and the other creation functions. */
  constructor(storage: Storage, shape: readonly number[], dtype: DType) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    let n = 1;
    for (const d of shape) n *= d;
    this.size = n;
    noteCreated(storage);
  }

  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** The backend holding the elements. */
  get backend(): Backend {
    return this._storage.backend;
  }

  /** @internal the storage, checked not to have been released by a scope; `op` names the user. */
  _live(op = "data"): Storage {
    if (this._storage.released) {
      throw new BackendError(
        `${op}: tensor of shape [${this.shape.join(", ")}] was released by scope(); ` +
          `return it from the scope's function to keep it`,
      );
    }
    return this._storage;
  }

  /** @internal a new tensor object sharing this one's storage (no trace identity; a vmap's batch kept). */
  _alias(): Tensor {
    const a = new Tensor(this._storage, this.shape, this.dtype);
    if (this._bt) a._bt = this._bt;
    return a;
  }

  /** The elements in row-major order (waits for the device where there is one). */
  data(): Promise<TypedArray> {
    return this._read("data()");
  }

  /** @internal `data()`, the read noted as `what`. */
  _read(what: string): Promise<TypedArray> {
    noteValueRead(what);
    try {
      this._checkNotBatched(what);
      return this.backend.toHost(this._live(), this);
    } catch (e) {
      return Promise.reject(e); // a released tensor rejects like any other read failure
    }
  }

  /** The elements now; only on backends that can read synchronously (the CPU). */
  dataSync(): TypedArray {
    return this._readSync("dataSync()");
  }

  /** @internal `dataSync()`, the read noted as `what`. */
  _readSync(what: string): TypedArray {
    noteValueRead(what);
    this._checkNotBatched(what);
    return this.backend.toHostSync(this._live(), this);
  }

  /**
   * Inside `vmap` a tensor stands for one example of a batch: its value differs from example to
   * example, so the host cannot read it (its storage holds the whole batch; JAX's
   * ConcretizationTypeError).
   */
  private _checkNotBatched(what: string): void {
    if (!this._bt) return;
    throw new ShapeError(
      `${what}: this tensor (shape [${this.shape.join(", ")}] per example) is batched by vmap (${
        this._bt.value.shape[0]
      } examples), so it has no single value to read; compute with ops instead (where, maximum, ...), or ` +
        `read it after vmap returns (or loop over the examples)`,
    );
  }

  /** The elements as nested arrays. */
  async array(): Promise<NestedArray> {
    return nest(await this._read("array()"), this.shape, this.dtype);
  }

  /** The elements as nested arrays, synchronously (CPU). */
  arraySync(): NestedArray {
    return nest(this._readSync("arraySync()"), this.shape, this.dtype);
  }

  /** The single element of a one-element tensor, synchronously (CPU). */
  item(): number {
    if (this.size !== 1) {
      throw new ShapeError(
        `item: tensor has ${this.size} elements, shape [${this.shape.join(", ")}]; item() needs exactly one ` +
          `(use data() or arraySync() for more)`,
      );
    }
    return Number(this._readSync("item()")[0]);
  }

  /**
   * A readable summary; the elements are shown when the backend can read synchronously and there
   * are at most 1000 of them (and at most 1000 nested rows).
   */
  toString(): string {
    return summary(this, true);
  }

  /** `add(this, y)` */
  add(y: Tensor | number): Tensor {
    return ops.add(this, y);
  }
  /** `sub(this, y)` */
  sub(y: Tensor | number): Tensor {
    return ops.sub(this, y);
  }
  /** `mul(this, y)` */
  mul(y: Tensor | number): Tensor {
    return ops.mul(this, y);
  }
  /** `div(this, y)` */
  div(y: Tensor | number): Tensor {
    return ops.div(this, y);
  }
  /** `pow(this, y)` */
  pow(y: Tensor | number): Tensor {
    return ops.pow(this, y);
  }
  /** `neg(this)` */
  neg(): Tensor {
    return ops.neg(this);
  }
  /** `exp(this)` */
  exp(): Tensor {
    return ops.exp(this);
  }
  /** `log(this)` */
  log(): Tensor {
    return ops.log(this);
  }
  /** `sqrt(this)` */
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  /** `abs(this)` */
  abs(): Tensor {
    return ops.abs(this);
  }
  /** `matmul(this, y)` */
  matmul(y: Tensor): Tensor {
    return ops.matmul(this, y);
  }
  /** `sum(this, opts)` */
  sum(opts?: ReduceOptions): Tensor {
    return ops.sum(this, opts);
  }
  /** `mean(this, opts)` */
  mean(opts?: ReduceOptions): Tensor {
    return ops.mean(this, opts);
  }
  /** `max(this, opts)` */
  max(opts?: ReduceOptions): Tensor {
    return ops.max(this, opts);
  }
  /** `min(this, opts)` */
  min(opts?: ReduceOptions): Tensor {
    return ops.min(this, opts);
  }
  /** `reshape(this, shape)` */
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  /** `transpose(this, perm)` */
  transpose(perm?: readonly number[]): Tensor {
    return ops.transpose(this, perm);
  }
  /** `astype(this, dtype)` */
  astype(dtype: DType): Tensor {
    return ops.astype(this, dtype);
  }
  /** All axes reversed. */
  get T(): Tensor {
    return ops.transpose(this);
  }
  /** The last two axes swapped. */
  get mT(): Tensor {
    return ops.matrixTranspose(this);
  }
}

/**
 * `toString()`'s text; the read is noted as one (`jit` then runs the function eagerly) unless `noted` is
 * false. A tensor batched by `vmap` or released shows no elements.
 */
function summary(t: Tensor, noted: boolean): string {
  let body = "…";
  const small = t.size <= 1000 && nestedArrays(t.shape) <= 1000;
  if (t._bt) body = `… one example of ${t._bt.value.shape[0]} (batched by vmap)`;
  else if (t.backend.name === "cpu" && !t._storage.released && small) {
    const data = noted ? t._readSync("toString()") : t.backend.toHostSync(t._storage, t);
    body = format(nest(data, t.shape, t.dtype));
  }
  return `Tensor(${body}, shape=[${t.shape}], dtype=${t.dtype})`;
}

// console.log (Deno's and Node's inspection) shows the summary, not the fields; printing a traced value
// for debugging does not make jit run the function eagerly (it prints when the trace is made, as JAX does)
for (const s of [Symbol.for("Deno.customInspect"), Symbol.for("nodejs.util.inspect.custom")]) {
  Object.defineProperty(Tensor.prototype, s, {
    value(this: Tensor): string {
      return summary(this, false);
    },
  });
}

/** How many arrays the nested form of a tensor of `shape` has (one per row of every axis). */
function nestedArrays(shape: readonly number[]): number {
  let rows = 1, total = 0;
  for (let i = 0; i < shape.length; i++) {
    total += rows;
    rows *= shape[i];
  }
  return total;
}

function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const count = nestedArrays(shape);
  if (count > 2 ** 26) {
    throw new DomainError(
      `array: a tensor of shape [${shape.join(", ")}] nests ${count} arrays, too many to build; ` +
        `read it flat with data() (it holds ${data.length} elements)`,
    );
  }
  const conv = (v: number): number | boolean => dtype === "bool" ? v !== 0 : v;
  if (shape.length === 0) return conv(data[0]);
  const rec = (off: number, ax: number): NestedArray[] => {
    const out: NestedArray[] = [];
    let stride = 1;
    for (let i = ax + 1; i < shape.length; i++) stride *= shape[i];
    for (let i = 0; i < shape[ax]; i++) {
      out.push(ax === shape.length - 1 ? conv(data[off + i]) : rec(off + i * stride, ax + 1));
    }
    return out;
  };
  return rec(0, 0);
}

function format(a: NestedArray): string {
  if (Array.isArray(a)) return `[${a.map(format).join(", ")}]`;
  if (typeof a === "boolean") return String(a);
  return Number.isInteger(a) ? String(a) : a.toPrecision(6).replace(/\.?0+$/, "").replace(/\.?0+e/, "e");
}

/**
 * Throws a DTypeError naming `op` unless `x` is a Tensor (so a missing or mistyped argument fails
 * at the public boundary, not as a TypeError inside); `fix` ends the message.
 */
export function checkTensor(
  op: string,
  x: unknown,
  what = "the input",
  fix = "build one with tensor(...)",
): asserts x is Tensor {
  if (x instanceof Tensor) return;
  const got = x === null || x === undefined
    ? String(x)
    : Array.isArray(x)
    ? "an array"
    : x instanceof Promise
    ? "a promise (await it: toBackend and the loaders are async)"
    : typeof x === "object"
    ? "an object"
    : `${typeof x} ${typeof x === "string" ? `"${x}"` : String(x)}`;
  throw new DTypeError(`${op}: ${what} must be a tensor, got ${got}; ${fix}`);
}

/** True when `x` is a Tensor. */
export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
