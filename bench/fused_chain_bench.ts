/**
 * Fused-chain bench (issue 11): first the per-element cost of calling an imported `Math` builtin
 * from Wasm against the JavaScript loop's call (64 Ki float64 elements each, outputs compared bit
 * for bit); then fused elementwise chains of 1M elements, each run as the generated WebAssembly
 * SIMD kernel (`fusedKernel(chain).run`, what `jit` runs on the CPU) against the generated
 * JavaScript loop of the same chain (`fusedLoop(chain)`, what `jit` ran before the chain had a Wasm
 * form), alternating rounds in one process, operands and results in the Wasm memory (as a scoped
 * loop's pooled arrays are), and as the whole `jit(f)` call against eager `f`. Cases: a float32
 * chain of 7 ops with `log` (`log32`'s tables in SIMD), a float64 chain of 6 ops with `sin` and
 * `cos` (imported `Math.sin`/`Math.cos`, called lane by lane), `op(1.5x + 0.25) + 0.5x` for sin,
 * exp, log, erf and sign in both dtypes, and a float32 chain with `pow`.
 *
 * Usage: deno run -A bench/fused_chain_bench.ts [--quick]
 * Prints one JSON line per measurement: nanoseconds per element for the calls; per-call
 * milliseconds, the median and the least of the rounds, for the chains; a check line per chain (the
 * two kernels' outputs, eager and jit equal bit for bit); the load average last.
 * @module
 */
import * as T from "../mod.ts";
import { commandLine } from "../examples/cli.ts";
import type { Tensor } from "../mod.ts";
import type { DType, TypedArray } from "../core/dtype.ts";
import { type FusedChain, fusedKernel, fusedLoop, type FusedStep } from "../core/backend/cpu/fuse.ts";
import { heapArray } from "../core/backend/cpu/wasm/heap.ts";
import { assemble, Code, F64, I32 } from "../core/backend/cpu/wasm/emit.ts";

const values = commandLine(
  Deno.args,
  "deno run -A bench/fused_chain_bench.ts [options]",
  "Imported Math builtins against the JavaScript loop's calls, then fused chains as Wasm kernels against JavaScript loops; one JSON line per measurement.",
  { quick: { type: "boolean", help: "fewer rounds and calls" } },
);
const quick = values.quick === true;
const N = 1 << 20;
const [rounds, calls] = quick ? [5, 3] : [15, 5];

type Float = "float32" | "float64";
/** A chain over input 0 (`x`) and constant scalars; `ops` are [kind, op, args] with values numbered as in FusedChain. */
function chainOf(dtype: Float, consts: number[], ops: [FusedStep["kind"], string, number[]][]): FusedChain {
  const inputs = [{ dtype, scalar: false }, ...consts.map((value) => ({ dtype, scalar: true, value }))];
  const steps = ops.map(([kind, op, args]): FusedStep => ({
    kind,
    op,
    args,
    argDtypes: args.map(() => dtype as DType),
    dtype,
  }));
  return { inputs, steps, outputs: [inputs.length + steps.length - 1] };
}

const cases: { name: string; chain: FusedChain; f: (x: Tensor) => Tensor; dtype: Float; scale: number }[] = [
  {
    // max(log(|x|·1.5 + 0.5)·0.3 − x, −1): abs, mul, add, log, mul, sub, max
    name: "float32 7 ops with log",
    dtype: "float32",
    scale: 4,
    chain: chainOf("float32", [1.5, 0.5, 0.3, -1], [
      ["unary", "abs", [0]],
      ["binary", "mul", [5, 1]],
      ["binary", "add", [6, 2]],
      ["unary", "log", [7]],
      ["binary", "mul", [8, 3]],
      ["binary", "sub", [9, 0]],
      ["binary", "max", [10, 4]],
    ]),
    f: (x) => T.maximum(T.sub(T.mul(T.log(T.add(T.mul(T.abs(x), 1.5), 0.5)), 0.3), x), -1),
  },
  {
    // sin(2x)·cos(x) + 0.5x: mul, sin, cos, mul, mul, add
    name: "float64 6 ops with sin, cos",
    dtype: "float64",
    scale: 10,
    chain: chainOf("float64", [2, 0.5], [
      ["binary", "mul", [0, 1]],
      ["unary", "sin", [3]],
      ["unary", "cos", [0]],
      ["binary", "mul", [4, 5]],
      ["binary", "mul", [0, 2]],
      ["binary", "add", [6, 7]],
    ]),
    f: (x) => T.add(T.mul(T.sin(T.mul(x, 2)), T.cos(x)), T.mul(x, 0.5)),
  },
  ...(["float32", "float64"] as const).flatMap((dtype) =>
    [
      {
        // one unary op among arithmetic: op(x·1.5 + 0.25) + x·0.5
        name: `${dtype} 4 ops with sin`,
        op: "sin",
      },
      { name: `${dtype} 4 ops with exp`, op: "exp" },
      { name: `${dtype} 4 ops with log`, op: "log" },
      { name: `${dtype} 4 ops with erf`, op: "erf" },
      { name: `${dtype} 4 ops with sign`, op: "sign" },
    ].map(({ name, op }) => ({
      name,
      dtype,
      scale: 2,
      chain: chainOf(dtype, [1.5, 0.25, 0.5], [
        ["binary", "mul", [0, 1]],
        ["binary", "add", [4, 2]],
        ["unary", op, [5]],
        ["binary", "mul", [0, 3]],
        ["binary", "add", [6, 7]],
      ]),
      // deno-lint-ignore no-explicit-any
      f: (x: Tensor) => T.add((T as any)[op](T.add(T.mul(x, 1.5), 0.25)), T.mul(x, 0.5)),
    }))
  ),
  {
    // pow(|x| + 0.5, x·0.25) + x
    name: "float32 5 ops with pow",
    dtype: "float32",
    scale: 2,
    chain: chainOf("float32", [0.5, 0.25], [
      ["unary", "abs", [0]],
      ["binary", "add", [3, 1]],
      ["binary", "mul", [0, 2]],
      ["binary", "pow", [4, 5]],
      ["binary", "add", [6, 0]],
    ]),
    f: (x) => T.add(T.pow(T.add(T.abs(x), 0.5), T.mul(x, 0.25)), x),
  },
];

function report(o: Record<string, unknown>): void {
  console.log(JSON.stringify(o));
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

// --- the per-call cost of an imported Math builtin against the JavaScript loop's call -------------
// one scalar Wasm loop `o[i] = Math.op(a[i] [, b[i]])` through the import, against the same loop in
// JavaScript, 64 Ki float64 elements, alternating rounds; the two outputs compared bit for bit
{
  const M = 1 << 16;
  const memory = new WebAssembly.Memory({ initial: 48 });
  const a = new Float64Array(memory.buffer, 0, M), b = new Float64Array(memory.buffer, 8 * M, M);
  const o = new Float64Array(memory.buffer, 16 * M, M), j = new Float64Array(M);
  const ra = T.uniform(T.key(2), [2 * M]).dataSync();
  for (let i = 0; i < M; i++) (a[i] = (ra[i] - 0.3) * 10 ** (ra[M + i] * 6 - 3)), (b[i] = (ra[M + i] - 0.5) * 8);
  a.set([NaN, -0, Infinity, -Infinity, 1e-310, 1e300, -1e300]);
  for (const op of ["sin", "cos", "exp", "log", "pow", "tanh", "log1p", "expm1"]) {
    const two = op === "pow";
    const c = new Code();
    c.i32(0).set(1).loop(); // for (e = 0; e < n; e++) o[e] = op(a[e] [, b[e]])
    c.get(1).i32(3).raw(0x74).i32(16 * M).add().get(1).i32(3).raw(0x74).mem(0x2b, 3, 0);
    if (two) c.get(1).i32(3).raw(0x74).i32(8 * M).add().mem(0x2b, 3, 0);
    c.raw(0x10, 0).mem(0x39, 3, 0).get(1).i32(1).add().tee(1).get(0).ltU().brIf(0).end();
    const bytes = assemble({ initial: 48 }, [{ name: "f", params: [I32], locals: [I32], code: c }], [
      { module: "math", name: op, params: two ? [F64, F64] : [F64], results: [F64] },
    ]);
    // deno-lint-ignore no-explicit-any
    const math = { [op]: (Math as any)[op] };
    const wasm = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, math }).exports
      .f as (n: number) => void;
    const js = new Function(
      "a",
      "b",
      "j",
      `return (n) => { for (let i = 0; i < n; i++) j[i] = ${two ? "Math.pow(a[i], b[i])" : `Math.${op}(a[i])`}; }`,
    )(a, b, j) as (n: number) => void;
    const tw: number[] = [], tj: number[] = [];
    for (let r = 0; r < 15; r++) {
      let t0 = performance.now();
      wasm(M);
      tw.push(performance.now() - t0);
      t0 = performance.now();
      js(M);
      tj.push(performance.now() - t0);
    }
    report({
      case: `Math.${op} per call`,
      wasmImportNs: +(median(tw) / M * 1e6).toFixed(2),
      jsLoopNs: +(median(tj) / M * 1e6).toFixed(2),
      identical: o.every((v, i) => Object.is(v, j[i])),
    });
  }
}

for (const { name, chain, f, dtype, scale } of cases) {
  const make = (): TypedArray =>
    heapArray(dtype, N, false) ?? (dtype === "float32" ? new Float32Array(N) : new Float64Array(N));
  const x = make(), outW = make(), outJ = make();
  const noise = T.normal(T.key(1), [N]).dataSync();
  for (let i = 0; i < N; i++) x[i] = noise[i] * scale;
  const ins = [
    x,
    ...chain.inputs.slice(1).map((i) => (dtype === "float32" ? Float32Array : Float64Array).of(i.value!)),
  ];
  const kernel = fusedKernel(chain), loop = fusedLoop(chain);
  const xt = T.tensor(x, { dtype }), jf = T.jit(f);
  const variants: [string, () => unknown][] = [
    [kernel.wasm ? "Wasm kernel" : "kernel (no Wasm here)", () => kernel.run(ins, [outW], N)],
    ["JS loop", () => loop(ins, [outJ], N)],
    ["jit(f)", () => T.scope(() => jf(xt).shape)],
    ["eager f", () => T.scope(() => f(xt).shape)],
  ];
  const times = variants.map(() => [] as number[]);
  for (const [, fn] of variants) fn(); // warm-up
  for (let r = 0; r < rounds; r++) {
    variants.forEach(([, fn], v) => {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) fn();
      times[v].push((performance.now() - t0) / calls);
    });
  }
  variants.forEach(([variant], v) => {
    report({ case: name, n: N, variant, ms: +median(times[v]).toFixed(3), minMs: +Math.min(...times[v]).toFixed(3) });
  });
  const jitOut = jf(xt).dataSync(), eager = f(xt).dataSync();
  report({
    case: name,
    check: "Wasm kernel = JS loop = eager, and jit(f) = f, bit for bit",
    ok: outW.every((v, i) => Object.is(v, outJ[i]) && Object.is(v, eager[i]) && Object.is(jitOut[i], eager[i])),
  });
}
report({ loadavg: (await Deno.readTextFile("/proc/loadavg")).trim() });
