/**
 * The 2-layer MLP training step the core benchmarks time: `logits = relu(x W₁ + b₁) W₂ + b₂`,
 * softmax cross-entropy against one-hot labels, and plain SGD `θ ← θ − η ∇θ` by the library's `sgd` (PyTorch's
 * side runs `torch.optim.SGD`).
 * @module
 */
import {
  add,
  key,
  logSoftmax,
  matmul,
  mean,
  mul,
  neg,
  normal,
  oneHot,
  randomBits,
  relu,
  split,
  sum,
  type Tensor,
  tensor,
  valueAndGrad,
  zeros,
} from "../mod.ts";
import { type Optimizer, sgd, type SgdState } from "../optim/mod.ts";

/** MLP parameters. */
export interface Mlp {
  /** din×hidden */
  w1: Tensor;
  /** hidden */
  b1: Tensor;
  /** hidden×classes */
  w2: Tensor;
  /** classes */
  b2: Tensor;
}

/** Random parameters (He initialisation), inputs and one-hot labels, float32. */
export function mlpProblem(batch = 128, din = 784, hidden = 256, classes = 10): { params: Mlp; x: Tensor; y: Tensor } {
  const [k1, k2, k3, k4] = split(key(0), 4);
  const params = {
    w1: mul(normal(k1, [din, hidden]), Math.sqrt(2 / din)),
    b1: zeros([hidden]),
    w2: mul(normal(k2, [hidden, classes]), Math.sqrt(2 / hidden)),
    b2: zeros([classes]),
  };
  const labels = tensor(Int32Array.from(randomBits(k4, [batch]).dataSync(), (b) => (b >>> 0) % classes));
  return { params, x: normal(k3, [batch, din]), y: oneHot(labels, classes) };
}

/** Mean softmax cross-entropy of the MLP on (x, one-hot y). */
export function mlpLoss(p: Mlp, x: Tensor, y: Tensor): Tensor {
  const h = relu(add(matmul(x, p.w1), p.b1));
  const logits = add(matmul(h, p.w2), p.b2);
  return mean(neg(sum(mul(y, logSoftmax(logits)), { axis: -1 })));
}

const optimizers = new Map<number, Optimizer<SgdState>>();

/**
 * One SGD step: the loss before it and the updated parameters. Plain SGD keeps no state between
 * steps, so a fresh one serves each; the optimizer is made once per rate (it compiles its update).
 */
export function mlpStep(p: Mlp, x: Tensor, y: Tensor, lr: number): { loss: Tensor; params: Mlp } {
  const [loss, g] = valueAndGrad(mlpLoss)(p, x, y);
  let opt = optimizers.get(lr);
  if (!opt) optimizers.set(lr, opt = sgd({ lr }));
  return { loss, params: opt.update(g, opt.init(p), p).params };
}
