import { inspect } from 'node:util';
import { AbstractTokenProvider, CredentialsError, StreamAppError, type AccessToken } from '@stream-app/credentials';

export interface HintedProviderOptions {
  /** The identity provider's name, put before each hint ("Okta: ..."). */
  name: string;
  describe: string;
  /** What `JSON.stringify` shows (never a secret). */
  json: Record<string, unknown>;
  /** What to change at the identity provider for a refused token request, if known. */
  hint: (error: StreamAppError) => string | undefined;
}

/** Wraps a provider so that its refusals say what to change at the identity provider. */
export class HintedProvider extends AbstractTokenProvider {
  readonly #inner: AbstractTokenProvider;
  readonly #options: HintedProviderOptions;

  constructor(inner: AbstractTokenProvider, options: HintedProviderOptions) {
    super();
    this.#inner = inner;
    this.#options = options;
  }

  async token(): Promise<AccessToken | string> {
    try {
      return await this.#inner.token();
    } catch (error) {
      throw this.#withHint(error);
    }
  }

  override describe(): string {
    return this.#options.describe;
  }

  [inspect.custom]() {
    return `${this.#options.name}TokenProvider(${this.describe()})`;
  }

  toJSON() {
    return this.#options.json;
  }

  #withHint(error: unknown): unknown {
    if (!(error instanceof StreamAppError) || error.code !== 'STREAM_APP_ERR_TOKEN_ENDPOINT') return error;
    const hint = this.#options.hint(error);
    if (!hint) return error;
    const separator = /[.!?)]$/.test(error.message) ? ' ' : '. ';
    return new CredentialsError(error.code, `${error.message}${separator}${this.#options.name}: ${hint}`, {
      retriable: error.retriable,
      cause: error,
      details: error.details,
    });
  }
}
