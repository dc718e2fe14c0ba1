import { inspect } from 'node:util';
import { Secret } from '../secrets.js';
import { AbstractTokenProvider } from '../token/abstract-token-provider.js';
import type { AccessToken } from '../token/access-token.js';

/** Always the same token: for tests and short scripts. A JWT's `exp` and `sub` are honoured. */
export class StaticTokenProvider extends AbstractTokenProvider {
  readonly #token: Secret;
  readonly #details: Omit<AccessToken, 'value'> | undefined;

  constructor(token: string | AccessToken) {
    super();
    if (typeof token === 'string') {
      this.#token = new Secret(token);
    } else {
      const { value, ...details } = token;
      this.#token = new Secret(value);
      this.#details = details;
    }
  }

  async token(): Promise<AccessToken | string> {
    return this.#details ? { ...this.#details, value: this.#token.reveal() } : this.#token.reveal();
  }

  override describe(): string {
    return 'a static token';
  }

  [inspect.custom]() {
    return 'StaticTokenProvider([redacted])';
  }

  toJSON() {
    return { provider: 'static' };
  }
}
