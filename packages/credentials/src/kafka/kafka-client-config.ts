import { inspect } from 'node:util';
import type { Credentials } from '../credentials/credentials.js';
import { REDACTED } from '../secrets.js';

/** What the Kafka client's librdkafka needs in its token refresh callback. */
export interface KafkaOAuthBearerToken {
  value: string;
  principal: string;
  /** Absolute expiry, epoch milliseconds. */
  lifetime: number;
  extensions?: Record<string, string>;
}

/**
 * The part of a `@confluentinc/kafka-javascript` configuration that
 * credentials decide: `kafkaJS.ssl` and `kafkaJS.sasl`, plus librdkafka
 * `ssl.*` properties at the top level. Every consumer, producer and admin
 * client of an app is built from this one function.
 */
export interface KafkaClientSecurityConfig {
  kafkaJS: {
    ssl: boolean;
    sasl?:
      | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
      | { mechanism: 'oauthbearer'; oauthBearerProvider: () => Promise<KafkaOAuthBearerToken> };
  };
  [librdkafkaProperty: string]: unknown;
}

export function kafkaClientConfig(credentials: Credentials | undefined): KafkaClientSecurityConfig {
  return hideSecrets(securityConfig(credentials));
}

/** The configuration holds a password or key: logging it must not print them (non-enumerable, so the client ignores these). */
function hideSecrets(config: KafkaClientSecurityConfig): KafkaClientSecurityConfig {
  const describe = () => ({
    kafkaJS: {
      ssl: config.kafkaJS.ssl,
      ...(config.kafkaJS.sasl ? { sasl: { mechanism: config.kafkaJS.sasl.mechanism } } : {}),
    },
    ...Object.fromEntries(
      Object.keys(config)
        .filter((key) => key !== 'kafkaJS')
        .map((key) => [key, REDACTED]),
    ),
  });
  Object.defineProperty(config, 'toJSON', { value: describe });
  Object.defineProperty(config, inspect.custom, { value: () => describe() });
  return config;
}

/**
 * The expiry librdkafka is told: three quarters of the token's remaining life, so that it asks for the
 * next token at 60 % of it rather than 80 %. The broker ends a session at the token's real expiry and
 * librdkafka re-authenticates at 90 % of a session, so a session opened with this token meets its
 * re-authentication at least 30 % of a lifetime after librdkafka has the next one (3 s for 10 s tokens,
 * where 80 % left 1 s, less than a token request sometimes took).
 */
export function refreshHint(expiresAt: number, now = Date.now()): number {
  // Never now or earlier: librdkafka refuses a token it is told has expired.
  return Math.max(now + 1, Math.round(now + (expiresAt - now) * 0.75));
}

function securityConfig(credentials: Credentials | undefined): KafkaClientSecurityConfig {
  if (!credentials) return { kafkaJS: { ssl: false } };
  const ssl = credentials.ssl;
  const tls = ssl ? ssl.kafkaConfig() : {};
  switch (credentials.kind) {
    case 'oauth': {
      const { lifecycle, extensions } = credentials;
      return {
        kafkaJS: {
          ssl: Boolean(ssl),
          sasl: {
            mechanism: 'oauthbearer',
            // librdkafka calls this for the first token and again at 80% of the life it was told: a fresh
            // token, so that no re-authentication presents one about to expire (TokenLifecycle.freshToken).
            oauthBearerProvider: async () => {
              const token = await lifecycle.freshToken();
              const merged = { ...token.extensions, ...extensions };
              return {
                value: token.value,
                principal: token.principal ?? 'unknown',
                lifetime: refreshHint(token.expiresAt),
                ...(Object.keys(merged).length > 0 ? { extensions: merged } : {}),
              };
            },
          },
        },
        ...tls,
      };
    }
    case 'sasl':
      return {
        kafkaJS: {
          ssl: Boolean(ssl),
          sasl: {
            mechanism: credentials.mechanism.toLowerCase() as 'plain' | 'scram-sha-256' | 'scram-sha-512',
            username: credentials.username,
            password: credentials.password.reveal(),
          },
        },
        ...tls,
      };
    case 'ssl':
      return { kafkaJS: { ssl: true }, ...tls };
  }
}
