import assert from "node:assert/strict";
import { recordJob, useWorkers } from "../core/backend/cpu/wasm/engine.ts";

/** Waits `ms` (the workers' polling, 1 ms by default, runs out: they are asleep). */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs jobs of one kind and size through the chooser: `ms(shared)` is what a job takes in the mode
 * the chooser picked; returns the modes picked, in order.
 */
function jobs(kind: string, count: number, ms: (shared: boolean) => number): boolean[] {
  const picked: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const shared = useWorkers(kind, 1000);
    picked.push(shared);
    recordJob(kind, 1000, shared, ms(shared));
  }
  return picked;
}

Deno.test("cpu threads: a probe of all threads while the workers sleep is not counted; the next job is", async () => {
  // (no job here reaches the workers, so they are asleep throughout: every probe of all threads is cold)
  await pause(1100); // the chooser ignores jobs on all threads in the first second after workers start
  const kind = "chooser-test-cold";
  recordJob(kind, 1000, true, 1); // the first job of a kind and size is never counted
  jobs(kind, 1, () => 1); // all threads: 1 ms
  jobs(kind, 1, () => 2); // one thread: 2 ms
  // all threads turn slow (5 ms a job) until the chooser moves to one thread
  let picked = jobs(kind, 12, (shared) => (shared ? 5 : 2));
  assert.ok(picked.includes(false), "the chooser never moved to one thread");
  // now all threads are fast again, but only when warm: a cold probe takes 3 ms, a warm job 1 ms. A
  // counted cold probe (3 > 2) would keep the chooser on one thread; it must come back to all
  let first = true;
  picked = jobs(kind, 40, (shared) => {
    if (!shared) {
      first = true;
      return 2;
    }
    const t = first ? 3 : 1;
    first = false;
    return t;
  });
  assert.deepEqual(picked.slice(-8), Array(8).fill(true), `stayed on one thread: ${picked.map(Number).join("")}`);
});

Deno.test("cpu threads: one slow job on all threads counts as at most twice the average", async () => {
  await pause(1100);
  const kind = "chooser-test-cap";
  recordJob(kind, 1000, true, 1);
  jobs(kind, 1, () => 1); // all threads: 1 ms
  jobs(kind, 1, () => 1.7); // one thread: 1.7 ms
  // a 50 ms stall on all threads, once: the average rises to 0.7 + 0.3·2 = 1.3 ms, still under 1.7
  let stalled = false;
  const picked = jobs(kind, 6, (shared) => {
    if (shared && !stalled) {
      stalled = true;
      return 50;
    }
    return shared ? 1 : 1.7;
  });
  assert.deepEqual(picked.slice(1), Array(5).fill(true), `moved to one thread: ${picked.map(Number).join("")}`);
});
