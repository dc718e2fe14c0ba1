import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

/**
 * Holds a secret (client secret, password, token) so that printing,
 * inspecting or serializing its holder never shows it; `reveal()` is the
 * only way out.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** Replaces every occurrence of the given secrets (and JWT-looking strings) in `text`. */
export function redact(text: string, secrets: Array<string | Secret | undefined> = []): string {
  let result = text;
  for (const secret of secrets) {
    const value = secret instanceof Secret ? secret.reveal() : secret;
    if (value && value.length >= 4) result = result.split(value).join(REDACTED);
  }
  // A bearer token that slipped into a message from elsewhere.
  return result.replace(/eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g, REDACTED);
}

/** Wraps an error from a library so that its message cannot carry the secrets given. */
export function redactError(error: unknown, secrets: Array<string | Secret | undefined>): string {
  const message = error instanceof Error ? error.message : String(error);
  return redact(message, secrets);
}
