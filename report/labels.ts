/**
 * Where the plots put text: each label takes the first of its candidate places that lies inside
 * the plot area and covers nothing already there (data, reference lines, earlier labels); what a
 * label takes becomes an obstacle for the next one.
 * @module
 */
import { textWidth } from "./axis.ts";

/** A rectangle in pixels (a point is a box of no size). */
export interface Box {
  /** Left. */
  readonly x0: number;
  /** Top. */
  readonly y0: number;
  /** Right. */
  readonly x1: number;
  /** Bottom. */
  readonly y1: number;
}

/** Whether two boxes share any pixel (edges touching count). */
export const intersects = (a: Box, b: Box): boolean => a.x0 <= b.x1 && b.x0 <= a.x1 && a.y0 <= b.y1 && b.y0 <= a.y1;

/** The box of 11-pixel text starting at `x` on baseline `y`, `w` wide: ascent 10, descent 3. */
export const textBox = (x: number, y: number, w: number): Box => ({ x0: x, y0: y - 10, x1: x + w, y1: y + 3 });

/** A horizontal line across the plot at height `y`, as an obstacle. */
export const hlineBox = (area: Box, y: number): Box => ({ x0: area.x0, y0: y - 1.5, x1: area.x1, y1: y + 1.5 });

/** A candidate place: left x and baseline y of the text, and whether a leader line joins it to its point. */
export type Place = readonly [x: number, y: number, leader: boolean];

/** Where a label went: its place, the box it takes, and whether that box meets no obstacle. */
export interface Placed {
  readonly at: Place;
  readonly box: Box;
  readonly free: boolean;
}

/**
 * The first candidate whose text box (`w` wide, 2 pixels of margin) is inside `area` and meets no
 * obstacle; else the first inside `area`; else the first. `free` says whether it meets none.
 */
export function place(cands: readonly Place[], w: number, area: Box, obstacles: readonly Box[]): Placed {
  const inArea = (c: Place) => {
    const b = textBox(c[0], c[1], w);
    return b.x0 >= area.x0 + 2 && b.x1 <= area.x1 - 2 && b.y0 >= area.y0 + 2 && b.y1 <= area.y1 - 2;
  };
  const clear = (c: Place) => {
    const b = textBox(c[0], c[1], w), m = { x0: b.x0 - 2, y0: b.y0 - 1, x1: b.x1 + 2, y1: b.y1 + 1 };
    return !obstacles.some((o) => intersects(m, o));
  };
  const free = cands.find((c) => inArea(c) && clear(c));
  const at = free ?? cands.find(inArea) ?? cands[0];
  return { at, box: textBox(at[0], at[1], w), free: free !== undefined };
}

/**
 * A reference line's label at height `y` (pixels): above the line at the right, else below it,
 * else above or below at the left; `obstacles` are the data and other lines and labels.
 */
export function referenceLabelPlace(label: string, y: number, area: Box, obstacles: readonly Box[]): Placed {
  const w = textWidth(label, 11);
  const cands: Place[] = [
    [area.x1 - 6 - w, y - 5, false],
    [area.x1 - 6 - w, y + 14, false],
    [area.x0 + 6, y - 5, false],
    [area.x0 + 6, y + 14, false],
  ];
  return place(cands, w, area, obstacles);
}

/**
 * A point's label at pixel (X, Y): right, left, above, below, then right and left one to four
 * lines up or down (joined to the point by a leader line), so clustered points keep their labels.
 * @example
 * ```ts
 * import { hlineBox, pointLabelPlace } from "./labels.ts";
 * const area = { x0: 0, y0: 0, x1: 400, y1: 300 };
 * // a point on a reference line: the label goes above it, not across the line
 * const { at, free } = pointLabelPlace("vera", 100, 200, area, [hlineBox(area, 200)]);
 * if (!free || at[1] > 190) throw new Error("the label should sit above the line");
 * ```
 */
export function pointLabelPlace(label: string, X: number, Y: number, area: Box, obstacles: readonly Box[]): Placed {
  const w = textWidth(label, 11), h = 11;
  const cands: Place[] = [
    [X + 7, Y + 4, false],
    [X - 7 - w, Y + 4, false],
    [X - w / 2, Y - 10, false],
    [X - w / 2, Y + 8 + h, false],
  ];
  for (let k = 1; k <= 4; k++) {
    for (const dy of [-k, k]) {
      cands.push([X + 14, Y + 4 + dy * (h + 3), true], [X - 14 - w, Y + 4 + dy * (h + 3), true]);
    }
  }
  return place(cands, w, area, obstacles);
}
