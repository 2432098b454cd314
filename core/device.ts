/**
 * Moving tensors between backends.
 * @module
 */
import { loadBackend } from "./backend/backend.ts";
import { checkTensor, Tensor } from "./tensor.ts";

/**
 * A copy of `t` on the named backend (the same tensor if it is already there). Reading back from
 * a GPU waits for it, hence async.
 * @example
 * ```ts
 * import { toBackend, tensor } from "@tangent/tangent";
 * const onCpu = await toBackend(tensor([1, 2]), "cpu");
 * ```
 */
export async function toBackend(t: Tensor, name: "cpu" | "webgpu" | (string & Record<never, never>)): Promise<Tensor> {
  checkTensor("toBackend", t);
  const target = await loadBackend(name, "toBackend");
  if (t.backend === target) return t;
  const host = await t.data();
  return new Tensor(target.fromHost(host, t), t.shape, t.dtype);
}
