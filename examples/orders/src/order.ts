import { Record } from '@stream-app/core';
import { IsNotEmpty, IsPositive, IsString } from 'class-validator';

/** The classic Faust example's record: who pays how much. */
export class Order extends Record {
  @IsString() @IsNotEmpty() accountId!: string;
  @IsPositive() amount!: number;
}
