import { readFile, stat } from 'node:fs/promises';
import { CredentialsError } from '../errors.js';
import { AbstractTokenProvider } from '../token/abstract-token-provider.js';
import type { AccessToken } from '../token/access-token.js';
import { toAccessToken } from '../token/access-token.js';

export interface FileTokenOptions {
  /** e.g. /var/run/secrets/kubernetes.io/serviceaccount/token */
  path: string;
  /** Lifetime of a token without `exp` (default 5 min; the file is re-read when it changes anyway). */
  defaultLifetimeMs?: number;
}

/** Reads a mounted token (a Kubernetes projected service-account token, say) and re-reads it when the file changes. */
export class FileTokenProvider extends AbstractTokenProvider {
  readonly #options: FileTokenOptions;
  #cached: { mtimeMs: number; size: number; value: string } | undefined;

  constructor(options: FileTokenOptions) {
    super();
    if (!options.path) throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', 'FileTokenProvider needs a path');
    this.#options = options;
  }

  async token(): Promise<AccessToken> {
    const { path } = this.#options;
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        `cannot read the token file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        {
          retriable: true,
        },
      );
    }
    if (this.#cached && this.#cached.mtimeMs === info.mtimeMs && this.#cached.size === info.size) {
      return this.#asToken(this.#cached.value);
    }
    const value = (await readFile(path, 'utf8')).trim();
    if (!value)
      throw new CredentialsError('STREAM_APP_ERR_INVALID_TOKEN', `the token file ${path} is empty`, {
        retriable: true,
      });
    this.#cached = { mtimeMs: info.mtimeMs, size: info.size, value };
    return this.#asToken(value);
  }

  // Recomputed on every read: an opaque token's expiry counts from this read, not from the first one.
  #asToken(value: string): AccessToken {
    return toAccessToken(value, this.#options.defaultLifetimeMs ?? 300_000);
  }

  override describe(): string {
    return `the token file ${this.#options.path}`;
  }
}
