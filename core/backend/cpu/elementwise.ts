/**
 * Elementwise CPU kernels. Each (operation, pattern) pair compiles once into a specialised loop
 * (`new Function`), so the inner loop has no dispatch and V8 optimises it per operation.
 * @module
 */
import type { TypedArray } from "../../dtype.ts";
import type { BinaryOp, UnaryOp } from "../../primitives.ts";
import { broadcastStrides, coalesce, forEachRow } from "./strided.ts";

/**
 * Error function to float64 accuracy (within 6e-16 of the exact value): series for |x| < 1.25,
 * continued fraction for erfc beyond, deep enough to converge at each x.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (!(ax < 6)) return Number.isNaN(x) ? x : Math.sign(x);
  let r: number;
  if (ax < 1.25) {
    // erf x = 2/√π · e^{−x²} · Σₙ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))
    let term = ax, s = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      s += term;
      if (term < s * 1e-17) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * s;
  } else {
    // erfc x = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated bottom-up
    let f = ax;
    for (let n = Math.ceil(190 / (ax * ax)); n >= 1; n--) f = ax + n / 2 / f;
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

const UNARY: Record<UnaryOp, string> = {
  neg: "-x",
  exp: "Math.exp(x)",
  log: "Math.log(x)",
  sqrt: "Math.sqrt(x)",
  abs: "Math.abs(x)",
  sign: "(x > 0 ? 1 : x < 0 ? -1 : x)",
  tanh: "Math.tanh(x)",
  sin: "Math.sin(x)",
  cos: "Math.cos(x)",
  erf: "erf(x)",
  floor: "Math.floor(x)",
};

const BINARY: Record<BinaryOp, string> = {
  add: "x + y",
  sub: "x - y",
  mul: "x * y",
  div: "x / y",
  pow: "Math.pow(x, y)",
  max: "(x > y || x !== x ? x : y)",
  min: "(x < y || x !== x ? x : y)",
  eq: "(x === y ? 1 : 0)",
  ne: "(x !== y ? 1 : 0)",
  lt: "(x < y ? 1 : 0)",
  le: "(x <= y ? 1 : 0)",
  gt: "(x > y ? 1 : 0)",
  ge: "(x >= y ? 1 : 0)",
};

type Loop = (...args: unknown[]) => void;
const cache = new Map<string, Loop>();

function compile(key: string, params: string[], body: string): Loop {
  let f = cache.get(key);
  if (!f) {
    f = new Function("erf", `return function(${params.join(",")}) {${body}}`)(erf) as Loop;
    cache.set(key, f);
  }
  return f;
}

/** `out[i] = op(x[i])` over contiguous arrays. */
export function unaryKernel(op: UnaryOp, x: TypedArray, out: TypedArray): void {
  const f = compile(`u:${op}`, ["a", "o", "n"], `for (let i = 0; i < n; i++) { const x = a[i]; o[i] = ${UNARY[op]}; }`);
  f(x, out, x.length);
}

/** `out = op(a, b)` with broadcasting; `out` is contiguous of `outShape`. */
export function binaryKernel(
  op: BinaryOp,
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
): void {
  const e = BINARY[op];
  if (out.length === 0) return;
  if (a.length === out.length && b.length === out.length) {
    compile(
      `b:${op}:same`,
      ["a", "b", "o", "n"],
      `for (let i = 0; i < n; i++) { const x = a[i], y = b[i]; o[i] = ${e}; }`,
    )(
      a,
      b,
      out,
      out.length,
    );
    return;
  }
  if (b.length === 1 || a.length === 1) {
    const which = b.length === 1 ? "bs" : "as";
    const body = b.length === 1
      ? `const y = b[0]; for (let i = 0; i < n; i++) { const x = a[i]; o[i] = ${e}; }`
      : `const x = a[0]; for (let i = 0; i < n; i++) { const y = b[i]; o[i] = ${e}; }`;
    if ((b.length === 1 ? a.length : b.length) === out.length) {
      compile(`b:${op}:${which}`, ["a", "b", "o", "n"], body)(a, b, out, out.length);
      return;
    }
  }
  const [sh, [sa, sb, so]] = coalesce(outShape, [
    broadcastStrides(aShape, outShape),
    broadcastStrides(bShape, outShape),
    broadcastStrides(outShape, outShape),
  ]);
  const nd = sh.length;
  const inner = compile(
    `b:${op}:row`,
    ["a", "b", "o", "pa", "pb", "po", "n", "ia", "ib"],
    `for (let j = 0; j < n; j++, pa += ia, pb += ib) { const x = a[pa], y = b[pb]; o[po + j] = ${e}; }`,
  );
  const ia = sa[nd - 1], ib = sb[nd - 1];
  forEachRow(sh, [sa, sb, so], [0, 0, 0], ([pa, pb, po], n) => inner(a, b, out, pa, pb, po, n, ia, ib));
}

/** `out = cond ? a : b` with broadcasting. */
export function whereKernel(
  c: TypedArray,
  cShape: readonly number[],
  a: TypedArray,
  aShape: readonly number[],
  b: TypedArray,
  bShape: readonly number[],
  out: TypedArray,
  outShape: readonly number[],
): void {
  if (out.length === 0) return;
  const [sh, [sc, sa, sb, so]] = coalesce(outShape, [
    broadcastStrides(cShape, outShape),
    broadcastStrides(aShape, outShape),
    broadcastStrides(bShape, outShape),
    broadcastStrides(outShape, outShape),
  ]);
  const nd = sh.length;
  const ic = sc[nd - 1], ia = sa[nd - 1], ib = sb[nd - 1];
  forEachRow(sh, [sc, sa, sb, so], [0, 0, 0, 0], ([pc, pa, pb, po], n) => {
    for (let j = 0; j < n; j++, pc += ic, pa += ia, pb += ib) out[po + j] = c[pc] ? a[pa] : b[pb];
  });
}
