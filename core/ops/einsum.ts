/**
 * Einstein summation. Each operand first sums out the labels nobody else needs and takes its
 * repeated-label diagonals; then operands are contracted two at a time, always the pair whose
 * result is smallest, each contraction one batched matmul. So no intermediate is larger than the
 * smallest pairwise result available at its step (`"ij,jk,kl->il"` never forms an i×j×k×l array).
 * @module
 */
import { fmtShape, ShapeError } from "../errors.ts";
import { checkTensor, type Tensor } from "../tensor.ts";
import { eye } from "./creation.ts";
import { astype, mul } from "./elementwise.ts";
import { matmul } from "./matmul.ts";
import { sum } from "./reduce.ts";
import { reshape, transpose } from "./shape.ts";

interface Term {
  t: Tensor;
  labels: string[];
}

/** Labels for the axes an ellipsis stands for: not letters, so they never meet a user's label. */
const ELLIPSIS_LABELS = [...Array(26).keys()].map((i) => String.fromCharCode(0x2460 + i));

/**
 * Each operand's labels and the output's, with `...` expanded to the ellipsis labels (right-aligned
 * across operands, as NumPy broadcasts them).
 */
function parse(spec: string, operands: readonly Tensor[]): [string[][], string[]] {
  const s = spec.replace(/\s+/g, "");
  const [lhs, rhs, extra] = s.split("->");
  if (extra !== undefined) throw new ShapeError(`einsum: "${spec}": "->" appears more than once`);
  const terms = lhs.split(",");
  if (terms.length !== operands.length) {
    throw new ShapeError(`einsum: "${spec}" names ${terms.length} operands but ${operands.length} were given`);
  }
  const letters = (part: string, where: string): string[] => {
    for (const l of part) {
      if (!/^[a-zA-Z]$/.test(l)) {
        throw new ShapeError(
          `einsum: "${spec}": "${l}" in ${where} is not a letter; label axes a–z, A–Z (or ... once)`,
        );
      }
    }
    return [...part];
  };
  const split = (term: string, where: string): [string[], string[] | null] => {
    const at = term.indexOf("...");
    if (at < 0) return [letters(term, where), null];
    if (term.indexOf("...", at + 3) >= 0) throw new ShapeError(`einsum: "${spec}": ${where} has "..." twice`);
    return [letters(term.slice(0, at), where), letters(term.slice(at + 3), where)];
  };
  const parts = terms.map((t, k) => split(t, `operand ${k}`));
  const ranks = parts.map(([before, after], k) => {
    const named = before.length + (after?.length ?? 0), nd = operands[k].ndim;
    if (after === null ? named !== nd : named > nd) {
      throw new ShapeError(
        `einsum: "${spec}": operand ${k} has ${nd} axes (${fmtShape(operands[k].shape)}), ${named} labels` +
          (after === null ? "" : " besides the ...") + (after === null && named < nd ? "; add ... for the rest" : ""),
      );
    }
    return after === null ? 0 : nd - named;
  });
  const E = Math.max(0, ...ranks);
  if (E > ELLIPSIS_LABELS.length) throw new ShapeError(`einsum: "${spec}": ... stands for ${E} axes, at most 26`);
  const ell = ELLIPSIS_LABELS.slice(0, E);
  const ins = parts.map((
    [before, after],
    k,
  ) => (after === null ? before : [...before, ...ell.slice(E - ranks[k]), ...after]));
  let out: string[];
  if (rhs === undefined) {
    const count = new Map<string, number>();
    for (const [before, after] of parts) {
      for (const l of [...before, ...(after ?? [])]) count.set(l, (count.get(l) ?? 0) + 1);
    }
    out = [...ell, ...[...count.keys()].filter((l) => count.get(l) === 1).sort()];
  } else {
    const [before, after] = split(rhs, "the output");
    if (after === null && E > 0) {
      throw new ShapeError(
        `einsum: "${spec}": the inputs' ... stands for ${E} axes but the output has no ...; add ... to the output ` +
          `(NumPy's rule), or sum those axes first`,
      );
    }
    out = after === null ? before : [...before, ...ell, ...after];
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
 * Einstein summation over labelled axes, as `np.einsum`: `"ij,jk->ik"` is a matrix product, `"ii->i"`
 * a diagonal, `"bij,bjk->bik"` a batched product, `"...ij,...jk->...ik"` one over any leading axes
 * (`...` stands for the axes not labelled, broadcast right-aligned across operands), and an axis of
 * extent 1 broadcasts against its label's longer extent. Without `->` the output is the `...` axes,
 * then the labels that occur once, sorted. Contracts the pair with the smallest result first.
 * @example
 * ```ts
 * import { einsum, tensor } from "@tangent/tangent";
 * einsum("ij,j->i", tensor([[1, 2], [3, 4]]), tensor([1, 1])); // [3, 7]
 * einsum("...ij,jk->...ik", tensor([[[1, 2]], [[3, 4]]]), tensor([[1], [1]])); // [[[3]], [[7]]]
 * ```
 */
export function einsum(spec: string, ...operands: Tensor[]): Tensor {
  if (typeof spec !== "string") throw new ShapeError(`einsum: the spec must be a string such as "ij,jk->ik"`);
  operands.forEach((t, k) => checkTensor("einsum", t, `operand ${k}`));
  const [ins, out] = parse(spec, operands);
  const shown = (l: string) => (ELLIPSIS_LABELS.includes(l) ? "(an axis of ...)" : l);
  // a label's extent: equal everywhere, except that an extent of 1 broadcasts (NumPy's rule)
  const dims = new Map<string, number>();
  ins.forEach((ls, k) => {
    ls.forEach((l, i) => {
      const d = dims.get(l), n = operands[k].shape[i];
      if (d !== undefined && d !== n && d !== 1 && n !== 1) {
        throw new ShapeError(`einsum: "${spec}": label ${shown(l)} is ${d} in one place and ${n} in operand ${k}`);
      }
      if (d === undefined || d === 1) dims.set(l, n);
    });
  });
  // an axis of extent 1 against a longer one broadcasts: that operand does not depend on its label
  const inputs = ins.map((ls, k) => {
    const t = operands[k];
    const drop = ls.flatMap((l, i) => (t.shape[i] === 1 && dims.get(l)! > 1 ? [i] : []));
    for (const i of drop) {
      if (ls.indexOf(ls[i]) !== i || ls.lastIndexOf(ls[i]) !== i) {
        throw new ShapeError(
          `einsum: "${spec}": label ${shown(ls[i])} repeats in operand ${k} with extents ${
            fmtShape(ls.flatMap((l, j) => (l === ls[i] ? [t.shape[j]] : [])))
          }; a diagonal needs equal extents`,
        );
      }
    }
    if (!drop.length) return { t, labels: ls };
    return {
      t: reshape(t, t.shape.filter((_, i) => !drop.includes(i))),
      labels: ls.filter((_, i) => !drop.includes(i)),
    };
  });
  const needed = (terms: Term[], skip: number[]) => {
    const s = new Set(out);
    terms.forEach((t, i) => skip.includes(i) || t.labels.forEach((l) => s.add(l)));
    return s;
  };
  let terms: Term[] = inputs;
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
