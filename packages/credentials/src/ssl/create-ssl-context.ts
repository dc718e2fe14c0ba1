import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Agent } from 'undici';
import { CredentialsError } from '../errors.js';
import { Secret } from '../secrets.js';

export interface SslContextOptions {
  /** Path of a PEM file with the CA certificates to trust. */
  cafile?: string;
  /** The same, as PEM text. */
  ca?: string;
  /** Client certificate (PEM file) for mutual TLS. */
  certfile?: string;
  /** Client private key (PEM file) for mutual TLS. */
  keyfile?: string;
  /** Passphrase of an encrypted key. */
  password?: string;
  /** Check that the server certificate names the host connected to (default true). */
  checkHostname?: boolean;
}

/** TLS settings in one place, for the Kafka client (librdkafka `ssl.*`) and for HTTPS calls to the identity provider. */
export interface SslContext {
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly checkHostname: boolean;
  /** librdkafka configuration properties. */
  kafkaConfig(): Record<string, string>;
  /** An undici dispatcher that trusts this CA and presents this certificate (for fetch). */
  httpsDispatcher(): Agent;
}

/** Like Python's `ssl.create_default_context(cafile=...)` (what Faust takes): reads and checks the PEM files up front. */
export function createSslContext(options: SslContextOptions = {}): SslContext {
  const ca = options.ca ?? (options.cafile ? readPem(options.cafile, 'cafile', 'CERTIFICATE') : undefined);
  if (options.ca !== undefined && !options.ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CredentialsError(
      'STREAM_APP_ERR_SSL',
      'ca must be PEM text with at least one "-----BEGIN CERTIFICATE-----" block',
    );
  }
  if (Boolean(options.certfile) !== Boolean(options.keyfile)) {
    throw new CredentialsError('STREAM_APP_ERR_SSL', 'mutual TLS needs both certfile and keyfile');
  }
  const cert = options.certfile ? readPem(options.certfile, 'certfile', 'CERTIFICATE') : undefined;
  const key = options.keyfile ? new Secret(readPem(options.keyfile, 'keyfile', 'PRIVATE KEY')) : undefined;
  const password = options.password === undefined ? undefined : new Secret(options.password);
  const checkHostname = options.checkHostname ?? true;
  let dispatcher: Agent | undefined;

  const context: SslContext = {
    ca,
    cert,
    checkHostname,
    kafkaConfig() {
      return {
        ...(ca ? { 'ssl.ca.pem': ca } : {}),
        ...(cert ? { 'ssl.certificate.pem': cert } : {}),
        ...(key ? { 'ssl.key.pem': key.reveal() } : {}),
        ...(password ? { 'ssl.key.password': password.reveal() } : {}),
        'ssl.endpoint.identification.algorithm': checkHostname ? 'https' : 'none',
      };
    },
    httpsDispatcher() {
      dispatcher ??= new Agent({
        connect: {
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key: key.reveal() } : {}),
          ...(password ? { passphrase: password.reveal() } : {}),
          ...(checkHostname ? {} : { checkServerIdentity: () => undefined }),
        },
      });
      return dispatcher;
    },
  };
  Object.defineProperty(context, inspect.custom, {
    value: () =>
      `SslContext(ca: ${ca ? 'custom' : 'system'}, client certificate: ${cert ? 'yes' : 'no'}, checkHostname: ${checkHostname})`,
  });
  Object.defineProperty(context, 'toJSON', {
    value: () => ({ ca: ca ? 'custom' : 'system', clientCertificate: Boolean(cert), checkHostname }),
  });
  return context;
}

function readPem(path: string, option: string, kind: 'CERTIFICATE' | 'PRIVATE KEY'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CredentialsError(
      'STREAM_APP_ERR_SSL',
      `${option} ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(text)) {
    throw new CredentialsError(
      'STREAM_APP_ERR_SSL',
      `${option} ${path} is not a PEM file with a ${kind.toLowerCase()}`,
    );
  }
  return text;
}
