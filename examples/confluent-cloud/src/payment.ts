import { Record } from '@stream-app/core';
import { IsInt, IsNotEmpty, IsPositive, IsString, Matches } from 'class-validator';

/** A card payment, in whole cents so that no amount is rounded. */
export class Payment extends Record {
  @IsString() @IsNotEmpty() paymentId!: string;
  @Matches(/^[A-Z]{3}$/) currency!: string;
  @IsInt() @IsPositive() amountCents!: number;
}
