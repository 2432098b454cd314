/**
 * The key set of every transformation's rule table: all primitives by name, core and linear
 * algebra. A table typed `{ [N in PrimitiveName]: Rule<ParamsOf<N>> }` must hold a rule for each, so adding a primitive without
 * its batching (or other) rule fails to compile (as in jax-js's typed rule tables, but not Partial).
 * @module
 */
import type { Primitive } from "../core/primitive.ts";
import { PRIMITIVES } from "../core/primitives.ts";
import { LINALG_PRIMITIVES } from "../core/linalg/primitive_table.ts";

/** Every primitive by name. */
export const ALL_PRIMITIVES = { ...PRIMITIVES, ...LINALG_PRIMITIVES };

/** The names of all primitives. */
export type PrimitiveName = keyof typeof ALL_PRIMITIVES;

/** A primitive's static parameters, by name. */
export type ParamsOf<N extends PrimitiveName> = (typeof ALL_PRIMITIVES)[N] extends Primitive<infer P> ? P : never;
