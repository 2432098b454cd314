/**
 * Writing result files so that nothing is ever left half-written. The helper lives in
 * `models/files.ts` (a temporary name in the same folder, fsync, then rename over the target); the
 * report toolkit re-exports it so command-line jobs find everything they write with in one place.
 * @module
 */
export { writeFileAtomic } from "../models/files.ts";
