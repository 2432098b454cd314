/**
 * Writing safetensors files: the header laid out as the reference writer lays it out (tensors in
 * dtype-then-name order, 8-byte aligned), float tensors optionally stored as F16 or BF16, written
 * through a temporary name and renamed. Reading is `safetensors.ts`, which re-exports these.
 * @module
 */
import { isFloat, isFloat16Array, type TypedArray } from "../core/dtype.ts";
import { DTypeError, FormatError } from "../core/errors.ts";
import { checkOptions } from "../core/options.ts";
import { isTensor, type Tensor } from "../core/tensor.ts";
import { writeAtomic } from "./files.ts";
import { encodeBF16, encodeF16 } from "./half.ts";
import { BITS, isObject, MAX_HEADER, RANK, show, toPath } from "./safetensors_format.ts";
import type { FileURL } from "./web_types.ts";

/** Options of `write` and `serialize`. */
export interface WriteOptions {
  /** Store every float tensor (float32 and float64) as this dtype, rounding to nearest even. */
  dtype?: "F32" | "F16" | "BF16";
}

interface Planned {
  name: string;
  tensor: Tensor;
  dtype: "F64" | "F32" | "F16" | "BF16" | "I32" | "BOOL";
  begin: number;
  end: number;
}

const STORED = { float64: "F64", float32: "F32", float16: "F16", int32: "I32", bool: "BOOL" } as const;

/** Code point order, which is the byte order of UTF-8 and so the reference writer's name order. */
function byCodePoint(a: string, b: string): number {
  const x = [...a], y = [...b]; // code points, not UTF-16 units (which put U+E000..U+FFFF after the astral planes)
  for (let i = 0; i < x.length && i < y.length; i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0)! - y[i].codePointAt(0)!;
  }
  return x.length - y.length;
}

/** Validates everything, sorts as the reference writer does, and builds the padded header. */
function layout(
  tensors: object,
  metadata: Record<string, string> | undefined,
  opts: WriteOptions,
  op: string,
): { header: Uint8Array; items: Planned[]; total: number } {
  checkOptions(op, opts, ["dtype"], '{ dtype: "BF16" }');
  const float = opts.dtype;
  if (float !== undefined && float !== "F32" && float !== "F16" && float !== "BF16") {
    throw new DTypeError(`${op}: dtype ${show(float)} is not "F32", "F16" or "BF16"`);
  }
  if (!isObject(tensors)) throw new FormatError(`${op}: tensors must be an object of name → Tensor`);
  const items: Planned[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "" || name === "__metadata__" || !name.isWellFormed()) {
      throw new FormatError(
        `${op}: tensor name ${show(name)} is not allowed: names are non-empty Unicode strings, not "__metadata__"`,
      );
    }
    if (!isTensor(t)) throw new FormatError(`${op}: "${name}" is ${show(t)}, not a Tensor`);
    t._live(op);
    const dtype = (isFloat(t.dtype) && float) || STORED[t.dtype];
    items.push({ name, tensor: t, dtype, begin: 0, end: 0 });
  }
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isObject(metadata)) throw new FormatError(`${op}: metadata must be an object of strings`);
    const kv = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== "string" || !v.isWellFormed() || !k.isWellFormed()) {
        throw new FormatError(`${op}: metadata "${k}" is ${show(v)}; values must be strings (JSON-encode others)`);
      }
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${kv.join(",")}}`);
  }
  items.sort((a, b) => RANK.get(b.dtype)! - RANK.get(a.dtype)! || byCodePoint(a.name, b.name));
  let at = 0;
  for (const it of items) {
    it.begin = at;
    it.end = at += (it.tensor.size * BITS.get(it.dtype)!) / 8;
    const shape = it.tensor.shape.join(",");
    parts.push(
      `${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":[${shape}],"data_offsets":[${it.begin},${it.end}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const n = Math.ceil(json.length / 8) * 8; // padded with spaces so the buffer starts 8-aligned
  if (n > MAX_HEADER) throw new FormatError(`${op}: the header would be ${n} bytes, over the ${MAX_HEADER}-byte limit`);
  const header = new Uint8Array(8 + n).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(json, 8);
  return { header, items, total: at };
}

/** A tensor's elements as little-endian bytes of its file dtype. */
function encode(data: TypedArray, it: Planned): Uint8Array {
  const asFloat = () => (data instanceof Float32Array || data instanceof Float64Array ? data : Float64Array.from(data));
  let out: Float64Array | Float32Array | Int32Array | Uint16Array | Uint8Array;
  if (it.dtype === "F64") out = data instanceof Float64Array ? data : Float64Array.from(data);
  else if (it.dtype === "F32") out = data instanceof Float32Array ? data : Float32Array.from(data);
  else if (it.dtype === "F16") {
    out = isFloat16Array(data) ? new Uint16Array(data.buffer, data.byteOffset, data.length) : encodeF16(asFloat());
  } else if (it.dtype === "BF16") out = encodeBF16(asFloat());
  else if (it.dtype === "I32") out = data instanceof Int32Array ? data : Int32Array.from(data);
  else out = Uint8Array.from(data, (v) => (v ? 1 : 0));
  if (out.byteLength !== it.end - it.begin) {
    throw new FormatError(
      `safetensors: tensor "${it.name}" gave ${out.byteLength} bytes, expected ${it.end - it.begin}`,
    );
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength); // little-endian, as the host
}

/**
 * A safetensors file's bytes, in memory, from CPU tensors: laid out as `safetensors.torch.save_file`
 * does (by dtype alignment, largest first, then by name; the header padded with spaces to a
 * multiple of 8), so the bytes match PyTorch's for the same tensors and at most one metadata key.
 * float64 → F64, float32 → F32, float16 → F16 (its bits as they are), or `opts.dtype` for every float
 * tensor; int32 → I32, bool → BOOL.
 * @param tensors tensors by name (non-empty names other than `__metadata__`)
 * @param metadata strings stored under `__metadata__` (omitted when undefined)
 * @param opts `dtype` to store float tensors as F32, F16 or BF16 (rounded to nearest even)
 * @returns the whole file
 * @example
 * ```ts
 * import { safetensors, tensor } from "@tangent/tangent";
 * const bytes = safetensors.serialize({ w: tensor([1, 2.5, -3]) }, { format: "pt" }, { dtype: "BF16" });
 * console.log(safetensors.deserialize(bytes).tensors.w.arraySync()); // [1, 2.5, -3]
 * ```
 */
export function serialize<T extends { readonly [K in keyof T]: Tensor }>(
  tensors: T,
  metadata?: Record<string, string>,
  opts: WriteOptions = {},
): Uint8Array {
  const { header, items, total } = layout(tensors, metadata, opts, "safetensors.serialize");
  const out = new Uint8Array(header.length + total);
  out.set(header);
  for (const it of items) out.set(encode(it.tensor.dataSync(), it), header.length + it.begin);
  return out;
}

/**
 * Writes tensors (on any backend) to a safetensors file, laid out as `serialize` does, tensor by
 * tensor. Names and metadata are validated before anything is written; the file is written under a
 * temporary name in the same folder and renamed when complete (`writeAtomic`), so a failure leaves
 * no partial file and an existing file is replaced only whole.
 * @param path the file to write (replaced if it exists)
 * @param tensors tensors by name (non-empty names other than `__metadata__`)
 * @param metadata strings stored under `__metadata__` (omitted when undefined)
 * @param opts `dtype` to store float tensors as F32, F16 or BF16 (rounded to nearest even)
 * @example
 * ```ts
 * import { safetensors, tensor } from "@tangent/tangent";
 * const path = "/tmp/tangent_example.safetensors";
 * if (Deno.permissions.querySync({ name: "write", path }).state === "granted") { // the doc test may not write
 *   await safetensors.write(path, { "lora_A.weight": tensor([[0.5, -1]]) }, { format: "pt" }, { dtype: "F16" });
 *   console.log((await safetensors.read(path)).tensors["lora_A.weight"].arraySync()); // [[0.5, -1]]
 * }
 * ```
 */
export async function write<T extends { readonly [K in keyof T]: Tensor }>(
  path: string | FileURL,
  tensors: T,
  metadata?: Record<string, string>,
  opts: WriteOptions = {},
): Promise<void> {
  const { header, items } = layout(tensors, metadata, opts, "safetensors.write");
  await writeAtomic(toPath(path), async (append) => {
    await append(header);
    for (const it of items) await append(encode(await it.tensor.data(), it));
  });
}
