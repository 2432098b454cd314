/**
 * Plane rotations for the CPU QR iterations (SVD, eigh): sequences of rotations applied four per pass
 * over the rows (`rotSeqUp`, `rotSeqDown`), and `RotationLog`, which records an iteration's rotations
 * and applies them to the vector rows at the end through the Wasm kernels.
 * @module
 */
import { wasmRotateRows } from "../backend/cpu/wasm/rotations.ts";
import { heapArray, heapRelease } from "../backend/cpu/wasm/heap.ts";
import { rot } from "./kernel_util.ts";

/**
 * Applies the plane rotations j = j0 … j1−1, in that order, to the rows (j, j+1) of buf (rows of
 * length len): rowⱼ ← cⱼ rowⱼ + sⱼ rowⱼ₊₁, rowⱼ₊₁ ← cⱼ rowⱼ₊₁ − sⱼ rowⱼ. Four rotations share one
 * pass over five rows, so each element is loaded and stored once per four rotations.
 */
export function rotSeqUp(
  b: Float64Array,
  len: number,
  j0: number,
  j1: number,
  cs: Float64Array,
  sn: Float64Array,
): void {
  let j = j0;
  for (; j + 3 < j1; j += 4) {
    const c0 = cs[j], s0 = sn[j], c1 = cs[j + 1], s1 = sn[j + 1];
    const c2 = cs[j + 2], s2 = sn[j + 2], c3 = cs[j + 3], s3 = sn[j + 3];
    const o0 = j * len, o1 = o0 + len, o2 = o1 + len, o3 = o2 + len, o4 = o3 + len;
    for (let i = 0; i < len; i++) {
      const x0 = b[o0 + i], x1 = b[o1 + i], x2 = b[o2 + i], x3 = b[o3 + i], x4 = b[o4 + i];
      b[o0 + i] = c0 * x0 + s0 * x1;
      const y1 = c0 * x1 - s0 * x0;
      b[o1 + i] = c1 * y1 + s1 * x2;
      const y2 = c1 * x2 - s1 * y1;
      b[o2 + i] = c2 * y2 + s2 * x3;
      const y3 = c2 * x3 - s2 * y2;
      b[o3 + i] = c3 * y3 + s3 * x4;
      b[o4 + i] = c3 * x4 - s3 * y3;
    }
  }
  for (; j < j1; j++) rot(b, j * len, (j + 1) * len, len, cs[j], sn[j]);
}

/**
 * Applies the plane rotations i = i1−1 down to i0, in that order, to the rows (i, i+1) of buf:
 * rowᵢ ← cᵢ rowᵢ + sᵢ rowᵢ₊₁, rowᵢ₊₁ ← cᵢ rowᵢ₊₁ − sᵢ rowᵢ (four rotations per pass).
 */
export function rotSeqDown(
  b: Float64Array,
  len: number,
  i0: number,
  i1: number,
  cs: Float64Array,
  sn: Float64Array,
): void {
  let j = i1 - 1;
  for (; j - 3 >= i0; j -= 4) {
    // rotations j, j−1, j−2, j−3 on rows j−3 … j+1
    const c0 = cs[j], s0 = sn[j], c1 = cs[j - 1], s1 = sn[j - 1];
    const c2 = cs[j - 2], s2 = sn[j - 2], c3 = cs[j - 3], s3 = sn[j - 3];
    const o4 = (j + 1) * len, o3 = o4 - len, o2 = o3 - len, o1 = o2 - len, o0 = o1 - len;
    for (let i = 0; i < len; i++) {
      const x0 = b[o0 + i], x1 = b[o1 + i], x2 = b[o2 + i], x3 = b[o3 + i], x4 = b[o4 + i];
      b[o4 + i] = c0 * x4 - s0 * x3;
      const y3 = c0 * x3 + s0 * x4;
      b[o3 + i] = c1 * y3 - s1 * x2;
      const y2 = c1 * x2 + s1 * y3;
      b[o2 + i] = c2 * y2 - s2 * x1;
      const y1 = c2 * x1 + s2 * y2;
      b[o1 + i] = c3 * y1 - s3 * x0;
      b[o0 + i] = c3 * x0 + s3 * y1;
    }
  }
  for (; j >= i0; j--) rot(b, j * len, (j + 1) * len, len, cs[j], sn[j]);
}

/** A log buffer: in the Wasm memory where possible (the rotation kernels read it in place). */
function logArray(d: "int32" | "float64", n: number): Int32Array | Float64Array {
  return (heapArray(d, n, false) as Int32Array | Float64Array | null) ??
    (d === "int32" ? new Int32Array(n) : new Float64Array(n));
}

/**
 * Plane rotations of a QR iteration recorded in order, to be applied to the vector rows at the end
 * (`apply`): the iteration on the bidiagonal or tridiagonal never reads the vectors, so they can
 * wait, and then go through the Wasm kernels column chunk by column chunk on all threads
 * (`wasmRotateRows`), the same arithmetic as `rot`, bit for bit.
 */
export class RotationLog {
  /** Records `[kind, a, b, ci]`: kind 0 a chain of rotations j = a …< b of rows (j, j+1), kind 1 one of rows (a, b). */
  ops: Int32Array = logArray("int32", 256) as Int32Array;
  /** Number of records. */
  nops = 0;
  /** (c, s) pairs, in the order the records use them. */
  cs: Float64Array = logArray("float64", 1024) as Float64Array;
  /** Entries of `cs` in use. */
  ncs = 0;
  /** Rotations recorded. */
  rotations = 0;

  private push(kind: number, a: number, b: number, pairs: number): number {
    if ((this.nops + 1) * 4 > this.ops.length) {
      const o = logArray("int32", this.ops.length * 2) as Int32Array;
      o.set(this.ops);
      heapRelease(this.ops);
      this.ops = o;
    }
    if (this.ncs + 2 * pairs > this.cs.length) {
      const c = logArray("float64", Math.max(this.cs.length * 2, this.ncs + 2 * pairs)) as Float64Array;
      c.set(this.cs);
      heapRelease(this.cs);
      this.cs = c;
    }
    const o = 4 * this.nops++;
    this.ops[o] = kind;
    this.ops[o + 1] = a;
    this.ops[o + 2] = b;
    this.ops[o + 3] = this.ncs;
    this.rotations += pairs;
    return this.ncs;
  }

  /** Forgets the recorded rotations. */
  clear(): void {
    this.nops = this.ncs = this.rotations = 0;
  }

  /** Rotations j = a …< b of rows (j, j+1) with (c, s) = (cs[j], sn[j]), as `rotSeqUp` applies them. */
  chain(a: number, b: number, cs: Float64Array, sn: Float64Array): void {
    if (b <= a) return;
    let at = this.push(0, a, b, b - a);
    for (let j = a; j < b; j++) {
      this.cs[at++] = cs[j];
      this.cs[at++] = sn[j];
    }
    this.ncs = at;
  }

  /** One rotation of rows (a, b), as `rot(buf, a·len, b·len, len, c, s)` (a = b: the row times c − s). */
  one(a: number, b: number, c: number, s: number): void {
    const at = this.push(1, a, b, 1);
    this.cs[at] = c;
    this.cs[at + 1] = s;
    this.ncs = at + 2;
  }

  /** Applies the recorded rotations to `count` rows of `len` in `rows`, then forgets them. */
  apply(rows: Float64Array, len: number, count: number): void {
    if (
      this.nops > 0 &&
      !wasmRotateRows(rows, len, count, this.ops, this.nops, this.cs, this.ncs, this.rotations)
    ) {
      for (let t = 0; t < this.nops; t++) {
        const [kind, a, b, ci] = this.ops.subarray(4 * t, 4 * t + 4);
        if (kind === 0) {
          for (let j = a; j < b; j++) {
            const k = ci + 2 * (j - a);
            rot(rows, j * len, (j + 1) * len, len, this.cs[k], this.cs[k + 1]);
          }
        } else if (a === b) {
          const f = this.cs[ci] - this.cs[ci + 1];
          for (let i = 0; i < len; i++) rows[a * len + i] *= f;
        } else rot(rows, a * len, b * len, len, this.cs[ci], this.cs[ci + 1]);
      }
    }
    this.clear();
  }
}
