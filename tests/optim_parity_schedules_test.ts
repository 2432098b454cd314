/**
 * Parity of the schedules with optax (tests/data/optim_reference.json, made by
 * tests/scripts/optim_reference.py): `warmupCosineSchedule` against
 * optax.warmup_cosine_decay_schedule at steps 0..decaySteps + 5 for five settings (no warmup, a
 * one-step decay, a long decay), on numbers and on the int32 count tensor the optimizers hold, to
 * 1e-15 relative; `constantSchedule` against optax.constant_schedule.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { full } from "../mod.ts";
import * as optim from "../optim/mod.ts";

const ref = JSON.parse(readFileSync(new URL("./data/optim_reference.json", import.meta.url), "utf8"));
const rel = (x: number, y: number) => Math.abs(x - y) / Math.max(Math.abs(y), Number.MIN_VALUE);

function worst(s: optim.TensorSchedule, values: number[]): [number, number] {
  let n = 0, t = 0;
  values.forEach((v, k) => {
    n = Math.max(n, v === 0 ? Math.abs(s(k)) : rel(s(k), v));
    const onTensor = s(full([], k, { dtype: "int32" })).item();
    t = Math.max(t, v === 0 ? Math.abs(onTensor) : rel(onTensor, v));
  });
  return [n, t];
}

for (const c of ref.schedules) {
  Deno.test(`warmupCosineSchedule(${JSON.stringify(c.options)}) is optax's to 1e-15`, () => {
    const [n, t] = worst(optim.warmupCosineSchedule(c.options), c.values);
    if (Deno.env.get("OPTIM_PARITY_REPORT")) console.log(`numbers ${n.toExponential(2)}, tensor ${t.toExponential(2)}`);
    assert.ok(n <= 1e-15, `on numbers: ${n}`);
    assert.ok(t <= 1e-15, `on the count tensor: ${t}`);
  });
}

Deno.test("optax's schedule of an int32 count is float32 even under x64 (the reference uses a float64 count)", () => {
  // documents why the reference evaluates optax at a float64 count: its int32 values are ~1e-7 off
  const c = ref.schedules[4];
  const [n] = worst(optim.warmupCosineSchedule(c.options), c.valuesInt32Count);
  assert.ok(n > 1e-9 && n < 1e-6, `${n}`);
});

Deno.test("constantSchedule is optax.constant_schedule", () => {
  const s = optim.constantSchedule(ref.constant.value);
  ref.constant.values.forEach((v: number, k: number) => {
    assert.equal(s(k), v);
    assert.equal(s(full([], k, { dtype: "int32" })).item(), v);
  });
});

Deno.test("warmupCosineSchedule where optax differs (documented): peakValue 0, decaySteps ≤ warmupSteps", () => {
  // optax: alpha = 0 when peak is 0, so the rate stays 0; Tangent decays from 0 towards endValue
  const zeroPeak = optim.warmupCosineSchedule({ peakValue: 0, warmupSteps: 2, decaySteps: 12, endValue: 0.1 });
  assert.equal(zeroPeak(2), 0);
  assert.ok(Math.abs(zeroPeak(7) - 0.05) < 1e-15, `${zeroPeak(7)}`);
  assert.equal(zeroPeak(12), 0.1);
  assert.equal(zeroPeak(full([], 7, { dtype: "int32" })).item(), zeroPeak(7));
  // optax raises for decay_steps ≤ warmup_steps; Tangent reaches the peak, then endValue a step later
  const short = optim.warmupCosineSchedule({
    initValue: 0,
    peakValue: 1,
    warmupSteps: 4,
    decaySteps: 4,
    endValue: 0.2,
  });
  assert.deepEqual([0, 2, 4, 5, 9].map((t) => short(t)), [0, 0.5, 1, 0.2, 0.2]);
});
