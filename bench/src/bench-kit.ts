// What every bench of this folder uses: the OAuth client, a run's deadline, medians and rates.
import type { OAuthCredentials } from '@stream-app/credentials';
import { TESTBED_CLIENTS, testbedCredentials, type Testbed } from '@stream-app/testing';

/** The test bed's app client, as the apps and hand-written pipelines of the benches authenticate. */
export function credentialsFor(testbed: Testbed): OAuthCredentials {
  return testbedCredentials(testbed.identityProvider, TESTBED_CLIENTS.app);
}

/** A promise that rejects after `timeoutMs`, naming what did not finish; `clear` when it did. */
export function deadline<T>(what: string, timeoutMs: number): { promise: Promise<T>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  return { promise, clear: () => clearTimeout(timer) };
}

/** The median (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A rate as a whole number with thousands separators. */
export const rate = (value: number) => Math.round(value).toLocaleString('en');
