import { CoreError } from '../errors/index.js';
import { Record, type RecordClass } from '../records/record.js';

/** Turns message keys and values into bytes and back. */
export interface Codec<T = unknown> {
  readonly name: string;
  encode(value: T): Buffer;
  decode(bytes: Buffer | null): T;
}

const json: Codec = {
  name: 'json',
  encode: (value) => Buffer.from(JSON.stringify(value instanceof Record ? value.toPlain() : value)),
  decode: (bytes) => {
    if (bytes === null) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (error) {
      // V8's message quotes the payload ('Unexpected token 'o', "oops" is not valid JSON'): keep only where it broke.
      const position = /position (\d+)/.exec((error as Error).message)?.[1];
      throw new CoreError(
        'STREAM_APP_ERR_DECODE',
        `the message is not valid JSON${position ? ` (syntax error at byte ${position})` : ''}`,
        { details: { codec: 'json', ...(position ? { position: Number(position) } : {}) } },
      );
    }
  },
};

const raw: Codec<Buffer | null> = {
  name: 'raw',
  encode: (value) => value ?? Buffer.alloc(0),
  decode: (bytes) => bytes,
};

const string: Codec<string | null> = {
  name: 'string',
  encode: (value) => Buffer.from(value ?? '', 'utf8'),
  decode: (bytes) => (bytes === null ? null : bytes.toString('utf8')),
};

const registry = new Map<string, Codec>([
  ['json', json],
  ['raw', raw as Codec],
  ['string', string as Codec],
]);

/** Adds a codec under its name (e.g. Avro or Protobuf ones). */
export function registerCodec(codec: Codec): void {
  if (!codec?.name || typeof codec.encode !== 'function' || typeof codec.decode !== 'function') {
    throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', 'a codec needs a name, encode() and decode()');
  }
  registry.set(codec.name, codec);
}

export function codecNamed(name: string): Codec {
  const codec = registry.get(name);
  if (!codec) {
    throw new CoreError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      `no codec named "${name}" (known: ${[...registry.keys()].join(', ')}); add one with registerCodec()`,
    );
  }
  return codec;
}

/** A codec for a Record type: bytes ↔ the serializer's plain value ↔ a validated instance. */
export function recordCodec<T extends Record>(
  type: RecordClass<T>,
  serializer: string | Codec = 'json',
  options: { validate?: boolean } = {},
): Codec<T> {
  const base = typeof serializer === 'string' ? codecNamed(serializer) : serializer;
  return {
    name: `${base.name}:${type.name}`,
    encode: (value) => base.encode(value instanceof Record ? value.toPlain() : value),
    decode: (bytes) => type.fromPlain(base.decode(bytes), options),
  };
}
