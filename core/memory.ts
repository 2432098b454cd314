/**
 * Deterministic release of a loop's intermediates. Tensors are otherwise freed when unreachable
 * (each backend registers its storages with a FinalizationRegistry); users never count references.
 * @module
 */
import type { Storage } from "./backend/backend.ts";
import { checkFunction } from "./errors.ts";
import { checkOptions } from "./options.ts";
import type { Tensor } from "./tensor.ts";

const scopes: Set<Storage>[] = [];
/** Storages already owned by some tensor: aliases of them (reshape, autodiff leaves) own nothing new. */
const seen = new WeakSet<Storage>();

/**
 * Called by every new tensor: remembers a storage the first time a tensor holds it, in the
 * innermost open scope. A tensor sharing an older storage (a reshape, an alias) does not make the
 * scope own it, so a scope never frees its inputs' storage.
 */
export function noteCreated(s: Storage): void {
  if (seen.has(s)) return;
  seen.add(s);
  if (scopes.length) scopes[scopes.length - 1].add(s);
}

/**
 * Takes `s` out of every open scope: it outlives them (a compiled `jit` graph's constants, made
 * while the first call traced inside a scope, must survive that scope).
 */
export function keepBeyondScopes(s: Storage): void {
  for (const sc of scopes) sc.delete(s);
}

function collect(value: unknown, out: Set<Storage>, seen: Set<unknown>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  const t = value as Partial<Tensor>;
  if (t._storage !== undefined && typeof t._alias === "function") {
    out.add(t._storage);
    return;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) collect(v, out, seen);
}

/**
 * Runs `fn`, then releases every tensor created inside it that is not part of its return value
 * (tensors found in the returned pytree, also nested in arrays and plain objects, are kept and
 * handed to the enclosing scope). A released tensor throws if used again, so do not stash
 * intermediates outside the returned value. On the CPU release only drops references; on WebGPU
 * it returns buffers to the pool at once instead of waiting for garbage collection.
 *
 * `release` names a pytree the loop is done with once `fn` has run (the previous step's
 * parameters and optimizer state): its tensors are released too, except those the result still
 * holds. That makes a training loop's memory flat without any reference counting, even in a
 * synchronous loop where garbage-collection callbacks never get to run.
 * @example
 * ```ts
 * import { scope, tensor, add } from "@tangent/tangent";
 * let x = tensor([1, 2, 3]);
 * for (let i = 0; i < 3; i++) x = scope(() => add(x, 1), { release: x });
 * ```
 */
export function scope<T>(fn: () => T, opts: { release?: unknown } = {}): T {
  checkFunction("scope", fn);
  checkOptions("scope", opts, ["release"], "{ release: previous }");
  const created = new Set<Storage>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const keep = new Set<Storage>();
  collect(result, keep, new Set());
  if (opts.release !== undefined) {
    const done = new Set<Storage>();
    collect(opts.release, done, new Set());
    for (const s of done) created.add(s);
  }
  for (const s of created) {
    if (keep.has(s)) {
      if (scopes.length) scopes[scopes.length - 1].add(s);
    } else if (!s.released) {
      s.backend.release(s);
      s.released = true;
    }
  }
  return result;
}
