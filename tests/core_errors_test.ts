/**
 * Bad inputs: every op validates shapes and dtypes before running a kernel and throws a typed
 * error whose message names the op, the offending shapes or values, and the fix.
 */
import assert from "node:assert/strict";
import {
  add,
  arange,
  BackendError,
  broadcastTo,
  concat,
  diag,
  DomainError,
  DTypeError,
  exp,
  expandDims,
  full,
  grad,
  matmul,
  matmulT,
  matrixTranspose,
  max,
  mul,
  neg,
  norm,
  ones,
  pad,
  reshape,
  scatterAdd,
  scope,
  ShapeError,
  slice,
  squeeze,
  stack,
  sum,
  take,
  TangentError,
  type Tensor,
  tensor,
  transpose,
  triu,
  where,
  zeros,
} from "../mod.ts";
import { bind1 } from "../core/primitive.ts";
import { binaryP } from "../core/primitives.ts";

type ErrorClass = typeof ShapeError;

/** Asserts `fn` throws `cls` with exactly `message`, which must name a fix after "; ". */
function throwsExactly(fn: () => unknown, cls: ErrorClass, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    assert.ok(e instanceof TangentError);
    assert.equal(e.name, cls.name);
    assert.equal(e.message, message);
    assert.ok(message.includes("; "), `no fix in: ${message}`);
    return true;
  });
}

Deno.test("errors: matmul names the op, the shapes and the fix", () => {
  throwsExactly(
    () => matmul(ones([3, 4]), ones([5, 2])),
    ShapeError,
    "matmul: inner dimensions differ: [3, 4] @ [5, 2] (4 vs 5); transpose an operand or fix its shape",
  );
  throwsExactly(
    () => matmul(ones([3]), ones([2])),
    ShapeError,
    "matmul: inner dimensions differ: [3] @ [2] (3 vs 2); transpose an operand or fix its shape",
  );
  throwsExactly(
    () => matmulT(ones([3, 4]), ones([3, 4]), false, false),
    ShapeError,
    "matmul: inner dimensions differ: [3, 4] @ [3, 4] (4 vs 3); transpose an operand or fix its shape",
  );
  throwsExactly(
    () => matmulT(ones([3, 4]), ones([5, 3]), true, false),
    ShapeError,
    "matmul: inner dimensions differ: [3, 4]ᵀ @ [5, 3] (3 vs 5); transpose an operand or fix its shape",
  );
  throwsExactly(
    () => matmul(ones([2, 3, 4]), ones([3, 4, 5])),
    ShapeError,
    "matmul (batch axes): shapes [2] and [3] do not broadcast (axis -1: 2 vs 3); " +
      "reshape or expandDims one operand so each axis matches or is 1",
  );
  assert.throws(() => matmul(tensor(2), ones([2])), /matmul: scalar operand \(\[\] @ \[2\]\); use mul for scaling/);
  throwsExactly(
    () => matmulT(ones([3]), ones([3, 1]), false, false),
    ShapeError,
    "matmul: operands need 2+ axes here, got [3] and [3, 1]; use matmul (it takes vectors) or expandDims",
  );
});

Deno.test("errors: broadcasting and where", () => {
  throwsExactly(
    () => add(ones([2, 3]), ones([4])),
    ShapeError,
    "add: shapes [2, 3] and [4] do not broadcast (axis -1: 3 vs 4); reshape or expandDims one operand so each axis matches or is 1",
  );
  assert.throws(
    () => mul(ones([2, 1, 3]), ones([4, 2])),
    /^ShapeError: mul: shapes \[2, 1, 3\] and \[4, 2\] do not broadcast \(axis -1: 3 vs 2\)/,
  );
  throwsExactly(
    () => where(ones([2]) as Tensor, 1, 0),
    DTypeError,
    "where: condition must be a bool tensor; build it with a comparison such as greater(x, 0)",
  );
  assert.throws(() => where(tensor([true, false]), ones([3]), 0), /where: shapes \[2\] and \[3\] do not broadcast/);
  throwsExactly(
    () => broadcastTo(ones([2, 3]), [3]),
    ShapeError,
    "broadcastTo: cannot broadcast [2, 3] to [3]; the target needs at least as many axes, each equal to the input's or where the input has 1",
  );
  assert.throws(() => broadcastTo(ones([2, 3]), [2, 4]), /broadcastTo: shapes \[2, 3\] and \[2, 4\] do not broadcast/);
});

Deno.test("errors: shape ops", () => {
  const x = ones([2, 3]);
  throwsExactly(
    () => reshape(x, [4, -1]),
    ShapeError,
    "reshape: cannot view [2, 3] (6 elements) as [4, -1]; the new shape must hold 6 elements (one extent may be -1)",
  );
  assert.throws(() => reshape(x, [-1, -1]), /reshape: cannot view \[2, 3\] \(6 elements\) as \[-1, -1\]/);
  throwsExactly(
    () => transpose(x, [0, 0]),
    ShapeError,
    "transpose: perm [0,0] is not a permutation of the 2 axes of [2, 3]; list each axis 0..1 exactly once",
  );
  throwsExactly(
    () => matrixTranspose(ones([3])),
    ShapeError,
    "matrixTranspose: needs 2+ axes, got [3]; expandDims a vector first",
  );
  throwsExactly(
    () => expandDims(x, 3),
    ShapeError,
    "expandDims: axis 3 out of range for [2, 3]; use an axis in [-3, 2]",
  );
  throwsExactly(
    () => squeeze(x, 1),
    ShapeError,
    "squeeze: axis 1 of [2, 3] has extent 3, not 1; squeeze only axes of extent 1",
  );
  throwsExactly(
    () => slice(x, [[0, 3]]),
    ShapeError,
    "slice: range [0,3] is outside axis 0 of [2, 3]; use integers with 0 <= start <= stop <= 2 (negative ones count from the end)",
  );
  assert.throws(() => slice(x, [null, [2, 1]]), /slice: range \[2,1\] is outside axis 1 of \[2, 3\]/);
  throwsExactly(() => slice(x, [null, null, null]), ShapeError, "slice: 3 ranges for [2, 3]; give at most 2");
  throwsExactly(
    () => pad(x, [[1, -1]]),
    ShapeError,
    "pad: widths [[1,-1]] for [2, 3] are not all non-negative integers; give [before, after] counts >= 0 per axis",
  );
  throwsExactly(
    () => concat([x, ones([2, 4])]),
    ShapeError,
    "concat: shapes [2, 3], [2, 4] differ outside axis 0; every axis but the joined one must match",
  );
  throwsExactly(
    () => concat([x], 2),
    ShapeError,
    "concat: axis 2 is out of range for a tensor with 2 axes; use an axis in [-2, 1]",
  );
  assert.throws(() => concat([]), /concat: needs at least one tensor/);
  throwsExactly(
    () => stack([ones([2]), ones([3])]),
    ShapeError,
    "stack: shapes [2], [3] differ; stacked tensors need one shape",
  );
  throwsExactly(
    () => diag(tensor(1)),
    ShapeError,
    "diag: needs a vector or a matrix, got []; reshape it",
  );
  assert.throws(() => triu(ones([3])), /triu: needs 2\+ axes, got \[3\]/);
});

Deno.test("errors: take and scatterAdd indices", () => {
  const x = arange(6).reshape([2, 3]);
  throwsExactly(
    () => take(x, [3], 1),
    DomainError, // as an index tensor's out-of-range value is
    "take: index 3 is out of range for axis 1 of [2, 3]; use indices in [-3, 2]",
  );
  throwsExactly(
    () => take(x, tensor([0.5])),
    DTypeError,
    'take: indices must be int32, got float32; convert with astype(indices, "int32")',
  );
  // tensor indices are checked where they are read
  throwsExactly(
    () => take(x, tensor([-4], { dtype: "int32" }), 1),
    DomainError,
    "take: index -4 is out of range for an axis of extent 3; use indices in [-3, 2]",
  );
  throwsExactly(
    () => scatterAdd(tensor([0, 1], { dtype: "int32" }), ones([3]), 0, [4]),
    ShapeError,
    "scatterAdd: updates [3] should be [2] (indices [2] along axis 0 of [4]); reshape the updates",
  );
});

Deno.test("errors: reductions", () => {
  const x = ones([2, 3]);
  throwsExactly(
    () => sum(x, { axis: 2 }),
    ShapeError,
    "sum: axis 2 is out of range for a tensor with 2 axes; use an axis in [-2, 1]",
  );
  throwsExactly(
    () => max(zeros([0, 2]), { axis: 0 }),
    ShapeError,
    "max: reducing an empty axis 0 of [0, 2]; max of no elements is undefined, reduce a non-empty axis",
  );
  assert.throws(() => norm(x, { ord: -1 }), /norm: ord must be a positive number or "fro", got -1; shape \[2, 3\]/);
});

Deno.test("errors: dtypes and operands", () => {
  throwsExactly(() => neg(tensor([true])), DTypeError, 'neg: bool input; convert with astype(x, "int32")');
  throwsExactly(
    () => add("x" as unknown as Tensor, 1),
    DTypeError,
    "add: operands must be tensors or numbers, got string; wrap data with tensor(...)",
  );
  throwsExactly(
    () => exp([1, 2] as unknown as Tensor),
    DTypeError,
    "exp: operands must be tensors or numbers, got an array; wrap data with tensor(...)",
  );
  // a primitive called directly with mixed dtypes (the ops promote first)
  throwsExactly(
    () => bind1(binaryP, [ones([2]), ones([2], { dtype: "float64" })], { op: "add" }),
    DTypeError,
    "add: operand dtypes differ (float32, float64); convert one with astype",
  );
  throwsExactly(
    () => bind1(binaryP, [ones([2], { dtype: "bool" }), ones([2], { dtype: "bool" })], { op: "add" }),
    DTypeError,
    'add: bool operands; convert with astype(x, "int32")',
  );
});

Deno.test("errors: creation and reading", () => {
  throwsExactly(
    () => tensor([[1, 2], [3]]),
    ShapeError,
    "tensor: nested arrays are ragged (expected shape [2, 2]); give every row the same length",
  );
  throwsExactly(
    () => tensor([1, 2, 3], { shape: [2, 2] }),
    ShapeError,
    "tensor: 3 elements do not fill shape [2, 2] (4 elements); fix the shape or the data",
  );
  throwsExactly(
    () => tensor([1.5], { dtype: "int32" }),
    DTypeError,
    "tensor: 1.5 is not an int32 value; round it or use a float dtype",
  );
  throwsExactly(
    () => full([2], 0.5, { dtype: "int32" }),
    DTypeError,
    "full: 0.5 is not an int32 value; round it or use a float dtype",
  );
  assert.throws(() => zeros([2, -1]), /zeros: shape \[2, -1\] must hold non-negative integers/);
  assert.throws(() => arange(0, 1, 0), /arange: step must not be 0/);
  throwsExactly(
    () => ones([3]).item(),
    ShapeError,
    "item: tensor has 3 elements, shape [3]; item() needs exactly one (use data() or arraySync() for more)",
  );
});

Deno.test("errors: grad of a non-scalar function", () => {
  throwsExactly(
    () => grad((a: Tensor) => exp(a))(ones([2, 2], { dtype: "float64" })),
    ShapeError,
    "grad: the function must return a scalar, got shape [2, 2]; reduce it (e.g. sum) or use vjp",
  );
});

Deno.test("errors: validation happens before any kernel runs (no partial work on bad input)", () => {
  // a released tensor is reported by the op that tried to use it
  let x = ones([1]);
  scope(() => {
    x = ones([2]);
    return null;
  });
  throwsExactly(
    () => add(x, 1),
    BackendError,
    "binary: tensor of shape [2] was released by scope(); return it from the scope's function to keep it",
  );
  // a shape error is thrown by the shape rule, so the kernel never sees the operands
  let ran = false;
  const kernels = ones([1]).backend.kernels;
  const matmulKernel = kernels.get("matmul")!;
  kernels.set("matmul", (...args) => {
    ran = true;
    return matmulKernel(...args);
  });
  try {
    assert.throws(() => matmul(ones([2, 3]), ones([2, 3])), ShapeError);
    assert.throws(() => matmulT(ones([2, 3]), ones([2, 3]), false, false), ShapeError);
    assert.equal(ran, false);
    matmul(ones([2, 3]), ones([3, 2]));
    assert.equal(ran, true);
  } finally {
    kernels.set("matmul", matmulKernel);
  }
});
