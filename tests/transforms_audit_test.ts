/**
 * Defects found by a new-user audit of issue 11's transformations, ops and optimizers against JAX
 * 0.10 / optax 0.2.8 in float64 (expected numbers are JAX's, computed once and written here as
 * literals). One test per defect, each failing before its fix.
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const f64 = (a: T.NestedArray) => T.tensor(a, { dtype: "float64" });

function near(a: Tensor, b: Tensor | T.NestedArray, tol: number, what: string): void {
  const want = b instanceof T.Tensor ? b : f64(b);
  assert.deepEqual(a.shape, want.shape, `${what}: shape`);
  const x = a.dataSync(), y = want.dataSync();
  for (let i = 0; i < y.length; i++) {
    const ok = Number.isNaN(y[i])
      ? Number.isNaN(x[i])
      : x[i] === y[i] || Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i]));
    assert.ok(ok, `${what}: element ${i}: ${x[i]} vs ${y[i]}`);
  }
}

Deno.test("softplus / logSigmoid: derivatives at 0 are sigmoid's (½, ±¼), not a kink's subgradient", () => {
  const x = f64([-1000, -30, -1, -1e-8, 0, 1e-8, 1, 30, 1000]);
  const d1 = T.vmap(T.grad((t: Tensor) => T.softplus(t)))(x);
  const d2 = T.vmap(T.grad(T.grad((t: Tensor) => T.softplus(t))))(x);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const xs = x.dataSync();
  near(d1, f64(Array.from(xs, sig)), 1e-15, "softplus'");
  near(d2, f64(Array.from(xs, (v) => sig(v) * (1 - sig(v)))), 1e-15, "softplus''");
  near(T.vmap(T.grad((t: Tensor) => T.logSigmoid(t)))(x), f64(Array.from(xs, (v) => sig(-v))), 1e-15, "logSigmoid'");
  // JAX: grad(grad(jax.nn.log_sigmoid))(0.) = -0.25
  near(T.grad(T.grad((t: Tensor) => T.logSigmoid(t)))(f64(0)), -0.25, 0, "logSigmoid'' at 0");
  // the values are unchanged, infinities and NaN included, and no NaN leaks into a gradient
  near(T.softplus(f64([-Infinity, -800, 0, 800, Infinity, NaN])), [0, 0, Math.LN2, 800, Infinity, NaN], 0, "values");
  near(T.vmap(T.grad((t: Tensor) => T.softplus(t)))(f64([-Infinity, Infinity])), [0, 1], 0, "gradient at ±∞");
  assert.equal(T.softplus(T.tensor([0, 2])).dtype, "float32");
});

Deno.test("jacrev / jacfwd of pytree outputs, hessian of a pytree argument: JAX's nesting and numbers", () => {
  const x = f64([0.3, -1.2, 0.8]);
  const f = (v: Tensor) => ({ s: T.sum(T.mul(v, v)), e: [T.exp(v)] });
  for (const [name, jac] of [["jacrev", T.jacrev(f)(x)], ["jacfwd", T.jacfwd(f)(x)]] as const) {
    near(jac.s, [0.6, -2.4, 1.6], 1e-15, `${name} s`);
    const ex = x.dataSync();
    near(jac.e[0], [[Math.exp(ex[0]), 0, 0], [0, Math.exp(ex[1]), 0], [0, 0, Math.exp(ex[2])]], 1e-15, `${name} e`);
  }
  // pytree in and out: out structure outside, the argument's inside
  const g = (p: { a: Tensor; b: Tensor }) => [T.mul(p.a, T.sum(p.b)), T.sum(T.exp(p.b))];
  const p = { a: f64([1, 2]), b: f64([0.5, -0.5, 0]) };
  const jr = T.jacrev(g)(p), jf = T.jacfwd(g)(p);
  near(jr[0].a, [[0, 0], [0, 0]], 0, "jacrev [0].a");
  near(jr[0].b, [[1, 1, 1], [2, 2, 2]], 0, "jacrev [0].b");
  near(jf[1].b, T.exp(p.b), 1e-15, "jacfwd [1].b");
  near(jf[0].b, jr[0].b, 0, "jacfwd = jacrev");
  // hessian of f(a, b) = Σ a² · Σ eᵇ (JAX: hessian(f)(p)["a"]["b"] = 2a ⊗ eᵇ)
  const h = T.hessian((q: { a: Tensor; b: Tensor }) => T.mul(T.sum(T.square(q.a)), T.sum(T.exp(q.b))))({
    a: f64([0.5, -1]),
    b: f64([0.2, 0.1]),
  });
  const [e1, e2] = [Math.exp(0.2), Math.exp(0.1)];
  near(h.a.a, [[2 * (e1 + e2), 0], [0, 2 * (e1 + e2)]], 1e-14, "H.a.a");
  near(h.a.b, [[e1, e2], [-2 * e1, -2 * e2]], 1e-14, "H.a.b");
  near(h.b.a, [[e1, -2 * e1], [e2, -2 * e2]], 1e-14, "H.b.a");
  near(h.b.b, [[1.25 * e1, 0], [0, 1.25 * e2]], 1e-14, "H.b.b");
  assert.throws(
    () => T.jacrev((_v: Tensor) => 3 as unknown as Tensor)(x),
    /a tensor or a pytree of tensors, got number/,
  );
});

Deno.test("scan: no steps gives [0, ...y.shape] ys (was undefined); a carry that changes form is a ShapeError", () => {
  const [c, ys] = T.scan(
    (carry: Tensor, x: Tensor) => [T.add(carry, T.sum(x)), { y: T.mul(x, 2), s: [T.sum(x)] }],
    f64(1),
    T.zeros([0, 3], { dtype: "float64" }),
  );
  near(c, 1, 0, "carry");
  assert.deepEqual([ys.y.shape, ys.y.dtype, ys.s[0].shape], [[0, 3], "float64", [0]]);
  const [, none] = T.scan((carry: Tensor, _x: undefined) => [carry, T.stack([carry, carry])], f64(1), null, {
    length: 0,
  });
  assert.deepEqual(none.shape, [0, 2]);
  // JAX: "scan body function carry input and carry output must have equal types"
  assert.throws(
    () => T.scan((carry: Tensor, x: Tensor) => [T.add(carry, x), carry], f64(0), f64([[1, 2], [3, 4]])),
    (e: Error) => e instanceof T.ShapeError && /step 0 .*\[\] float64 in, \[2\] float64 out/.test(e.message),
  );
  assert.throws(
    () => T.scan((carry: Tensor, x: Tensor) => [T.add(carry, x), carry], T.tensor(0, { dtype: "int32" }), f64([1, 2])),
    /int32 in, \[\] float64 out/,
  );
});

Deno.test("einsum: ... (ellipsis) and extent-1 broadcasting as np.einsum (both were ShapeErrors)", () => {
  const a = f64([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]), b = f64([[1, 0, 2], [0, 1, 3]]);
  // np.einsum("...ij,jk->...ik", a, b)
  near(T.einsum("...ij,jk->...ik", a, b), [[[1, 2, 8], [3, 4, 18]], [[5, 6, 28], [7, 8, 38]]], 0, "...ij,jk");
  near(T.einsum("...ij,...jk->...ik", a, a), T.matmul(a, a), 0, "batched ...");
  near(T.einsum("...ii->...i", a), [[1, 4], [5, 8]], 0, "diagonals");
  near(T.einsum("...i", b), b, 0, "implicit output keeps ...");
  near(T.einsum("i...->...", b), [1, 1, 5], 0, "sum over the labelled axis");
  near(T.einsum("...,...->...", f64([[2], [3]]), f64([1, 10, 100])), [[2, 20, 200], [3, 30, 300]], 0, "broadcast ...");
  near(T.einsum("ij,ij->ij", f64([[2], [3]]), b), [[2, 0, 4], [0, 3, 9]], 0, "extent 1 broadcasts");
  near(T.einsum("i,i->", f64([2]), f64([1, 2, 3])), 12, 0, "a broadcast label summed");
  T.checkGrad((x: Tensor, y: Tensor) => T.sum(T.square(T.einsum("...ij,jk->...ik", x, y))), [a, b], {
    rtol: 1e-6,
    atol: 1e-8,
  });
  assert.throws(() => T.einsum("...i->i", a), /output has no \.\.\..*add \.\.\. to the output/);
  assert.throws(() => T.einsum("ii->i", f64([[1, 2, 3]])), /repeats in operand 0 with extents \[1, 3\]/);
  assert.throws(() => T.einsum("ij->i", a), /operand 0 has 3 axes \(\[2, 2, 2\]\), 2 labels; add \.\.\. for the rest/);
});

Deno.test("vmap: reading a batched value (item, dataSync) is a ShapeError, not example 0's value; checks read every example", () => {
  const xs = f64([1, 2, 3]);
  // was [1, 2, 3]·1: each example multiplied by the first example's value (JAX: ConcretizationTypeError)
  assert.throws(
    () => T.vmap((x: Tensor) => T.mul(x, x.item()))(xs),
    (e: Error) => e instanceof T.ShapeError && /item\(\): .*batched by vmap \(3 examples\)/.test(e.message),
  );
  assert.throws(() => T.vmap((x: Tensor) => T.tensor(Array.from(x.dataSync())))(xs), /dataSync\(\): .*batched/);
  // a manifold's point check measures every example (it measured the first one only)
  const S = T.manifolds.sphere(3);
  const u = f64([1, 1, 1]);
  const onTangent = (x: Tensor) => S.toTangent(x as T.manifolds.Point<typeof S>, u); // untagged: measured
  near(T.vmap(onTangent)(f64([[1, 0, 0], [0, 0.6, 0.8]])), [[0, 1, 1], [1, 0.16, -0.12]], 1e-15, "toTangent");
  assert.throws(() => T.vmap(onTangent)(f64([[1, 0, 0], [0, 2, 0]])), /off the manifold: constraint violation 3/);
  // what reads a value the batch shares (expm's squaring count) still works under vmap
  const a = f64([[[0, 1], [-1, 0]], [[0, 2], [-2, 0]]]);
  near(T.vmap((m: Tensor) => T.linalg.expm(m))(a), T.linalg.expm(a), 1e-15, "expm");
});

Deno.test("jit of a function closing over a grad-tracked or vmap-batched tensor: right gradients, no crash", () => {
  const a = f64([1, 2, 3]), b = f64([-1, 0.5, 4]);
  // the second call replayed the first trace, w a constant there: its term's gradient was lost
  const g = T.grad((w: Tensor) => {
    const f = T.jit((x: Tensor) => T.sum(T.mul(x, w)));
    return T.add(f(a), f(b));
  })(f64([0.1, 0.2, 0.3]));
  near(g, T.add(a, b), 0, "grad through a jit closure called twice");
  // scan's body is jitted: with an untracked carry every step after the first was replayed (JAX: 3.6)
  const xs = f64([0.5, 1, -2, 4]);
  const gs = T.grad((w: Tensor) => T.sum(T.scan((c: Tensor, x: Tensor) => [T.add(c, x), T.mul(x, w)], f64(0), xs)[1]))(
    f64(0.5),
  );
  near(gs, 3.5, 0, "scan ys closing over w");
  // vmap: was "BackendError: binary: an input [2] is a value from inside a vmap that has returned"
  const ys = T.vmap((x: Tensor) => T.jit((y: Tensor) => T.mul(y, x))(f64([1, 2])))(f64([[1, 2], [3, 4], [5, 6]]));
  near(ys, [[1, 4], [3, 8], [5, 12]], 0, "vmap over jit closing over the example");
  const f = (x: Tensor) => T.jit((y: Tensor) => T.sum(T.mul(y, x)))(f64([1, 2]));
  near(T.vmap(f)(f64([[1, 2], [3, 4]])), [5, 11], 0, "twice, the same jitted function's cache");
});

Deno.test("checkpoint of a function closing over a differentiated tensor: its gradient (was silently 0)", () => {
  const x = f64([0.5, -1, 2]), w0 = f64([0.3, 0.7, -0.2]);
  const warn = console.warn, warned: string[] = [];
  console.warn = (m: string) => warned.push(m);
  try {
    const g = T.grad((w: Tensor) => T.sum(T.checkpoint((v: Tensor) => T.sin(T.mul(v, w)))(x)))(w0);
    // JAX: grad(lambda w: sum(checkpoint(lambda v: sin(v * w))(x)))(w) = x·cos(x·w)
    const xs = x.dataSync(), ws = w0.dataSync();
    near(g, Array.from(xs, (v, i) => v * Math.cos(v * ws[i])), 1e-15, "d/dw");
    // both the argument's and the closure's gradients at once
    const [gx, gw] = T.grad(
      (v: Tensor, w: Tensor) => T.sum(T.checkpoint((u: Tensor) => T.sin(T.mul(u, w)))(v)),
      { argnums: [0, 1] },
    )(x, w0);
    near(gx, Array.from(xs, (v, i) => ws[i] * Math.cos(v * ws[i])), 1e-15, "d/dx");
    near(gw, g, 0, "d/dw with d/dx");
  } finally {
    console.warn = warn;
  }
  assert.ok(
    warned.length <= 1 && warned.every((m) => /without rematerialisation.*pass such tensors as arguments/.test(m)),
  );
});

Deno.test("jit: a tensor passed as a static argument is keyed by identity (a new one replayed the first's value)", () => {
  const g = T.jit((x: Tensor, y: Tensor) => T.add(x, y), { staticArgnums: [1] });
  const x = f64([1, 2]);
  near(g(x, f64([10, 20])), [11, 22], 0, "first");
  near(g(x, f64([30, 40])), [31, 42], 0, "another static tensor"); // was [11, 22]
  const y = f64([5, 5]);
  near(g(f64([0, 1]), y), [5, 6], 0, "traced");
  near(g(f64([2, 3]), y), [7, 8], 0, "the same static tensor replays");
});

Deno.test("jacrev / jacfwd of an int argument: a DTypeError (were silent int32 zeros)", () => {
  // JAX: "jacrev requires real- or complex-valued inputs"
  const ints = T.tensor([1, 2], { dtype: "int32" });
  for (const jac of [T.jacrev, T.jacfwd]) {
    assert.throws(
      () => jac((x: Tensor) => T.astype(x, "float64"))(ints),
      (e: Error) =>
        e instanceof T.DTypeError && /argument 0 holds a tensor of dtype int32, shape \[2\]/.test(e.message),
    );
  }
});

Deno.test("clip: bounds that do not broadcast are clip's ShapeError (was named lt, the comparison inside)", () => {
  assert.throws(() => T.clip(f64([1, 2, 3]), f64([0, 1]), 3), /^ShapeError: clip: shapes \[3\] and \[2\]/);
  assert.throws(() => T.clip(f64([1]), f64([0, 1]), f64([1, 2, 3])), /clip: shapes \[2\] and \[3\]/);
});

Deno.test("vmap: an inAxes key the argument lacks is a ShapeError (a typo was ignored; JAX refuses it)", () => {
  const p = { a: f64([1, 2]), b: f64([3]) };
  assert.throws(
    () => T.vmap((q: typeof p) => T.add(q.a, T.sum(q.b)), { inAxes: [{ a: 0, b: null, c: 0 }] })(p),
    /argument 0: the axis spec has an entry for key "c", which the argument lacks \(its keys: a, b\)/,
  );
  assert.throws(() => T.vmap((_q: null) => f64(1), { inAxes: [{ a: 0 }] })(null), /the argument is null/);
});

Deno.test("scan: a length that is not a whole number ≥ 0 is a ShapeError (was a RangeError: Invalid array length)", () => {
  for (const length of [2.5, -1, NaN]) {
    assert.throws(
      () => T.scan((c: Tensor, _x: undefined) => [c, c], f64(0), null, { length }),
      (e: Error) => e instanceof T.ShapeError && /scan: length = .* must be a whole number of steps/.test(e.message),
    );
  }
});

Deno.test("odd arguments to the transformations and the new ops are TangentErrors naming them (were TypeErrors)", () => {
  const x = f64([1, 2, 3]);
  const notFn = 3 as never;
  const calls: [string, () => unknown][] = [
    ["vmap", () => T.vmap(notFn as (t: Tensor) => Tensor)(x)],
    ["jit", () => T.jit(notFn as (t: Tensor) => Tensor)(x)],
    ["grad", () => T.grad(notFn)(x)],
    ["jacrev", () => T.jacrev(notFn)(x)],
    ["jacfwd", () => T.jacfwd(notFn)(x)],
    ["checkpoint", () => T.checkpoint(notFn)(x)],
    ["scan", () => T.scan(notFn, x, x)],
    ["foriLoop", () => T.foriLoop(0, 2, notFn, x)],
  ];
  for (const [op, call] of calls) {
    assert.throws(call, (e: Error) => e instanceof T.DTypeError && e.message.startsWith(`${op}: `), op);
  }
  // the common slip: a body returning the new carry alone ("body is not a function or its return value is not iterable")
  assert.throws(
    () => T.scan((c: Tensor, v: Tensor) => T.add(c, v) as never, f64(0), x),
    /scan: the body must return \[carry, y\] \(y may be null\), got a tensor \[\]/,
  );
  assert.throws(() => T.einsum(3 as never, x), /einsum: the spec must be a string/);
  assert.throws(() => T.einsum("i->i", 3 as never), /einsum: operand 0 must be a tensor, got number 3/);
  assert.throws(() => T.topk(3 as never, 1), /topk: the input must be a tensor/);
  assert.throws(() => T.sort([3, 1] as never), /sort: the input must be a tensor, got an array/);
  assert.throws(() => T.cumsum(null as never), /cumsum: the input must be a tensor, got null/);
  assert.deepEqual(T.sort(f64([3, 1]), null as never).arraySync(), [1, 3]);
});

Deno.test("checkpoint of a scan or jit whose body closes over a differentiated tensor: its gradient (was 0)", () => {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const xs = f64([0.5, 1, -2, 4]);
    // the jitted scan body inside checkpoint's unrecorded forward cached w as a constant
    const g = T.grad((w: Tensor) =>
      T.checkpoint((x0: Tensor) => T.sum(T.scan((c: Tensor, x: Tensor) => [T.add(c, x), T.mul(x, w)], x0, xs)[1]))(
        f64(0),
      )
    )(f64(0.5));
    near(g, 3.5, 0, "checkpoint(scan)");
    const g2 = T.grad((w: Tensor) => T.checkpoint((x0: Tensor) => T.jit((y: Tensor) => T.mul(y, w))(x0))(f64(2)))(
      f64(0.5),
    );
    near(g2, 2, 0, "checkpoint(jit)");
  } finally {
    console.warn = warn;
  }
});

Deno.test("customVjp reading a differentiated tensor from its closure: a DomainError (its gradient was silently 0)", () => {
  const x = f64([0.5, 1]);
  assert.throws(
    () => T.grad((w: Tensor) => T.customVjp((v: Tensor) => T.sum(T.mul(v, w)), (ct) => [ct])(x))(f64([1, 2])),
    (e: Error) =>
      e instanceof T.DomainError &&
      /customVjp: the function reads a tensor \[2\] that grad differentiates from its closure/.test(e.message),
  );
  // as arguments, and a closure grad does not differentiate, are fine
  const f = T.customVjp((v: Tensor, w: Tensor) => T.sum(T.mul(v, w)), (ct, _o, v, w) => [T.mul(ct, w), T.mul(ct, v)]);
  near(T.grad((w: Tensor) => f(x, w))(f64([1, 2])), x, 0, "w as an argument");
  const c = f64([3, 4]);
  near(T.grad(T.customVjp((v: Tensor) => T.sum(T.mul(v, c)), (ct) => [T.mul(ct, c)]))(x), c, 0, "a constant closure");
});

Deno.test("grad / valueAndGrad with hasAux: [loss, aux] in, the aux beside the gradient (JAX's has_aux)", () => {
  const w0 = f64([1, 3]);
  const loss = (w: Tensor, x: Tensor) => {
    const logits = T.mul(w, x);
    return [T.mean(T.square(logits)), { logits, best: T.argmax(logits) }] as const;
  };
  const x = f64([2, -1]);
  const [[value, aux], g] = T.valueAndGrad(loss, { hasAux: true })(w0, x);
  near(value, 6.5, 0, "value"); // mean([4, 9])
  near(g, [4, 3], 0, "gradient"); // w·x²
  near(aux.logits, [2, -3], 0, "aux logits");
  assert.equal(aux.best.item(), 0);
  assert.equal(aux.logits._tr, undefined, "the aux holds no trace");
  const [g2, aux2] = T.grad(loss, { hasAux: true, argnums: 1 })(w0, x);
  near(g2, [2, -9], 0, "d/dx");
  near(aux2.logits, [2, -3], 0, "grad's aux");
  // composes: per-example gradients with per-example aux
  const [gs, auxs] = T.vmap(T.grad(loss, { hasAux: true }), { inAxes: [null, 0] })(w0, f64([[2, -1], [1, 1]]));
  near(gs, [[4, 3], [1, 3]], 0, "vmapped gradients");
  near(auxs.logits, [[2, -3], [1, 3]], 0, "vmapped aux");
  assert.throws(
    () => T.grad((w: Tensor) => T.sum(w) as never, { hasAux: true })(w0),
    /grad: with hasAux the function must return \[loss, aux\], got a tensor \[\]/,
  );
});

Deno.test("jacrev / jacfwd / hessian with a list of argnums: a tuple per argument, as JAX's argnums=(0, 1)", () => {
  const a = f64([1, 2]), b = f64([0, 1]);
  const f = (x: Tensor, y: Tensor) => T.mul(x, T.exp(y));
  for (const jac of [T.jacrev, T.jacfwd]) {
    const [ja, jb] = jac(f, { argnums: [0, 1] })(a, b);
    near(ja, [[1, 0], [0, Math.E]], 1e-15, "∂/∂a");
    near(jb, [[1, 0], [0, 2 * Math.E]], 1e-15, "∂/∂b");
  }
  // JAX: hessian(lambda a, b: sum(a²·b) + sum(sin b), argnums=(0, 1))(a, b)
  const h = T.hessian((x: Tensor, y: Tensor) => T.add(T.sum(T.mul(T.square(x), y)), T.sum(T.sin(y))), {
    argnums: [0, 1],
  })(a, f64([0.5, -1]));
  near(h[0][0], [[1, 0], [0, -2]], 1e-15, "H00");
  near(h[0][1], [[2, 0], [0, 4]], 1e-15, "H01");
  near(h[1][0], [[2, 0], [0, 4]], 1e-15, "H10");
  near(h[1][1], [[-Math.sin(0.5), 0], [0, Math.sin(1)]], 1e-15, "H11");
  assert.throws(() => T.jacrev(f, { argnums: [1, 1] })(a, b), /argnums \[1, 1\] names argument 1 twice/);
});

Deno.test("jit: staticArgnums out of range is a ShapeError at the call; negative ones count from the end", () => {
  const scale = (a: Tensor, n: number) => T.mul(a, n);
  assert.throws(
    () => T.jit(scale, { staticArgnums: [2] })(f64([1]), 2),
    (e: Error) =>
      e instanceof T.ShapeError && /jit: staticArgnums 2 is out of range for a call with 2 arguments/.test(e.message),
  );
  assert.throws(() => T.jit(scale, { staticArgnums: [0.5] })(f64([1]), 2), T.ShapeError);
  const g = T.jit(scale, { staticArgnums: [-1] });
  near(g(f64([1, 2]), 3), [3, 6], 0, "static -1");
  near(g(f64([1, 2]), 4), [4, 8], 0, "a new static value traces again");
});

Deno.test("jacrev / jacfwd of an int output: a DTypeError on both (jacrev gave float zeros, jacfwd int zeros)", () => {
  for (const [name, jac] of [["jacrev", T.jacrev], ["jacfwd", T.jacfwd]] as const) {
    assert.throws(
      () => jac((x: Tensor) => ({ i: T.argmax(x), y: T.mul(x, 2) }))(f64([1, 3, 2])),
      (e: Error) =>
        e instanceof T.DTypeError && e.message.startsWith(`${name}: the function returns a tensor of dtype int32`),
    );
  }
});

Deno.test("schedules: a negative or fractional step count is a DomainError naming the schedule (-1 gave the rate -0.2)", () => {
  const s = T.optim.warmupCosineSchedule({ peakValue: 1, warmupSteps: 5, decaySteps: 10 });
  assert.equal(s(0), 0);
  for (const t of [-1, 2.5, Number.NaN]) {
    assert.throws(
      () => s(t),
      (e: Error) => e instanceof T.DomainError && e.message.startsWith("warmupCosineSchedule: the step count is"),
    );
  }
  assert.throws(() => T.optim.constantSchedule(0.1)(-3), /constantSchedule: the step count is -3/);
});
