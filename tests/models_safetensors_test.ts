/**
 * safetensors: the fixtures saved by transformers, byte-identical output against files made by
 * `safetensors.torch.save_file` (0.8.0, torch 2.13), round trips of every dtype, hand-built bytes
 * of every readable dtype, atomic writes and one FormatError per malformed-input case (the
 * fast-check property over random and mutated files is in models_safetensors_property_test.ts).
 */
import assert from "node:assert/strict";
import { DomainError, DTypeError, FormatError, safetensors, type Tensor, tensor, webgpuAvailable } from "../mod.ts";
import type { LoraParams } from "../adapters/mod.ts";
import { file } from "./models_safetensors_helpers.ts";

const FIX = "../shared/fixtures/models";
const vals = (t: Tensor) => [...t.dataSync()];
const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const tmpDir = () => Deno.makeTempDir({ dir: "/tmp", prefix: "tangent_st_" });

const u16 = (...v: number[]) => new Uint8Array(Uint16Array.from(v).buffer);
const i64 = (...v: bigint[]) => new Uint8Array(BigInt64Array.from(v).buffer);

/** Asserts `fn` throws (or rejects with) a FormatError whose message matches `re`. */
async function formatError(fn: () => unknown, re: RegExp, what = ""): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof FormatError, `${what}: expected FormatError, got ${e}`);
    assert.match(e.message, re, what);
    return;
  }
  assert.fail(`${what}: no error`);
}

Deno.test("fixtures: tiny GPT-2 and tiny Llama as transformers saved them", async () => {
  const gpt2 = await safetensors.read(`${FIX}/tiny_gpt2/model.safetensors`);
  assert.equal(Object.keys(gpt2.tensors).length, 28);
  assert.deepEqual(gpt2.metadata, { format: "pt" });
  const attn = gpt2.tensors["transformer.h.0.attn.c_attn.weight"];
  assert.deepEqual([attn.shape, attn.dtype], [[32, 96], "float32"]);
  // numbers from Python: safetensors.numpy.load_file, v.ravel()[:4] and v.astype(float64).sum()
  assert.deepEqual(vals(attn).slice(0, 4), [
    -0.007784167770296335,
    0.010092045180499554,
    -0.0013754901010543108,
    0.011292300187051296,
  ]);
  const sum = (t: Tensor) => vals(t).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum(attn) - 0.11979390308488291) < 1e-12);
  const wte = gpt2.tensors["transformer.wte.weight"];
  assert.deepEqual(wte.shape, [64, 32]);
  assert.ok(Math.abs(sum(wte) - -2.513127704474755) < 1e-12);
  assert.equal(vals(wte).at(-1), -0.036869943141937256);

  const llama = await safetensors.read(new URL(`${FIX}/tiny_llama/model.safetensors`, `file://${Deno.cwd()}/`), {
    names: ["model.layers.1.self_attn.k_proj.weight", "model.norm.weight"],
    dtype: "float64",
  });
  assert.deepEqual(Object.keys(llama.tensors), ["model.layers.1.self_attn.k_proj.weight", "model.norm.weight"]);
  const k = llama.tensors["model.layers.1.self_attn.k_proj.weight"];
  assert.deepEqual([k.shape, k.dtype], [[16, 32], "float64"]);
  assert.deepEqual(vals(k).slice(0, 4), [
    -0.01956024393439293,
    0.012076880782842636,
    -0.03435644507408142,
    -0.0005473438068293035,
  ]);
  assert.ok(Math.abs(sum(k) - -0.5365307092943112) < 1e-12);
  assert.deepEqual(vals(llama.tensors["model.norm.weight"]), new Array(32).fill(1));

  const h = await safetensors.readHeader(`${FIX}/tiny_llama/model.safetensors`);
  assert.equal(h.entries.length, 21);
  assert.equal(h.dataStart, 8 + 2088);
  assert.deepEqual(h.entries[0], { name: "lm_head.weight", dtype: "F32", shape: [64, 32], begin: 0, end: 8192 });
  assert.equal(h.entries.at(-1)!.end, 92848 - h.dataStart);
  assert.ok(h.entries.every((e, i) => e.begin === (i ? h.entries[i - 1].end : 0)));
});

// Files written by Python (safetensors 0.8.0, torch 2.13):
//   save_file({"b.f32": [[1.5, -2, 3.25], [0.1, 1e-3, -7]], "a.f64": float64 [0.1, -1e300],
//     "z.i32": [1, -2, 2147483647], "m.bool": [True, False, True, True], "e.f32": 2.5 (shape []),
//     "c.empty": zeros((0, 3)), "ä.f32": [4.0], "B.f32": [5.0]}, metadata={"format": "pt"})
//   save_file({"w": torch.tensor(ROUNDING, float32).to(float16), "n": int32 [3]})
//   save_file({"w": torch.tensor(ROUNDING, float32).to(bfloat16), "n": int32 [3]}, metadata={})
const PY_MIXED =
  "AAIAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCJ9LCJhLmY2NCI6eyJkdHlwZSI6IkY2NCIsInNoYXBlIjpbMl0sImRh" +
  "dGFfb2Zmc2V0cyI6WzAsMTZdfSwiQi5mMzIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzFdLCJkYXRhX29mZnNldHMiOlsxNiwyMF19LCJiLmYzM" +
  "iI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMiwzXSwiZGF0YV9vZmZzZXRzIjpbMjAsNDRdfSwiYy5lbXB0eSI6eyJkdHlwZSI6IkYzMiIsInNoYX" +
  "BlIjpbMCwzXSwiZGF0YV9vZmZzZXRzIjpbNDQsNDRdfSwiZS5mMzIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6W10sImRhdGFfb2Zmc2V0cyI6WzQ" +
  "0LDQ4XX0sIsOkLmYzMiI6eyJkdHlwZSI6IkYzMiIsInNoYXBlIjpbMV0sImRhdGFfb2Zmc2V0cyI6WzQ4LDUyXX0sInouaTMyIjp7ImR0eXBlIjoi" +
  "STMyIiwic2hhcGUiOlszXSwiZGF0YV9vZmZzZXRzIjpbNTIsNjRdfSwibS5ib29sIjp7ImR0eXBlIjoiQk9PTCIsInNoYXBlIjpbNF0sImRhdGFfb" +
  "2Zmc2V0cyI6WzY0LDY4XX19IJqZmZmZmbk/nHUAiDzkN/4AAKBAAADAPwAAAMAAAFBAzczMPW8SgzoAAODAAAAgQAAAgEABAAAA/v///////38BAA" +
  "EB";
const PY_F16 =
  "cAAAAAAAAAB7Im4iOnsiZHR5cGUiOiJJMzIiLCJzaGFwZSI6WzFdLCJkYXRhX29mZnNldHMiOlswLDRdfSwidyI6eyJkdHlwZSI6IkYx" +
  "NiIsInNoYXBlIjpbMTVdLCJkYXRhX29mZnNldHMiOls0LDM0XX19ICAgAwAAAAA8AMD/ewB8AQAAAAIAADwCPGYuAIAAAAB8BDwMPA==";
const PY_BF16 =
  "gAAAAAAAAAB7Il9fbWV0YWRhdGFfXyI6e30sIm4iOnsiZHR5cGUiOiJJMzIiLCJzaGFwZSI6WzFdLCJkYXRhX29mZnNldHMiOlswLDRd" +
  "fSwidyI6eyJkdHlwZSI6IkJGMTYiLCJzaGFwZSI6WzE1XSwiZGF0YV9vZmZzZXRzIjpbNCwzNF19fQMAAACAPwDAgEeAR4AzADPAM4A/gD/NPQCALDJif4A/gj8=";
const ROUNDING = [1, -2, 65504, 65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, -0, 1e-8];
ROUNDING.push(3e38, 1 + 2 ** -8, 1 + 3 * 2 ** -8);
// what PyTorch rounded them to (its bits, decoded): ties go to the even neighbour, 65520 overflows F16
const AS_F16 = [1, -2, 65504, Infinity, 2 ** -24, 0, 2 ** -23, 1, 1 + 2 ** -9, 0.0999755859375, -0, 0, Infinity];
AS_F16.push(1 + 2 ** -8, 1 + 3 * 2 ** -8);
const AS_BF16 = [1, -2, 65536, 65536, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1, 1, 0.10009765625, -0, 1.0011717677116394e-8];
AS_BF16.push(3.00405527047391e38, 1, 1 + 2 ** -6);

const mixed = () => ({
  "b.f32": tensor([[1.5, -2, 3.25], [0.1, 1e-3, -7]]),
  "a.f64": tensor([0.1, -1e300], { dtype: "float64" }),
  "z.i32": tensor([1, -2, 2147483647], { dtype: "int32" }),
  "m.bool": tensor([true, false, true, true]),
  "e.f32": tensor(2.5),
  "c.empty": tensor(new Float32Array(0), { shape: [0, 3] }),
  "ä.f32": tensor([4]),
  "B.f32": tensor([5]),
});

Deno.test("serialize and write give the bytes save_file gives: dtype-alignment then name order, padded header", async () => {
  assert.deepEqual(safetensors.serialize(mixed(), { format: "pt" }), b64(PY_MIXED));
  const n = tensor([3], { dtype: "int32" });
  for (const dtype of ["float32", "float64"] as const) {
    const w = tensor(ROUNDING, { dtype });
    assert.deepEqual(safetensors.serialize({ w, n }, undefined, { dtype: "F16" }), b64(PY_F16), dtype);
    assert.deepEqual(safetensors.serialize({ w, n }, {}, { dtype: "BF16" }), b64(PY_BF16), dtype);
  }
  const dir = await tmpDir();
  await safetensors.write(`${dir}/m.safetensors`, mixed(), { format: "pt" });
  assert.deepEqual(await Deno.readFile(`${dir}/m.safetensors`), b64(PY_MIXED));
  const back = await safetensors.read(b64(PY_MIXED));
  assert.deepEqual(Object.keys(back.tensors), [
    "a.f64",
    "B.f32",
    "b.f32",
    "c.empty",
    "e.f32",
    "ä.f32",
    "z.i32",
    "m.bool",
  ]);
  for (const [name, t] of Object.entries(mixed())) {
    const got = back.tensors[name];
    assert.deepEqual([got.shape, got.dtype, vals(got)], [t.shape, t.dtype, vals(t)], name);
  }
  // names sort by code point (UTF-8 byte order), as Python's file put them: 'z', 'Ａ' (U+FF21), '😀' (U+1F600)
  const names = safetensors.serialize({ "😀": tensor([1]), "Ａ": tensor([2]), z: tensor([3]) });
  assert.deepEqual((await safetensors.readHeader(names)).entries.map((e) => e.name), ["z", "Ａ", "😀"]);
  assert.deepEqual(vals(safetensors.deserialize(b64(PY_F16)).tensors.w), AS_F16);
  assert.deepEqual(vals(safetensors.deserialize(b64(PY_BF16), { dtype: "float64" }).tensors.w), AS_BF16);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("round trips: every dtype through write/read and serialize/deserialize; F16/BF16 exact and rounded", async () => {
  const ts = {
    f64: tensor([[0.1, -1e300, 5e-324], [Infinity, NaN, -0]], { dtype: "float64" }),
    f32: tensor(Float32Array.of(0.1, -3.4e38, 1e-45, -Infinity, NaN, -0)),
    i32: tensor([-2147483648, 2147483647, 0, 7], { dtype: "int32", shape: [2, 2] }),
    bool: tensor([[true], [false], [true]]),
    scalar: tensor(3, { dtype: "int32", shape: [] }),
    empty: tensor(new Float64Array(0), { shape: [2, 0, 3] }),
    ["__proto__"]: tensor([9]), // a computed key is an own property, and must stay one
  };
  const dir = await tmpDir();
  const same = (a: Record<string, Tensor>, b: Record<string, Tensor>, what: string) => {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), what);
    for (const k of Object.keys(a)) {
      assert.deepEqual([a[k].shape, a[k].dtype, vals(a[k])], [b[k].shape, b[k].dtype, vals(b[k])], `${what} ${k}`);
    }
  };
  await safetensors.write(`${dir}/all.safetensors`, ts, { note: "ünïcode ✓", "": "empty key" });
  const r = await safetensors.read(`${dir}/all.safetensors`);
  same(r.tensors, ts, "write/read");
  assert.deepEqual(r.metadata, { note: "ünïcode ✓", "": "empty key" });
  assert.equal(Object.getPrototypeOf(r.tensors), Object.prototype);
  const d = safetensors.deserialize(safetensors.serialize(ts, { a: "b" }));
  same(d.tensors, ts, "serialize/deserialize");
  assert.deepEqual(d.metadata, { a: "b" });
  assert.deepEqual(safetensors.deserialize(safetensors.serialize({})), { tensors: {}, metadata: {} });
  assert.deepEqual(safetensors.serialize({}), Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32));

  // 16-bit floats: exactly representable values come back as they were, others rounded to even
  const exact = [0, -0, 1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, 0.333251953125, Infinity, -Infinity, NaN];
  for (const [dtype, rounded] of [["F16", AS_F16], ["BF16", AS_BF16]] as const) {
    const src = { x: tensor(exact), r: tensor(ROUNDING, { dtype: "float64" }), i: tensor([4], { dtype: "int32" }) };
    await safetensors.write(`${dir}/h.safetensors`, src, undefined, { dtype });
    const h = await safetensors.readHeader(`${dir}/h.safetensors`);
    assert.deepEqual(h.entries.map((e) => [e.name, e.dtype]), [["i", "I32"], ["r", dtype], ["x", dtype]]);
    const back = (await safetensors.read(`${dir}/h.safetensors`)).tensors;
    if (dtype === "F16") assert.deepEqual(vals(back.x), exact);
    else assert.deepEqual(vals(back.x).slice(0, 5), [0, -0, 1, -2, 0.5]); // bf16 has 8 bits of precision
    assert.deepEqual([back.r.dtype, vals(back.r)], ["float32", rounded]);
    assert.deepEqual(
      vals(safetensors.deserialize(safetensors.serialize(src, undefined, { dtype })).tensors.r),
      rounded,
    );
  }
  // float64 stored as F32 rounds to float32; read back as float64 on request
  const f =
    safetensors.deserialize(safetensors.serialize({ x: tensor([0.1], { dtype: "float64" }) }, {}, { dtype: "F32" }), {
      dtype: "float64",
    }).tensors.x;
  assert.deepEqual([f.dtype, vals(f)], ["float64", [Math.fround(0.1)]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hand-built bytes: F16, BF16, I64, I32, I16, U16, I8, U8, BOOL, misaligned buffers", async () => {
  const one = (dtype: string, shape: number[], data: Uint8Array, opts = {}) =>
    safetensors.deserialize(file({ t: { dtype, shape, data_offsets: [0, data.length] } }, data), opts).tensors.t;
  const f16 = one("F16", [2, 5], u16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x7e00));
  assert.deepEqual([f16.dtype, f16.shape], ["float32", [2, 5]]);
  const F16 = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity, -0, 0.333251953125, NaN];
  assert.deepEqual(vals(f16), F16);
  assert.deepEqual(
    vals(one("F16", [10], u16(0x3c00, 0xc000, 0x7bff, 1, 0x3ff, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x7e00), {
      dtype: "float64",
    })),
    F16,
  );
  const bf = one("BF16", [8], u16(0x3f80, 0xc040, 0x7f7f, 0x0001, 0x7f80, 0x8000, 0x3eab, 0x7fc0));
  assert.deepEqual(vals(bf), [1, -3, 255 * 2 ** 120, 2 ** -133, Infinity, -0, 0.333984375, NaN]);
  const big = i64(0n, -1n, 2147483647n, -2147483648n, 5n);
  assert.deepEqual([one("I64", [5], big).dtype, vals(one("I64", [5], big))], ["int32", [
    0,
    -1,
    2147483647,
    -2147483648,
    5,
  ]]);
  for (const [v, i] of [[2147483648n, 1], [-2147483649n, 1], [2n ** 63n - 1n, 1], [-(2n ** 63n), 1]] as const) {
    await formatError(
      () => one("I64", [2], i64(3n, v)),
      new RegExp(`tensor "t" \\(I64 \\[2\\]\\): element ${i} = ${v} does not fit int32`),
    );
  }
  assert.deepEqual(vals(one("I32", [2], new Uint8Array(Int32Array.of(-7, 1 << 30).buffer))), [-7, 1 << 30]);
  assert.deepEqual(vals(one("I16", [2], u16(0xffff, 0x8000))), [-1, -32768]);
  assert.deepEqual(vals(one("U16", [2], u16(0xffff, 0x8000))), [65535, 32768]);
  assert.deepEqual(vals(one("I8", [3], Uint8Array.of(0xff, 0x80, 0x7f))), [-1, -128, 127]);
  const u8 = one("U8", [4], Uint8Array.of(0, 1, 255, 128));
  assert.deepEqual([u8.dtype, vals(u8)], ["int32", [0, 1, 255, 128]]);
  const b = one("BOOL", [3], Uint8Array.of(0, 1, 2));
  assert.deepEqual([b.dtype, vals(b)], ["bool", [0, 1, 1]]); // any non-zero byte is true

  // an unpadded header puts the F64 data at file offset 63, not a multiple of 8; also bytes at an odd byteOffset
  const data = new Uint8Array(Float64Array.of(1.5, -2.25).buffer);
  const raw = file({ a: { dtype: "F64", shape: [2], data_offsets: [0, 16] } }, data);
  assert.equal(raw.length - 16, 63);
  const shifted = new Uint8Array(raw.length + 1).fill(7, 0, 1);
  shifted.set(raw, 1);
  for (const bytes of [raw, shifted.subarray(1)]) {
    assert.deepEqual(vals(safetensors.deserialize(bytes).tensors.a), [1.5, -2.25]);
  }
  const dir = await tmpDir();
  await Deno.writeFile(`${dir}/odd.safetensors`, raw);
  assert.deepEqual(vals((await safetensors.read(`${dir}/odd.safetensors`, { dtype: "float32" })).tensors.a), [
    1.5,
    -2.25,
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("names, dtypes Tangent cannot load, and readHeader of any dtype of the format", async () => {
  const data = new Uint8Array(2 + 4 + 16 + 8);
  const bytes = file({
    f8: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] },
    u32: { dtype: "U32", shape: [1], data_offsets: [2, 6] },
    c64: { dtype: "C64", shape: [2], data_offsets: [6, 22] },
    ok: { dtype: "F32", shape: [2], data_offsets: [22, 30] },
  }, data);
  const h = await safetensors.readHeader(bytes);
  assert.deepEqual(h.entries.map((e) => e.dtype), ["F8_E4M3", "U32", "C64", "F32"]);
  assert.deepEqual(vals((await safetensors.read(bytes, { names: ["ok"] })).tensors.ok), [0, 0]);
  const supported = "supported: F64, F32, F16, BF16, I64, I32, I16, U16, I8, U8, BOOL";
  for (const [name, dtype] of [["f8", "F8_E4M3"], ["u32", "U32"], ["c64", "C64"]]) {
    await formatError(
      () => safetensors.read(bytes, { names: [name] }),
      new RegExp(`tensor "${name}" has dtype ${dtype}, which Tangent cannot load; ${supported}`),
    );
  }
  await formatError(() => safetensors.deserialize(bytes), /tensor "f8" has dtype F8_E4M3/);
  await formatError(
    () => safetensors.read(bytes, { names: ["ok", "nope"] }),
    /no tensor named "nope"; the file has 4 \("f8", "u32", "c64", "ok"\)/,
  );
  await assert.rejects(() => safetensors.read(bytes, { dtype: "int32" as "float32" }), DTypeError);
});

/** Malformed inputs and the words their FormatError must contain. */
const ok = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
const eight = new Uint8Array(8);
const entry = (e: Record<string, unknown>) =>
  file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8], ...e } }, eight);
const BAD: [string, Uint8Array, RegExp][] = [
  ["shorter than 8 bytes", new Uint8Array(5), /5 bytes, shorter than the 8-byte header length/],
  ["header longer than the file", file(ok, eight, 1000n), /header length 1000 runs past the end of the \d+-byte file/],
  ["header over 100 MB", file(ok, eight, 100_000_001n), /header length 100000001 exceeds the limit of 100000000 bytes/],
  ["length 2^64 − 1", file(ok, eight, 2n ** 64n - 1n), /header length 18446744073709551615 exceeds the limit/],
  ["header not UTF-8", file(Uint8Array.of(0x7b, 0xff, 0x7d)), /the 3-byte header is not valid UTF-8/],
  ["a byte-order mark", file(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d)), /the header is not valid JSON/],
  ["header not JSON", file('{"a": {'), /the header is not valid JSON/],
  ["header an array", file([ok]), /the header is \[\{"a".*not a JSON object of tensors/],
  ["header null", file(null), /the header is null, not a JSON object/],
  [
    "a lone surrogate",
    file(`{"\\udc00":${JSON.stringify(ok.a)}}`, eight),
    /the name "\\udc00" holds a lone UTF-16 surrogate/,
  ],
  ["entry not an object", file({ a: [1, 2] }), /tensor "a": entry is \[1,2\], not an object/],
  ["entry lacks dtype", file({ a: { shape: [2], data_offsets: [0, 8] } }, eight), /tensor "a": entry lacks "dtype"/],
  ["entry lacks shape", file({ a: { dtype: "F32", data_offsets: [0, 8] } }, eight), /tensor "a": entry lacks "shape"/],
  ["entry lacks data_offsets", file({ a: { dtype: "F32", shape: [2] } }, eight), /entry lacks "data_offsets"/],
  ["dtype not a string", entry({ dtype: 4 }), /tensor "a": dtype 4 is not a safetensors dtype \(BOOL, F4, /],
  ["unknown dtype", entry({ dtype: "F33" }), /tensor "a": dtype "F33" is not a safetensors dtype/],
  ["shape not an array", entry({ shape: "2" }), /tensor "a": shape "2" is not an array of non-negative integers/],
  ["negative extent", entry({ shape: [-2] }), /shape \[-2\] is not an array of non-negative integers/],
  ["fractional extent", entry({ shape: [1.5] }), /shape \[1.5\] is not an array of non-negative integers/],
  [
    "extent written 1.0",
    file('{"a":{"dtype":"U8","shape":[1.0],"data_offsets":[0,1]}}', [5]),
    /shape \[1.0\] is not an/,
  ],
  [
    "offset written 1e0",
    file('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}', [5]),
    /data_offsets \[0,1e0\] is/,
  ],
  ["extent written -0", file('{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}'), /shape \[-0\] is not an array/],
  ["entry a number", file('{"a":1.5}'), /tensor "a": entry is 1.5, not an object/],
  ["offsets not a pair", entry({ data_offsets: [8] }), /data_offsets \[8\] is not a pair \[begin, end\]/],
  ["three offsets", entry({ data_offsets: [0, 8, 8] }), /data_offsets \[0,8,8\] is not a pair/],
  [
    "negative offset",
    entry({ data_offsets: [-8, 0] }),
    /data_offsets \[-8,0\] is not a pair \[begin, end\] of non-negative/,
  ],
  ["fractional offset", entry({ data_offsets: [0, 7.5] }), /data_offsets \[0,7.5\] is not a pair/],
  ["offset beyond 2^53", entry({ data_offsets: [0, 2 ** 60] }), /data_offsets \[0,1152921504606847000\] is not a pair/],
  ["begin > end", entry({ data_offsets: [8, 0] }), /tensor "a": data_offsets \[8, 0\] begin after they end/],
  [
    "byte count ≠ dtype × shape",
    file({ a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(12)),
    /tensor "a": data_offsets \[0, 12\] hold 12 bytes, but F32 × \[2, 2\] needs 16/,
  ],
  [
    "overlap",
    file({ ...ok, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
    /tensor "b": data_offsets \[4, 12\] overlap "a" \[0, 8\]; tensors must tile the byte buffer/,
  ],
  [
    "gap",
    file({ ...ok, b: { dtype: "F32", shape: [2], data_offsets: [12, 20] } }, new Uint8Array(20)),
    /tensor "b": data_offsets \[12, 20\] leave a gap of 4 bytes after "a" \[0, 8\]/,
  ],
  [
    "not starting at 0",
    entry({ data_offsets: [4, 12] }),
    /data_offsets \[4, 12\] leave a gap of 4 bytes after the start/,
  ],
  [
    "buffer longer than the last offset",
    file(ok, new Uint8Array(12)),
    /holds 12 bytes but the tensors end at byte 8; 4 trailing/,
  ],
  [
    "truncated",
    file(ok, new Uint8Array(5)),
    /tensors end at byte 8 of the byte buffer, but the file holds only 5 .* truncated/,
  ],
  ["__metadata__ not an object", file({ __metadata__: ["pt"] }), /__metadata__ is \["pt"\], not an object of strings/],
  [
    "__metadata__ not strings",
    file({ __metadata__: { epoch: 3 } }),
    /__metadata__ "epoch" is 3; metadata values must be \(Unicode\) strings/,
  ],
  [
    "element count overflows",
    entry({ shape: [2 ** 40, 2 ** 40, 0] }),
    /shape \[1099511627776, 1099511627776, 0\] overflows/,
  ],
  [
    "sub-byte tensor",
    file({ a: { dtype: "F4", shape: [3], data_offsets: [0, 2] } }, [0, 0]),
    /F4 × \[3\] is not a whole number/,
  ],
];

Deno.test("malformed input: a FormatError naming the problem and where, from bytes and from files", async () => {
  const dir = await tmpDir();
  for (const [what, bytes, re] of BAD) {
    await formatError(() => safetensors.deserialize(bytes), re, what);
    await formatError(() => safetensors.readHeader(bytes), re, what);
    const path = `${dir}/${what.replace(/\W+/g, "_")}.safetensors`;
    await Deno.writeFile(path, bytes);
    await formatError(() => safetensors.read(path), new RegExp(`^safetensors\\.read: ${path}: .*${re.source}`), what);
  }
  // valid variants of the same: null metadata, padding, zero-size tensors anywhere, an entry's extra fields
  const fine = file(
    `{"__metadata__":null,"z":{"dtype":"F64","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],` +
      `"data_offsets":[0,1],"extra":1},"e":{"dtype":"I8","shape":[3,0],"data_offsets":[1,1]}}        `,
    [9],
  );
  const r = safetensors.deserialize(fine);
  assert.deepEqual(Object.keys(r.tensors), ["z", "a", "e"]);
  assert.deepEqual([r.tensors.e.shape, vals(r.tensors.a), r.metadata], [[3, 0], [9], {}]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("write: validated first, written whole, an existing file replaced only whole", async () => {
  const dir = await tmpDir();
  const path = `${dir}/model.safetensors`;
  const listing = async () => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  const w = tensor([1, 2]);
  for (
    const [tensors, metadata, re] of [
      [{ "": w }, undefined, /tensor name "" is not allowed/],
      [{ __metadata__: w }, undefined, /tensor name "__metadata__" is not allowed/],
      [{ ["\ud800"]: w }, undefined, /tensor name "\\ud800" is not allowed/],
      [{ a: [1, 2] as unknown as Tensor }, undefined, /"a" is \[1,2\], not a Tensor/],
      [{ a: w }, { epoch: 3 as unknown as string }, /metadata "epoch" is 3; values must be strings/],
    ] as const
  ) {
    await formatError(() => safetensors.write(path, tensors, metadata), re);
    await formatError(() => safetensors.serialize(tensors, metadata), re);
  }
  await assert.rejects(() => safetensors.write(path, { w }, {}, { dtype: "F64" as "F32" }), DTypeError);
  assert.deepEqual(await listing(), []);

  await safetensors.write(path, { w, v: tensor([3], { dtype: "float64" }) }, { format: "pt" });
  assert.deepEqual(await listing(), ["model.safetensors"]);
  const before = await Deno.readFile(path);
  // a tensor whose read fails after the header and other tensors are written
  const broken = Object.create(tensor([5, 6])) as Tensor;
  broken.data = () => Promise.reject(new Error("device lost"));
  await assert.rejects(() => safetensors.write(path, { a: w, z: broken, b: tensor([7]) }), /device lost/);
  assert.deepEqual(await Deno.readFile(path), before);
  assert.deepEqual(await listing(), ["model.safetensors"]);
  await assert.rejects(() => safetensors.write(`${dir}/new.safetensors`, { z: broken }), /device lost/);
  assert.deepEqual(await listing(), ["model.safetensors"]);
  // replaced whole by a successful write; URLs work too
  await safetensors.write(new URL(`file://${path}`), { only: tensor([true]) });
  assert.deepEqual(Object.keys((await safetensors.read(path)).tensors), ["only"]);
  assert.deepEqual(await listing(), ["model.safetensors"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("WebGPU: read onto the GPU, write from it", async () => {
  if (!(await webgpuAvailable())) return console.warn("models_safetensors_test: no WebGPU adapter; skipped");
  const path = `${FIX}/tiny_llama/model.safetensors`;
  const names = ["model.norm.weight", "lm_head.weight"];
  const cpu = (await safetensors.read(path, { names, backend: "cpu" })).tensors;
  const gpu = (await safetensors.read(path, { names, backend: "webgpu" })).tensors;
  for (const n of names) {
    assert.equal(gpu[n].backend.name, "webgpu");
    assert.deepEqual([...(await gpu[n].data())], vals(cpu[n]));
  }
  const dir = await tmpDir();
  await safetensors.write(`${dir}/g.safetensors`, gpu, undefined, { dtype: "BF16" });
  const back = (await safetensors.read(`${dir}/g.safetensors`, { backend: "cpu" })).tensors;
  assert.deepEqual(vals(back["model.norm.weight"]), new Array(32).fill(1));
  const f64 = safetensors.serialize({ x: tensor([1], { dtype: "float64" }) });
  await assert.rejects(
    () => safetensors.read(f64, { backend: "webgpu" }),
    /tensor "x" \(F64\): .*read with \{ dtype: "float32" \}/,
  );
  assert.equal((await safetensors.read(f64, { backend: "webgpu", dtype: "float32" })).tensors.x.dtype, "float32");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("safetensors: an adapter's parameter object (an interface, no index signature) serializes as it is; options are checked", () => {
  // type-checked: LoraParams is an interface, which Record<string, Tensor> did not accept ({ ...params } was needed)
  const p: LoraParams = { A: tensor([[1, 2]]), B: tensor([[3], [4]]) };
  const back = safetensors.deserialize(safetensors.serialize(p)).tensors;
  assert.deepEqual(Object.keys(back).sort(), ["A", "B"]);
  assert.throws(
    () => safetensors.serialize(p, undefined, { dtpye: "F16" } as never),
    (e: Error) => e instanceof DomainError && e.message.includes('"dtpye"') && e.message.includes('"dtype"'),
  );
});
