// deno-lint-ignore-file no-explicit-any
// Shared by the manifolds long-run tests.
import "../mod.ts";
import { key, matmul, mul, normal, scope, type Tensor } from "../mod.ts";
import type { Optimizer, Stiefel } from "../manifolds/mod.ts";

/**
 * Runs `steps` updates of `opt` maximising tr(XᵀAX) on `St` (float32, A a fixed random symmetric
 * matrix) and returns the largest constraint violation seen (checked every 500 steps).
 */
export function longRun(St: Stiefel, opt: Optimizer<any>, steps: number): number {
  const n = St.n;
  const g0 = normal(key(3), [n, n]);
  const a = g0.add(g0.mT);
  let x: any = St.random(key(4));
  let state = opt.init(x);
  let worst = 0;
  for (let i = 0; i < steps; i++) {
    [x, state] = scope(() => {
      const r = opt.update(mul(matmul(a, x), -2), state, x);
      return [r.params, r.state];
    });
    if (i % 500 === 499) worst = Math.max(worst, St.constraintViolation(x as Tensor).item());
  }
  return worst;
}
