// deno-lint-ignore-file no-explicit-any
// 20 steps of riemannianSgd / riemannianAdam against geoopt 0.5.1's RiemannianSGD / RiemannianAdam in
// float64 on f(X) = tr(XᵀAXN) (tests/data/geoopt_reference.json, made by
// tests/scripts/geoopt_reference.py). Where the algorithms are the same (sphere, Euclidean-metric
// Stiefel, product, oblique = geoopt's Sphere on rows) the iterates agree to 1e-12. Two documented differences are checked instead:
// - momentum: Tangent's buffer starts at zero (torch.optim.SGD's first step, b₁ = g); geoopt's starts
//   as a clone of the raw gradient and is then multiplied by μ and added to, b₁ = μ·egrad + rgrad.
//   Tangent matches geoopt run with a zero buffer ("_zero_buffer").
// - canonical Stiefel: geoopt's Cayley map has velocity U − XUᵀX instead of U and transports by the
//   Cayley map; Tangent's has velocity U and transports by projection. Plain SGD then maps exactly
//   (geoopt's step −ηr is Tangent's retract(X, egradToRgrad(X, −ηr))), and Tangent's iterates equal
//   the documented algorithm written out with an n×n solve.
// GEOOPT_TABLE=1 prints every difference.
import "../mod.ts";
import assert from "node:assert/strict";
import { add, linalg, matmul, mul, reshape, sub, type Tensor, tensor } from "../mod.ts";
import {
  euclidean,
  type Manifold,
  mm,
  mmt,
  oblique,
  type Optimizer,
  product,
  riemannianAdam,
  riemannianSgd,
  sphere,
  stiefel,
  tmm,
} from "../manifolds/mod.ts";

const REF = JSON.parse(await Deno.readTextFile(new URL("./data/geoopt_reference.json", import.meta.url)));
const TABLE = Deno.env.get("GEOOPT_TABLE") === "1";
const STEPS: number = REF.meta.steps;

const f64 = (a: number[], shape: number[]) => reshape(tensor(a, { dtype: "float64" }), shape);
const arr = (t: Tensor) => Array.from(t.dataSync() as Float64Array);

interface Problem {
  m: Manifold;
  shape: number[];
  a: Tensor;
  n?: Tensor;
  x0: Tensor;
}

function problem(name: string, m: Manifold, shape: number[]): Problem {
  const p = REF.problems[name];
  const k = Math.round(Math.sqrt(p.A.length));
  const n = p.N ? diagOf(p.N) : undefined;
  return { m, shape, a: f64(p.A, [k, k]), n, x0: f64(p.x0, shape) };
}

function diagOf(d: number[]): Tensor {
  const k = d.length;
  const out = new Array(k * k).fill(0);
  d.forEach((v, i) => (out[i * k + i] = v));
  return f64(out, [k, k]);
}

/** ∇ tr(XᵀAXN) = 2AXN (∇ xᵀAx = 2Ax). */
const egrad = (p: Problem, x: Tensor) => mul(p.n ? matmul(matmul(p.a, x), p.n) : matmul(p.a, x), 2);

function optimizerFor(cfg: any): Optimizer<any> {
  if (cfg.kind === "sgd") {
    return riemannianSgd({
      lr: cfg.lr,
      momentum: cfg.momentum ?? 0,
      nesterov: cfg.nesterov ?? false,
      weightDecay: cfg.weight_decay ?? 0,
      stabilize: cfg.stabilize,
    });
  }
  return riemannianAdam({ lr: cfg.lr, weightDecay: cfg.weight_decay ?? 0, stabilize: cfg.stabilize });
}

/** Tangent's 20 iterates, flattened. */
function iterates(p: Problem, opt: Optimizer<any>): number[][] {
  let x: any = p.m.assertOn(p.x0);
  let state = opt.init(x);
  const out: number[][] = [];
  for (let i = 0; i < STEPS; i++) {
    ({ params: x, state } = opt.update(egrad(p, x), state, x));
    out.push(arr(x));
  }
  return out;
}

/** Largest |a − b| / max(1, |b|) over all iterates (the product's Euclidean part grows to ~100). */
function worst(a: number[][], b: number[][]): number {
  assert.equal(a.length, b.length);
  let d = 0;
  a.forEach((row, i) =>
    row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i][j]) / Math.max(1, Math.abs(b[i][j])))))
  );
  return d;
}

const row = (s: string, d: number) => TABLE && console.log(`| ${s} | ${d.toExponential(1)} |`);

for (
  const [name, make, shape] of [
    ["sphere", () => sphere(4), [4]],
    ["stiefel_euclidean", () => stiefel(5, 3), [5, 3]],
    ["stiefel_exact", () => stiefel(5, 3, { retraction: "exp" }), [5, 3]],
    ["product", () => product(sphere(4), euclidean([3])), [7]],
    ["oblique", () => oblique(4, 3), [4, 3]],
    ["product_stiefel", () => product(stiefel(3, 2), sphere(3)), [9]],
  ] as const
) {
  Deno.test(`geoopt parity: riemannianSgd / riemannianAdam on ${name} follow geoopt's iterates`, () => {
    const p = problem(name, make(), [...shape]);
    for (const [cname, cfg] of Object.entries<any>(REF.configs)) {
      const mine = iterates(p, optimizerFor(cfg));
      if ((cfg.momentum ?? 0) > 0) {
        const d = worst(mine, REF.optim[`${name}/${cname}_zero_buffer`]);
        row(`${name} ${cname} (geoopt, zero buffer)`, d);
        assert.ok(d < 1e-12, `${name} ${cname}: ${d} from geoopt with a zero momentum buffer`);
        const dq = worst(mine, REF.optim[`${name}/${cname}`]);
        row(`${name} ${cname} (geoopt as is: first buffer μ·egrad + rgrad)`, dq);
        assert.ok(dq > 1e-4, `${name} ${cname}: expected geoopt's first momentum step to differ, got ${dq}`);
      } else {
        const d = worst(mine, REF.optim[`${name}/${cname}`]);
        row(`${name} ${cname}`, d);
        assert.ok(d < 1e-12, `${name} ${cname}: ${d} from geoopt`);
      }
    }
  });
}

// The documented canonical Stiefel step, written out: Cayley (I − ½W)⁻¹(I + ½W)X with
// W = PVXᵀ − XVᵀP, P = I − ½XXᵀ, one Newton–Schulz step; momentum moved by projection at Y.
function cayleyReference(x: Tensor, v: Tensor): Tensor {
  const n = x.shape[0];
  const i = diagOf(new Array(n).fill(1));
  const pv = sub(v, mul(mm(x, tmm(x, v)), 0.5));
  const w = sub(mmt(pv, x), mmt(x, pv));
  const y = linalg.solve(sub(i, mul(w, 0.5)), mm(add(i, mul(w, 0.5)), x));
  return sub(mul(y, 1.5), mul(mm(y, tmm(y, y)), 0.5));
}

Deno.test("geoopt parity: canonical Stiefel differs from geoopt as documented, and follows its own documented step", () => {
  const St = stiefel(5, 3, { metric: "canonical" });
  const p = problem("stiefel_canonical", St, [5, 3]);
  for (const [cname, cfg] of Object.entries<any>(REF.configs)) {
    const mine = iterates(p, optimizerFor(cfg));
    // the documented algorithm, written out
    const mu = cfg.momentum ?? 0, wd = cfg.weight_decay ?? 0, lr = cfg.lr;
    let x: Tensor = p.x0, b: Tensor | undefined, m = mul(x, 0), v = 0;
    const ref: number[][] = [];
    for (let t = 1; t <= STEPS; t++) {
      const g = St.egradToRgrad(St.assertOn(x), add(egrad(p, x), mul(x, wd)));
      let d: Tensor;
      if (cfg.kind === "sgd") {
        d = g;
        if (mu > 0) {
          b = b ? add(mul(b, mu), g) : g;
          d = cfg.nesterov ? add(g, mul(b, mu)) : b;
        }
      } else {
        m = add(mul(m, 0.9), mul(g, 0.1));
        v = 0.999 * v + 0.001 * St.inner(St.assertOn(x), g, g).item();
        d = mul(m, 1 / (1 - 0.9 ** t) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8));
      }
      const y = cayleyReference(x, mul(d, -lr));
      const proj = (u: Tensor) => sub(u, mm(y, mul(add(tmm(y, u), tmm(u, y)), 0.5)));
      if (b) b = proj(b);
      if (cfg.kind === "adam") m = proj(m);
      x = y;
      ref.push(arr(x));
    }
    const d = worst(mine, ref);
    row(`stiefel_canonical ${cname} (documented algorithm written out)`, d);
    assert.ok(d < 1e-12, `canonical ${cname}: ${d} from the documented algorithm`);
    const dg = worst(mine, REF.optim[`stiefel_canonical/${cname}`]);
    row(`stiefel_canonical ${cname} (geoopt: other Cayley velocity and transport)`, dg);
    assert.ok(dg > 1e-4, `canonical ${cname}: expected the documented difference from geoopt, got ${dg}`);
  }
  // plain SGD maps exactly: geoopt's step along −ηr is Tangent's retract(X, egradToRgrad(X, −ηr))
  let x: any = St.assertOn(p.x0);
  const mapped: number[][] = [];
  for (let t = 0; t < STEPS; t++) {
    const r = St.egradToRgrad(x, egrad(p, x));
    x = St.retract(x, St.egradToRgrad(x, mul(r, -REF.configs.sgd.lr)));
    mapped.push(arr(x));
  }
  const d = worst(mapped, REF.optim["stiefel_canonical/sgd"]);
  row("stiefel_canonical sgd via retract(X, egradToRgrad(X, −ηr))", d);
  assert.ok(d < 1e-12, `canonical sgd mapping: ${d}`);
});
