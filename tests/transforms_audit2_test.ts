/**
 * Defects found by a second new-user audit against JAX 0.10.2 / optax 0.2.8 (a JAX user porting
 * per-example gradients, jitted training steps, scans, Jacobians and random keys). One test per
 * defect, each failing before its fix; expected behaviour is JAX's.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const f64 = (a: T.NestedArray) => T.tensor(a, { dtype: "float64" });

Deno.test("jvp: a tangent of another shape or dtype than its primal is jvp's error (was 'vjp: cotangent shape', or accepted)", () => {
  const x = T.tensor([0.5, 1.5]); // float32
  const sin = (t: Tensor) => T.sin(t);
  // jax.jvp: "primal and tangent arguments to jax.jvp do not match; dtypes must be equal" (TypeError)
  assert.throws(
    () => T.jvp(sin, [x], [f64([1, 1])]),
    (e) => e instanceof T.DTypeError && /jvp:.*float64.*float32/.test(e.message),
  );
  // jax.jvp: "jvp called with different primal and tangent shapes" (ValueError); Tangent named vjp's cotangent
  assert.throws(
    () => T.jvp(sin, [x], [T.tensor([1, 1, 1])]),
    (e) => e instanceof T.ShapeError && /^jvp:.*\[3\].*\[2\]/.test(e.message),
  );
  assert.throws(
    () => T.jvp(sin, [x], []),
    (e) => e instanceof T.ShapeError && /jvp: 1 primals but 0 tangents/.test(e.message),
  );
  assert.throws(
    () => T.jvp((p: { a: Tensor }) => T.sin(p.a), [{ a: x }], [{ b: x }]),
    (e) => e instanceof T.ShapeError && /jvp: tangent 0 is not laid out as primal 0/.test(e.message),
  );
  assert.throws(
    () => T.jvp(sin, x as unknown as Tensor[], [x]),
    (e) => e instanceof T.ShapeError && /jvp: primals and tangents must be arrays/.test(e.message),
  );
  // matching tangents still work, pytrees and forward-over-vmap included (jax.jvp's numbers)
  const [y, dy] = T.jvp((t: Tensor) => T.mul(T.sin(t), t), [f64([0.3, -1.2])], [f64([1, 2])]);
  assert.deepEqual(y.dataSync(), Float64Array.from([0.3, -1.2], (v) => Math.sin(v) * v));
  assert.deepEqual(
    dy.dataSync(),
    Float64Array.from([[0.3, 1], [-1.2, 2]], ([v, t]) => (Math.cos(v) * v + Math.sin(v)) * t),
  );
  const [, dp] = T.jvp((p: { a: Tensor; b: Tensor }) => T.mul(p.a, p.b), [{ a: f64([2]), b: f64([3]) }], [{
    a: f64([1]),
    b: f64([0]),
  }]);
  assert.deepEqual(dp.dataSync(), Float64Array.from([3]));
  assert.deepEqual(T.jacfwd((t: Tensor) => T.sin(t))(f64([0])).dataSync(), Float64Array.from([1]));
});

Deno.test("arange: the options may follow the last number given, as jnp.arange(n, dtype=...) (was 'stop is [object Object]')", () => {
  const a = T.arange(4, { dtype: "float64" });
  assert.equal(a.dtype, "float64");
  assert.deepEqual(a.dataSync(), Float64Array.from([0, 1, 2, 3]));
  const b = T.arange(1, 4, { dtype: "float32" });
  assert.equal(b.dtype, "float32");
  assert.deepEqual(b.dataSync(), Float32Array.from([1, 2, 3]));
  // the forms that worked keep working (int32 for integers, as jnp.arange)
  assert.equal(T.arange(3).dtype, "int32");
  assert.deepEqual(T.arange(0, 1, 0.25).dataSync(), Float32Array.from([0, 0.25, 0.5, 0.75]));
  assert.equal(T.arange(6, undefined, 1, { dtype: "float64" }).dtype, "float64");
  // an option name it does not know is still refused, and nothing may follow the options
  assert.throws(() => T.arange(4, { dtyp: "float64" } as T.CreateOptions), T.DomainError);
  assert.throws(
    () => (T.arange as (...a: unknown[]) => Tensor)(4, { dtype: "float64" }, 2),
    (e) => e instanceof T.DomainError && /arange: the options come last/.test(e.message),
  );
});

Deno.test("sigmoid: full relative precision for negative x (the tanh form gave sigmoid(-17) = 2.98e-8, sigmoid(-19) = 0)", () => {
  // jax.nn.sigmoid(jnp.float32([-30, -18.75, -17, -10, 0, 5])) and in float64
  const x = [-30, -18.75, -17, -10, 0, 5];
  const want = [
    9.357622968839299e-14,
    7.194132978569834e-9,
    4.1399375473943306e-8,
    4.5397868702434395e-5,
    0.5,
    0.9933071490757152,
  ];
  const s32 = T.sigmoid(T.tensor(x)).dataSync(), s64 = T.sigmoid(f64(x)).dataSync();
  for (let i = 0; i < x.length; i++) {
    assert.ok(
      Math.abs(s32[i] - want[i]) <= 2 ** -23 * want[i],
      `float32 sigmoid(${x[i]}) = ${s32[i]}, want ${want[i]}`,
    );
    assert.ok(Math.abs(s64[i] - want[i]) <= 4e-16 * want[i], `float64 sigmoid(${x[i]}) = ${s64[i]}, want ${want[i]}`);
  }
  assert.ok(T.sigmoid(f64(-700)).item() > 0, "float64 sigmoid(-700) is 9.86e-305, not 0");
  // limits, NaN and finite gradients everywhere (jax: grad at ±inf and ±800 is 0, at 0 it is 1/4)
  assert.deepEqual(Array.from(T.sigmoid(f64([-Infinity, Infinity, NaN])).dataSync()), [0, 1, NaN]);
  const g = T.vmap(T.grad((t: Tensor) => T.sigmoid(t)))(f64([-Infinity, -800, 0, 800, Infinity]));
  assert.deepEqual(Array.from(g.dataSync()), [0, 0, 0.25, 0, 0]);
  const g2 = T.vmap(T.grad(T.grad((t: Tensor) => T.sigmoid(t))))(f64([0, 1]));
  assert.ok(g2.dataSync()[0] === 0 && Math.abs(g2.dataSync()[1] + 0.09085774767294841) < 1e-16);
  // dtypes as before: float32 for numbers and ints, a float input's own
  assert.equal(T.sigmoid(3).dtype, "float32");
  assert.equal(T.sigmoid(T.tensor([1], { dtype: "int32" })).dtype, "float32");
  // jit replays the same bits
  const j = T.jit((t: Tensor) => T.sigmoid(t)), xs = T.tensor([-18.72, -3, 0, 2, 30]);
  j(xs);
  assert.deepEqual(j(xs).dataSync(), T.sigmoid(xs).dataSync());
});

Deno.test("customVjp: a function returning a pytree is customVjp's ShapeError (was TypeError: y._alias is not a function)", () => {
  const pair = T.customVjp((a: Tensor) => ({ y: a }) as unknown as Tensor, (ct) => [ct]);
  assert.throws(
    () => pair(f64([1, 2])),
    (e) => e instanceof T.ShapeError && /^customVjp: the function must return one tensor, got object/.test(e.message),
  );
  const list = T.customVjp((a: Tensor) => [a, a] as unknown as Tensor, (ct) => [ct]);
  assert.throws(
    () => T.grad((x: Tensor) => T.sum(list(x)))(f64([1])),
    (e) => e instanceof T.ShapeError && /an array of 2/.test(e.message),
  );
  // under vmap too (the batched rule runs the function on the batch)
  assert.throws(
    () => T.vmap(pair)(f64([1, 2])),
    (e) => e instanceof T.ShapeError && /customVjp: the function must return one tensor/.test(e.message),
  );
  // one tensor still works: JAX's clip_gradient
  const clipGrad = T.customVjp((a: Tensor) => a, (ct) => [T.clip(ct, -0.5, 0.5)]);
  assert.deepEqual(
    Array.from(T.grad((x: Tensor) => T.sum(T.mul(clipGrad(x), f64([3, -0.2]))))(f64([1, 2])).dataSync()),
    [0.5, -0.2],
  );
});

Deno.test("dot: operands that do not broadcast are dot's ShapeError pointing to matmul (was mul's, for jnp.dot(x, w) ported as dot)", () => {
  // jnp.dot(x, w) of a [2, 3] batch and [3, 4] weights is a matrix product; Tangent's dot is Σ over the last axes
  assert.throws(
    () => T.dot(T.ones([2, 3]), T.ones([3, 4])),
    (e) => e instanceof T.ShapeError && /^dot: \[2, 3\] · \[3, 4\].*use matmul\(a, b\)/.test(e.message),
  );
  assert.throws(() => T.dot(T.ones([3]), T.ones([3, 4])), (e) => e instanceof T.ShapeError && /^dot:/.test(e.message));
  // what dot computes is unchanged: vectors, matrix·vector (both as jnp.dot), and row-wise products
  assert.equal(T.dot(f64([1, 2]), f64([3, 4])).item(), 11);
  assert.deepEqual(T.dot(f64([[1, 2], [3, 4]]), f64([1, 1])).arraySync(), [3, 7]);
  assert.deepEqual(T.dot(f64([[1, 2], [3, 4]]), f64([[1, 0], [0, 1]])).arraySync(), [1, 4]);
  assert.deepEqual(T.dot(f64([[1, 2], [3, 4]]), f64([[2, 1]])).arraySync(), [4, 10]);
});

Deno.test("variance: ddof ≥ n divides by max(n − ddof, 0) as NumPy (ddof 5 over 2 rows gave the negative variance -1.5)", () => {
  const m = f64([[1, 2, 3], [4, 5, 6]]);
  // np.var(m, axis=0, ddof=d): 2.25, 4.5, inf, inf (jnp.var: nan for the last two), 1.5 for ddof -1
  assert.deepEqual(Array.from(T.variance(m, { axis: 0 }).dataSync()), [2.25, 2.25, 2.25]);
  assert.deepEqual(Array.from(T.variance(m, { axis: 0, ddof: 1 }).dataSync()), [4.5, 4.5, 4.5]);
  assert.deepEqual(Array.from(T.variance(m, { axis: 0, ddof: 2 }).dataSync()), [Infinity, Infinity, Infinity]);
  assert.deepEqual(Array.from(T.variance(m, { axis: 0, ddof: 5 }).dataSync()), [Infinity, Infinity, Infinity]);
  assert.deepEqual(Array.from(T.variance(m, { axis: 0, ddof: -1 }).dataSync()), [1.5, 1.5, 1.5]);
  assert.ok(Number.isNaN(T.variance(T.ones([2]), { ddof: 3 }).item()), "0 / 0 for a constant x");
  assert.throws(
    () => T.variance(m, { ddof: NaN }),
    (e) => e instanceof T.DomainError && /variance: ddof = NaN/.test(e.message),
  );
});

Deno.test("logsumexp / softmax / logSoftmax over an empty axis: −∞ and empty results as jax.nn (were 'max: reducing an empty axis')", () => {
  const z = (s: number[]) => T.zeros(s, { dtype: "float64" });
  // jax.nn.logsumexp(jnp.zeros((2, 0)), axis=1) = [-inf, -inf]; over no axis of zeros(0): -inf
  assert.deepEqual(Array.from(T.logsumexp(z([2, 0]), { axis: 1 }).dataSync()), [-Infinity, -Infinity]);
  assert.deepEqual(T.logsumexp(z([2, 0]), { axis: 1, keepdims: true }).shape, [2, 1]);
  assert.equal(T.logsumexp(z([0])).item(), -Infinity);
  assert.deepEqual(T.logsumexp(z([2, 0]), { axis: 0 }).shape, [0]);
  assert.deepEqual(T.grad((x: Tensor) => T.logsumexp(x))(z([0])).shape, [0]);
  assert.deepEqual(Array.from(T.vmap((x: Tensor) => T.logsumexp(x))(z([3, 0])).dataSync()), [
    -Infinity,
    -Infinity,
    -Infinity,
  ]);
  // jax.nn.softmax / log_softmax of an empty axis: an empty array of the input's shape
  for (const f of [T.softmax, T.logSoftmax]) {
    assert.deepEqual(f(z([2, 0])).shape, [2, 0]);
    assert.deepEqual(f(z([0, 3]), { axis: 0 }).shape, [0, 3]);
    assert.throws(() => f(z([2, 0]), { axis: 3 }), T.ShapeError);
  }
  assert.ok(Math.abs(T.logsumexp(f64([[1, 2]]), { axis: 1 }).item() - (2 + Math.log1p(Math.exp(-1)))) < 1e-15);
});

Deno.test("vmap over 0 examples of gather / scatterAdd (scatterAdd's batching divided the index size by the batch: 'cannot view [0, 2] as [0, 1, NaN, 1]')", () => {
  // the batching rules name each example's index extent (no -1 beside a 0 extent, no division by the batch)
  const i0 = T.zeros([0, 2], { dtype: "int32" });
  // reshape's -1 beside a 0 extent is ambiguous and refused (as NumPy's), so the rules must name the extent
  assert.throws(() => T.reshape(T.zeros([0, 3]), [0, -1]), T.ShapeError);
  assert.deepEqual(T.vmap((x: Tensor, i: Tensor) => T.take(x, i))(T.zeros([0, 3]), i0).shape, [0, 2]);
  assert.deepEqual(T.vmap((u: Tensor, i: Tensor) => T.scatterAdd(i, u, 0, [3]))(T.zeros([0, 2]), i0).shape, [0, 3]);
  const ids = T.tensor([[2, 2], [0, 1]], { dtype: "int32" });
  assert.deepEqual(
    T.vmap((u: Tensor, i: Tensor) => T.scatterAdd(i, u, 0, [3]))(f64([[1, 2], [3, 4]]), ids).arraySync(),
    [[0, 0, 3], [3, 4, 0]],
  );
  assert.deepEqual(T.vmap((x: Tensor, i: Tensor) => T.take(x, i))(f64([[1, 2, 3], [4, 5, 6]]), ids).arraySync(), [[
    3,
    3,
  ], [4, 5]]);
});

Deno.test("vmap over an empty key array or a number says that nothing batched holds a tensor or key (was 'every inAxes entry is null')", () => {
  const draw = (k: T.Key) => T.uniform(k, [2]);
  assert.throws(
    () => T.vmap(draw)(T.split(T.key(0), 0)),
    (e) =>
      e instanceof T.ShapeError &&
      /vmap: no batched argument holds a tensor or key \(argument 0 is an empty array\)/.test(e.message),
  );
  assert.throws(
    () => T.vmap((x: Tensor) => x)(3 as unknown as Tensor),
    (e) => e instanceof T.ShapeError && /argument 0 is the number 3/.test(e.message),
  );
  // every entry null is still said so
  assert.throws(() => T.vmap((x: Tensor) => x, { inAxes: [null] })(T.ones([2])), /every inAxes entry is null/);
  // zero examples of a tensor work, random draws included when a tensor carries the batch
  assert.deepEqual(T.vmap((x: Tensor) => T.sin(x))(T.zeros([0, 3])).shape, [0, 3]);
});

Deno.test("grad / valueAndGrad / jacrev / jacfwd / hessian: a negative argnums counts from the end, as JAX's argnums=-1 (was out of range)", () => {
  const a = f64([2, 3]), b = f64([5, 7]);
  const f = (x: Tensor, y: Tensor) => T.sum(T.mul(T.square(x), y));
  // jax.grad(f, argnums=-1)(a, b) = a² = [4, 9]; argnums=(0, -1): (2ab, a²)
  const g: Tensor = T.grad(f, { argnums: -1 })(a, b); // typed as the last argument's type
  assert.deepEqual(Array.from(g.dataSync()), [4, 9]);
  const [ga, gb] = T.grad(f, { argnums: [0, -1] })(a, b);
  assert.deepEqual([Array.from(ga.dataSync()), Array.from(gb.dataSync())], [[20, 42], [4, 9]]);
  assert.deepEqual(Array.from(T.valueAndGrad(f, { argnums: -2 })(a, b)[1].dataSync()), [20, 42]);
  const h = (x: Tensor, y: Tensor) => T.mul(T.square(x), y);
  assert.deepEqual(T.jacrev(h, { argnums: -1 })(a, b).arraySync(), [[4, 0], [0, 9]]);
  assert.deepEqual(T.jacfwd(h, { argnums: -1 })(a, b).arraySync(), [[4, 0], [0, 9]]);
  assert.deepEqual(T.hessian(f, { argnums: -2 })(a, b).arraySync(), [[10, 0], [0, 14]]);
  // out of range either way, or the same argument twice, is still a ShapeError
  assert.throws(
    () => T.grad(f, { argnums: -3 })(a, b),
    (e) => e instanceof T.ShapeError && /argnums -3 is out of range/.test(e.message),
  );
  assert.throws(
    () => T.grad(f, { argnums: [1, -1] })(a, b),
    (e) => e instanceof T.ShapeError && /names argument 1 twice/.test(e.message),
  );
  assert.throws(
    () => T.jacrev(h, { argnums: 2 })(a, b),
    (e) => e instanceof T.ShapeError && /jacrev: argnums 2 is out of range/.test(e.message),
  );
});

Deno.test("checkGrad: pytree inputs, and int tensors and keys passed through undifferentiated (were TypeError / DTypeError)", () => {
  // a pytree argument: 'Cannot read properties of undefined (reading name)' before
  const pt = T.checkGrad((p: { a: Tensor; b: Tensor }) => T.sum(T.mul(T.sin(p.a), p.b)), [{
    a: f64([1, 2]),
    b: f64([3, 4]),
  }]);
  assert.ok(pt <= 1);
  // int indices beside the float input: converted to float64 and refused by take before
  const ids = T.tensor([1, 1, 0], { dtype: "int32" });
  assert.ok(T.checkGrad((w: Tensor, i: Tensor) => T.sum(T.sin(T.take(w, i))), [f64([0.3, -1]), ids]) <= 1);
  // a key: a TypeError before
  assert.ok(
    T.checkGrad((w: Tensor, k: T.Key) => T.sum(T.mul(w, T.uniform(k, [2], { dtype: "float64" }))), [
      f64([1, 2]),
      T.key(0),
    ]) <= 1,
  );
  // a wrong rule inside a pytree leaf is caught and named by its path
  const bad = T.customVjp((x: Tensor) => T.sin(x), (ct, _o, x) => [T.mul(ct, T.sin(x))]);
  assert.throws(
    () =>
      T.checkGrad((p: { u: Tensor; v: Tensor }) => T.sum(T.add(bad(p.u), p.v)), [{ u: f64([0.1, 0.2]), v: f64([1]) }]),
    (e) =>
      e instanceof T.DomainError &&
      /checkGrad: gradient mismatch at input 0 \(leaf u\) \[2\] coordinate 0/.test(e.message),
  );
  assert.throws(
    () => T.checkGrad((i: Tensor) => T.sum(i), [ids]),
    (e) => e instanceof T.DomainError && /no float tensor/.test(e.message),
  );
});

Deno.test("optimizers: update without params says the params are missing (was 'grads are not laid out as params ... no tensor vs an object')", () => {
  const p = { w: f64([1, 2]) }, g = { w: f64([0.5, -1]) };
  // optax: "You are using a transformation that requires the current value of parameters, but you are not passing params"
  const opts: [string, T.optim.Optimizer<unknown>][] = [["sgd", T.optim.sgd({ lr: 0.1 })], [
    "adamw",
    T.optim.adamw({ lr: 0.1 }),
  ]];
  for (const [name, opt] of opts) {
    assert.throws(
      () => opt.update(g, opt.init(p), undefined as unknown as typeof p),
      (e) =>
        e instanceof T.ShapeError && new RegExp(`^${name}: the parameters are undefined; pass them`).test(e.message),
    );
  }
  const decay = T.optim.chain(T.optim.addDecayedWeights(0.1), T.optim.scaleByLearningRate(0.1));
  assert.throws(
    () => decay.update(g, decay.init(p), undefined),
    (e) => e instanceof T.ShapeError && /^addDecayedWeights: the parameters are undefined/.test(e.message),
  );
  // transformations that do not read params still run without them, as optax's
  const clip = T.optim.chain(T.optim.clipByGlobalNorm(1), T.optim.scaleByLearningRate(0.1));
  const { updates } = clip.update(g, clip.init(p), undefined) as { updates: typeof p };
  assert.ok(Math.abs(updates.w.dataSync()[0] + 0.1 * 0.5 / Math.sqrt(1.25)) < 1e-15);
  // a real layout difference keeps its message
  assert.throws(
    () => T.optim.sgd({ lr: 0.1 }).update({ v: f64([1]) } as unknown as typeof p, {} as never, p),
    /grads are not laid out as params/,
  );
});

Deno.test("grad / jacrev of an argument holding numbers but no tensor is a DTypeError (the 'gradient' was the numbers themselves)", () => {
  const f = (x: number[]) => T.sum(T.square(f64(x)));
  // grad(f)([1, 2, 3]) returned [1, 2, 3]; JAX differentiates Python floats (and refuses ints)
  assert.throws(
    () => T.grad(f)([1, 2, 3]),
    (e) => e instanceof T.DTypeError && /^grad: argument 0 holds no tensor \(it holds the number 1\)/.test(e.message),
  );
  assert.throws(() => T.valueAndGrad(f)([1, 2, 3]), T.DTypeError);
  assert.throws(
    () => T.jacrev((x: number[]) => T.square(f64(x)))([1, 2]),
    (e) => e instanceof T.DTypeError && /^jacrev: argument 0 holds no tensor/.test(e.message),
  );
  assert.throws(
    () =>
      T.grad((w: Tensor, k: T.Key) => T.sum(T.mul(w, T.uniform(k, [2]))), { argnums: [0, 1] })(T.ones([2]), T.key(0)),
    (e) => e instanceof T.DTypeError && /argument 1 holds no tensor \(it holds a key\)/.test(e.message),
  );
  // an empty pytree is still allowed (JAX returns it), and numbers beside tensors stay constants
  assert.deepEqual(T.grad((_p: Record<string, never>, x: Tensor) => T.sum(x))({}, T.ones([1])), {});
  const g = T.grad((p: { w: Tensor; scale: number }) => T.sum(T.mul(p.w, p.scale)))({ w: f64([1, 2]), scale: 3 });
  assert.deepEqual(Array.from(g.w.dataSync()), [3, 3]);
});

Deno.test("transpose: negative entries of perm count from the end, as jnp.transpose (they were 'not a permutation')", () => {
  const x = T.reshape(T.arange(24, { dtype: "float64" }), [2, 3, 4]);
  assert.deepEqual(T.transpose(x, [-1, 0, 1]).shape, [4, 2, 3]);
  assert.deepEqual(T.transpose(x, [-1, 0, 1]).arraySync(), T.transpose(x, [2, 0, 1]).arraySync());
  assert.deepEqual(T.transpose(x, [0, -1, -2]).shape, [2, 4, 3]);
  assert.throws(
    () => T.transpose(x, [-1, 2, 0]),
    (e) => e instanceof T.ShapeError && /perm \[-1,2,0\] is not a permutation/.test(e.message),
  );
  assert.throws(() => T.transpose(x, [-4, 0, 1]), T.ShapeError);
  // the gradient follows
  const g = T.grad((t: Tensor) =>
    T.sum(T.mul(T.transpose(t, [-1, 0, 1]), T.reshape(T.arange(24, { dtype: "float64" }), [4, 2, 3])))
  )(x);
  assert.deepEqual(g.shape, [2, 3, 4]);
  assert.equal(g.dataSync()[1], 6); // x[0, 0, 1] lands at [1, 0, 0] of the transposed, weight 6
});

Deno.test("optimizers: a float16 or int parameter's error names the dtypes they update and the fix (said 'float16; optimizers update float tensors')", () => {
  const opt = T.optim.adam({ lr: 0.1 });
  const h = T.tensor([0.5, 1.5], { dtype: "float16" });
  assert.throws(
    () => opt.update(h, opt.init(h), h),
    (e) =>
      e instanceof T.DTypeError &&
      /adam: parameter 0 is float16; optimizers update float32 and float64 tensors \(float16 is for frozen/.test(
        e.message,
      ),
  );
  const i = T.tensor([1, 2], { dtype: "int32" });
  assert.throws(
    () => opt.init(i),
    (e) => e instanceof T.DTypeError && /parameter 0 is int32; .*masked/.test(e.message),
  );
});

Deno.test("checkpoint: a pytree result, as jax.checkpoint's (was 'checkpoint: the function must return one tensor')", () => {
  const w = f64([[0.1, 0.2], [0.3, -0.4]]), x = f64([[0.5, 1], [-0.3, 0.2]]);
  const block = (a: Tensor, b: Tensor) => ({ h: T.tanh(T.matmul(a, b)), s: T.sum(T.mul(a, a)), l: [T.sin(a)] });
  const loss = (c: typeof block) => (a: Tensor, b: Tensor) => {
    const { h, s, l } = c(a, b);
    return T.add(T.sum(T.mul(h, s)), T.sum(l[0]));
  };
  const ck = T.checkpoint(block);
  const out = ck(x, w);
  assert.deepEqual([out.h.shape, out.s.shape, out.l[0].shape], [[2, 2], [], [2, 2]]);
  assert.deepEqual(out.h.arraySync(), block(x, w).h.arraySync());
  // gradients, under jit, vmap and twice, are those without checkpoint (JAX: jax.checkpoint is transparent to them)
  const plain = T.grad(loss(block), { argnums: [0, 1] })(x, w);
  const remat = T.grad(loss(ck), { argnums: [0, 1] })(x, w);
  assert.deepEqual(remat.map((t) => t.arraySync()), plain.map((t) => t.arraySync()));
  assert.deepEqual(T.jit(T.grad(loss(ck)))(x, w).arraySync(), plain[0].arraySync());
  const per = (c: typeof block) => (r: Tensor) => {
    const { h, s } = c(T.reshape(r, [1, 2]), w);
    return T.mul(T.sum(h), s);
  };
  assert.deepEqual(T.vmap(T.grad(per(ck)))(x).arraySync(), T.vmap(T.grad(per(block)))(x).arraySync());
  const h1 = T.hessian((a: Tensor) => loss(ck)(a, w))(x).dataSync(),
    h0 = T.hessian((a: Tensor) => loss(block)(a, w))(x).dataSync();
  assert.ok(h1.every((v, i) => Math.abs(v - h0[i]) <= 1e-15));
  // leaves of different dtypes cannot travel as one vector: said so
  assert.throws(
    () => T.checkpoint((q: Tensor) => ({ a: q, i: T.argmax(q) }))(f64([1, 2])),
    (e) =>
      e instanceof T.ShapeError && /checkpoint: the function's result holds float64 and int32 tensors/.test(e.message),
  );
  assert.throws(
    () => T.checkpoint((_q: Tensor) => ({ n: 3 }))(f64([1])),
    (e) => e instanceof T.ShapeError && /a tensor or a pytree of tensors/.test(e.message),
  );
});

Deno.test("takeAlongAxis: np/jnp.take_along_axis (a JAX port's x[arange(n), labels] had no counterpart but take with computed offsets)", () => {
  const x = T.reshape(T.arange(24, { dtype: "float64" }), [2, 3, 4]);
  const i32 = (a: T.NestedArray) => T.tensor(a, { dtype: "int32" });
  const idx = i32([[[3, 0], [1, 1], [-1, 2]], [[0, 0], [2, 3], [1, -4]]]);
  // np.take_along_axis(np.arange(24.).reshape(2, 3, 4), idx, 2), and with broadcasting index axes
  assert.deepEqual(T.takeAlongAxis(x, idx, 2).arraySync(), [[[3, 0], [5, 5], [11, 10]], [[12, 12], [18, 19], [
    21,
    20,
  ]]]);
  assert.deepEqual(T.takeAlongAxis(x, i32([[[2, 0, 1, 1]]]), 1).arraySync(), [[[8, 1, 6, 7]], [[20, 13, 18, 19]]]);
  assert.deepEqual(T.takeAlongAxis(x, i32([[[1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1]]]), 0).arraySync(), [[
    [12, 1, 14, 3],
    [4, 5, 6, 19],
    [20, 21, 22, 23],
  ]]);
  // cross-entropy's pick: log p(label) per row
  const lp = T.logSoftmax(f64([[1, 2, 3], [0, 0, 5]]));
  const picked = T.takeAlongAxis(lp, T.expandDims(i32([2, 0]), 1), 1);
  assert.deepEqual(picked.shape, [2, 1]);
  assert.deepEqual(Array.from(picked.dataSync()), [lp.dataSync()[2], lp.dataSync()[3]]);
  // jax.grad of sum(take_along_axis(x, idx, 2)): counts of each element picked
  const g = T.grad((t: Tensor) => T.sum(T.takeAlongAxis(t, idx, 2)))(x).arraySync();
  assert.deepEqual(g, [[[1, 0, 0, 1], [0, 2, 0, 0], [0, 0, 1, 1]], [[2, 0, 0, 0], [0, 0, 1, 1], [1, 1, 0, 0]]]);
  // under vmap and jit (the graph replays with other indices)
  const rows = i32([[[0], [1], [2]], [[3], [2], [1]]]);
  assert.deepEqual(T.vmap((r: Tensor, i: Tensor) => T.takeAlongAxis(r, i, 1))(x, rows).arraySync(), [[[0], [5], [10]], [
    [15],
    [18],
    [21],
  ]]);
  const j = T.jit((r: Tensor, i: Tensor) => T.takeAlongAxis(r, i, -1));
  j(x, rows);
  assert.deepEqual(j(x, i32([[[1], [1], [1]], [[0], [0], [0]]])).arraySync(), [[[1], [5], [9]], [[12], [16], [20]]]);
  // errors name the function
  assert.throws(
    () => T.takeAlongAxis(x, i32([[[4]]]), 2),
    (e) => e instanceof T.DomainError && /^takeAlongAxis \(axis 2\): index 4/.test(e.message),
  );
  assert.throws(
    () => T.takeAlongAxis(x, i32([1]), 2),
    (e) => e instanceof T.ShapeError && /^takeAlongAxis: indices \[1\] need the 3 axes/.test(e.message),
  );
  assert.throws(
    () => T.takeAlongAxis(x, T.tensor([[[1]]]), 2),
    (e) => e instanceof T.DTypeError && /must be int32/.test(e.message),
  );
});
