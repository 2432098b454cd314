/**
 * Counter-based randomness: Threefry-2x32 known-answer vectors, JAX compatibility of key / split /
 * foldIn / uniform, determinism, independence of split keys, and the moments of the distributions.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DTypeError, foldIn, key, normal, randomBits, ShapeError, split, uniform } from "../mod.ts";
import { randomWords, threefry2x32 } from "../core/random.ts";

const hex = (v: readonly number[]) => v.map((x) => "0x" + (x >>> 0).toString(16).padStart(8, "0"));

Deno.test("threefry2x32: Random123 known-answer vectors (20 rounds)", () => {
  // kat_vectors from Random123 1.09: threefry2x32_20
  assert.deepEqual(hex(threefry2x32(0, 0, 0, 0)), ["0x6b200159", "0x99ba4efe"]);
  assert.deepEqual(hex(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff)), ["0x1cb996fc", "0xbb002be7"]);
  assert.deepEqual(hex(threefry2x32(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)), ["0xc4923a9c", "0x483df7a0"]);
});

Deno.test("key(seed) matches jax.random.PRNGKey (64-bit seeds)", () => {
  // jax tests/random_test.py test_prng_seeds_and_keys, with jax_enable_x64
  const cases: [number, [number, number]][] = [
    [0, [0, 0]],
    [1, [0, 1]],
    [42, [0, 42]],
    [-1, [4294967295, 4294967295]],
    [-3, [4294967295, 4294967293]],
    [2 ** 31 - 1 + 100, [0, 2147483747]],
    [-(2 ** 31) - 100, [4294967295, 2147483548]],
    [2 ** 40 + 5, [256, 5]],
  ];
  for (const [seed, words] of cases) assert.deepEqual(key(seed).words, words, `key(${seed})`);
});

Deno.test("split and foldIn match jax.random (threefry, jax_threefry_partitionable=False)", () => {
  // jax tests/random_test.py testPRNGValues
  assert.deepEqual(split(key(0), 4).map((k) => k.words), [
    [2285895361, 1501764800],
    [1518642379, 4090693311],
    [433833334, 4221794875],
    [839183663, 3740430601],
  ]);
  assert.deepEqual(foldIn(key(0), 4).words, [2285895361, 433833334]);
  // jax.random.split(PRNGKey(0)), in the JAX docs and jax's export back-compatibility tests
  assert.deepEqual(split(key(0)).map((k) => k.words), [[4146024105, 967050713], [2718843009, 1272950319]]);
  assert.deepEqual(split(key(42)).map((k) => k.words), [[2465931498, 3679230171], [255383827, 267815257]]);
  // jax.random.uniform(PRNGKey(42)) = 0.42672753 (float32 bits (w >>> 9) | 0x3f800000, minus 1)
  assert.equal(uniform(key(42), []).item(), Math.fround(0.42672753));
  // (with jax_threefry_partitionable=True, JAX's default since 0.5, uniform(key(0)) is 0.947667
  // instead: it xors the two words of threefry(key, (0, 0)); Tangent keeps the classic layout)
  assert.equal(uniform(key(0), []).item(), (0x6b200159 >>> 9) / 2 ** 23);
});

Deno.test("randomBits: word j of n is the documented half of threefry(key, (c, M + c))", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 40 }), (seed, n) => {
      const k = key(seed);
      const bits = randomBits(k, [n]).dataSync();
      const m = Math.ceil(n / 2);
      for (let c = 0; c < m; c++) {
        const [y0, y1] = threefry2x32(k.words[0], k.words[1], c, m + c < n ? m + c : 0);
        assert.equal(bits[c] >>> 0, y0);
        if (m + c < n) assert.equal(bits[m + c] >>> 0, y1);
      }
      assert.deepEqual([...bits].map((b) => b >>> 0), [...randomWords(k.words, n)]);
    }),
    { numRuns: 30 },
  );
});

Deno.test("determinism: the same key gives the same numbers; the shape only arranges them", () => {
  const k = key(7);
  assert.deepEqual([...uniform(k, [3, 4]).dataSync()], [...uniform(k, [3, 4]).dataSync()]);
  assert.deepEqual([...normal(k, [5], { dtype: "float64" }).dataSync()], [
    ...normal(k, [5], { dtype: "float64" }).dataSync(),
  ]);
  assert.deepEqual([...uniform(k, [3, 4]).dataSync()], [...uniform(k, [12]).dataSync()]);
  assert.deepEqual(split(k, 3).map((x) => x.words), split(key(7), 3).map((x) => x.words));
  assert.deepEqual(foldIn(k, 5).words, foldIn(key(7), 5).words);
  assert.deepEqual(uniform(k, [0]).shape, [0]);
});

/** Pearson correlation of two equal-length samples. */
function corr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]), (mb += b[i]);
  ma /= n, mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma, db = b[i] - mb;
    sab += da * db, saa += da * da, sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

Deno.test("independence: split and foldIn keys are distinct and their streams uncorrelated", () => {
  const k = key(123);
  const keys = [...split(k, 16), ...Array.from({ length: 16 }, (_, i) => foldIn(k, i)), k];
  const ids = new Set(keys.map((x) => x.words.join(",")));
  assert.equal(ids.size, keys.length);
  // n = 20000: a correlation's standard error is 1/√n ≈ 0.007; 5σ bounds
  const n = 20000, bound = 5 / Math.sqrt(n);
  const streams = split(k, 4).map((s) => normal(s, [n], { dtype: "float64" }).dataSync());
  for (let i = 0; i < streams.length; i++) {
    for (let j = i + 1; j < streams.length; j++) {
      assert.ok(Math.abs(corr(streams[i], streams[j])) < bound, `streams ${i}, ${j}`);
    }
  }
  // a parent and its child, and neighbouring elements of one stream
  const parent = normal(k, [n], { dtype: "float64" }).dataSync();
  assert.ok(Math.abs(corr(parent, streams[0])) < bound);
  assert.ok(Math.abs(corr(parent.subarray(1), parent.subarray(0, n - 1))) < bound);
  // split of split is not the parent
  assert.notDeepEqual(split(split(k)[0])[0].words, k.words);
});

/** Mean and variance of a sample. */
function moments(x: ArrayLike<number>): [number, number] {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let v = 0;
  for (let i = 0; i < x.length; i++) v += (x[i] - m) ** 2;
  return [m, v / (x.length - 1)];
}

const N = 100_000;

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`uniform ${dtype}: in [0, 1), mean 1/2 and variance 1/12 over 1e5 samples`, () => {
    const u = uniform(key(2024), [N], { dtype });
    assert.equal(u.dtype, dtype);
    const x = u.dataSync();
    let lo = Infinity, hi = -Infinity;
    for (const v of x) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    assert.ok(lo >= 0 && hi < 1, `range [${lo}, ${hi}]`);
    assert.ok(lo < 1e-3 && hi > 1 - 1e-3);
    const [m, v] = moments(x);
    // standard errors: √(1/12/n) ≈ 9e-4 for the mean, √(1/180/n) ≈ 2.4e-4 for the variance; 5σ
    assert.ok(Math.abs(m - 0.5) < 5e-3, `mean ${m}`);
    assert.ok(Math.abs(v - 1 / 12) < 1.2e-3, `variance ${v}`);
    // every decile holds about a tenth (binomial sd ≈ 950; 5σ)
    const counts = new Array(10).fill(0);
    for (const v of x) counts[Math.floor(v * 10)]++;
    for (const c of counts) assert.ok(Math.abs(c - N / 10) < 5 * 95 * 10, `decile count ${c}`);
    // [min, max)
    const y = uniform(key(1), [1000], { dtype, min: -3, max: 5 }).dataSync();
    assert.ok(y.every((v) => v >= -3 && v < 5));
  });

  Deno.test(`normal ${dtype}: mean 0, variance 1, Gaussian tails over 1e5 samples`, () => {
    const z = normal(key(99), [N], { dtype });
    assert.equal(z.dtype, dtype);
    const x = z.dataSync();
    assert.ok(x.every(Number.isFinite));
    const [m, v] = moments(x);
    // standard errors 1/√n ≈ 3.2e-3 (mean) and √(2/n) ≈ 4.5e-3 (variance); 5σ
    assert.ok(Math.abs(m) < 0.016, `mean ${m}`);
    assert.ok(Math.abs(v - 1) < 0.023, `variance ${v}`);
    let within1 = 0, within2 = 0, skew = 0, kurt = 0;
    for (const t of x) {
      if (Math.abs(t) < 1) within1++;
      if (Math.abs(t) < 2) within2++;
      skew += t ** 3, kurt += t ** 4;
    }
    assert.ok(Math.abs(within1 / N - 0.6826894921370859) < 0.008, `P(|z| < 1) = ${within1 / N}`);
    assert.ok(Math.abs(within2 / N - 0.9544997361036416) < 0.004, `P(|z| < 2) = ${within2 / N}`);
    assert.ok(Math.abs(skew / N) < 0.04, `skewness ${skew / N}`);
    assert.ok(Math.abs(kurt / N - 3) < 0.12, `kurtosis ${kurt / N}`);
  });
}

Deno.test("float64 uniform uses 53 random bits", () => {
  const x = uniform(key(5), [1000], { dtype: "float64" }).dataSync();
  assert.ok(x.every((v) => Number.isInteger(v * 2 ** 53)));
  // not just 24 bits as float32 would give
  assert.ok(x.some((v) => !Number.isInteger(v * 2 ** 24)));
});

Deno.test("random: bad keys, dtypes and shapes are rejected with the fix", () => {
  assert.throws(() => uniform(key(0), [2], { dtype: "int32" }), DTypeError);
  assert.throws(() => normal(key(0), [2], { dtype: "bool" }), /normal: dtype must be a float, got bool/);
  assert.throws(() => uniform({} as never, [2]), /uniform: expected a key from key\(seed\) or split/);
  assert.throws(() => randomBits(key(0), [2, -1]), ShapeError);
  assert.throws(() => normal(key(0), [1.5]), /normal: shape \[1.5\] must hold non-negative integers/);
  assert.throws(() => key(1.5), /key: seed must be a safe integer, got 1.5/);
});
