/**
 * How far apart the CPU cores that run this process's threads are: the round trip of a value
 * handed between the calling thread and a worker through shared memory, both spinning, in ns.
 *
 * On the 2-core cloud machine of issue 12 it reads 65–150 ns when the two virtual cores share a
 * cache (products split between them scale) and 430–480 ns when they do not (the hypervisor moves
 * them between hosts' cores; a product's operand copied on one core and read on the other crosses
 * the chips' fabric, and two threads gain less or lose). `cpu_peers.ts` prints it before and
 * after its cases, so a table can be read against the placement it ran on.
 *
 * Run: `deno run -A bench/core_latency.ts`
 * @module
 */
import { Worker } from "node:worker_threads";

const WORKER = `
const a = new Int32Array(require("node:worker_threads").workerData);
for (let i = 1; i < a[1]; i += 2) { while (Atomics.load(a, 0) !== i); Atomics.store(a, 0, i + 1); }
`;

/** Median of `rounds` timings of `trips` round trips each, in ns per round trip (NaN on one core). */
export async function coreRoundTripNs(trips = 200_000, rounds = 5): Promise<number> {
  // (on one core the two spinning threads would hand over at each time slice: milliseconds a trip)
  if (navigator.hardwareConcurrency < 2) return NaN;
  const a = new Int32Array(new SharedArrayBuffer(8));
  a[1] = 2 * trips * rounds;
  const w = new Worker(WORKER, { eval: true, workerData: a.buffer });
  try {
    const per: number[] = [];
    let v = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < trips; i++) {
        Atomics.store(a, 0, ++v);
        while (Atomics.load(a, 0) !== v + 1);
        v++;
      }
      per.push(((performance.now() - t0) * 1e6) / trips);
    }
    per.sort((x, y) => x - y);
    return per[per.length >> 1];
  } finally {
    await w.terminate();
  }
}

if (import.meta.main) console.log(`core-to-core round trip: ${(await coreRoundTripNs()).toFixed(0)} ns`);
