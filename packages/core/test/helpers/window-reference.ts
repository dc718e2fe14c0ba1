// What a windowed count must come to, computed the plain way: every event, in each partition's
// order, against that partition's stream time. The windowed-table tests compare the app with it.

export type ReferenceKind =
  | { type: 'tumbling'; size: number }
  | { type: 'hopping'; size: number; step: number }
  | { type: 'sliding'; size: number }
  | { type: 'session'; gap: number };

export interface ReferenceEvent {
  key: string;
  time: number;
  partition: number;
}

export interface ReferenceResult {
  /** `<key> <start> <end>` → the count the window closed with. */
  closed: Map<string, number>;
  /** Events too late for every window they fall in. */
  late: number;
}

interface Session {
  start: number;
  end: number;
  count: number;
}

/** A windowed count of `events` (in the order each partition has them) with a grace period. */
export function referenceCount(kind: ReferenceKind, grace: number, events: ReferenceEvent[]): ReferenceResult {
  const closed = new Map<string, number>();
  let late = 0;
  const partitions = new Map<number, ReferenceEvent[]>();
  for (const event of events) partitions.set(event.partition, [...(partitions.get(event.partition) ?? []), event]);
  for (const list of partitions.values()) {
    let streamTime = -Infinity;
    // Open windows: `<key> <start> <end>` → count (sliding: one per event millisecond, the bucket).
    const open = new Map<string, number>();
    const buckets = new Map<string, Map<number, number>>();
    const sessions = new Map<string, Session[]>();
    for (const { key, time } of list) {
      streamTime = Math.max(streamTime, time);
      let counted = false;
      if (kind.type === 'tumbling' || kind.type === 'hopping') {
        const step = kind.type === 'hopping' ? kind.step : kind.size;
        for (let start = Math.floor(time / step) * step; start > time - kind.size; start -= step) {
          const end = start + kind.size;
          if (end + grace <= streamTime) continue;
          const id = `${key} ${start} ${end}`;
          open.set(id, (open.get(id) ?? 0) + 1);
          counted = true;
        }
      } else if (kind.type === 'sliding') {
        // An event counts while a window that holds it may be open: one ending up to size - 1 after it.
        if (time + kind.size + grace > streamTime) {
          const mine = buckets.get(key) ?? new Map<number, number>();
          buckets.set(key, mine);
          mine.set(time, (mine.get(time) ?? 0) + 1);
          // Its own window (ending at it) is announced only if it has not closed already.
          if (time + 1 + grace > streamTime) open.set(`${key} ${time}`, 0);
          counted = true;
        }
      } else {
        const mine = sessions.get(key) ?? [];
        const joined = mine.filter((s) => time >= s.start - kind.gap && time <= s.end - 1 + kind.gap);
        const merged = {
          start: Math.min(time, ...joined.map((s) => s.start)),
          end: Math.max(time + 1, ...joined.map((s) => s.end)),
          count: 1 + joined.reduce((sum, s) => sum + s.count, 0),
        };
        if (merged.end + kind.gap + grace > streamTime) {
          sessions.set(key, [...mine.filter((s) => !joined.includes(s)), merged]);
          counted = true;
        }
      }
      if (!counted) late += 1;
      // Close what the stream time passed.
      if (kind.type === 'tumbling' || kind.type === 'hopping') {
        for (const [id, count] of open) {
          if (Number(id.split(' ')[2]) + grace <= streamTime) {
            closed.set(id, count);
            open.delete(id);
          }
        }
      } else if (kind.type === 'sliding') {
        for (const id of [...open.keys()]) {
          const [k, at] = [id.split(' ')[0]!, Number(id.split(' ')[1])];
          if (at + 1 + grace > streamTime) continue;
          let count = 0;
          for (const [t, n] of buckets.get(k)!) if (t > at - kind.size && t <= at) count += n;
          closed.set(`${k} ${at - kind.size + 1} ${at + 1}`, count);
          open.delete(id);
        }
      } else {
        for (const [k, mine] of sessions) {
          for (const session of [...mine]) {
            if (session.end + kind.gap + grace > streamTime) continue;
            closed.set(`${k} ${session.start} ${session.end}`, session.count);
            mine.splice(mine.indexOf(session), 1);
          }
        }
      }
    }
  }
  return { closed, late };
}

/** A reproducible stream: mostly in order, some out of order within `jitter`, a few far behind. */
export function generateEvents(options: {
  seed: number;
  count: number;
  keys: number;
  partitions: number;
  start: number;
  stepMs: number;
  jitterMs: number;
  lateEvery: number;
  lateByMs: number;
}): ReferenceEvent[] {
  let state = options.seed >>> 0;
  const random = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const events: ReferenceEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    const keyIndex = Math.floor(random() * options.keys);
    let time = options.start + i * options.stepMs + Math.floor((random() - 0.5) * 2 * options.jitterMs);
    if (options.lateEvery > 0 && i % options.lateEvery === options.lateEvery - 1) time -= options.lateByMs;
    events.push({ key: `k${keyIndex}`, time, partition: keyIndex % options.partitions });
  }
  return events;
}
