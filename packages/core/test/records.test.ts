// Records as a Faust user writes them, decoded from what arrives on a topic.
import { IsDate, IsDecimal, IsInt, IsPositive, IsString, Length, Min, ValidateNested } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { arrayOf, codecNamed, field, Record, recordCodec, registerCodec } from '../src/index.js';
import type { StreamAppError } from '@stream-app/credentials';

class Order extends Record {
  @IsString() @Length(1, 64) accountId!: string;
  @IsPositive() amount!: number;
}

class LineItem extends Record {
  @IsString() sku!: string;
  @IsInt() @Min(1) quantity!: number;
  @IsDecimal({ decimal_digits: '0,2' }) price!: string; // decimals travel as strings: no float rounding
}

class Address extends Record {
  @IsString() city!: string;
}

class Invoice extends Record {
  @IsString() id!: string;
  @ValidateNested() billing!: Address;
  @ValidateNested({ each: true }) @arrayOf(() => LineItem) items!: LineItem[];
  @IsDate() issuedAt!: Date;
  @field() sequence!: bigint;
}

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as StreamAppError;
  }
  throw new Error('expected a failure');
};

describe('Record', () => {
  it("reads like Faust's Order(account_id, amount)", () => {
    const order = Order.fromPlain({ accountId: 'acc-1', amount: 12.5 });
    expect(order).toBeInstanceOf(Order);
    expect(order).toMatchObject({ accountId: 'acc-1', amount: 12.5 });
    expect(order.toPlain()).toEqual({ accountId: 'acc-1', amount: 12.5 });
  });

  it('decodes nested records, arrays of records, dates, bigints and decimal strings', () => {
    const invoice = Invoice.fromPlain({
      id: 'inv-7',
      billing: { city: 'Lyon' },
      items: [{ sku: 'a', quantity: 2, price: '9.99' }],
      issuedAt: '2026-11-23T10:00:00.000Z',
      sequence: '9007199254740993',
    });
    expect(invoice.billing).toBeInstanceOf(Address);
    expect(invoice.items[0]).toBeInstanceOf(LineItem);
    expect(invoice.issuedAt).toEqual(new Date('2026-11-23T10:00:00.000Z'));
    expect(invoice.sequence).toBe(9007199254740993n);
    expect(invoice.toPlain()).toEqual({
      id: 'inv-7',
      billing: { city: 'Lyon' },
      items: [{ sku: 'a', quantity: 2, price: '9.99' }],
      issuedAt: '2026-11-23T10:00:00.000Z',
      sequence: '9007199254740993',
    });
  });

  it('validates every rule, nested ones included, and names each problem without echoing values', () => {
    const error = failure(() =>
      Invoice.fromPlain({
        id: 7,
        billing: { city: 3 },
        items: [{ sku: 'a', quantity: 0, price: '1.234' }],
        issuedAt: 'x',
        sequence: '1',
      }),
    );
    expect(error.code).toBe('STREAM_APP_ERR_RECORD_INVALID');
    expect(error.message).toBe('Invoice.issuedAt is not a valid date');

    const invalid = failure(() =>
      Invoice.fromPlain({
        id: 7,
        billing: { city: 3 },
        items: [{ sku: 'a', quantity: 0, price: '1.234' }],
        issuedAt: 0,
        sequence: '1',
      }),
    );
    expect(invalid.message).toContain('Invoice.id: id must be a string');
    expect(invalid.message).toContain('Invoice.billing.city: city must be a string');
    expect(invalid.message).toContain('Invoice.items.0.quantity: quantity must not be less than 1');
    expect(invalid.message).toContain('Invoice.items.0.price: price is not a valid decimal number.');
    expect(invalid.details.problems).toHaveLength(4);
  });

  it('coerces nothing it was not told to', () => {
    expect(failure(() => Order.fromPlain({ accountId: 'a', amount: '12' })).message).toContain(
      'amount must be a positive number',
    );
    expect(failure(() => Order.fromPlain(['a'])).message).toBe('Order must be an object, got an array');
    expect(failure(() => Invoice.fromPlain({ sequence: 1.5 })).message).toBe(
      'Invoice.sequence must be an integer (a number or a string of digits), got a number',
    );
    expect(Order.fromPlain({ accountId: 'a', amount: -1 }, { validate: false }).amount).toBe(-1);
  });

  it('refuses a __proto__ field instead of letting it replace the instance prototype', () => {
    // JSON.parse makes "__proto__" an own key; assigning it would swap the Record's prototype.
    for (const json of ['{"__proto__":null}', '{"accountId":"a","amount":1,"__proto__":{"amount":-1}}']) {
      const refusal = failure(() => recordCodec(Order).decode(Buffer.from(json)));
      expect(refusal.code).toBe('STREAM_APP_ERR_RECORD_INVALID');
      expect(refusal.message).toBe('Order.__proto__ is not allowed as a field name');
    }
  });
});

describe('codecs', () => {
  it('json, raw and string, and a Record codec over json', () => {
    expect(codecNamed('json').decode(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(codecNamed('string').decode(Buffer.from('héllo'))).toBe('héllo');
    expect(codecNamed('raw').decode(Buffer.from([1, 2]))).toEqual(Buffer.from([1, 2]));
    const orders = recordCodec(Order);
    const bytes = orders.encode(Order.fromPlain({ accountId: 'acc-1', amount: 3 }));
    expect(JSON.parse(bytes.toString())).toEqual({ accountId: 'acc-1', amount: 3 });
    expect(orders.decode(bytes)).toBeInstanceOf(Order);
  });

  it('bad bytes and unknown codecs fail with their own codes', () => {
    const bad = failure(() => recordCodec(Order).decode(Buffer.from('{"accountId": "a", amount: }')));
    expect(bad.code).toBe('STREAM_APP_ERR_DECODE');
    expect(bad.message).toMatch(/^the message is not valid JSON/);
    const unknown = failure(() => codecNamed('avro'));
    expect(unknown.message).toBe('no codec named "avro" (known: json, raw, string); add one with registerCodec()');
    registerCodec({ name: 'upper', encode: (v) => Buffer.from(String(v).toUpperCase()), decode: (b) => b?.toString() });
    expect(codecNamed('upper').encode('x').toString()).toBe('X');
  });
});
