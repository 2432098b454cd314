/**
 * The methods the adapter study compares, each at a trainable budget comparable to LoRA's at the
 * study's rank, with the optimizer its paper trains it with.
 * @module
 */
import { FormatError } from "../core/errors.ts";
import { key, split, uniform } from "../core/random.ts";
import type { Tensor } from "../core/tensor.ts";
import type { Adapter } from "../adapters/adapter.ts";
import {
  boft,
  cayleyNeumann,
  dora,
  hra,
  loha,
  lokh,
  lokr,
  lora,
  oft,
  type OftParams,
  polar,
  skewFromPacked,
  sorsa,
  vera,
} from "../adapters/mod.ts";
import { adamw, landing } from "../manifolds/mod.ts";
import type { Optimizer } from "../manifolds/optimizer.ts";

/** One method of the study. */
export interface Method {
  /** Identifier on the command line (`lora`, `hra`, …, `full`). */
  readonly name: string;
  /** Which kind of update it makes, for the plots' legend. */
  readonly family: "full" | "low-rank" | "orthogonal" | "structured";
  /** How it is set up, for the report (`LoRA r=4, α=8`). */
  readonly label: string;
  /** The adapter for target modules at most `inF` wide in and `outF` out (absent for full fine-tuning). */
  // deno-lint-ignore no-explicit-any
  readonly adapter?: (dims: { inF: number; outF: number }) => Adapter<any, any>;
  /** The optimizer at learning rate `lr`. */
  readonly optimizer: (lr: number) => Optimizer;
  /**
   * The default learning rate: the best of {1e-3, 3e-3, 1e-2, 3e-2} for this method in a sweep at the
   * default study's scale (150 steps; the table in study/README.md).
   */
  readonly lr: number;
  /**
   * The matrices the method means to be orthogonal, for the report's orthogonality column, where the
   * adapter's own `orthogonalFactors` (those it keeps exactly orthogonal) leaves one out: OFT's
   * Cayley–Neumann rotation, orthogonal only up to the series' truncation.
   */
  // deno-lint-ignore no-explicit-any
  readonly nearlyOrthogonal?: (params: any) => Tensor[];
}

/** Neumann terms of the study's OFT (oft()'s default, PEFT's), named once for its adapter and its orthogonality column. */
const OFT_TERMS = 5;

/** The largest divisor of `n` that is at most `cap` (a block size that tiles `n`). */
function blockFor(n: number, cap: number): number {
  for (let b = Math.min(cap, n); b > 1; b--) if (n % b === 0) return b;
  return 1;
}

const adam = (lr: number) => adamw({ lr, weightDecay: 0 });

/** VeRA's shared frozen projections `A [r, in]`, `B [out, r]`, drawn as PEFT draws them: U(±√(6/fan_in)). */
function veraProjection(r: number, inF: number, outF: number): { A: Tensor; B: Tensor } {
  const [ka, kb] = split(key(7));
  return {
    A: uniform(ka, [r, inF], { min: -Math.sqrt(6 / inF), max: Math.sqrt(6 / inF) }),
    B: uniform(kb, [outF, r], { min: -Math.sqrt(6 / r), max: Math.sqrt(6 / r) }),
  };
}

/**
 * The study's methods at rank `r` (default 4): LoRA, DoRA, PiSSA and SORSA at rank r; PoLAR at
 * rank r with Stiefel factors trained by landing under Adam (the paper's recipe);
 * HRA with 2r reflections (in·2r scalars, about LoRA's r(in + out)); OFT and BOFT with blocks of
 * 4r; LoHa and LoKH at rank r/2 … r (their updates reach rank r² from fewer scalars); LoKr; VeRA
 * with shared random projections of rank 16r (only out + 16r trainable scalars); and full
 * fine-tuning of every parameter as the reference.
 */
export function studyMethods(r = 4): Method[] {
  const half = Math.max(1, Math.floor(r / 2));
  return [
    { name: "full", family: "full", label: "full fine-tuning (every parameter)", optimizer: adam, lr: 3e-3 },
    {
      name: "lora",
      family: "low-rank",
      label: `LoRA r=${r}, α=${2 * r}`,
      adapter: () => lora({ r, alpha: 2 * r }),
      optimizer: adam,
      lr: 1e-2,
    },
    {
      name: "dora",
      family: "low-rank",
      label: `DoRA r=${r}, α=${2 * r}`,
      adapter: () => dora({ r, alpha: 2 * r }),
      optimizer: adam,
      lr: 1e-2,
    },
    {
      name: "pissa",
      family: "low-rank",
      label: `PiSSA r=${r} (LoRA from the principal singular triplets)`,
      adapter: () => lora({ r, alpha: r, init: "pissa" }),
      optimizer: adam,
      lr: 1e-2,
    },
    {
      name: "hra",
      family: "orthogonal",
      label: `HRA r=${2 * r}`,
      adapter: () => hra({ r: 2 * r }),
      optimizer: adam,
      lr: 1e-2,
    },
    {
      name: "oft",
      family: "orthogonal",
      label: `OFT blocks of ${4 * r} (Cayley–Neumann)`,
      adapter: ({ inF }) => oft({ blockSize: blockFor(inF, 4 * r), terms: OFT_TERMS }),
      optimizer: adam,
      lr: 3e-2,
      // the rotation the adapter applies: the same series
      nearlyOrthogonal: (p: OftParams) => [cayleyNeumann(skewFromPacked(p.R), OFT_TERMS)],
    },
    {
      name: "boft",
      family: "orthogonal",
      label: `BOFT blocks of ${2 * r}, 2 butterfly factors`,
      adapter: ({ inF }) => boft({ blockSize: blockFor(inF, 2 * r), butterflyFactors: 2 }),
      optimizer: adam,
      lr: 1e-2,
    },
    {
      name: "loha",
      family: "structured",
      label: `LoHa r=${half}`,
      adapter: () => loha({ r: half, alpha: half }),
      optimizer: adam,
      lr: 1e-2,
    },
    {
      name: "lokr",
      family: "structured",
      label: `LoKr r=${r}`,
      adapter: () => lokr({ r, alpha: r }),
      optimizer: adam,
      lr: 3e-2,
    },
    {
      name: "lokh",
      family: "structured",
      label: `LoKH r=${half}`,
      adapter: () => lokh({ r: half, alpha: half }),
      optimizer: adam,
      lr: 3e-2,
    },
    {
      name: "vera",
      family: "low-rank",
      label: `VeRA r=${16 * r}`,
      // one pair of projections at the widest target's size, shared by every layer (as PEFT keeps them)
      adapter: ({ inF, outF }) => vera({ r: 16 * r, projection: veraProjection(16 * r, inF, outF) }),
      optimizer: adam,
      lr: 3e-2,
    },
    {
      name: "sorsa",
      family: "low-rank",
      label: `SORSA r=${r}, γ=0.1`,
      adapter: () => sorsa({ r, gamma: 0.1 }),
      optimizer: adam,
      lr: 1e-2,
    },
    {
      name: "polar",
      family: "low-rank",
      label: `PoLAR r=${r} (Stiefel X, Y; landing under Adam)`,
      adapter: () => polar({ r, alpha: r }),
      optimizer: (lr) => landing({ lambda: 1, base: adamw({ lr, weightDecay: 0 }) }),
      lr: 1e-2,
    },
  ];
}

/** The named methods (comma-separated or a list), or all; an unknown name lists the known ones. */
export function selectMethods(names: string | readonly string[] | undefined, r = 4): Method[] {
  const all = studyMethods(r);
  if (names === undefined || names === "" || names === "all") return all;
  const wanted = (typeof names === "string" ? names.split(",") : names).map((n) => n.trim().toLowerCase()).filter((n) =>
    n
  );
  if (!wanted.length) {
    throw new FormatError(
      `--adapters: '${names}' names no method; choose from ${all.map((m) => m.name).join(", ")} (or all)`,
    );
  }
  const unknown = wanted.filter((n) => !all.some((m) => m.name === n));
  if (unknown.length) {
    throw new FormatError(
      `--adapters: unknown method(s) ${unknown.join(", ")}; choose from ${all.map((m) => m.name).join(", ")}`,
    );
  }
  return all.filter((m) => wanted.includes(m.name));
}
