import assert from "node:assert/strict";
import { key, type Tensor, vjp } from "../mod.ts";
import { fromPeft, linear } from "../adapters/mod.ts";
import { loadPeftFixture, relErr, t64 } from "./adapters_helpers.ts";

const KINDS = ["lora", "lora_rslora", "dora", "hra", "hra_gs", "oft", "boft", "loha", "lokr", "vera", "pissa", "olora"];
const TOL: Record<string, number> = { pissa: 2e-5, olora: 2e-5 };
const PREFIX = "base_model.model.proj";

for (const kind of KINDS) {
  Deno.test(`fromPeft reproduces PEFT 0.21 ${kind}: y, grads, grad_x, merged weight`, () => {
    const fx = loadPeftFixture(kind);
    const tol = TOL[kind] ?? 1e-9;
    const tensors: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries({ ...fx.adapter_params, ...(fx.frozen_adapter_tensors ?? {}) })) {
      tensors[k] = t64(v);
    }
    const base = { weight: t64(fx.base.weight), bias: t64(fx.base.bias) };
    const { adapter, params, frozen } = fromPeft({ config: fx.config, base, tensors });
    const x = t64(fx.x), G = t64(fx.upstream_grad);
    const errs: Record<string, number> = {};
    errs.frozen = relErr(frozen.weight, t64(fx.base_weight_after_init));
    const [y, pullback] = vjp((p: typeof params, xx: Tensor) => adapter.apply(p, frozen, xx), params, x);
    errs.y = relErr(y, t64(fx.y));
    const [gp, gx] = pullback(G) as [typeof params, Tensor];
    errs.grad_x = relErr(gx, t64(fx.grad_x));
    const named = adapter.toPeft(gp, { prefix: PREFIX, adapterName: "default" });
    assert.deepEqual(Object.keys(named).sort(), Object.keys(fx.grads).sort());
    for (const [name, g] of Object.entries(fx.grads)) errs[name] = relErr(named[name], t64(g));
    const merged = adapter.merge(params, frozen);
    errs.merged = relErr(merged, t64(fx.merged_weight));
    errs.unmerge = relErr(adapter.unmerge(params, frozen, merged), frozen.weight);
    for (const [what, e] of Object.entries(errs)) assert.ok(e <= tol, `${kind} ${what}: rel. error ${e} > ${tol}`);
  });
}

// PEFT's y_at_init is the base layer's output except for hra_gs (Gram–Schmidt of paired vectors: noise)
for (const kind of KINDS.filter((k) => k !== "hra_gs")) {
  Deno.test(`${kind}: init starts at PEFT's y_at_init (the base layer)`, () => {
    const fx = loadPeftFixture(kind);
    const tensors: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries({ ...fx.adapter_params, ...(fx.frozen_adapter_tensors ?? {}) })) {
      tensors[k] = t64(v);
    }
    const base = { weight: t64(fx.base.weight), bias: t64(fx.base.bias) };
    const { adapter } = fromPeft({ config: fx.config, base, tensors });
    const { params, frozen } = adapter.init(key(1), base);
    const x = t64(fx.x), yInit = t64(fx.y_at_init);
    const e = relErr(adapter.apply(params, frozen, x), yInit);
    assert.ok(e <= (TOL[kind] ?? 1e-12), `${kind}: ${e}`);
    assert.ok(relErr(linear(x, base.weight, base.bias), yInit) <= (TOL[kind] ?? 1e-12));
  });
}

Deno.test("fromPeft reads on-disk names (no .default, DoRA's magnitude without .weight) and round-trips toPeft", () => {
  for (const kind of ["dora", "hra", "oft", "vera", "lokr"]) {
    const fx = loadPeftFixture(kind);
    const disk: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries({ ...fx.adapter_params, ...(fx.frozen_adapter_tensors ?? {}) })) {
      disk[k.replace(".default", "").replace("lora_magnitude_vector.weight", "lora_magnitude_vector")] = t64(v);
    }
    const base = { weight: t64(fx.base.weight), bias: t64(fx.base.bias) };
    const { adapter, params, frozen } = fromPeft({ config: fx.config, base, tensors: disk });
    assert.ok(relErr(adapter.apply(params, frozen, t64(fx.x)), t64(fx.y)) <= 1e-12, kind);
    const names = Object.keys(adapter.toPeft(params, { prefix: PREFIX })).sort();
    assert.deepEqual(names, Object.keys(disk).filter((k) => k.startsWith(PREFIX)).sort(), kind);
  }
});
