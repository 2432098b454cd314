/**
 * What the safetensors reader and writer share: the format's dtypes and their order, the header
 * limit, and small helpers for paths and messages.
 * @module
 */
import { fileURLToPath } from "node:url";
import type { FileURL } from "./web_types.ts";

/** The largest header the reference reader accepts. */
export const MAX_HEADER = 100_000_000;
/** Bits per element of every dtype of the format, in the reference's order (increasing alignment). */
export const BITS = new Map<string, number>(
  ("BOOL:8 F4:4 F6_E2M3:6 F6_E3M2:6 U8:8 I8:8 F8_E5M2:8 F8_E4M3:8 F8_E8M0:8 F8_E4M3FNUZ:8 F8_E5M2FNUZ:8 " +
    "I16:16 U16:16 F16:16 BF16:16 I32:32 U32:32 F32:32 C64:64 F64:64 I64:64 U64:64")
    .split(" ").map((s) => [s.split(":")[0], Number(s.split(":")[1])]),
);
export const RANK = new Map([...BITS.keys()].map((d, i) => [d, i]));
/**
 * JSON with its number texts: ES2025's source access, as in V8 (Deno 2, Node 22) and current browsers.
 * Older runtimes (Node 20) have neither `rawJSON` nor the reviver's context: there every number parses as its value.
 */
export const JSON_ = JSON as unknown as {
  parse(text: string, reviver: (key: string, value: unknown, context?: { source?: string }) => unknown): unknown;
  rawJSON?(text: string): unknown;
  isRawJSON?(v: unknown): boolean;
};
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !JSON_.isRawJSON?.(v);
/** A short rendering of a JSON value for messages. */
export function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
/** A path from a string or a file URL. */
export const toPath = (p: string | FileURL): string => (p instanceof URL ? fileURLToPath(p) : p);
