/**
 * Composition orders of the transformations (issue 11: "composable in any order with grad, jvp, jit
 * and itself"): vmap outside jvp, hessian, jacrev, checkpoint, scan and grad-of-scan, jit around
 * those, jvp and grad of jit, each against the loop over the examples of the plain function.
 * (vmap∘grad, grad∘vmap, jvp∘vmap, jit∘vmap and vmap∘jit are held in transforms_vmap_test.ts and
 * transforms_jit_test.ts.)
 */
import assert from "node:assert/strict";
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

const { checkpoint, grad, hessian, jacfwd, jacrev, jit, jvp, scan, sin, stack, sum, mul, vmap } = T;
const f64 = (a: number[][] | number[] | number) => T.tensor(a, { dtype: "float64" });

function near(got: Tensor, want: Tensor, what: string, tol = 1e-13) {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const g = got.dataSync(), w = want.dataSync();
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(g[i] - w[i]) <= tol * (1 + Math.abs(w[i])), `${what}: element ${i}: ${g[i]} vs ${w[i]}`);
  }
}

const xs = f64([[0.1, 0.2, 0.3], [0.4, -0.5, 0.6], [1.5, -0.25, 2]]);
const rows = [0, 1, 2].map((i) => T.squeeze(T.slice(xs, [[i, i + 1]]), 0));
const loop = (g: (x: Tensor) => Tensor) => stack(rows.map(g));
const f = (x: Tensor) => sum(mul(sin(x), x));
const body = (c: Tensor, e: Tensor): [Tensor, Tensor] => [c.add(sin(e).mul(c.add(1))), c];
const scanned = (x: Tensor) => scan(body, f64(0), x)[0];

Deno.test("vmap outside jvp, hessian, jacfwd, jacrev, checkpoint and scan equals the loop over the examples", () => {
  const tangentOf = (x: Tensor) => jvp(f, [x], [T.onesLike(x)])[1];
  const cases: [string, (x: Tensor) => Tensor][] = [
    ["jvp", tangentOf],
    ["hessian", hessian(f)],
    ["jacfwd(grad)", jacfwd(grad(f))],
    ["jacrev(sin)", jacrev((x: Tensor) => sin(x))],
    ["checkpoint", checkpoint(f)],
    ["grad(checkpoint)", grad(checkpoint(f))],
    ["scan", scanned],
    ["grad(scan)", grad(scanned)],
  ];
  for (const [name, g] of cases) {
    near(vmap(g)(xs), loop(g), `vmap(${name})`);
    const jg = jit(vmap(g));
    jg(xs);
    near(jg(xs), loop(g), `jit(vmap(${name})) replayed`);
  }
});

Deno.test("jvp and grad of jit(f), jit of jvp and grad: the plain function's values", () => {
  const jf = jit(f);
  const x = rows[1], v = T.onesLike(x);
  jf(x);
  near(jvp(jf, [x], [v])[1], jvp(f, [x], [v])[1], "jvp(jit(f))", 0);
  near(grad(jf)(x), grad(f)(x), "grad(jit(f))", 0);
  const jg = jit(grad(f));
  jg(x);
  near(jg(rows[2]), grad(f)(rows[2]), "jit(grad(f)) replayed, bit for bit", 0);
  const jj = jit((y: Tensor) => jvp(f, [y], [T.onesLike(y)])[1]);
  jj(x);
  near(jj(rows[2]), jvp(f, [rows[2]], [T.onesLike(rows[2])])[1], "jit(jvp) replayed", 0);
  // hessian of the vmapped function: block-diagonal, one block per example
  const H = hessian((m: Tensor) => sum(vmap(f)(m)))(xs);
  const blocks = loop(hessian(f));
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const block = T.squeeze(T.slice(H, [[i, i + 1], null, [j, j + 1], null]), [0, 2]);
      near(
        block,
        i === j ? T.squeeze(T.slice(blocks, [[i, i + 1]]), 0) : T.zeros([3, 3], { dtype: "float64" }),
        `H[${i}][${j}]`,
      );
    }
  }
});

Deno.test("vmap of vmap of grad with different inAxes equals the double loop", () => {
  const g = grad((w: Tensor, x: Tensor) => sum(mul(sin(mul(w, x)), x)));
  const ws = f64([[1, 2, 3], [-1, 0.5, 2]]);
  const out = vmap((w: Tensor) => vmap((x: Tensor) => g(w, x))(xs))(ws); // [2, 3, 3]
  const wRows = [0, 1].map((i) => T.squeeze(T.slice(ws, [[i, i + 1]]), 0));
  near(out, stack(wRows.map((w) => stack(rows.map((x) => g(w, x))))), "vmap(vmap(grad))");
  // the batch of x along axis 1, w shared
  const cols = vmap((x: Tensor) => g(wRows[0], x), { inAxes: 1 })(T.transpose(xs, [1, 0]));
  near(cols, stack(rows.map((x) => g(wRows[0], x))), "inAxes 1");
});
