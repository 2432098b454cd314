/**
 * Issue 12's small and rank-8 float32 products (`cpu_peers.ts`'s matmul shapes after 1024³), each
 * timed per call in several modes whose blocks of calls alternate in one process, so that modes are
 * compared under the same load and the same placement of the machine's cores (`core_latency.ts`'s
 * round trip is printed before and after):
 *
 * - `1`, `2`: the matmul on one thread or two (`setMatmulThreads`);
 * - `1-tiled`, `2-tiled`: the same with the rank-r kernels off (the outer-product kernel of
 *   `gemm_outer.ts` and the row-streaming kernel of `gemm_stream.ts`), every product on the tiles.
 *
 * Each product is released at the end of its call, as in a training step. Prints one row per
 * product: µs per call, least / 10% / median / 90%, per mode, and GFLOP/s at the median.
 *
 * `--sweep`: instead, the rank-r gradients over a grid (float32 r = 4, 8, 12, 16 and float64 r = 2, 4,
 * 6, 8; long sides 256, 1024, 4096; k = 64, 512, 2048), gᵀ·u ("tall") and (gB)ᵀ·x ("wide"), on one
 * thread: the median µs with the rank-r kernels and with the tiles alone (blocks alternating, the
 * lower of three medians each), and their ratio.
 *
 * Run: `deno run -A bench/cpu_rank_products.ts [--modes 1,2,2-tiled] [--blocks 20] [--only gᵀ·u,128³] [--sweep]`
 * @module
 */
import { key, matmulT, normal, scope, setMatmulThreads, split } from "../mod.ts";
import { gemm } from "../core/backend/cpu/matmul.ts";
import { heapArray, heapRelease } from "../core/backend/cpu/wasm/heap.ts";
import { setOuter, setStreamK } from "../core/backend/cpu/wasm/gemm.ts";
import { commandLine, intOption } from "../examples/cli.ts";
import { coreRoundTripNs } from "./core_latency.ts";
import { MATMUL_SHAPES } from "./cpu_peers.ts";

/** Calls per block of one mode. */
const PER_BLOCK = 8;

/** Sets the thread count and the rank-r kernels for a mode (`1`, `2`, `1-tiled`, `2-tiled`, …). */
function enter(mode: string): void {
  const [threads, tiled] = mode.split("-");
  setMatmulThreads(Number(threads));
  setOuter(tiled !== "tiled");
  setStreamK(tiled === "tiled" ? 0 : 8);
}

/** `xs` sorted: least / 10% / median / 90%. */
function quantiles(xs: number[]): number[] {
  const s = [...xs].sort((a, b) => a - b);
  return [0, 0.1, 0.5, 0.9].map((f) => s[Math.min(s.length - 1, Math.floor(f * s.length))]);
}

/** Median µs of `n` calls of `f`. */
function medianUs(f: () => void, n: number): number {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    xs.push((performance.now() - t0) * 1000);
  }
  return quantiles(xs)[2];
}

/** Deterministic values in [-1, 1) for an operand. */
function fill(x: Float32Array | Float64Array, seed: number): void {
  let v = seed >>> 0;
  for (let i = 0; i < x.length; i++) x[i] = (v = (Math.imul(v, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1;
}

/**
 * The `--sweep` table (see the module doc): the CPU GEMM called directly on operands and results in
 * the Wasm memory, where a training step's tensors live from its second step on.
 */
function sweep(): void {
  setMatmulThreads(1);
  console.log("| dtype | r | long | k | tall: rank-r / tiles µs | ratio | wide: rank-r / tiles µs | ratio |");
  console.log("| --- | --: | --: | --: | --: | --: | --: | --: |");
  for (const [dtype, ranks] of [["float32", [4, 8, 12, 16]], ["float64", [2, 4, 6, 8]]] as const) {
    for (const r of ranks) {
      for (const long of [256, 1024, 4096]) {
        for (const k of [64, 512, 2048]) {
          const [g, u, c] = [k * long, k * r, long * r].map((n) =>
            heapArray(dtype, n, false) as Float32Array | Float64Array
          );
          if (!g || !u || !c) throw new Error("--sweep needs WebAssembly with shared memory");
          fill(g, long + k);
          fill(u, r);
          const n = Math.max(5, Math.min(200, Math.round(2e7 / (long * k * r))));
          const cells = [
            () => gemm(g, 0, true, u, 0, false, c, 0, long, r, k), // gᵀ·u
            () => gemm(u, 0, true, g, 0, false, c, 0, r, long, k), // (gB)ᵀ·x
          ].map((call) => {
            const best = [Infinity, Infinity];
            for (let round = 0; round < 3; round++) {
              [true, false].forEach((on, i) => {
                setOuter(on);
                setStreamK(on ? 8 : 0);
                call();
                best[i] = Math.min(best[i], medianUs(call, n));
              });
            }
            return `${best[0].toFixed(0)} / ${best[1].toFixed(0)} | ${(best[0] / best[1]).toFixed(2)}`;
          });
          for (const x of [g, u, c]) heapRelease(x);
          console.log(`| ${dtype} | ${r} | ${long} | ${k} | ${cells.join(" | ")} |`);
        }
      }
    }
  }
  enter(`${navigator.hardwareConcurrency}`);
}

async function main(): Promise<void> {
  const o = commandLine(
    Deno.args,
    "deno run -A bench/cpu_rank_products.ts [options]",
    "Issue 12's small and rank-8 products, modes alternating in blocks of calls in one process;\n" +
      "prints µs per call (least / 10% / median / 90%) and GFLOP/s at the median per mode.",
    {
      modes: {
        type: "string",
        value: "<a,b>",
        help: "threads, optionally -tiled (rank-r kernels off)",
        default: "1,2,2-tiled",
      },
      blocks: { type: "string", value: "<n>", help: "blocks of 8 calls per mode", default: "20" },
      only: { type: "string", value: "<a,b>", help: "products whose label contains one of these" },
      sweep: { type: "boolean", help: "the rank-r gradients over a grid of shapes on one thread (see the source)" },
    },
  );
  if (o.sweep) return sweep();
  const modes = String(o.modes).split(",");
  for (const m of modes) {
    if (!/^[1-8](-tiled)?$/.test(m)) {
      console.error(`error: --modes takes threads 1–8, optionally followed by -tiled (e.g. 2-tiled); got '${m}'`);
      Deno.exit(2);
    }
  }
  const blocks = intOption("blocks", o.blocks, 20);
  const only = typeof o.only === "string" ? o.only.split(",") : undefined;
  const shapes = MATMUL_SHAPES.slice(1).filter(([label]) => !only || only.some((w) => label.includes(w)));
  console.log(`core-to-core round trip ${(await coreRoundTripNs()).toFixed(0)} ns, load average ${Deno.loadavg()[0]}`);
  console.log(
    `| product | ${modes.map((m) => `${m}: µs least / 10% / median / 90%`).join(" | ")} | GFLOP/s at the median |`,
  );
  console.log(`| --- | ${modes.map(() => "---").join(" | ")} | --- |`);
  for (const [label, m, n, k, ta, tb] of shapes) {
    const [ka, kb] = split(key(1), 2);
    const a = normal(ka, ta ? [k, m] : [m, k]), b = normal(kb, tb ? [n, k] : [k, n]);
    const call = () => scope(() => void matmulT(a, b, ta, tb));
    const times: number[][] = modes.map(() => []);
    for (let w = 0; w < 20; w++) for (const mode of modes) (enter(mode), call());
    for (let bl = 0; bl < blocks; bl++) {
      modes.forEach((mode, i) => {
        enter(mode);
        for (let r = 0; r < PER_BLOCK; r++) {
          const t0 = performance.now();
          call();
          times[i].push((performance.now() - t0) * 1000);
        }
      });
    }
    const q = times.map(quantiles);
    const gflops = q.map((x) => ((2 * m * n * k) / (x[2] * 1e3)).toFixed(0));
    console.log(
      `| ${label} | ${q.map((x) => x.map((t) => t.toFixed(0)).join(" / ")).join(" | ")} | ${gflops.join(" / ")} |`,
    );
  }
  enter(`${navigator.hardwareConcurrency}`);
  console.log(`core-to-core round trip ${(await coreRoundTripNs()).toFixed(0)} ns, load average ${Deno.loadavg()[0]}`);
}

if (import.meta.main) await main();
