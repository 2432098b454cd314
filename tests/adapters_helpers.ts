/**
 * Shared helpers of the adapter tests: PEFT fixture loading and relative errors.
 * @module
 */
import { type Tensor, tensor } from "../mod.ts";

/** A tensor as the fixtures store it. */
export interface JsonTensor {
  shape: number[];
  data: number[];
}

/** One PEFT fixture (`../shared/fixtures/peft/KIND.json`). */
export interface PeftFixture {
  kind: string;
  config: { peft_type: string; [k: string]: unknown };
  shapes: { in_features: number; out_features: number; r: number; batch: number };
  base: { weight: JsonTensor; bias: JsonTensor };
  base_weight_after_init: JsonTensor;
  adapter_params: Record<string, JsonTensor>;
  frozen_adapter_tensors?: Record<string, JsonTensor> | null;
  x: JsonTensor;
  y_at_init: JsonTensor;
  y: JsonTensor;
  upstream_grad: JsonTensor;
  grads: Record<string, JsonTensor>;
  grad_x: JsonTensor;
  merged_weight: JsonTensor;
  dtype: string;
}

/** Reads a PEFT fixture. */
export function loadPeftFixture(kind: string): PeftFixture {
  const url = new URL(`../../shared/fixtures/peft/${kind}.json`, import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url));
}

/** A float64 tensor from a fixture tensor. */
export function t64(j: JsonTensor): Tensor {
  return tensor(Float64Array.from(j.data), { shape: j.shape, dtype: "float64" });
}

/** `max|a − b| / max|b|` (b the reference). */
export function relErr(a: Tensor, b: Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  if (x.length !== y.length || a.shape.join() !== b.shape.join()) {
    throw new Error(`relErr: shapes [${a.shape}] and [${b.shape}] differ`);
  }
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) {
    num = Math.max(num, Math.abs(x[i] - y[i]));
    den = Math.max(den, Math.abs(y[i]));
  }
  return num / (den || 1);
}
