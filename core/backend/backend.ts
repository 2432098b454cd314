/**
 * What a backend provides: storage for tensor elements, transfers to and from the host, and one
 * kernel per primitive. Everything above the primitives is backend-independent.
 * @module
 */
import type { DType, TypedArray } from "../dtype.ts";
import { BackendError } from "../errors.ts";

/** The abstract value of a tensor: its shape and dtype, without elements. */
export interface Aval {
  /** Extent of each axis. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
}

/**
 * A backend's handle to a tensor's elements. Several tensors may share one storage (a reshape, an
 * alias made for autodiff), so a backend frees it only when the storage object itself is
 * unreachable or `release`d by a scope.
 */
export interface Storage {
  /** The backend that owns this storage. */
  readonly backend: Backend;
  /** Set once the storage was released; any further use is a bug reported by `checkLive`. */
  released?: boolean;
}

/** A primitive's implementation on one backend. */
export type Kernel = (
  inputs: readonly Storage[],
  inAvals: readonly Aval[],
  // deno-lint-ignore no-explicit-any
  params: any,
  outAvals: readonly Aval[],
) => Storage[];

/** A place where tensors live and primitives run. */
export interface Backend {
  /** `"cpu"` or `"webgpu"`. */
  readonly name: string;
  /** Kernels by primitive name. */
  readonly kernels: Map<string, Kernel>;
  /** Copies host elements into a new storage. */
  fromHost(data: TypedArray, aval: Aval): Storage;
  /** Reads a storage back to the host. */
  toHost(storage: Storage, aval: Aval): Promise<TypedArray>;
  /** Reads synchronously where the backend can (CPU); otherwise throws BackendError. */
  toHostSync(storage: Storage, aval: Aval): TypedArray;
  /** Frees a storage now (used by `scope`); later uses throw. */
  release(storage: Storage): void;
  /**
   * Optional: encodes on the device, without waiting, the check of a spectral VJP's dropped
   * 1/(vⱼ − vᵢ) terms (`warnDroppedGaps` in core/linalg/helpers.ts, which checks on the host where a
   * backend lacks this); the next read of any tensor prints `message(index, value)` when a term the
   * loss needs was dropped, once per `once`. `key` names the kernels' shape for caching.
   */
  checkDroppedGaps?(
    v: Storage,
    scale: Storage,
    k: Storage,
    check: GapCheck,
    once: string,
    key: string,
    message: (index: number, value: number) => string,
  ): void;
}

/** What `Backend.checkDroppedGaps` checks: `count` matrices' n values, scales and n×n cotangent terms. */
export interface GapCheck {
  /** Matrices in the batch. */
  count: number;
  /** Values per matrix. */
  n: number;
  /** The relative gap at or below which a term was dropped (2·n·ε). */
  tol: number;
  /** √ε of the dtype: a term counts when above this times max |k|. */
  root: number;
  /** Whether the term is kᵢⱼ − kⱼᵢ (eigh) rather than max(|kᵢⱼ|, |kⱼᵢ|) (svd). */
  skewPart: boolean;
}

/**
 * `[outer, n, inner]` of `shape` around `axis`: the rows a kernel along one axis walks (outer ·
 * inner of them, n elements apart by inner).
 */
export function axisSplit(shape: readonly number[], axis: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

/**
 * Index storages known to hold indices in `[0, bound)` (made by `take` from a list it checked on the
 * host): a backend that checks indices on the device skips the check against an axis of extent ≥
 * bound.
 */
export const checkedIndices: WeakMap<Storage, number> = new WeakMap();

const backends = new Map<string, Backend>();
const factories = new Map<string, () => Promise<Backend>>();
let current: Backend | undefined;

/** Registers a backend instance (the CPU backend registers itself). */
export function registerBackend(b: Backend, makeDefault = false): void {
  backends.set(b.name, b);
  if (makeDefault || !current) current = b;
}

/** Registers an asynchronously created backend, made on first `useBackend(name)`. */
export function registerBackendFactory(name: string, make: () => Promise<Backend>): void {
  factories.set(name, make);
}

/** Backends being created: concurrent first loads share one creation. */
const pending = new Map<string, Promise<Backend>>();

/**
 * Returns a backend by name, creating it if a factory was registered. Calls made while it is being
 * created wait for the same one (two `toBackend(t, "webgpu")` in one `Promise.all` made two devices,
 * whose tensors could not meet in an op); a creation that fails is tried again by the next call.
 * `op` is the public function named by the error for an unknown name.
 */
export async function loadBackend(name: string, op = "useBackend"): Promise<Backend> {
  const b = backends.get(name);
  if (b) return b;
  let p = pending.get(name);
  if (!p) {
    const make = factories.get(name);
    if (!make) {
      throw new BackendError(
        `${op}: unknown backend "${name}"; known: ${
          [...new Set([...backends.keys(), ...factories.keys()])].join(", ")
        }`,
      );
    }
    p = make().then((made) => {
      backends.set(name, made);
      return made;
    }).finally(() => pending.delete(name));
    pending.set(name, p);
  }
  return await p;
}

/** Returns an already created backend by name, or throws. */
export function backendNamed(name: string): Backend {
  const b = backends.get(name);
  if (!b) throw new BackendError(`backend "${name}" is not initialised: call \`await useBackend("${name}")\` first`);
  return b;
}

/**
 * Sets the default backend for new tensors.
 * @example
 * ```ts
 * import { useBackend } from "@tangent/tangent";
 * await useBackend("cpu");
 * ```
 */
export async function useBackend(name: "cpu" | "webgpu" | (string & Record<never, never>)): Promise<void> {
  current = await loadBackend(name);
}

/** The default backend. */
export function getBackend(): Backend {
  if (!current) throw new BackendError("no backend registered: import Tangent through mod.ts");
  return current;
}

/** Registers a kernel for a primitive on a backend. */
export function registerKernel(backend: Backend, primitive: string, kernel: Kernel): void {
  backend.kernels.set(primitive, kernel);
}
