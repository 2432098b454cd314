/**
 * Injected by esbuild into the Node and browser bundles in place of the global `Deno`: the real one
 * where it exists, else the members the library uses (`env.get`, `pid`) from Node's `process`, or
 * empty in a browser. build/build.ts fails when the library uses a member not listed here.
 * @module
 */

/** The parts of `process` the shim reads. */
interface ProcessLike {
  pid?: number;
  env?: Record<string, string | undefined>;
}

/** The `Deno` members the library uses. */
export interface DenoShim {
  /** Environment variables. */
  env: { get(name: string): string | undefined };
  /** The process id (0 in a browser). */
  pid: number;
}

const host = globalThis as { Deno?: DenoShim; process?: ProcessLike };

/** `globalThis.Deno`, or the shim. */
export const Deno: DenoShim = host.Deno ?? {
  env: { get: (name: string): string | undefined => host.process?.env?.[name] },
  pid: host.process?.pid ?? 0,
};
