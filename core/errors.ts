/**
 * One error type per failure kind. Every message names the operation, the offending shapes or
 * values, and the fix.
 * @module
 */

/** Base class of every error Tangent throws on purpose. */
export class TangentError extends Error {
  /**
   * An error with the given message.
   * @param message what went wrong, where, and how to fix it
   */
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the operation (`matmul: inner dimensions differ: [3, 4] @ [5, 2]`). */
export class ShapeError extends TangentError {}
/** A dtype the operation does not accept. */
export class DTypeError extends TangentError {}
/** Values outside the operation's domain: singular, non-finite, not symmetric, out of range. */
export class DomainError extends TangentError {}
/** A tensor that should lie on a manifold does not; the message carries the measured violation. */
export class ManifoldError extends TangentError {}
/** A file, config or tensor name in the wrong format. */
export class FormatError extends TangentError {}
/** A backend that is missing, or a tensor used on the wrong backend. */
export class BackendError extends TangentError {}

/** Formats a shape as `[3, 4]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * The error of a token id outside a vocabulary of `vocab` ids: `op`'s input check and its
 * embedding gather (`gatherP` with `ids`, on every backend) throw the same one.
 */
export function tokenIdError(op: string, id: number, position: number, vocab: number): DomainError {
  // crossEntropy's are class labels (ignoreIndex aside), the others token ids
  const [what, range, fix] = op === "crossEntropy"
    ? ["label", "the classes", "labels are class indices; mark a position to skip with ignoreIndex"]
    : ["token id", "the vocabulary", "pass ids from this model's tokenizer"];
  return new DomainError(`${op}: ${what} ${id} at position ${position} is outside ${range} [0, ${vocab}); ${fix}`);
}

/**
 * Throws a DTypeError unless `f` is a function: what a transformation (`vmap`, `jit`, `grad`, …)
 * or a loop is given to call.
 * @internal
 */
export function checkFunction(op: string, f: unknown, what = "the function"): void {
  if (typeof f === "function") return;
  const got = f === null || f === undefined ? String(f) : Array.isArray(f) ? "an array" : typeof f;
  throw new DTypeError(`${op}: ${what} must be a function, got ${got}; pass the function to transform`);
}
