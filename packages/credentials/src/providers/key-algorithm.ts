import { createPrivateKey, type KeyObject } from 'node:crypto';
import { CredentialsError } from '../errors.js';

/** Reads a private key and the JWS algorithm it signs with; a key we cannot use fails at construction, not at the first fetch. */
export function signingKey(privateKey: string | KeyObject, what: string): { key: KeyObject; algorithm: string } {
  let key: KeyObject;
  try {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  } catch (error) {
    throw new CredentialsError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      `${what} is not a readable private key (PEM, PKCS#8 or PKCS#1): ${(error as Error).message}`,
    );
  }
  if (key.type !== 'private')
    throw new CredentialsError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      `${what} must be a private key, got a ${key.type} key`,
    );
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { key, algorithm: 'RS256' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const algorithm = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[curve ?? ''];
      if (algorithm) return { key, algorithm };
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `${what}: EC curve ${curve ?? 'unknown'} is not supported (use P-256, P-384 or P-521)`,
      );
    }
    case 'ed25519':
      return { key, algorithm: 'EdDSA' };
    default:
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `${what}: ${key.asymmetricKeyType ?? 'this'} keys are not supported (use RSA, EC or Ed25519)`,
      );
  }
}
