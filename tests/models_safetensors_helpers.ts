/** Helpers shared by the safetensors tests. */

const enc = new TextEncoder();

/** A file from a header (JSON value, or its raw text/bytes) and data; `n` overrides the length field. */
export function file(header: unknown, data: ArrayLike<number> = [], n?: bigint): Uint8Array {
  const json = header instanceof Uint8Array
    ? header
    : enc.encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}
