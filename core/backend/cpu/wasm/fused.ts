/**
 * Running `jit`'s fused chains as WebAssembly SIMD kernels (`fused_kernel.ts`): one module per chain
 * structure, compiled on first use and instantiated on the shared memory of `heap.ts`. Operands and
 * results that live in that memory (the array pool's recycled arrays: every array of 4 KiB or more
 * from a scoped loop's second step on) are read and written in place; the others (small arrays,
 * arrays made outside any scope) are copied into one scratch region first and the results copied
 * out after.
 * @module
 */
import type { TypedArray } from "../../../dtype.ts";
import type { FusedChain } from "../fuse.ts";
import { assemble } from "./emit.ts";
import { callEnv } from "./fused_calls.ts";
import { fusedModule, wasmFusable } from "./fused_kernel.ts";
import { getHeap, heapAddress, scratch } from "./heap.ts";

/** A compiled chain: `run(ins, outs, n)`; false (nothing to trust in `outs`) when the memory cannot hold the copies. */
export interface WasmFusedKernel {
  /**
   * Runs the chain over `n` elements: `ins` as the chain's inputs, `outs` the chain's outputs (one
   * element per input element) then, with a reduction, its results.
   */
  run(ins: readonly TypedArray[], outs: readonly TypedArray[], n: number): boolean;
}

type Fn = (...a: number[]) => void;

let views: { memory: WebAssembly.Memory; u8: Uint8Array } | null = null;

/** A byte view of the whole memory, renewed when it grew. */
function bytesOf(memory: WebAssembly.Memory): Uint8Array {
  if (!views || views.memory !== memory || views.u8.buffer !== memory.buffer) {
    views = { memory, u8: new Uint8Array(memory.buffer) };
  }
  return views.u8;
}

const bytesOfArray = (a: TypedArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * The SIMD kernel of `chain`, or null where it has no SIMD form (`wasmFusable`), where WebAssembly
 * SIMD or the shared memory is unavailable, or where the module does not compile (a browser's main
 * thread refuses to compile large modules synchronously).
 */
export function wasmFusedKernel(chain: FusedChain): WasmFusedKernel | null {
  if (!wasmFusable(chain)) return null;
  const heap = getHeap();
  if (!heap) return null;
  let fn: Fn;
  try {
    const m = fusedModule(chain);
    const module = new WebAssembly.Module(assemble(heap.def, m.funcs, m.imports));
    const env = { env: { memory: heap.memory }, math: callEnv(m.calls) };
    fn = new WebAssembly.Instance(module, env).exports.fused as Fn;
  } catch {
    return null;
  }
  const memory = heap.memory;
  // the inputs the kernel reads (embedded constants are not parameters)
  const read = chain.inputs.flatMap((inp, i) => (inp.value !== undefined && inp.scalar ? [] : [i]));
  const nIn = read.length;
  const args: number[] = [];
  const copied: number[] = []; // per array: its scratch offset (−1: in place)
  const arrays: TypedArray[] = [];
  return {
    run(ins, outs, n) {
      const all = nIn + outs.length;
      // rows × len elements: one row, a row per result, or (over leading axes) rows of the result's columns
      const red = chain.reduce;
      const rows = !red ? 1 : red.inner > 1 ? red.rows * red.length : red.rows;
      const len = n / rows;
      let acc = 0;
      if (red && red.inner > 1) {
        acc = scratch("fused-columns", 8 * red.inner);
        if (acc < 0) return false;
      }
      let need = 0;
      for (let i = 0; i < all; i++) {
        const a = arrays[i] = i < nIn ? ins[read[i]] : outs[i - nIn];
        const at = heapAddress(a);
        args[i] = at;
        copied[i] = at >= 0 ? -1 : need;
        if (at < 0) need += (a.byteLength + 15) & ~15;
      }
      if (need > 0) {
        const base = scratch("fused", need);
        if (base < 0) return false;
        const u8 = bytesOf(memory);
        for (let i = 0; i < all; i++) {
          if (copied[i] < 0) continue;
          args[i] = base + copied[i];
          if (i < nIn) u8.set(bytesOfArray(arrays[i]), args[i]);
        }
      }
      let k = all;
      if (red && red.inner > 1) {
        args[k++] = acc;
        args[k++] = red.length;
      }
      args[k++] = rows;
      args[k++] = len;
      args.length = k;
      fn(...args);
      if (need > 0) {
        const u8 = bytesOf(memory);
        for (let i = nIn; i < all; i++) {
          if (copied[i] < 0) continue;
          const o = arrays[i];
          bytesOfArray(o).set(u8.subarray(args[i], args[i] + o.byteLength));
        }
      }
      arrays.length = 0;
      return true;
    },
  };
}

/** Reduction-only chains by structure (dtype, operation, column sweep, four partial sums): the shape is set per call. */
const reductions = new Map<string, { chain: FusedChain; kernel: WasmFusedKernel | null }>();

/**
 * `op` of `src` seen as `[rows, length, inner]` over its middle axis into `out` (`rows × inner`
 * results, `src`'s dtype, float32 or float64) by `jit`'s fused reduction kernel, bit for bit the
 * eager kernel of `../reduce.ts` (it keeps that kernel's order: see `fused_kernel.ts`). Returns false
 * (`out` untouched) where that kernel is unavailable or the memory cannot hold the copies.
 */
export function wasmReduce(
  op: "sum" | "max" | "min",
  src: Float32Array | Float64Array,
  out: Float32Array | Float64Array,
  rows: number,
  length: number,
  inner: number,
): boolean {
  const dtype = src instanceof Float64Array ? "float64" : "float32";
  const k = `${dtype}:${op}:${inner > 1}:${op === "sum" && inner === 1 && length >= 64}`;
  let r = reductions.get(k);
  if (!r) {
    const chain: FusedChain = {
      inputs: [{ dtype, scalar: false }],
      steps: [],
      outputs: [],
      reduce: { op, value: 0, rows, length, inner },
    };
    reductions.set(k, r = { chain, kernel: wasmFusedKernel(chain) });
  }
  if (!r.kernel) return false;
  const red = r.chain.reduce!;
  red.rows = rows;
  red.length = length;
  red.inner = inner;
  return r.kernel.run([src], [out], rows * length * inner);
}
