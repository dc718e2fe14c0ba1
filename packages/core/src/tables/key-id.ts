import type { Codec } from '../codecs/codecs.js';

/**
 * A table key as a string a Map and LMDB can index: strings and numbers as themselves (with a
 * type tag), anything else as its encoded bytes. Reversible, so that a store's keys need no second copy.
 */
export function keyId(key: unknown, codec: Codec): string {
  if (typeof key === 'string') return `s${key}`;
  if (typeof key === 'number') return `n${key}`;
  return `b${codec.encode(key).toString('base64')}`;
}

export function keyFromId(id: string, codec: Codec): unknown {
  switch (id[0]) {
    case 's':
      return id.slice(1);
    case 'n':
      return Number(id.slice(1));
    default:
      return codec.decode(Buffer.from(id.slice(1), 'base64'));
  }
}
