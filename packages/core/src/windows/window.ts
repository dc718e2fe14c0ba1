/** A window of time, `[start, end)` in epoch milliseconds: `start` included, `end` not. */
export interface Window {
  start: number;
  end: number;
}

/** The shape of a windowed table's windows, sizes in milliseconds. */
export type WindowKind =
  | { type: 'tumbling'; size: number }
  | { type: 'hopping'; size: number; step: number }
  | { type: 'sliding'; size: number }
  | { type: 'session'; gap: number };

/**
 * The fixed windows an event time falls into, oldest first: one for a tumbling window, `size / step`
 * for a hopping one (aligned to the epoch, like Faust's and Kafka Streams').
 */
export function fixedWindows(size: number, step: number, time: number): Window[] {
  const windows: Window[] = [];
  const last = Math.floor(time / step) * step;
  for (let start = last - Math.floor((size - 1) / step) * step; start <= last; start += step) {
    if (start + size > time) windows.push({ start, end: start + size });
  }
  return windows;
}

/** A sliding window ends at an event (included) and reaches `size` back: `[time - size + 1, time + 1)`. */
export function slidingWindow(size: number, time: number): Window {
  return { start: time - size + 1, end: time + 1 };
}
