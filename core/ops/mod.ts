/**
 * All core ops.
 * @module
 */
export * from "./creation.ts";
export * from "./elementwise.ts";
export * from "./reduce.ts";
export * from "./shape.ts";
export * from "./matmul.ts";
export * from "./sorting.ts";
export * from "./einsum.ts";
