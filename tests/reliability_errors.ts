/**
 * The error half of the op table (issue 14): calls that must fail, the error class, and the words
 * the message must contain (the op, the offending shapes or values, the fix). `reliability_ops_test.ts`
 * runs each with every backend as the default; an error may surface at once or, on a backend that
 * reads asynchronously, when the result is read.
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

/** One failing call. */
export interface ErrorCase {
  name: string;
  call: () => unknown;
  // deno-lint-ignore no-explicit-any
  error: new (...a: any[]) => Error;
  words: string[];
  /** Only meaningful on the CPU (float64 inputs, host-only functions). */
  cpuOnly?: boolean;
}

const i32 = (v: number[]) => T.tensor(v, { dtype: "int32" });
// deno-lint-ignore no-explicit-any
const bad = (v: unknown) => v as any;

export const ERROR_CASES: ErrorCase[] = [
  // shapes
  {
    name: "add: shapes that do not broadcast",
    call: () => T.add(T.zeros([2, 3]), T.zeros([4])),
    error: T.ShapeError,
    words: ["add", "[2, 3]", "[4]"],
  },
  {
    name: "matmul: inner dimensions",
    call: () => T.matmul(T.zeros([2, 3]), T.zeros([4, 2])),
    error: T.ShapeError,
    words: ["matmul", "[2, 3]", "[4, 2]"],
  },
  {
    name: "reshape: wrong count",
    call: () => T.reshape(T.zeros([2, 3]), [4, 2]),
    error: T.ShapeError,
    words: ["reshape", "[2, 3]", "[4, 2]"],
  },
  {
    name: "sum: axis out of range",
    call: () => T.sum(T.zeros([2]), { axis: 3 }),
    error: T.ShapeError,
    words: ["sum", "axis 3"],
  },
  {
    name: "max: empty axis",
    call: () => T.max(T.zeros([0, 2]), { axis: 0 }),
    error: T.ShapeError,
    words: ["max", "empty"],
  },
  {
    name: "slice: out of range",
    call: () => T.slice(T.zeros([3]), [[1, 5]]),
    error: T.ShapeError,
    words: ["slice", "[3]"],
  },
  { name: "trace: a vector", call: () => T.trace(T.zeros([3])), error: T.ShapeError, words: ["trace", "[3]"] },
  {
    name: "linalg.inv: not square",
    call: () => T.linalg.inv(T.zeros([2, 3])),
    error: T.ShapeError,
    words: ["inv", "[2, 3]"],
  },
  // dtypes
  {
    name: "take: float indices",
    call: () => T.take(T.zeros([3]), T.zeros([1])),
    error: T.DTypeError,
    words: ["take", "int32"],
  },
  {
    name: "where: non-bool condition",
    call: () => T.where(bad(T.zeros([2])), 1, 0),
    error: T.DTypeError,
    words: ["where", "bool"],
  },
  {
    name: "add: a string operand",
    call: () => T.add(T.zeros([2]), bad("1")),
    error: T.DTypeError,
    words: ["add", "string"],
  },
  // indices: the same error on every backend (on WebGPU when the result is read)
  {
    name: "take: index tensor out of range",
    call: () => T.take(T.tensor([1, 2, 3]), i32([0, 5])),
    error: T.DomainError,
    words: ["take", "index 5", "extent 3"],
  },
  {
    name: "take: negative index out of range",
    call: () => T.take(T.tensor([[1, 2], [3, 4]]), i32([-3]), 1),
    error: T.DomainError,
    words: ["take", "index -3", "extent 2"],
  },
  {
    name: "scatterAdd: index out of range",
    call: () => T.scatterAdd(i32([1, 4]), T.ones([2]), 0, [3]),
    error: T.DomainError,
    words: ["scatterAdd", "index 4", "extent 3"],
  },
  {
    name: "take: index list out of range",
    call: () => T.take(T.tensor([1, 2, 3]), [3]),
    error: T.DomainError,
    words: ["take", "index 3"],
  },
  // creation
  {
    name: "tensor: a string element",
    call: () => T.tensor(bad(["a", 1])),
    error: T.DTypeError,
    words: ["tensor", '"a"'],
  },
  {
    name: "tensor: a null element",
    call: () => T.tensor(bad([null, 1])),
    error: T.DTypeError,
    words: ["tensor", "null"],
  },
  {
    name: "tensor: undefined",
    call: () => T.tensor(bad(undefined)),
    error: T.DTypeError,
    words: ["tensor", "undefined"],
  },
  {
    name: "tensor: an unsupported typed array",
    call: () => T.tensor(bad(new Uint16Array([1, 2]))),
    error: T.DTypeError,
    words: ["tensor", "Uint16Array"],
  },
  {
    name: "zeros: unknown dtype",
    call: () => T.zeros([2], { dtype: bad("int64") }),
    error: T.DTypeError,
    words: ["zeros", "int64"],
  },
  {
    name: "astype: unknown dtype",
    call: () => T.astype(T.zeros([2]), bad("bfloat16")),
    error: T.DTypeError,
    words: ["astype", "bfloat16"],
  },
  {
    name: "tensor: int32 out of range",
    call: () => T.tensor([3e9], { dtype: "int32" }),
    error: T.DomainError,
    words: ["tensor", "3000000000", "int32"],
  },
  {
    name: "full: int32 out of range",
    call: () => T.full([2], 2 ** 31, { dtype: "int32" }),
    error: T.DomainError,
    words: ["full", "2147483648"],
  },
  {
    name: "full: a non-number value",
    call: () => T.full([2], bad("1")),
    error: T.DTypeError,
    words: ["full", "string"],
  },
  { name: "zeros: a fractional extent", call: () => T.zeros([2.5]), error: T.ShapeError, words: ["zeros", "[2.5]"] },
  { name: "ones: a shape that is not an array", call: () => T.ones(bad(3)), error: T.ShapeError, words: ["ones", "3"] },
  { name: "eye: a fractional size", call: () => T.eye(2.5), error: T.ShapeError, words: ["eye", "2.5"] },
  {
    name: "linspace: a fractional count",
    call: () => T.linspace(0, 1, 2.5),
    error: T.ShapeError,
    words: ["linspace", "2.5"],
  },
  { name: "linspace: a NaN end", call: () => T.linspace(0, NaN, 3), error: T.DomainError, words: ["linspace", "NaN"] },
  { name: "arange: a NaN step", call: () => T.arange(0, 3, NaN), error: T.DomainError, words: ["arange", "NaN"] },
  {
    name: "arange: an infinite stop",
    call: () => T.arange(0, Infinity),
    error: T.DomainError,
    words: ["arange", "Infinity"],
  },
  // keys
  {
    name: "split: a fractional count",
    call: () => T.split(T.key(0), 2.5),
    error: T.DomainError,
    words: ["split", "2.5"],
  },
  { name: "split: not a key", call: () => T.split(bad({ words: [1] })), error: T.DTypeError, words: ["split", "key"] },
  {
    name: "foldIn: data beyond 32 bits",
    call: () => T.foldIn(T.key(0), 2 ** 32),
    error: T.DomainError,
    words: ["foldIn", "4294967296"],
  },
  {
    name: "foldIn: fractional data",
    call: () => T.foldIn(T.key(0), 1.5),
    error: T.DomainError,
    words: ["foldIn", "1.5"],
  },
  { name: "key: a fractional seed", call: () => T.key(0.5), error: T.DTypeError, words: ["key", "0.5"] },
  {
    name: "normal: an int dtype",
    call: () => T.normal(T.key(0), [2], { dtype: "int32" }),
    error: T.DTypeError,
    words: ["normal", "int32"],
  },
  // sizes that cannot be allocated (beyond 2⁵³ bytes, so the host refuses at once instead of trying;
  // zeros([1e6, 1e6]), which the host tries and fails, takes the same path)
  {
    name: "zeros: too large to allocate",
    call: () => T.zeros([2 ** 30, 2 ** 30]),
    error: T.BackendError,
    words: ["zeros", "[1073741824, 1073741824]", "float32"],
  },
  {
    name: "matmul: a result too large to allocate",
    call: () => T.matmul(T.zeros([2 ** 27, 0]), T.zeros([0, 2 ** 27])),
    error: T.BackendError,
    words: ["matmul", "[134217728, 134217728]"],
  },
  // ops of reliability_table_more.ts
  {
    name: "argmax: an empty axis",
    call: () => T.argmax(T.zeros([2, 0]), { axis: 1 }),
    error: T.ShapeError,
    words: ["argmax", "[2, 0]", "empty"],
  },
  {
    name: "topk: k larger than the axis",
    call: () => T.topk(T.ones([3]), 4),
    error: T.ShapeError,
    words: ["topk", "k = 4", "[0, 3]"],
  },
  {
    name: "cumsum: axis out of range",
    call: () => T.cumsum(T.ones([3]), 2),
    error: T.ShapeError,
    words: ["cumsum", "axis 2", "[-1, 0]"],
  },
  {
    name: "einsum: operands the spec does not name",
    call: () => T.einsum("ij,jk->ik", T.ones([2, 2])),
    error: T.ShapeError,
    words: ["einsum", "2 operands", "1 were given"],
  },
  {
    name: "einsum: a label of two extents",
    call: () => T.einsum("ij,jk->ik", T.ones([2, 3]), T.ones([2, 2])),
    error: T.ShapeError,
    words: ["einsum"],
  },
  {
    name: "takeAlongAxis: an index out of range (read on WebGPU)",
    call: () => T.takeAlongAxis(T.ones([2, 3]), i32([0, 5]).reshape([2, 1]), 1),
    error: T.DomainError,
    words: ["takeAlongAxis (axis 1)", "index 5", "out of range", "[-3, 2]"],
  },
  {
    name: "linalg.solveTriangular: a singular triangle",
    call: () => T.linalg.solveTriangular(T.tensor([[1, 0], [1, 0]]), T.ones([2, 1]), { lower: true }),
    error: T.DomainError,
    words: ["solveTriangular", "singular"],
  },
  {
    name: "linalg.matrixNorm: ord -2 of an empty matrix",
    call: () => T.linalg.matrixNorm(T.zeros([0, 3]), -2),
    error: T.ShapeError,
    words: ["matrixNorm", "ord -2", "[0, 3]", "undefined"],
  },
  {
    name: "linalg.expm: not a tensor",
    call: () => T.linalg.expm(bad([[1, 0], [0, 1]])),
    error: T.DTypeError,
    words: ["expm", "must be a tensor", "tensor(...)"],
  },
  {
    name: "array: a zero-size tensor with 2⁴⁰ rows",
    call: () => {
      const t = T.zeros([2 ** 40, 0]);
      if (!t.toString().includes("shape=[1099511627776,0]")) throw new Error(`toString: ${t.toString()}`);
      return t.arraySync();
    },
    error: T.DomainError,
    words: ["array", "[1099511627776, 0]", "data()"],
    cpuOnly: true,
  },
  // autodiff misuse
  {
    name: "grad: an int32 input",
    call: () => T.grad((x: Tensor) => T.sum(T.astype(x, "float32")))(i32([1, 2])),
    error: T.DTypeError,
    words: ["grad", "int32", "astype"],
  },
  {
    name: "grad: an int32 leaf in a pytree",
    call: () => T.grad((p: { w: Tensor; n: Tensor }) => T.sum(p.w))({ w: T.ones([2]), n: i32([3]) }),
    error: T.DTypeError,
    words: ["grad", "int32"],
  },
  {
    name: "grad: argnums repeated",
    call: () => T.grad((x: Tensor, y: Tensor) => T.sum(T.mul(x, y)), { argnums: [0, 0] })(T.ones([2]), T.ones([2])),
    error: T.ShapeError,
    words: ["argnums", "twice"],
  },
  // optimizers and trees
  {
    name: "adam: a negative learning rate",
    call: () => T.manifolds.adam({ lr: -1 }),
    error: T.DomainError,
    words: ["adam", "lr", "-1"],
  },
  {
    name: "adam: a NaN learning rate",
    call: () => T.manifolds.adam({ lr: NaN }),
    error: T.DomainError,
    words: ["adam", "lr", "NaN"],
  },
  {
    name: "adam: a negative eps",
    call: () => T.manifolds.adam({ eps: -1 }),
    error: T.DomainError,
    words: ["adam", "eps", "-1"],
  },
  {
    name: "adamw: a NaN weight decay",
    call: () => T.manifolds.adamw({ weightDecay: NaN }),
    error: T.DomainError,
    words: ["adamw", "weightDecay"],
  },
  {
    name: "sgd: a missing learning rate",
    call: () => T.manifolds.sgd(bad({})),
    error: T.DomainError,
    words: ["sgd", "lr"],
  },
  {
    name: "sgd: a schedule that returns NaN",
    call: () => {
      const opt = T.manifolds.sgd({ lr: () => NaN });
      const p = { w: T.ones([2]) };
      return opt.update(p, opt.init(p), p).params.w;
    },
    error: T.DomainError,
    words: ["sgd", "lr", "NaN", "step 0"],
  },
  {
    name: "adam: gradients of another tree",
    call: () => {
      const opt = T.manifolds.adam();
      const p = { w: T.ones([2]), b: T.ones([2]) };
      return opt.update({ w: T.ones([2]), c: T.ones([2]) }, opt.init(p), p).params.w;
    },
    error: T.ShapeError,
    words: ["adam", "b", "c"],
  },
  {
    name: "treeMap: trees with different keys",
    call: () => T.treeMap((a: Tensor, b: Tensor) => T.add(a, b), { w: T.ones([1]) }, { v: T.ones([1]) }),
    error: T.ShapeError,
    words: ["treeMap", "w", "v"],
  },
  {
    name: "treeMap: a tree with fewer leaves",
    call: () => T.treeMap((a: Tensor, b: Tensor) => T.add(a, b), [T.ones([1]), T.ones([1])], [T.ones([1])]),
    error: T.ShapeError,
    words: ["treeMap", "2", "1"],
  },
];
