/**
 * Safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of UTF-8 JSON (`name → { dtype, shape, data_offsets: [begin, end] }`, offsets
 * relative to the byte buffer after the header, and an optional `__metadata__` map of strings),
 * then the byte buffer. Headers are validated as the reference reader does: the tensors tile the
 * buffer from 0 to its very end, with no gap and no overlap, and each holds prod(shape) × itemsize
 * bytes. Paths are read header first, then tensor by tensor at its offset, never as one copy.
 * @module
 */
import { type FileHandle, open } from "node:fs/promises";
import { type Backend, backendNamed, getBackend, loadBackend } from "../core/backend/backend.ts";
import { type DType, float16Array, type TypedArray } from "../core/dtype.ts";
import { DTypeError, fmtShape, FormatError } from "../core/errors.ts";
import { checkOptions, optionKeys } from "../core/options.ts";
import { Tensor } from "../core/tensor.ts";
import { decodeBF16, decodeF16 } from "./half.ts";
import { BITS, isObject, JSON_, MAX_HEADER, show, toPath } from "./safetensors_format.ts";
import type { FileURL } from "./web_types.ts";

const READABLE = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "U16", "I8", "U8", "BOOL"];
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // a BOM stays, and is not JSON

/** One tensor's record in a file's header. */
export interface HeaderEntry {
  /** The tensor's name. */
  name: string;
  /** Its safetensors dtype: `"F32"`, `"BF16"`, `"I64"`, ... (any dtype of the format). */
  dtype: string;
  /** Its shape. */
  shape: number[];
  /** Its first byte, relative to the byte buffer (at file position `dataStart + begin`). */
  begin: number;
  /** One past its last byte, relative to the byte buffer. */
  end: number;
}

/** A validated header. */
export interface Header {
  /** The tensors in file order (by offset). */
  entries: HeaderEntry[];
  /** The `__metadata__` strings (`{}` when there are none). */
  metadata: Record<string, string>;
  /** Where the byte buffer starts in the file: 8 + the header length. */
  dataStart: number;
}

/** Options of `deserialize`. */
export interface DeserializeOptions {
  /** Read only these tensors (a FormatError names any the file lacks). */
  names?: readonly string[];
  /**
   * Convert every float tensor to this dtype (default: F64 → float64; F32, F16, BF16 → float32).
   * `"float16"` keeps F16 tensors as they are (their bits, no conversion) and rounds F64, F32 and
   * BF16 ones to float16 (nearest even, ±Infinity beyond 65504).
   */
  dtype?: "float16" | "float32" | "float64";
}

/** Options of `read`. */
export interface ReadOptions extends DeserializeOptions {
  /** Create the tensors on this backend (default: the current default backend). */
  backend?: "cpu" | "webgpu" | (string & Record<never, never>);
}

/** Tensors by name and the file's metadata. */
export interface Loaded {
  /** The tensors, in the order asked for (file order by default). */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings. */
  metadata: Record<string, string>;
}

// ---------------------------------------------------------------- the header

/**
 * Keeps a number written other than as a plain non-negative integer (1.0, 1e2, -0, -3) as its raw
 * text, which no integer check accepts and messages print as written: the reference refuses them.
 * Where the runtime has no source access (Node 20), such a number stays its value.
 */
const keepNonIntegers = (_: string, v: unknown, context?: { source?: string }) => {
  const source = context?.source;
  return typeof v === "number" && source !== undefined && JSON_.rawJSON && !/^(0|[1-9][0-9]*)$/.test(source)
    ? JSON_.rawJSON(source)
    : v;
};
const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
/** Defines an own property, so a name such as `__proto__` is a key like any other. */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The header length N from the first 8 bytes (of a file of `size` bytes), checked against the limit and the size. */
function headerLength(first8: Uint8Array, size: number, where: string): number {
  if (size < 8) {
    throw new FormatError(`${where}: ${size} bytes, shorter than the 8-byte header length; not a safetensors file`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) {
    throw new FormatError(
      `${where}: header length ${n} exceeds the limit of ${MAX_HEADER} bytes; the file is corrupt or not safetensors`,
    );
  }
  if (8 + Number(n) > size) {
    throw new FormatError(
      `${where}: header length ${n} runs past the end of the ${size}-byte file; the file is truncated or not safetensors`,
    );
  }
  return Number(n);
}

function parseMetadata(v: unknown, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === null) return out;
  if (!isObject(v)) throw new FormatError(`${where}: __metadata__ is ${show(v)}, not an object of strings`);
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== "string" || !s.isWellFormed() || !k.isWellFormed()) {
      throw new FormatError(`${where}: __metadata__ "${k}" is ${show(s)}; metadata values must be (Unicode) strings`);
    }
    put(out, k, s);
  }
  return out;
}

function parseEntry(name: string, v: unknown, where: string): HeaderEntry {
  const at = `${where}: tensor "${name}"`;
  if (!isObject(v)) throw new FormatError(`${at}: entry is ${show(v)}, not an object { dtype, shape, data_offsets }`);
  for (const k of ["dtype", "shape", "data_offsets"]) {
    if (!Object.hasOwn(v, k)) {
      throw new FormatError(`${at}: entry lacks "${k}"; it needs dtype, shape and data_offsets`);
    }
  }
  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== "string" || !BITS.has(dtype)) {
    throw new FormatError(`${at}: dtype ${show(dtype)} is not a safetensors dtype (${[...BITS.keys()].join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new FormatError(`${at}: shape ${show(shape)} is not an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw new FormatError(`${at}: data_offsets ${show(offsets)} is not a pair [begin, end] of non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end) throw new FormatError(`${at}: data_offsets [${begin}, ${end}] begin after they end`);
  return { name, dtype, shape, begin, end };
}

/** prod(shape) × bits / 8, with the reference's overflow and whole-byte checks. */
function byteCount(e: HeaderEntry, where: string): number {
  let n = 1;
  for (const d of e.shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) {
      throw new FormatError(`${where}: tensor "${e.name}": shape ${fmtShape(e.shape)} overflows the element count`);
    }
  }
  const bits = n * BITS.get(e.dtype)!;
  if (bits > Number.MAX_SAFE_INTEGER) {
    throw new FormatError(`${where}: tensor "${e.name}": ${e.dtype} × ${fmtShape(e.shape)} overflows the byte count`);
  }
  if (bits % 8 !== 0) {
    throw new FormatError(
      `${where}: tensor "${e.name}": ${e.dtype} × ${fmtShape(e.shape)} is not a whole number of bytes`,
    );
  }
  return bits / 8;
}

/** Parses and validates the header bytes of a file of `size` bytes whose buffer starts at `dataStart`. */
function parseHeader(raw: Uint8Array, dataStart: number, size: number, where: string): Header {
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw new FormatError(`${where}: the ${raw.length}-byte header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON_.parse(text, keepNonIntegers);
  } catch (e) {
    throw new FormatError(`${where}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json)) throw new FormatError(`${where}: the header is ${show(json)}, not a JSON object of tensors`);
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, v] of Object.entries(json)) {
    if (!name.isWellFormed()) throw new FormatError(`${where}: the name ${show(name)} holds a lone UTF-16 surrogate`);
    if (name === "__metadata__") metadata = parseMetadata(v, where);
    else entries.push(parseEntry(name, v, where));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0, prev: HeaderEntry | undefined;
  for (const e of entries) {
    if (e.begin !== at) {
      const before = prev ? `"${prev.name}" [${prev.begin}, ${prev.end}]` : "the start of the buffer";
      const what = e.begin < at ? `overlap ${before}` : `leave a gap of ${e.begin - at} bytes after ${before}`;
      throw new FormatError(
        `${where}: tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] ${what}; ` +
          `tensors must tile the byte buffer from 0 with no gaps or overlaps`,
      );
    }
    const need = byteCount(e, where);
    if (e.end - e.begin !== need) {
      throw new FormatError(
        `${where}: tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] hold ${e.end - e.begin} bytes, ` +
          `but ${e.dtype} × ${fmtShape(e.shape)} needs ${need}`,
      );
    }
    at = e.end;
    prev = e;
  }
  const buffer = size - dataStart;
  if (at > buffer) {
    throw new FormatError(
      `${where}: the tensors end at byte ${at} of the byte buffer, but the file holds only ${buffer} bytes ` +
        `after the header; the file is truncated`,
    );
  }
  if (at < buffer) {
    throw new FormatError(
      `${where}: the byte buffer holds ${buffer} bytes but the tensors end at byte ${at}; ` +
        `${buffer - at} trailing bytes belong to no tensor`,
    );
  }
  return { entries, metadata, dataStart };
}

function headerOfBytes(bytes: Uint8Array, where: string): Header {
  const n = headerLength(bytes.subarray(0, 8), bytes.length, where);
  return parseHeader(bytes.subarray(8, 8 + n), 8 + n, bytes.length, where);
}

/** Fills `buf` from the file at `position` (reads may return less than asked). */
async function readExact(fh: FileHandle, buf: Uint8Array, position: number, where: string): Promise<void> {
  for (let off = 0; off < buf.length;) {
    const len = Math.min(buf.length - off, 1 << 30);
    const { bytesRead } = await fh.read(buf, off, len, position + off);
    if (bytesRead === 0) {
      throw new FormatError(
        `${where}: the file ends at byte ${position + off}, before byte ${position + buf.length}; it is truncated ` +
          `(or changed while being read)`,
      );
    }
    off += bytesRead;
  }
}

async function headerOfFile(fh: FileHandle, size: number, where: string): Promise<Header> {
  const first = new Uint8Array(8);
  await readExact(fh, first.subarray(0, Math.min(size, 8)), 0, where);
  const n = headerLength(first, size, where);
  const raw = new Uint8Array(n);
  await readExact(fh, raw, 8, where);
  return parseHeader(raw, 8 + n, size, where);
}

async function withFile<T>(
  path: string,
  where: string,
  fn: (fh: FileHandle, size: number) => Promise<T>,
): Promise<T> {
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    throw new FormatError(`${where}: cannot open ${path} (${(e as Error).message}); check the path`);
  }
  try {
    const stat = await fh.stat();
    if (stat.isDirectory()) throw new FormatError(`${where}: ${path} is a folder, not a safetensors file`);
    return await fn(fh, stat.size);
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------- tensors from bytes

/** The entries to load: all, or the named ones (a FormatError names a missing one); all readable. */
function select(h: Header, names: readonly string[] | undefined, where: string): HeaderEntry[] {
  let chosen = h.entries;
  if (names) {
    const byName = new Map(h.entries.map((e) => [e.name, e]));
    chosen = [...new Set(names)].map((n) => {
      const e = byName.get(n);
      if (!e) {
        const some = h.entries.slice(0, 5).map((e) => `"${e.name}"`).join(", ");
        throw new FormatError(
          `${where}: no tensor named "${n}"; the file has ${h.entries.length}` +
            (some ? ` (${some}${h.entries.length > 5 ? ", ..." : ""})` : ""),
        );
      }
      return e;
    });
  }
  for (const e of chosen) {
    if (!READABLE.includes(e.dtype)) {
      throw new FormatError(
        `${where}: tensor "${e.name}" has dtype ${e.dtype}, which Tangent cannot load; supported: ` +
          `${READABLE.join(", ")} (convert it before saving, e.g. tensor.to(torch.float32))`,
      );
    }
  }
  return chosen;
}

/**
 * The elements of `bytes` as a typed array, copied only when misaligned. Typed arrays use the
 * host's byte order, little-endian on every platform Deno runs on, as the format is.
 */
function view<T>(C: new (b: ArrayBufferLike, off: number, n: number) => T, bytes: Uint8Array, size: number): T {
  const u = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  return new C(u.buffer, u.byteOffset, u.length / size);
}

/** How to load: the float dtype asked for, the backend, and the `op: file` prefix of messages. */
interface Ctx {
  want: "float16" | "float32" | "float64" | undefined;
  backend: Backend;
  where: string;
}

function floats(
  x: Float32Array | Float64Array,
  dtype: "float16" | "float32" | "float64",
): { data: TypedArray; dtype: DType } {
  if (dtype === "float16") return { data: float16Array("safetensors.read").from(x), dtype }; // one rounding
  if (dtype === "float64") return { data: x instanceof Float64Array ? x : Float64Array.from(x), dtype };
  return { data: x instanceof Float32Array ? x : Float32Array.from(x), dtype };
}

const NARROW_INTS = { I16: [Int16Array, 2], U16: [Uint16Array, 2], I8: [Int8Array, 1], U8: [Uint8Array, 1] } as const;

/** Decodes one tensor's bytes into a Tangent dtype. */
function decode(e: HeaderEntry, bytes: Uint8Array, { want, where }: Ctx): { data: TypedArray; dtype: DType } {
  const n = bytes.length / (BITS.get(e.dtype)! / 8);
  switch (e.dtype) {
    case "F64":
      return floats(view(Float64Array, bytes, 8), want ?? "float64");
    case "F32":
      return floats(view(Float32Array, bytes, 4), want ?? "float32");
    case "F16":
    case "BF16": {
      if (e.dtype === "F16" && want === "float16") {
        return { data: view(float16Array("safetensors.read"), bytes, 2), dtype: "float16" }; // kept as is
      }
      const dec = e.dtype === "F16" ? decodeF16 : decodeBF16, bits = view(Uint16Array, bytes, 2);
      if (want === "float16") return floats(dec(bits, new Float32Array(n)), "float16");
      if (want === "float64") return { data: dec(bits, new Float64Array(n)), dtype: "float64" };
      return { data: dec(bits, new Float32Array(n)), dtype: "float32" };
    }
    case "I64": {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = dv.getInt32(8 * i, true), hi = dv.getInt32(8 * i + 4, true); // fits int32 iff hi is lo's sign
        if (hi !== lo >> 31) {
          throw new FormatError(
            `${where}: tensor "${e.name}" (I64 ${fmtShape(e.shape)}): element ${i} = ${
              (BigInt(hi) << 32n) |
              BigInt(lo >>> 0)
            } does not fit int32, Tangent's integer dtype; store it as I32 (or a float) before saving`,
          );
        }
        out[i] = lo;
      }
      return { data: out, dtype: "int32" };
    }
    case "I32":
      return { data: view(Int32Array, bytes, 4), dtype: "int32" };
    case "I16":
    case "U16":
    case "I8":
    case "U8": {
      const [C, size] = NARROW_INTS[e.dtype];
      return { data: Int32Array.from(view<ArrayLike<number>>(C, bytes, size)), dtype: "int32" };
    }
    default: { // BOOL (select() let nothing else through): any non-zero byte is true
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] ? 1 : 0;
      return { data: out, dtype: "bool" };
    }
  }
}

function makeTensor(e: HeaderEntry, bytes: Uint8Array, ctx: Ctx): Tensor {
  const { data, dtype } = decode(e, bytes, ctx);
  try {
    return new Tensor(ctx.backend.fromHost(data, { shape: e.shape, dtype }), e.shape, dtype);
  } catch (err) {
    if (!(err instanceof DTypeError)) throw err;
    throw new DTypeError(
      `${ctx.where}: tensor "${e.name}" (${e.dtype}): ${err.message}; read with { dtype: "float32" }`,
    );
  }
}

function context(opts: DeserializeOptions, backend: Backend, where: string): Ctx {
  const want = opts.dtype;
  if (want !== undefined && want !== "float16" && want !== "float32" && want !== "float64") {
    throw new DTypeError(`${where}: dtype ${show(want)} is not "float16", "float32" or "float64"`);
  }
  return { want, backend, where };
}

function loadBytes(bytes: Uint8Array, opts: DeserializeOptions, ctx: Ctx): Loaded {
  const h = headerOfBytes(bytes, ctx.where);
  const tensors: Record<string, Tensor> = {};
  for (const e of select(h, opts.names, ctx.where)) {
    const at = h.dataStart + e.begin;
    put(tensors, e.name, makeTensor(e, bytes.subarray(at, at + e.end - e.begin), ctx));
  }
  return { tensors, metadata: h.metadata };
}

const DESERIALIZE_KEYS = optionKeys<DeserializeOptions>({ names: true, dtype: true });
const READ_KEYS = optionKeys<ReadOptions>({ names: true, dtype: true, backend: true });

/**
 * Reads a safetensors file (a path, a `file:` URL, or its bytes): its header, then each tensor's
 * byte range at its offset. F64 → float64; F32, F16, BF16 → float32 (16-bit floats widen exactly);
 * I64, I32, I16, U16, I8, U8 → int32 (a FormatError names an I64 value out of int32 range);
 * BOOL → bool. Other dtypes (F8_*, U32, U64, C64, ...) give a FormatError, as does any header the
 * reference reader would refuse. With `dtype: "float16"`, F16 tensors stay float16 (their bits as
 * they are) and F64, F32 and BF16 ones are rounded to float16 (nearest even).
 * @param pathOrBytes the file, or its bytes
 * @param opts `names` to read only those tensors, `dtype` to convert every float tensor to,
 *   `backend` to create the tensors on
 * @returns the tensors by name and the `__metadata__` strings
 * @example
 * ```ts
 * import { safetensors, tensor } from "@tangent/tangent";
 * const bytes = safetensors.serialize({ w: tensor([[1, 2], [3, 4]]), b: tensor([0.5, -1]) }, { format: "pt" });
 * const { tensors, metadata } = await safetensors.read(bytes, { names: ["w"], dtype: "float64" });
 * console.log(tensors.w.shape, tensors.w.dtype, metadata.format); // [2, 2] float64 pt
 * ```
 */
export async function read(pathOrBytes: string | FileURL | Uint8Array, opts: ReadOptions = {}): Promise<Loaded> {
  checkOptions("safetensors.read", opts, READ_KEYS, '{ dtype: "float64" }');
  const backend = opts.backend ? await loadBackend(opts.backend) : getBackend();
  if (pathOrBytes instanceof Uint8Array) {
    return loadBytes(pathOrBytes, opts, context(opts, backend, "safetensors.read: <bytes>"));
  }
  const path = toPath(pathOrBytes), ctx = context(opts, backend, `safetensors.read: ${path}`);
  return await withFile(path, "safetensors.read", async (fh, size) => {
    const h = await headerOfFile(fh, size, ctx.where);
    const tensors: Record<string, Tensor> = {};
    for (const e of select(h, opts.names, ctx.where)) {
      const bytes = new Uint8Array(e.end - e.begin); // one tensor at a time, read at its offset
      await readExact(fh, bytes, h.dataStart + e.begin, ctx.where);
      put(tensors, e.name, makeTensor(e, bytes, ctx));
    }
    return { tensors, metadata: h.metadata };
  });
}

/**
 * Reads and validates a file's header only, no tensor bytes: names, dtypes (any of the format's),
 * shapes and byte ranges, e.g. to check a checkpoint before loading it or to index shards.
 * @param pathOrBytes the file, or its bytes
 * @returns the entries in file order, the metadata, and where the byte buffer starts
 * @example
 * ```ts
 * import { safetensors, tensor } from "@tangent/tangent";
 * const bytes = safetensors.serialize({ w: tensor([[1, 2], [3, 4]]) });
 * const { entries, dataStart } = await safetensors.readHeader(bytes);
 * console.log(entries[0]); // { name: "w", dtype: "F32", shape: [2, 2], begin: 0, end: 16 }, at byte dataStart
 * ```
 */
export async function readHeader(pathOrBytes: string | FileURL | Uint8Array): Promise<Header> {
  if (pathOrBytes instanceof Uint8Array) return headerOfBytes(pathOrBytes, "safetensors.readHeader: <bytes>");
  const path = toPath(pathOrBytes);
  return await withFile(
    path,
    "safetensors.readHeader",
    (fh, size) => headerOfFile(fh, size, `safetensors.readHeader: ${path}`),
  );
}

/**
 * The tensors and metadata of safetensors bytes in memory, on the CPU (synchronously); the same
 * conversions and checks as `read`.
 * @param bytes a whole safetensors file
 * @param opts `names` to read only those tensors, `dtype` to convert every float tensor to
 * @returns the tensors by name and the `__metadata__` strings
 * @example
 * ```ts
 * import { safetensors, tensor } from "@tangent/tangent";
 * const { tensors } = safetensors.deserialize(safetensors.serialize({ ids: tensor([1, 2, 3], { dtype: "int32" }) }));
 * console.log(tensors.ids.arraySync()); // [1, 2, 3]
 * ```
 */
export function deserialize(bytes: Uint8Array, opts: DeserializeOptions = {}): Loaded {
  checkOptions("safetensors.deserialize", opts, DESERIALIZE_KEYS, '{ dtype: "float64" }');
  return loadBytes(bytes, opts, context(opts, backendNamed("cpu"), "safetensors.deserialize: <bytes>"));
}

// ---------------------------------------------------------------- writing

export { serialize, write, type WriteOptions } from "./safetensors_write.ts";
export type { FileURL } from "./web_types.ts";
