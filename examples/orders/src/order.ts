/** The classic Faust example's record: who pays how much. */
export interface Order {
  accountId: string;
  amount: number;
}

export function parseOrder(bytes: Buffer | null): Order {
  const value = JSON.parse(bytes?.toString('utf8') ?? 'null') as Partial<Order> | null;
  if (typeof value?.accountId !== 'string' || typeof value.amount !== 'number') {
    throw new Error('an order needs a string accountId and a numeric amount');
  }
  return { accountId: value.accountId, amount: value.amount };
}
