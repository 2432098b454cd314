/**
 * Einstein summation. Each operand first sums out the labels nobody else needs and takes its
 * repeated-label diagonals; then operands are contracted two at a time, always the pair whose
 * result is smallest, each contraction one batched matmul. So no intermediate is larger than the
 * smallest pairwise result available at its step (`"ij,jk,kl->il"` never forms an i×j×k×l array).
 * @module
 */
import { fmtShape, ShapeError } from "../errors.ts";
import type { Tensor } from "../tensor.ts";
import { eye } from "./creation.ts";
import { astype, mul } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { sum } from "./reduce.ts";
import { reshape, transpose } from "./shape.ts";

interface Term {
  t: Tensor;
  labels: string[];
}

function parse(spec: string, n: number): [string[][], string[]] {
  const s = spec.replace(/\s+/g, "");
  if (s.includes(".")) {
    throw new ShapeError(`einsum: "${spec}": ellipses (...) are not supported; name every axis with a letter`);
  }
  const [lhs, rhs] = s.split("->");
  const ins = lhs.split(",").map((p) => [...p]);
  if (ins.length !== n) {
    throw new ShapeError(`einsum: "${spec}" names ${ins.length} operands but ${n} were given`);
  }
  for (const l of [...ins.flat(), ...(rhs === undefined ? [] : [...rhs])]) {
    if (!/^[a-zA-Z]$/.test(l)) throw new ShapeError(`einsum: "${spec}": "${l}" is not a letter; label axes a–z, A–Z`);
  }
  let out: string[];
  if (rhs === undefined) {
    const count = new Map<string, number>();
    for (const l of ins.flat()) count.set(l, (count.get(l) ?? 0) + 1);
    out = [...count.keys()].filter((l) => count.get(l) === 1).sort();
  } else {
    out = [...rhs];
    if (new Set(out).size !== out.length) throw new ShapeError(`einsum: "${spec}": an output label repeats`);
    for (const l of out) {
      if (!ins.some((p) => p.includes(l))) throw new ShapeError(`einsum: "${spec}": output label ${l} is in no input`);
    }
  }
  return [ins, out];
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Sums out labels needed by no one else; takes diagonals of labels repeated within the term. */
function simplify(term: Term, keep: Set<string>): Term {
  let { t, labels } = term;
  // a repeated label: multiply by the identity over the two axes, then sum one of them away
  for (;;) {
    const j = labels.findIndex((l, i) => labels.indexOf(l) !== i);
    if (j < 0) break;
    const i = labels.indexOf(labels[j]);
    const n = t.shape[i];
    const shape = t.shape.map((_, k) => (k === i || k === j ? n : 1));
    const e = reshape(astype(eye(n, { like: t }), t.dtype), shape);
    t = sum(mul(t, e), { axis: j });
    labels = labels.filter((_, k) => k !== j);
  }
  const drop = labels.flatMap((l, i) => (keep.has(l) ? [] : [i]));
  if (drop.length) {
    t = sum(t, { axis: drop });
    labels = labels.filter((l) => keep.has(l));
  }
  return { t, labels };
}

/** Contracts two terms with one batched matmul; `keep` holds labels needed later. */
function contract(a: Term, b: Term, keep: Set<string>, dims: Map<string, number>): Term {
  const inB = new Set(b.labels), inA = new Set(a.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const summed = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  const left = a.labels.filter((l) => !inB.has(l));
  const right = b.labels.filter((l) => !inA.has(l));
  const d = (ls: string[]) => ls.map((l) => dims.get(l)!);
  const ta = reshape(
    transpose(a.t, [...batch, ...left, ...summed].map((l) => a.labels.indexOf(l))),
    [...d(batch), size(d(left)), size(d(summed))],
  );
  const tb = reshape(
    transpose(b.t, [...batch, ...summed, ...right].map((l) => b.labels.indexOf(l))),
    [...d(batch), size(d(summed)), size(d(right))],
  );
  const c = matmul(ta, tb);
  return { t: reshape(c, [...d(batch), ...d(left), ...d(right)]), labels: [...batch, ...left, ...right] };
}

/**
 * Einstein summation over labelled axes, as `np.einsum` without ellipses: `"ij,jk->ik"` is a matrix
 * product, `"ii->i"` a diagonal, `"bij,bjk->bik"` a batched product, and without `->` the output is
 * the labels that occur once, sorted. Contracts the pair with the smallest result first.
 * @example
 * ```ts
 * import { einsum, tensor } from "@tangent/tangent";
 * einsum("ij,j->i", tensor([[1, 2], [3, 4]]), tensor([1, 1])); // [3, 7]
 * ```
 */
export function einsum(spec: string, ...operands: Tensor[]): Tensor {
  const [ins, out] = parse(spec, operands.length);
  const dims = new Map<string, number>();
  ins.forEach((ls, k) => {
    const t = operands[k];
    if (ls.length !== t.ndim) {
      throw new ShapeError(
        `einsum: "${spec}": operand ${k} has ${t.ndim} axes (${fmtShape(t.shape)}), ${ls.length} labels`,
      );
    }
    ls.forEach((l, i) => {
      const d = dims.get(l);
      if (d !== undefined && d !== t.shape[i]) {
        throw new ShapeError(`einsum: "${spec}": label ${l} is ${d} in one place and ${t.shape[i]} in operand ${k}`);
      }
      dims.set(l, t.shape[i]);
    });
  });
  const needed = (terms: Term[], skip: number[]) => {
    const s = new Set(out);
    terms.forEach((t, i) => skip.includes(i) || t.labels.forEach((l) => s.add(l)));
    return s;
  };
  let terms: Term[] = ins.map((labels, k) => ({ t: operands[k], labels }));
  terms = terms.map((t, i) => simplify(t, needed(terms, [i])));
  while (terms.length > 1) {
    let best: [number, number, number] = [0, 1, Infinity];
    for (let i = 0; i < terms.length; i++) {
      for (let j = i + 1; j < terms.length; j++) {
        const keep = needed(terms, [i, j]);
        const ls = new Set([...terms[i].labels, ...terms[j].labels].filter((l) => keep.has(l)));
        const n = size([...ls].map((l) => dims.get(l)!));
        if (n < best[2]) best = [i, j, n];
      }
    }
    const [i, j] = best;
    const c = contract(terms[i], terms[j], needed(terms, [i, j]), dims);
    terms = [...terms.filter((_, k) => k !== i && k !== j), c];
  }
  const last = simplify(terms[0], new Set(out));
  return transpose(last.t, out.map((l) => last.labels.indexOf(l)));
}
