// Codecs and Record decoding against whatever bytes a topic may hold (fast-check): nothing crashes,
// every refusal carries an error code, and what encodes decodes back to the same value.
import { IsDate, IsInt, IsString, Length, Min, ValidateNested } from 'class-validator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayOf, codecNamed, field, Record, recordCodec, StreamAppError } from '../src/index.js';

class Item extends Record {
  @IsString() @Length(1, 20) sku!: string;
  @IsInt() @Min(1) quantity!: number;
}

class Order extends Record {
  @IsString() id!: string;
  @ValidateNested({ each: true }) @arrayOf(() => Item) items!: Item[];
  @IsDate() placedAt!: Date;
  @field() sequence!: bigint;
}

/** Runs `decode`; a failure must be a coded StreamAppError among `codes`. */
function decodesOrRefuses(decode: () => unknown, codes: string[]): void {
  try {
    decode();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamAppError);
    expect(codes).toContain((error as StreamAppError).code);
  }
}

// Bytes as they arrive: random ones, text, JSON text, and JSON of a near-Order shape.
const jsonText = fc.jsonValue().map((value) => JSON.stringify(value));
const orderLike = fc.record(
  {
    id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
    items: fc.oneof(
      fc.array(fc.record({ sku: fc.oneof(fc.string(), fc.integer()), quantity: fc.oneof(fc.integer(), fc.string()) })),
      fc.jsonValue(),
    ),
    placedAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
      fc.integer(),
    ),
    sequence: fc.oneof(fc.bigInt().map(String), fc.string(), fc.integer(), fc.double()),
  },
  { requiredKeys: [] },
);
const payloads = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary' }).map((text) => Buffer.from(text)),
  jsonText.map((text) => Buffer.from(text)),
  orderLike.map((order) => Buffer.from(JSON.stringify(order))),
  fc.constant(Buffer.alloc(0)),
  // Keys that JSON.parse makes own properties but an assignment would treat as the prototype (a run found it).
  fc.constantFrom('{"__proto__":null}', '{"id":"a","items":[{"__proto__":{"sku":"x"}}]}').map((t) => Buffer.from(t)),
);

describe('codecs and records under arbitrary input', () => {
  it('json decodes any bytes to a value or refuses them with STREAM_APP_ERR_DECODE, never quoting them', () => {
    const json = codecNamed('json');
    fc.assert(
      fc.property(payloads, (bytes) => {
        try {
          json.decode(bytes);
        } catch (error) {
          expect((error as StreamAppError).code).toBe('STREAM_APP_ERR_DECODE');
          // The reason goes to logs and dead-letter headers: it must not carry the payload.
          if (bytes.length > 8) expect((error as Error).message).not.toContain(bytes.toString('utf8'));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('json and string round-trip what they encode', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = codecNamed('json');
        expect(json.decode(json.encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const string = codecNamed('string');
        expect(string.decode(string.encode(text))).toBe(text);
      }),
    );
  });

  it('a Record codec decodes any bytes to a valid instance, or refuses them with a code', () => {
    const codec = recordCodec(Order);
    fc.assert(
      fc.property(payloads, (bytes) => {
        decodesOrRefuses(() => {
          const order = codec.decode(bytes);
          expect(order).toBeInstanceOf(Order);
        }, ['STREAM_APP_ERR_DECODE', 'STREAM_APP_ERR_RECORD_INVALID']);
      }),
      { numRuns: 1000 },
    );
  });

  it('a valid Record survives encode and decode unchanged', () => {
    const codec = recordCodec(Order);
    const orders = fc.record({
      id: fc.string(),
      items: fc.array(
        fc.record({ sku: fc.string({ minLength: 1, maxLength: 20 }), quantity: fc.integer({ min: 1 }) }),
        { maxLength: 5 },
      ),
      placedAt: fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(8.64e15) }),
      sequence: fc.bigInt(),
    });
    fc.assert(
      fc.property(orders, (plain) => {
        const order = Order.fromPlain({
          ...plain,
          placedAt: plain.placedAt.toISOString(),
          sequence: String(plain.sequence),
        });
        expect(codec.decode(codec.encode(order)).toPlain()).toEqual(order.toPlain());
      }),
      { numRuns: 300 },
    );
  });
});
