// An options object that is not one, or holds a name the function does not know, is a
// DomainError naming the option and the intended one: a JavaScript caller (the npm bundle, a
// browser page) or a habit from PyTorch/PEFT/optax (`learning_rate`, `lora_alpha`, `sum(x, 1)`)
// must not have an option silently ignored.
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import * as t from "@tangent/tangent";
import { adapters, lowrank, manifolds, optim } from "@tangent/tangent";
import { checkOptions, optionKeys } from "../core/options.ts";
import { arbitraryTensor } from "@tangent/tangent/testing";

const x = t.tensor([[3, 1, 2], [0, 5, 4]]);
const any = (f: unknown) => f as any;

/** `f` throws a DomainError whose message contains every one of `words`. */
function rejects(f: () => unknown, ...words: string[]) {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof t.DomainError, `expected a DomainError, got ${err}`);
  for (const w of words) assert.ok((err as Error).message.includes(w), `"${(err as Error).message}" lacks "${w}"`);
}

Deno.test("options: a bare axis, dtype or rate names the object to write", () => {
  rejects(() => any(t.sum)(x, 1), "sum:", "{ axis: 1 }", "got the number 1");
  rejects(() => any(t.mean)(x, -1), "mean:", "{ axis: -1 }");
  rejects(() => any(t.max)(x, 0), "max:", "{ axis: 0 }");
  rejects(() => any(t.argmax)(x, 1), "argmax:", "{ axis: 1 }");
  rejects(() => any(t.sort)(x, 0), "sort:", "{ axis: 0 }");
  rejects(() => any(t.softmax)(x, 0), "softmax:", "{ axis: 0 }");
  rejects(() => any(t.logsumexp)(x, 0), "logsumexp:", "{ axis: 0 }");
  rejects(() => any(t.zeros)([2], "float64"), "zeros:", '{ dtype: "float64" }');
  rejects(() => any(t.tensor)([1, 2], "float64"), "tensor:", '{ dtype: "float64" }');
  rejects(() => any(t.gelu)(x, "tanh"), "gelu:", '{ approximate: "tanh" }');
  rejects(() => any(optim.adam)(0.1), "adam:", "{ lr: 0.1 }");
  rejects(() => any(adapters.lora)(8), "lora:", "{ r: 8 }");
  rejects(() => any(adapters.lora)(null), "lora:", "got null");
  rejects(() => any(t.cumsum)(x, { axis: 0 }), "cumsum:", "cumsum(x, 0)");
  const f = (a: t.Tensor, b: t.Tensor) => t.sum(t.mul(a, b));
  rejects(() => any(t.grad)(f, 1), "grad:", "{ argnums: 1 }"); // JAX's grad(f, 1) would differentiate b
  rejects(() => any(t.valueAndGrad)(f, [0, 1]), "valueAndGrad:", "{ argnums: [0,1] }");
  rejects(() => any(t.jacrev)(f, 1), "jacrev:", "{ argnums: 1 }");
  rejects(() => any(t.vmap)(f, [0, null]), "vmap:", "{ inAxes: [0,null] }");
  rejects(() => any(t.normal)(t.key(0), [2], "float64"), "normal:", '{ dtype: "float64" }');
});

Deno.test("options: an unknown name is refused with the intended one", () => {
  rejects(() => any(t.sum)(x, { axes: 1 }), 'unknown option "axes"', '"axis"');
  rejects(() => any(t.max)(x, { axis: 1, keepdim: true }), '"keepdim"', '"keepdims"');
  rejects(() => any(t.variance)(x, { axis: 1, ddfo: 1 }), '"ddfo"', '"ddof"');
  rejects(() => any(t.ones)([2], { dtpye: "float64" }), '"dtpye"', '"dtype"');
  rejects(() => any(optim.adam)({ learningRate: 0.1 }), '"learningRate"', '"lr"');
  rejects(() => any(optim.adam)({ learning_rate: 0.1 }), '"learning_rate"', '"lr"');
  rejects(() => any(optim.adamw)({ lr: 0.1, weight_decay: 0.1 }), '"weight_decay"', '"weightDecay"');
  rejects(() => any(optim.adam)({ betas: [0.9, 0.99] }), '"betas"', '"b1" and "b2"');
  rejects(() => any(optim.sgd)({ lr: 0.1, momentun: 0.9 }), '"momentun"', '"momentum"');
  rejects(() => any(optim.sgd)({ lr: 0.1, stabilize: 5 }), '"stabilize"'); // riemannianSgd's only
  rejects(() => any(adapters.lora)({ r: 8, lora_alpha: 16 }), '"lora_alpha"', '"alpha"');
  rejects(() => any(adapters.dora)({ rank: 8 }), '"rank"', '"r"');
  rejects(() => any(adapters.lora)({ r: 8, init_lora_weights: "pissa" }), '"init"');
  rejects(() => any(adapters.hra)({ r: 8, lamda: 1e-3 }), '"lamda"', '"lambda"');
  rejects(() => any(adapters.oft)({ block_size: 4 }), '"block_size"', '"blockSize"');
  rejects(() => any(manifolds.stiefel)(4, 2, { retract: "qr" }), "stiefel:", '"retract"');
  rejects(() => any(lowrank.als)(t.eye(4), { r: 2 }), "als:", '"rank"');
  rejects(() => any(t.grad)((a: t.Tensor) => t.sum(a), { argnum: 0 }), '"argnum"', '"argnums"');
  rejects(() => any(t.vmap)((a: t.Tensor) => a, { in_axes: 1 }), '"in_axes"', '"inAxes"');
  rejects(() => any(t.jit)((a: t.Tensor) => a, { static_argnums: [1] }), '"static_argnums"', '"staticArgnums"');
  rejects(() => any(t.uniform)(t.key(0), [2], { low: -1, high: 1 }), "uniform:", '"low"');
  rejects(() => any(t.scope)(() => 1, { releases: [] }), '"releases"', '"release"');
  rejects(() => any(t.checkGrad)((a: t.Tensor) => t.sum(a), [x], { tol: 1 }), '"tol"');
  rejects(() => arbitraryTensor({ max_rank: 2 } as never), "arbitraryTensor:", '"maxRank"');
  rejects(() => any(t.linalg.solveTriangular)(t.eye(2), t.eye(2), { lower: true, upper: false }), '"upper"');
});

Deno.test("options: every known option and undefined values pass; the lists cover the interfaces", () => {
  // an option holding undefined is the same as leaving it out (spreads of partial objects)
  assert.deepEqual(t.sum(x, { axis: 1, keepdims: undefined, extra: undefined } as any).arraySync(), [6, 9]);
  assert.deepEqual(t.variance(t.tensor([1, 3]), { axis: 0, keepdims: true, ddof: 1 }).arraySync(), [2]);
  optim.adam({ lr: 1e-3, b1: 0.9, b2: 0.99, eps: 1e-8, weightDecay: 0, strict: true });
  optim.riemannianAdam({ lr: 1e-3, stabilize: 10 });
  optim.riemannianSgd({ lr: 1e-3, momentum: 0.5, nesterov: true, stabilize: 10 });
  adapters.lora({ r: 2, alpha: 4, rslora: true, init: "gaussian" });
  assert.deepEqual(t.cumsum(t.tensor([1, 2]), 0, { reverse: true }).arraySync(), [3, 2]);
  // a completeness check of the helper itself: a missing key is a compile error, so this
  // object must name both
  assert.deepEqual(optionKeys<{ a?: number; b: string }>({ a: true, b: true }), ["a", "b"]);
  // objects without a prototype are plain objects too
  checkOptions("op", Object.assign(Object.create(null), { a: 1 }), ["a"]);
  rejects(() => checkOptions("op", new Map(), ["a"]), "a Map");
});

Deno.test("options: every public function that takes options names an unknown one", async () => {
  const m = t.tensor([[2, 1], [1, 3]], { dtype: "float64" });
  const St = manifolds.stiefel(4, 2);
  const calls: [string, (o: any) => unknown][] = [
    ["tensor", (o) => t.tensor([1], o)],
    ["zeros", (o) => t.zeros([1], o)],
    ["ones", (o) => t.ones([1], o)],
    ["full", (o) => t.full([1], 2, o)],
    ["eye", (o) => t.eye(2, o)],
    ["arange", (o) => t.arange(0, 3, 1, o)],
    ["linspace", (o) => t.linspace(0, 1, 3, o)],
    ["sum", (o) => t.sum(m, o)],
    ["prod", (o) => t.prod(m, o)],
    ["max", (o) => t.max(m, o)],
    ["min", (o) => t.min(m, o)],
    ["mean", (o) => t.mean(m, o)],
    ["variance", (o) => t.variance(m, o)],
    ["logsumexp", (o) => t.logsumexp(m, o)],
    ["softmax", (o) => t.softmax(m, o)],
    ["logSoftmax", (o) => t.logSoftmax(m, o)],
    ["norm", (o) => t.norm(m, o)],
    ["argmax", (o) => t.argmax(m, o)],
    ["argmin", (o) => t.argmin(m, o)],
    ["sort", (o) => t.sort(m, o)],
    ["argsort", (o) => t.argsort(m, o)],
    ["topk", (o) => t.topk(m, 1, o)],
    ["cumsum", (o) => t.cumsum(m, 0, o)],
    ["cumprod", (o) => t.cumprod(m, 0, o)],
    ["gelu", (o) => t.gelu(m, o)],
    ["normal", (o) => t.normal(t.key(0), [2], o)],
    ["uniform", (o) => t.uniform(t.key(0), [2], o)],
    ["scope", (o) => t.scope(() => 1, o)],
    ["grad", (o) => t.grad((a: t.Tensor) => t.sum(a), o)],
    ["valueAndGrad", (o) => t.valueAndGrad((a: t.Tensor) => t.sum(a), o)],
    ["jacrev", (o) => t.jacrev((a: t.Tensor) => a, o)],
    ["jacfwd", (o) => t.jacfwd((a: t.Tensor) => a, o)],
    ["hessian", (o) => t.hessian((a: t.Tensor) => t.sum(a), o)],
    ["jit", (o) => t.jit((a: t.Tensor) => a, o)],
    ["vmap", (o) => t.vmap((a: t.Tensor) => a, o)],
    ["checkGrad", (o) => t.checkGrad((a: t.Tensor) => t.sum(a), [m], o)],
    ["linalg.solveTriangular", (o) => t.linalg.solveTriangular(m, m, { lower: true, ...o })],
    ["linalg.newtonSchulz", (o) => t.linalg.newtonSchulz(m, o)],
    ["manifolds.stiefel", (o) => manifolds.stiefel(4, 2, o)],
    ["manifolds.orthogonal", (o) => manifolds.orthogonal(3, o)],
    ["manifolds.grassmann", (o) => manifolds.grassmann(4, 2, o)],
    ["manifolds.landingSafeStep", (o) => manifolds.landingSafeStep(St.random(t.key(0)), t.zeros([4, 2]), o)],
    ["optim.sgd", (o) => optim.sgd({ lr: 0.1, ...o })],
    ["optim.adam", (o) => optim.adam(o)],
    ["optim.adamw", (o) => optim.adamw(o)],
    ["optim.riemannianSgd", (o) => optim.riemannianSgd({ lr: 0.1, ...o })],
    ["optim.riemannianAdam", (o) => optim.riemannianAdam(o)],
    ["optim.landing", (o) => optim.landing({ lr: 0.1, ...o })],
    ["optim.warmupCosineSchedule", (o) => optim.warmupCosineSchedule({ peakValue: 1, decaySteps: 10, ...o })],
    ["adapters.lora", (o) => adapters.lora({ r: 2, ...o })],
    ["adapters.dora", (o) => adapters.dora({ r: 2, ...o })],
    ["adapters.hra", (o) => adapters.hra({ r: 2, ...o })],
    ["adapters.oft", (o) => adapters.oft({ blockSize: 2, ...o })],
    ["adapters.boft", (o) => adapters.boft({ blockSize: 2, ...o })],
    ["adapters.loha", (o) => adapters.loha({ r: 2, ...o })],
    ["adapters.lokr", (o) => adapters.lokr({ r: 2, ...o })],
    ["adapters.lokh", (o) => adapters.lokh({ r: 2, ...o })],
    ["adapters.vera", (o) => adapters.vera({ r: 2, ...o })],
    ["adapters.sorsa", (o) => adapters.sorsa({ r: 2, ...o })],
    ["adapters.polar", (o) => adapters.polar({ r: 2, ...o })],
    ["adapters.spectralDrift", (o) => adapters.spectralDrift(m, m, o)],
    ["lowrank.als", (o) => lowrank.als(m, { rank: 1, ...o })],
    ["lowrank.alsMasked", (o) => lowrank.alsMasked(m, t.onesLike(m), { rank: 1, ...o })],
    ["lowrank.hadamardAls", (o) => lowrank.hadamardAls(m, { ranks: [1, 1], ...o })],
    ["lowrank.kroneckerDecomposition", (o) => lowrank.kroneckerDecomposition(m, { a: [1, 1], b: [2, 2], ...o })],
    ["safetensors.serialize", (o) => t.safetensors.serialize({ m }, undefined, o)],
  ];
  for (const [name, call] of calls) {
    // the options as given work (the table's calls are right) ...
    await call({});
    // ... and one more, unknown name is refused by name
    rejects(() => call({ notAnOption: 1 }), `${name.split(".").pop()}: `, '"notAnOption"');
  }
});

Deno.test("options: the model functions name an unknown option too", async () => {
  const dir = "../shared/fixtures/models/tiny_gpt2";
  const model = await t.loadModel(dir);
  const reject = async (f: () => Promise<unknown>, ...words: string[]) => {
    const err = await f().then(() => undefined, (e) => e);
    assert.ok(err instanceof t.DomainError, `expected a DomainError, got ${err}`);
    for (const w of words) assert.ok(err.message.includes(w), `"${err.message}" lacks "${w}"`);
  };
  await reject(() => t.loadModel(dir, { torch_dtype: "float64" } as never), "loadModel:", '"torch_dtype"', '"dtype"');
  await reject(() => t.loadModel(dir, "float64" as never), "loadModel:", '{ dtype: "float64" }');
  const ids = t.tensor([[1, 2]], { dtype: "int32" });
  await reject(
    () => t.generate(model, model.params, ids, { max_new_tokens: 2 } as never),
    "generate:",
    '"max_new_tokens"',
    '"maxNewTokens"',
  );
  await reject(
    () => t.generate(model, model.params, ids, { maxNewTokens: 2, top_k: 5 } as never),
    '"top_k"',
    '"topK"',
  );
  await reject(
    () =>
      Promise.resolve().then(() =>
        t.adaptModel(model, { target: "c_attn", adapter: adapters.lora({ r: 2 }), targets: "c_proj" } as never)
      ),
    "adaptModel:",
    '"targets"',
    '"target"',
  );
  await reject(() => t.safetensors.read(`${dir}/model.safetensors`, { device: "cpu" } as never), '"device"');
  await reject(
    () => t.loadPeftAdapter(model, "../shared/fixtures/models/tiny_gpt2_lora_adapter", { adapter: {} } as never),
    '"adapter"',
    '"adapters"',
  );
});
