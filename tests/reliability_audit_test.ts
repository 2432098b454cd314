/**
 * Defects found by the acceptance audit of issues 14/15 (fresh bad inputs on public ops outside the
 * op table), one test per fix: each fails without it.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";

const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });
// deno-lint-ignore no-explicit-any
const bad = (v: unknown) => v as any;

Deno.test("pad: the value must fit the input's dtype (an int32 2.5 or NaN was truncated to 2 or 0, a string became NaN)", () => {
  for (const v of [2.5, NaN, 3e9]) {
    assert.throws(
      () => T.pad(i32([1]), [[1, 0]], v),
      (e: unknown) =>
        e instanceof T.DTypeError && /pad: value/.test(e.message) && e.message.includes("int32") &&
        e.message.includes(String(v)),
    );
  }
  assert.throws(
    () => T.pad(T.ones([1]), [[1, 0]], bad("a")),
    (e: unknown) => e instanceof T.DTypeError && /pad: value must be a number, got string "a"/.test(e.message),
  );
  assert.deepEqual(T.pad(i32([1]), [[1, 1]], -7).arraySync(), [-7, 1, -7]);
  // a bool tensor holds 0 or 1: a nonzero value is true (it stored a 5)
  const b = T.pad(T.tensor([false]), [[1, 0]], 5);
  assert.equal(b.dtype, "bool");
  assert.deepEqual(Array.from(b.dataSync()), [1, 0]);
  assert.deepEqual(T.pad(T.ones([1]), [[0, 1]], NaN).arraySync(), [1, NaN]);
});

Deno.test("oneHot: n must be a non-negative integer (2.5 failed inside reshape, -1 gave an empty row, NaN named arange)", () => {
  for (const n of [2.5, -1, NaN]) {
    assert.throws(
      () => T.oneHot(i32([0]), n),
      (e: unknown) =>
        e instanceof T.ShapeError && e.message.startsWith(`oneHot: n = ${n} must be a non-negative integer`),
    );
  }
  // an index outside [0, n) gives a zero row, as in JAX (documented)
  assert.deepEqual(T.oneHot(i32([2, -1, 3]), 3).arraySync(), [[0, 0, 1], [0, 0, 0], [0, 0, 0]]);
  assert.deepEqual(T.oneHot(i32([0]), 0).shape, [1, 0]);
});

Deno.test("toBackend: an unknown backend or a non-tensor is named as toBackend's error (it said useBackend, or threw a TypeError)", async () => {
  await assert.rejects(
    () => T.toBackend(T.ones([1]), bad("tpu")),
    (e: unknown) => e instanceof T.BackendError && e.message.startsWith(`toBackend: unknown backend "tpu"; known: cpu`),
  );
  await assert.rejects(
    () => T.toBackend(bad([1, 2]), "cpu"),
    (e: unknown) =>
      e instanceof T.DTypeError && e.message.startsWith("toBackend: the input must be a tensor, got an array"),
  );
  await assert.rejects(
    () => T.useBackend("tpu"),
    (e: unknown) => e instanceof T.BackendError && e.message.startsWith(`useBackend: unknown backend "tpu"`),
  );
});

Deno.test("scope, vjp and customVjp given a non-function are DTypeErrors naming them (TypeErrors: 'fn is not a function')", () => {
  for (
    const [op, call] of [
      ["scope", () => T.scope(bad(3))],
      ["vjp", () => T.vjp(bad(undefined), T.ones([2]))],
      ["customVjp", () => T.customVjp(bad(null), (ct: T.Tensor) => [ct])],
      ["customVjp", () => T.customVjp((x: T.Tensor) => x, bad("bwd"))],
    ] as const
  ) {
    assert.throws(
      call,
      (e: unknown) =>
        e instanceof T.DTypeError && e.message.startsWith(`${op}: `) && e.message.includes("must be a function"),
    );
  }
  assert.equal(T.scope(() => T.ones([2])).shape[0], 2);
});

Deno.test("treeUnflatten: leaves must match the tree's tensor leaves (too few left undefined in the tree, too many were dropped)", () => {
  const tree = { a: T.ones([1]), b: [T.ones([1]), 3] };
  for (const leaves of [[T.zeros([2])], [1, 2, 3], []]) {
    assert.throws(() => T.treeUnflatten(tree, leaves), (e: unknown) =>
      e instanceof T.ShapeError &&
      e.message.startsWith(`treeUnflatten: the tree has 2 tensor leaves but ${leaves.length} values were given`));
  }
  assert.throws(
    () => T.treeUnflatten(tree, bad(undefined)),
    (e: unknown) => e instanceof T.ShapeError && e.message.startsWith("treeUnflatten: leaves must be an array"),
  );
  assert.deepEqual(T.treeUnflatten(tree, [1, 2]), { a: 1, b: [2, 3] });
  assert.deepEqual(T.treeUnflatten(3, []), 3);
});

Deno.test("adapters: a NaN, infinite or string alpha is a DomainError naming the method (NaN/∞ made every output NaN)", () => {
  const A = T.adapters;
  const makers: [string, (alpha: number) => unknown][] = [
    ["lora", (alpha) => A.lora({ r: 2, alpha })],
    ["dora", (alpha) => A.dora({ r: 2, alpha })],
    ["loha", (alpha) => A.loha({ r: 2, alpha })],
    ["lokr", (alpha) => A.lokr({ r: 2, alpha })],
    ["lokh", (alpha) => A.lokh({ r: 2, alpha })],
    ["polar", (alpha) => A.polar({ r: 2, alpha })],
    ["sorsa", (alpha) => A.sorsa({ r: 2, alpha })],
  ];
  for (const [name, make] of makers) {
    for (const alpha of [NaN, Infinity, -Infinity, bad("16")]) {
      assert.throws(
        () => make(alpha),
        (e: unknown) =>
          e instanceof T.DomainError && e.message.startsWith(`${name}: alpha = `) &&
          e.message.includes("must be a finite number"),
        `${name} alpha ${alpha}`,
      );
    }
  }
  const ad = A.lora({ r: 2, alpha: -4 });
  const { params, frozen } = ad.init(T.key(0), { weight: T.normal(T.key(1), [4, 4]) });
  assert.ok(Array.from(ad.apply(params, frozen, T.ones([1, 4])).dataSync()).every(Number.isFinite));
});

Deno.test("linalg.matrixNorm of an empty matrix: ord 1, 2, ∞ give 0 as NumPy does, ord -1, -2, -∞ name matrixNorm (the error named max or min)", () => {
  const f64 = { dtype: "float64" } as const;
  for (const shape of [[0, 0], [3, 0], [2, 0, 3]]) {
    for (const ord of [1, 2, Infinity, "fro", "nuc"] as const) {
      const r = T.linalg.matrixNorm(T.zeros(shape, f64), ord);
      assert.deepEqual(r.shape, shape.slice(0, -2));
      assert.ok(Array.from(r.dataSync()).every((v) => v === 0), `${shape} ${ord}`);
    }
  }
  for (const ord of [-1, -2, -Infinity]) {
    assert.throws(
      () => T.linalg.matrixNorm(T.zeros([0, 0], f64), ord),
      (e: unknown) =>
        e instanceof T.ShapeError && e.message.startsWith(`matrixNorm: ord ${ord} of the empty matrix [0, 0]`),
    );
  }
  // the smallest row sum of a 3 × 0 matrix is that of its three empty rows: 0
  assert.equal(T.linalg.matrixNorm(T.zeros([3, 0], f64), -Infinity).item(), 0);
});

Deno.test("kron, khatriRao and lowrank's matrix checks name themselves (a vector or 3-D input failed inside reshape, a non-tensor was a TypeError, an int32 matrix a ShapeError)", () => {
  const L = T.lowrank;
  for (
    const [op, call] of [
      ["kron", () => L.kron(T.ones([3]), T.ones([2, 2]))],
      ["kron", () => T.adapters.kron(T.ones([2, 2, 2]), T.ones([2, 2]))],
      ["khatriRao", () => L.khatriRao(T.ones([3]), T.ones([3]))],
      ["khatriRao", () => T.adapters.khatriRao(T.ones([2, 2, 2]), T.ones([2, 2]))],
    ] as const
  ) {
    assert.throws(
      call,
      (e: unknown) => e instanceof T.ShapeError && e.message.startsWith(`${op}: needs two matrices, got [`),
    );
  }
  for (
    const [op, call] of [
      ["kron", () => L.kron(bad(1), T.ones([2, 2]))],
      ["als", () => L.als(bad(1), { rank: 1 })],
      ["relativeError", () => L.relativeError(bad(null), T.ones([2]))],
    ] as const
  ) {
    assert.throws(
      call,
      (e: unknown) =>
        e instanceof T.DTypeError && e.message.startsWith(`${op}: `) && e.message.includes("must be a tensor"),
    );
  }
  assert.throws(
    () => L.als(T.ones([2, 2], { dtype: "int32" }), { rank: 1 }),
    (e: unknown) =>
      e instanceof T.DTypeError && e.message.startsWith("als: needs a float32 or float64 matrix, got int32"),
  );
  assert.deepEqual(L.kron(T.eye(2), T.tensor([[1, 2]])).arraySync(), [[1, 2, 0, 0], [0, 0, 1, 2]]);
});

Deno.test("manifold and adapter helpers given a non-tensor are DTypeErrors naming them (TypeErrors: 'a.add is not a function', 'reading ndim')", () => {
  const M = T.manifolds, A = T.adapters;
  for (
    const [op, call] of [
      ["sym", () => M.sym(bad(1))],
      ["skew", () => M.skew(bad(null))],
      ["orthonormalityError", () => M.orthonormalityError(bad(1))],
      ["asPoint", () => M.asPoint(bad(1), M.sphere(2))],
      ["manifoldOf", () => M.manifoldOf(bad(null))],
      ["stableRank", () => A.stableRank(bad(null))],
      ["conditionNumber", () => A.conditionNumber(bad([[1]]))],
      ["orthogonalityError", () => A.orthogonalityError(bad(1))],
      ["spectralDrift", () => A.spectralDrift(T.eye(2), bad(undefined))],
    ] as const
  ) {
    assert.throws(
      call,
      (e: unknown) =>
        e instanceof T.DTypeError && e.message.startsWith(`${op}: `) && e.message.includes("must be a tensor"),
    );
  }
  assert.equal(M.manifoldOf(T.ones([2])), undefined);
});

Deno.test("adapter constructors called without options name the options they need (lora() read opts.alpha of undefined)", () => {
  const A = T.adapters;
  const makers = {
    lora: A.lora,
    dora: A.dora,
    hra: A.hra,
    oft: A.oft,
    boft: A.boft,
    loha: A.loha,
    lokr: A.lokr,
    vera: A.vera,
    lokh: A.lokh,
    sorsa: A.sorsa,
    polar: A.polar,
  };
  for (const [name, make] of Object.entries(makers)) {
    for (const opts of [undefined, null]) {
      assert.throws(
        () => (make as (o: unknown) => unknown)(opts),
        (e: unknown) =>
          e instanceof T.DomainError && e.message.startsWith(`${name}: needs an options object such as {`),
        name,
      );
    }
  }
});

Deno.test("lowrank: missing options, factor shapes that are not pairs and non-tensor masks or weights are named errors (TypeErrors: 'a is not iterable', 'rows is not iterable')", () => {
  const L = T.lowrank, W = T.ones([4, 4], { dtype: "float64" });
  for (
    const [op, kind, call] of [
      ["alsMasked", T.DTypeError, () => L.alsMasked(W, bad(1), { rank: 1 })],
      ["hadamardAls", T.DomainError, () => L.hadamardAls(W, bad({}))],
      ["hadamardAls", T.DomainError, () => L.hadamardAls(W, bad(undefined))],
      ["khatriRaoDecomposition", T.ShapeError, () => L.khatriRaoDecomposition(W, bad(1))],
      ["rearrange", T.ShapeError, () => L.rearrange(W, bad(1), [2, 2])],
      ["rearrange", T.ShapeError, () => L.nearestKronecker(W, bad(1), [2, 2])],
      ["kroneckerDecomposition", T.DomainError, () => L.kroneckerDecomposition(W, bad(undefined))],
      ["weightedLeastSquares", T.DTypeError, () => L.weightedLeastSquares(bad(1), W, W, 0)],
    ] as const
  ) {
    assert.throws(call, (e: unknown) => e instanceof kind && e.message.startsWith(`${op}: `), op);
  }
  assert.deepEqual(L.nearestKronecker(W, [2, 2], [2, 2]).A.shape, [2, 2]);
});

Deno.test("adapter, schedule and product helpers given garbage are named errors (TypeErrors before: 'lr is not a function', 'reading shape')", () => {
  const A = T.adapters, M = T.manifolds, W = T.ones([4, 4]);
  for (
    const [op, kind, call] of [
      ["linear", T.DTypeError, () => A.linear(bad(1), W)],
      ["frozenLinear", T.DTypeError, () => A.frozenLinear(T.ones([2, 4]), bad(undefined))],
      ["gramSchmidt", T.DTypeError, () => A.gramSchmidt(bad(null))],
      ["hadamardFactors", T.DTypeError, () => A.hadamardFactors(W, W, bad(1), W)],
      ["kronApply", T.DTypeError, () => A.kronApply(W, bad(1), W)],
      ["skewFromPacked", T.DTypeError, () => A.skewFromPacked(bad([1, 2]))],
      ["cayleyNeumann", T.DTypeError, () => A.cayleyNeumann(bad(1), 3)],
      ["blockRotate", T.DTypeError, () => A.blockRotate(W, bad(1))],
      ["sorsaOrthonormality", T.DTypeError, () => A.sorsaOrthonormality(bad({}))],
      ["loraScale", T.DomainError, () => A.loraScale(bad(undefined))],
      ["fromPeft", T.DomainError, () => A.fromPeft(bad(null))],
      ["adapt", T.DomainError, () => A.adapt({}, bad(undefined))],
      ["targetMatcher", T.FormatError, () => A.targetMatcher(bad(1))],
      ["tangentPeftConfig", T.FormatError, () => A.tangentPeftConfig(bad(1), {})],
      ["learningRateAt", T.DomainError, () => M.learningRateAt(bad("x"), 1)],
      ["product", T.DTypeError, () => M.product(M.sphere(2), bad(null))],
    ] as const
  ) {
    assert.throws(call, (e: unknown) => e instanceof kind && e.message.startsWith(`${op}: `), op);
  }
  assert.equal(A.targetMatcher(["q_proj"])("model.layers.0.q_proj"), true);
  assert.equal(M.learningRateAt(0.5, 3), 0.5);
});

Deno.test("sgd and adam check the state against the params (another tree's state failed inside add; another optimizer's was a TypeError)", () => {
  const O = T.optim, f64 = { dtype: "float64" } as const;
  const p = { w: T.ones([2], f64) }, g = { w: T.ones([2], f64) };
  const sgd = O.sgd({ lr: 0.1, momentum: 0.9 }), adam = O.adam({ lr: 0.1 });
  for (
    const [op, call, words] of [
      [
        "sgd",
        () => sgd.update(g, sgd.init({ v: T.ones([3], f64) }), p),
        "momentum[0] is of shape [3] but parameter 0 has shape [2]",
      ],
      ["adam", () => adam.update(g, bad(O.sgd({ lr: 0.1 }).init(p)), p), "mu holds no buffers for 1 parameters"],
      ["adam", () => adam.update(g, bad(undefined), p), "the state has no step count"],
    ] as const
  ) {
    assert.throws(
      call,
      (e: unknown) =>
        e instanceof T.DomainError && e.message.startsWith(`${op}: the state`) && e.message.includes(words) &&
        e.message.includes("init(params)"),
    );
  }
  assert.ok(Math.abs(adam.update(g, adam.init(p), p).params.w.dataSync()[0] - 0.9) < 1e-9);
});

Deno.test("chain, partition, scaleByLearningRate and landing check their state (a null or another piece's state was a TypeError)", () => {
  const O = T.optim, f64 = { dtype: "float64" } as const;
  const p = { w: T.ones([2], f64) }, g = { w: T.ones([2], f64) };
  const chained = O.chain(O.clipByGlobalNorm(1), O.adam({ lr: 0.1 }));
  const parts = O.partition({ a: O.adam({ lr: 0.1 }) }, { w: "a" });
  const scaled = O.scaleByLearningRate(0.1);
  const X = T.manifolds.stiefel(4, 2).random(T.key(0));
  const land = O.landing({ lr: 0.1 });
  for (
    const [op, call, words] of [
      ["chain", () => chained.update(g, bad(null), p), "an array of 2 states, one per piece, got null"],
      ["chain", () => chained.update(g, bad(O.chain(O.adam({ lr: 1 })).init(p)), p), "got an array of 1"],
      ["partition", () => parts.update(g, bad(null), p), 'one state per label ("a"), got null'],
      ["partition", () => parts.update(g, bad({}), p), "got one without a"],
      ["scaleByLearningRate", () => scaled.update(g, bad(null), p), "the state has no step count"],
      ["landing", () => land.update({ X }, bad(null), { X }), "the state has no step count"],
    ] as const
  ) {
    assert.throws(
      call,
      (e: unknown) =>
        e instanceof T.DomainError && e.message.startsWith(`${op}: the state`) && e.message.includes(words),
      op,
    );
  }
  // their own states still step
  assert.ok(chained.update(g, chained.init(p), p).params.w.dataSync()[0] < 1);
  assert.ok(parts.update(g, parts.init(p), p).params.w.dataSync()[0] < 1);
  assert.equal(land.update({ X }, land.init({ X }), { X }).params.X.shape.join(), "4,2");
});

Deno.test("reductions refuse an axis named twice (sum over [0, -2] of a matrix was silently one sum over axis 0; NumPy raises)", () => {
  const x = T.ones([2, 3]);
  for (
    const [op, f] of [
      ["sum", () => T.sum(x, { axis: [0, -2] })],
      ["mean", () => T.mean(x, { axis: [1, 1] })],
      ["max", () => T.max(x, { axis: [-1, 1] })],
    ] as const
  ) {
    assert.throws(
      f,
      (e: unknown) => e instanceof T.ShapeError && e.message.startsWith(`${op}: axes [`) && e.message.includes("twice"),
      op,
    );
  }
  assert.deepEqual(T.sum(x, { axis: [-1, 0] }).shape, []);
});

Deno.test("an op given the promise of an un-awaited toBackend says to await it (it said 'an object')", async () => {
  const x = T.tensor([[1, 2], [3, 4]]);
  const pending = T.toBackend(x, "cpu");
  assert.throws(
    () => T.matmul(bad(pending), x),
    (e: unknown) =>
      e instanceof T.DTypeError && /^matmul: .* must be a tensor, got a promise \(await it/.test(e.message),
  );
  await pending;
});
