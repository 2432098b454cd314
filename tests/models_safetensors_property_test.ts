/**
 * safetensors: a fast-check property over 10,000 random and mutated files: each gives tensors
 * inside its buffer, or a FormatError (split from models_safetensors_test.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { FormatError, safetensors } from "../mod.ts";
import { file } from "./models_safetensors_helpers.ts";

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------- the property

const KINDS: [string, number][] = [
  ["F64", 8],
  ["F32", 4],
  ["F16", 2],
  ["BF16", 2],
  ["I64", 8],
  ["I32", 4],
  ["I16", 2],
  ["U16", 2],
  ["I8", 1],
  ["U8", 1],
  ["BOOL", 1],
  ["F8_E4M3", 1],
  ["U32", 4],
  ["F4", 0.5],
]; // deno-fmt-ignore
/** Bytes per element of every dtype the format defines (a mutated header may name any of them). */
const BYTES = new Map(
  ("BOOL:8 F4:4 F6_E2M3:6 F6_E3M2:6 U8:8 I8:8 F8_E5M2:8 F8_E4M3:8 F8_E8M0:8 F8_E4M3FNUZ:8 F8_E5M2FNUZ:8 " +
    "I16:16 U16:16 F16:16 BF16:16 I32:32 U32:32 F32:32 C64:64 F64:64 I64:64 U64:64")
    .split(" ").map((s) => [s.split(":")[0], Number(s.split(":")[1]) / 8] as [string, number]),
);

/** A valid file (as the format allows; some dtypes Tangent cannot load) with its header object. */
const validFile = fc.record({
  tensors: fc.uniqueArray(
    fc.record({
      name: fc.string({ maxLength: 5 }),
      dtype: fc.constantFrom(...KINDS.map((k) => k[0])),
      shape: fc.array(fc.nat(3), { maxLength: 3 }),
    }),
    { selector: (t) => t.name, maxLength: 4 },
  ),
  metadata: fc.option(fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }), {
    nil: undefined,
  }),
  pad: fc.nat(9),
  seed: fc.nat(),
}).map(({ tensors, metadata, pad, seed }) => {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let at = 0;
  for (const t of tensors) {
    const n = Math.ceil(prod(t.shape) * BYTES.get(t.dtype)!);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + n] };
    at += n;
  }
  // half the files hold zeros (so I64 fits int32), half pseudo-random bytes
  const data = Uint8Array.from(
    { length: at },
    (_, i) => (seed % 2 ? (Math.imul(seed ^ i, 2654435761) >>> 13) & 255 : 0),
  );
  return { header, data, bytes: file(JSON.stringify(header) + " ".repeat(pad), data) };
});

/** Replaces one part of the header (the whole, an entry, a field, an element, the metadata) by `value`. */
function substitute(header: Record<string, unknown>, value: unknown, i: number, j: number): Record<string, unknown> {
  const h = structuredClone(header) as Record<string, Record<string, unknown[]>>;
  const names = Object.keys(h);
  if (!names.length || j % 7 === 0) return (j % 2 ? { x: value } : value) as Record<string, unknown>;
  const e = h[names[i % names.length]];
  const field = ["dtype", "shape", "data_offsets", "", "__metadata__"][j % 5];
  if (field === "") h[names[i % names.length]] = value as Record<string, unknown[]>;
  else if (field === "__metadata__") h.__metadata__ = value as Record<string, unknown[]>;
  else if (Array.isArray(e?.[field]) && j % 3 === 0) e[field][i % Math.max(1, e[field].length)] = value;
  else if (e && typeof e === "object") (e as Record<string, unknown>)[field] = value;
  return h;
}

const mutated = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  validFile.map((v) => v.bytes),
  fc.tuple(validFile, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }))
    .map(([v, flips]) => {
      const b = v.bytes.slice();
      for (const [at, x] of flips) b[at % b.length] ^= x;
      return b;
    }),
  fc.tuple(validFile, fc.nat()).map(([v, k]) => v.bytes.slice(0, k % (v.bytes.length + 1))),
  fc.tuple(validFile, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([v, x]) => {
    const b = new Uint8Array(v.bytes.length + x.length);
    b.set(v.bytes);
    b.set(x, v.bytes.length);
    return b;
  }),
  fc.tuple(validFile, fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.nat())
    .map(([v, value, i, j]) => file(substitute(v.header, value, i, j), v.data)),
  fc.tuple(
    validFile,
    fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.constantFrom(2n ** 64n - 1n, 2n ** 53n, 100_000_001n, 100_000_000n),
    ),
  )
    .map(([v, n]) => {
      const b = v.bytes.slice();
      new DataView(b.buffer).setBigUint64(0, n, true);
      return b;
    }),
  fc.tuple(validFile, fc.integer({ min: -9, max: 9 })).map(([v, d]) => {
    const b = v.bytes.slice();
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(Math.max(0, Number(dv.getBigUint64(0, true)) + d)), true);
    return b;
  }),
);

/** The value, or the FormatError thrown; anything else is rethrown. */
async function outcome<T>(fn: () => T | Promise<T>): Promise<T | FormatError> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FormatError) return e;
    throw e;
  }
}

Deno.test("property: 10,000 random and mutated files give tensors inside the buffer, or a FormatError", async () => {
  let loaded = 0;
  await fc.assert(
    fc.asyncProperty(mutated, async (bytes) => {
      const h = await outcome(() => safetensors.readHeader(bytes));
      const d = await outcome(() => safetensors.deserialize(bytes));
      const r = await outcome(() => safetensors.read(bytes, { backend: "cpu" }));
      assert.equal(d instanceof FormatError, r instanceof FormatError);
      if (h instanceof FormatError) return assert.ok(d instanceof FormatError);
      let at = 0;
      for (const e of h.entries) {
        assert.equal(e.begin, at);
        assert.equal(e.end - e.begin, prod(e.shape) * BYTES.get(e.dtype)!);
        at = e.end;
      }
      assert.equal(h.dataStart + at, bytes.length);
      if (d instanceof FormatError || r instanceof FormatError) return;
      loaded++;
      const byName = new Map(h.entries.map((e) => [e.name, e]));
      assert.deepEqual(Object.keys(d.tensors).sort(), h.entries.map((e) => e.name).sort()); // "0" sorts first in JS
      for (const { tensors } of [d, r]) {
        for (const [name, t] of Object.entries(tensors)) {
          assert.deepEqual(t.shape, byName.get(name)!.shape);
          assert.equal(t.size, prod(t.shape));
          assert.equal(t.dataSync().length, t.size);
        }
      }
    }),
    { numRuns: 10000 },
  );
  assert.ok(loaded > 500, `only ${loaded} of 10,000 inputs loaded; the generator should make more valid files`);
});
