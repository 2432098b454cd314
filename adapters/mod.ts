/**
 * Parameter-efficient fine-tuning adapters, each a short read of its paper's formula: LoRA
 * (rsLoRA, PiSSA, OLoRA init), DoRA, HRA, OFT, BOFT, LoHa, LoKr, VeRA, and PEFT loading.
 *
 * Every adapter satisfies one contract (`Adapter`): `init`, `apply` (batch forward that never forms
 * an in × in matrix where the structure allows less), `merge`, `unmerge`, `regularizer`,
 * `trainableCount` and `toPeft` (PEFT's tensor names). PyTorch layout: a weight is out × in.
 * @example
 * ```ts
 * import { grad, key, mul, normal, sum } from "@tangent/tangent";
 * import { lora } from "@tangent/tangent/adapters";
 * const ad = lora({ r: 4, alpha: 8 });
 * const { params, frozen } = ad.init(key(0), { weight: normal(key(1), [12, 16]) });
 * const x = normal(key(2), [5, 16]);
 * const g = grad((p: typeof params) => sum(mul(ad.apply(p, frozen, x), 1)))(params);
 * ```
 * @module
 */
export {
  type Adapter,
  countScalars,
  type Frozen,
  frozenLinear,
  linear,
  type LinearBase,
  type PeftAdapter,
  type PeftNameOptions,
  tangentPeftConfig,
  tangentTensorNames,
  zeroLike,
} from "./adapter.ts";
export { lora, type LoraInit, type LoraOptions, type LoraParams, loraScale } from "./lora.ts";
export { dora, type DoraParams } from "./dora.ts";
export { gramSchmidt, householderWY, hra, type HraOptions, type HraParams, unitColumns } from "./hra.ts";
export {
  blockRotate,
  cayleyExact,
  type CayleyMode,
  cayleyNeumann,
  oft,
  type OftOptions,
  type OftParams,
  skewFromPacked,
} from "./oft.ts";
export { boft, type BoftOptions, type BoftParams, butterflyPerm } from "./boft.ts";
export { hadamardFactors, loha, type LohaOptions, type LohaParams } from "./loha.ts";
export { factorization, kron, kronApply, lokr, type LokrOptions, type LokrParams } from "./lokr.ts";
export { vera, type VeraFrozen, type VeraOptions, type VeraParams } from "./vera.ts";
export { khatriRao, lokh, type LokhOptions, lokhOutFactors, type LokhParams } from "./lokh.ts";
export { sorsa, type SorsaOptions, sorsaOrthonormality, type SorsaParams } from "./sorsa.ts";
export { polar, type PolarOptions, type PolarParams, type PolarTheta } from "./polar.ts";
export { conditionNumber, orthogonalityError, type SpectralDrift, spectralDrift, stableRank } from "./analysis.ts";
export { adapt, type Adapted, type AdaptOptions, type AdaptTarget, targetMatcher } from "./adapt.ts";
export { fromPeft, type FromPeftOptions, type FromPeftResult, type PeftConfig } from "./peft.ts";
