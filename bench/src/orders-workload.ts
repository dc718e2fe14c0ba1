// The workload the stateless benches share: a JSON order of 256 bytes, a Record with class-validator
// rules to decode it into, and the charge the agent maps it to.
import { Record } from '@stream-app/core';
import { IsDate, IsIn, IsPositive, IsString, Length, MaxLength } from 'class-validator';

export const CURRENCIES = ['EUR', 'USD', 'GBP'];

export class Order extends Record {
  @IsString() @Length(1, 64) accountId!: string;
  @IsPositive() amount!: number;
  @IsIn(CURRENCIES) currency!: string;
  @IsDate() createdAt!: Date;
  @IsString() @MaxLength(256) note!: string;
}

export interface Charge {
  accountId: string;
  amountCents: number;
  currency: string;
  day: string;
}

export function toCharge(order: { accountId: string; amount: number; currency: string; createdAt: Date }): Charge {
  return {
    accountId: order.accountId,
    amountCents: Math.round(order.amount * 100),
    currency: order.currency,
    day: order.createdAt.toISOString().slice(0, 10),
  };
}

/** An order as JSON of exactly 256 bytes (the note pads it). */
export function orderJson(i: number): string {
  const order = {
    accountId: `account-${String(i % 64).padStart(4, '0')}`,
    amount: 1 + (i % 10_000) / 100,
    currency: CURRENCIES[i % CURRENCIES.length],
    createdAt: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    note: '',
  };
  const text = `order ${i} `;
  order.note = text.repeat(256).slice(0, 256 - Buffer.byteLength(JSON.stringify(order)));
  return JSON.stringify(order);
}
