/**
 * The autodiff API: grad / valueAndGrad with argnums and pytrees, vjp, jvp, customVjp,
 * stopGradient, nested differentiation, checkGrad itself, and the errors for misuse.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  add,
  checkGrad,
  cos,
  customVjp,
  DomainError,
  DTypeError,
  exp,
  grad,
  jvp,
  matmul,
  mul,
  ShapeError,
  sin,
  stopGradient,
  sub,
  sum,
  tanh,
  type Tensor,
  tensor,
  treeLeaves,
  treeMap,
  treeUnflatten,
  valueAndGrad,
  vjp,
  zeros,
} from "../mod.ts";
import { arbitraryTensor, tensorOfShape } from "../testing/arbitraries.ts";

const f64 = (v: number[], shape: readonly number[] = [v.length]) =>
  tensor(Float64Array.from(v), { shape, dtype: "float64" });
const vals = (t: Tensor) => [...t.dataSync()];
const near = (a: number[], b: number[], tol = 1e-12) =>
  assert.ok(a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol), `${a} vs ${b}`);

/** Asserts `fn` throws `cls` with exactly `message`. */
function throwsMsg(fn: () => unknown, cls: typeof ShapeError, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof cls && e.message === message);
}

Deno.test("grad: argnums as a number or a list; valueAndGrad returns the value too", () => {
  const f = (x: Tensor, y: Tensor) => sum(mul(mul(x, x), y));
  const x = f64([1, 2]), y = f64([3, 4]);
  near(vals(grad(f)(x, y)), [6, 16]);
  near(vals(grad(f, { argnums: 1 })(x, y)), [1, 4]);
  const [gx, gy] = grad(f, { argnums: [0, 1] })(x, y) as Tensor[];
  near(vals(gx), [6, 16]);
  near(vals(gy), [1, 4]);
  const [v, g] = valueAndGrad(f)(x, y);
  assert.equal(v.item(), 19);
  near(vals(g), [6, 16]);
  const [v2, gs] = valueAndGrad(f, { argnums: [1] })(x, y);
  assert.equal(v2.item(), 19);
  near(vals(gs[0]), [1, 4]);
});

Deno.test("grad: gradients keep the input's shape and dtype; unused inputs get zeros", () => {
  const x = tensor([[1, 2], [3, 4]]);
  const g = grad((a: Tensor) => sum(mul(a, a)))(x);
  assert.deepEqual([g.shape, g.dtype], [[2, 2], "float32"]);
  assert.deepEqual(g.arraySync(), [[2, 4], [6, 8]]);
  const [, gb] = grad((a: Tensor, _b: Tensor) => sum(a), { argnums: [0, 1] })(x, f64([1, 2, 3])) as Tensor[];
  assert.deepEqual([gb.shape, gb.dtype, vals(gb)], [[3], "float64", [0, 0, 0]]);
  // a constant function
  assert.deepEqual(vals(grad((_a: Tensor) => sum(f64([1])))(f64([5, 6]))), [0, 0]);
  // the identity on a scalar, and an input used twice accumulates
  assert.equal(grad((a: Tensor) => a)(f64([3], [])).item(), 1);
  assert.equal(grad((a: Tensor) => add(mul(a, 3), mul(a, a)))(f64([2], [])).item(), 7);
});

Deno.test("grad: pytrees of parameters come back in the same structure", () => {
  type Params = { w: Tensor; layers: [{ b: Tensor }, Tensor]; name: string; n: number };
  const params: Params = {
    w: f64([1, 2, 3, 4], [2, 2]),
    layers: [{ b: f64([0.5, -1]) }, f64([2], [])],
    name: "mlp",
    n: 3,
  };
  const x = f64([1, -1], [1, 2]);
  const loss = (p: Params) => sum(mul(tanh(add(matmul(x, p.w), p.layers[0].b)), p.layers[1]));
  const g = grad(loss)(params);
  assert.deepEqual(Object.keys(g).sort(), ["layers", "n", "name", "w"]);
  assert.equal(g.name, "mlp");
  assert.equal(g.n, 3);
  assert.deepEqual(g.w.shape, [2, 2]);
  assert.deepEqual(g.layers[0].b.shape, [2]);
  assert.deepEqual(g.layers[1].shape, []);
  // against finite differences, leaf by leaf
  const leaves = treeLeaves(params);
  const flatLoss = (...ls: Tensor[]) => loss(treeUnflatten(params, ls));
  assert.ok(checkGrad(flatLoss, leaves) <= 1);
  const gl = treeLeaves(g);
  const ref = grad(flatLoss, { argnums: leaves.map((_, i) => i) })(...leaves) as Tensor[];
  gl.forEach((t, i) => near(vals(t), vals(ref[i])));
});

Deno.test("pytrees: treeLeaves order, treeUnflatten and treeMap", () => {
  const a = f64([1]), b = f64([2]), c = f64([3]);
  const tree = { z: a, a: [b, { k: c, s: "keep" }], n: null };
  assert.deepEqual(treeLeaves(tree), [b, c, a]); // objects by sorted key, arrays by index
  const doubled = treeMap((t: Tensor) => mul(t, 2), tree);
  assert.deepEqual(vals(doubled.z), [2]);
  assert.equal((doubled.a[1] as { s: string }).s, "keep");
  assert.equal(doubled.n, null);
  const summed = treeMap((p: Tensor, q: Tensor) => add(p, q), tree, doubled);
  assert.deepEqual(treeLeaves(summed).map((t) => t.item()), [6, 9, 3]);
  const rebuilt = treeUnflatten(tree, [c, b, a]);
  assert.deepEqual(treeLeaves(rebuilt).map((t) => t.item()), [3, 2, 1]);
});

Deno.test("vjp: pytree outputs take cotangents of the same structure; one cotangent per primal", () => {
  const x = f64([1, 2]), y = f64([3], []);
  const [out, pullback] = vjp((a: Tensor, b: Tensor) => ({ s: mul(a, b), t: [sum(a)] }), x, y);
  near(vals(out.s), [3, 6]);
  const cts = pullback({ s: f64([1, 10]), t: [f64([2], [])] }) as Tensor[];
  assert.equal(cts.length, 2);
  near(vals(cts[0]), [3 + 2, 30 + 2]);
  near(vals(cts[1]), [1 + 20]);
  // the pullback can be called again with another cotangent
  const again = pullback({ s: f64([0, 0]), t: [f64([1], [])] }) as Tensor[];
  near(vals(again[0]), [1, 1]);
  near(vals(again[1]), [0]);
  // pytree primals
  const [, pb] = vjp((p: { u: Tensor; v: Tensor[] }) => mul(p.u, p.v[0]), { u: x, v: [f64([5, 7])] });
  const [ct] = pb(f64([1, 1])) as [{ u: Tensor; v: Tensor[] }];
  near(vals(ct.u), [5, 7]);
  near(vals(ct.v[0]), [1, 2]);
});

Deno.test("jvp: ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ on random inputs; output value is f(x)", () => {
  const f = (a: Tensor) => mul(sin(a), exp(tanh(matmul(a, a)))); // bounded, so finite differences stay accurate
  fc.assert(
    fc.property(
      arbitraryTensor({ shape: [3, 3] }),
      tensorOfShape([3, 3]),
      tensorOfShape([3, 3]),
      (x, v, u) => {
        const [y, jv] = jvp(f, [x], [v]);
        near(vals(y), vals(f(x)));
        const [, pullback] = vjp(f, x);
        const [jtu] = pullback(u) as Tensor[];
        const lhs = sum(mul(u, jv)).item(), rhs = sum(mul(jtu, v)).item();
        assert.ok(Math.abs(lhs - rhs) <= 1e-10 * (1 + Math.abs(lhs)), `${lhs} vs ${rhs}`);
        // against a central difference along v
        const h = 1e-6;
        const fd = sub(f(add(x, mul(v, h))), f(sub(x, mul(v, h))));
        near(vals(jv), vals(fd).map((d) => d / (2 * h)), 1e-6);
      },
    ),
    { numRuns: 20 },
  );
  // several primals and a pytree output
  const [out, t] = jvp((a: Tensor, b: Tensor) => [mul(a, b), sum(a)], [f64([1, 2]), f64([3, 4])], [
    f64([1, 0]),
    f64([0, 1]),
  ]);
  near(vals((out as Tensor[])[0]), [3, 8]);
  near(vals((t as Tensor[])[0]), [3, 2]);
  near(vals((t as Tensor[])[1]), [1]);
});

Deno.test("customVjp: the backward rule is used; the forward is not recorded; null means zero", () => {
  // forward x², backward deliberately 10·ct (wrong on purpose to see it used)
  const weird = customVjp((x: Tensor) => mul(x, x), (ct: Tensor) => [mul(ct, 10)]);
  near(vals(weird(f64([3]))), [9]);
  near(vals(grad((x: Tensor) => sum(weird(x)))(f64([3, 4]))), [10, 10]);
  // checkGrad catches the wrong rule
  assert.throws(() => checkGrad((x) => sum(weird(x)), [f64([3])]), DomainError);
  // a right rule in terms of out and xs passes, with grad of grad through it
  const expC = customVjp((x: Tensor) => exp(x), (ct: Tensor, out: Tensor) => [mul(ct, out)]);
  assert.ok(checkGrad((x) => sum(mul(expC(x), x)), [f64([0.1, -0.4])]) <= 1);
  assert.ok(checkGrad((x) => sum(grad((y: Tensor) => sum(expC(y)))(x)), [f64([0.1, -0.4])]) <= 1);
  // two inputs, null for the second
  const firstOnly = customVjp((a: Tensor, b: Tensor) => mul(a, b), (ct: Tensor, _o, _a, b) => [mul(ct, b), null]);
  const [ga, gb] = grad((a: Tensor, b: Tensor) => sum(firstOnly(a, b)), { argnums: [0, 1] })(
    f64([1, 2]),
    f64([3, 4]),
  ) as Tensor[];
  near(vals(ga), [3, 4]);
  near(vals(gb), [0, 0]);
});

Deno.test("stopGradient: the value passes, the gradient does not", () => {
  const x = f64([2, 3]);
  near(vals(grad((a: Tensor) => sum(mul(a, stopGradient(a))))(x)), [2, 3]);
  near(vals(grad((a: Tensor) => sum(stopGradient(mul(a, a))))(x)), [0, 0]);
  assert.equal(stopGradient(x), x); // an untraced tensor is returned as is
  near(vals(stopGradient(mul(x, 2))), [4, 6]);
});

Deno.test("nested grad: no perturbation confusion; second derivatives", () => {
  // d/dx [x · (d/dy (x·y))] = d/dx x² = 2x
  const outer = grad((x: Tensor) => mul(x, grad((y: Tensor) => mul(x, y))(f64([1], []))));
  assert.equal(outer(f64([3], [])).item(), 6);
  // d/dx [x + d/dy (x + y)] = 1
  assert.equal(grad((x: Tensor) => add(x, grad((y: Tensor) => add(x, y))(f64([1], []))))(f64([5], [])).item(), 1);
  // d²/dx² sin x = −sin x, elementwise via sum
  const d2 = grad((x: Tensor) => sum(grad((y: Tensor) => sum(sin(y)))(x)));
  near(vals(d2(f64([0.3, 1.2]))), [-Math.sin(0.3), -Math.sin(1.2)], 1e-15);
  // Hessian-vector product of f(x) = Σ xᵢ³ in direction v is 6 x ⊙ v
  const v = f64([1, -2]);
  const hvp = grad((x: Tensor) => sum(mul(grad((y: Tensor) => sum(mul(mul(y, y), y)))(x), v)));
  near(vals(hvp(f64([1.5, 2]))), [9, -24]);
  near(vals(grad((x: Tensor) => sum(cos(x)))(f64([0.5]))), [-Math.sin(0.5)], 1e-15);
});

Deno.test("checkGrad: returns the scaled error, respects maxCoords, converts inputs to float64", () => {
  const e = checkGrad((x) => sum(mul(sin(x), x)), [tensor([[0.1, 0.2], [0.3, 0.4]])]);
  assert.ok(e >= 0 && e <= 1);
  assert.ok(checkGrad((x) => sum(exp(x)), [f64(Array.from({ length: 50 }, (_, i) => i / 50))], { maxCoords: 5 }) <= 1);
  assert.throws(
    () => checkGrad((x) => sum(stopGradient(mul(x, x))), [f64([1])]),
    /checkGrad: gradient mismatch at input 0 \[1\] coordinate 0: autodiff 0, finite differences 2/,
  );
  // only int inputs: nothing to check, and the message says what to pass
  assert.throws(
    () => checkGrad((i) => sum(i.astype("float64")), [tensor([1, 2], { dtype: "int32" })]),
    (e: unknown) =>
      e instanceof DomainError && /^checkGrad: no float tensor among the 1 inputs; .*pass the parameters as float/
        .test(e.message),
  );
});

Deno.test("grad misuse: non-scalar, integer or non-tensor results throw clear errors", () => {
  const x = f64([1, 2]);
  assert.throws(
    () => grad((a: Tensor) => mul(a, 2))(x),
    (e: unknown) =>
      e instanceof ShapeError &&
      e.message === "grad: the function must return a scalar, got shape [2]; reduce it (e.g. sum) or use vjp",
  );
  assert.throws(
    () => grad((a: Tensor) => sum(a.astype("int32")))(x),
    (e: unknown) =>
      e instanceof DTypeError && /grad: the function returned int32; it must return a float scalar/.test(e.message),
  );
  assert.throws(
    () => grad((_a: Tensor) => 3 as unknown as Tensor)(x),
    /grad: the function must return a scalar tensor, got number/,
  );
  // a size-1 result of any rank is accepted
  near(vals(grad((a: Tensor) => sum(a, { keepdims: true }))(x)), [1, 1]);
  // arguments that cannot be differentiated
  throwsMsg(
    () => grad((a: number) => mul(x, a))(3),
    DTypeError,
    "grad: argument 0 is number, not a tensor or a pytree of tensors; differentiate tensors (tensor(3))",
  );
  throwsMsg(
    () => grad((a: Tensor) => sum(a), { argnums: 2 })(x),
    ShapeError,
    "grad: argnums 2 is out of range for 1 argument; use a position in [-1, 0] (negative counts from the end)",
  );
  // a backward rule must give one cotangent per input, each of its input's shape
  const badShape = customVjp((a: Tensor) => sum(a), (ct: Tensor) => [ct]);
  throwsMsg(
    () => grad((a: Tensor) => badShape(a))(x),
    ShapeError,
    "customVjp: the VJP rule returned a cotangent of shape [] for input 0 of shape [2]; " +
      "a cotangent has its input's shape (sum over broadcast axes)",
  );
  const tooFew = customVjp((a: Tensor, b: Tensor) => sum(mul(a, b)), (ct: Tensor) => [ct]);
  throwsMsg(
    () => grad((a: Tensor) => tooFew(a, a))(f64([2], [])),
    ShapeError,
    "customVjp: the VJP rule returned 1 cotangents for 2 inputs; return one per input (null for none)",
  );
  const [, pb] = vjp((a: Tensor) => mul(a, 2), x);
  assert.throws(
    () => pb(zeros([3], { dtype: "float64" })),
    /vjp: cotangent shape \[3\] differs from output shape \[2\]/,
  );
  assert.throws(() => pb([x, x] as unknown as Tensor), /vjp: cotangent has 2 tensors, the output has 1/);
});
