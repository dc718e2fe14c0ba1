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
            // librdkafka calls this for the first token and again at 80% of its life: a fresh token, so that
            // no re-authentication presents one about to expire (TokenLifecycle.freshToken says why).
            oauthBearerProvider: async () => {
              const token = await lifecycle.freshToken();
              const merged = { ...token.extensions, ...extensions };
              return {
                value: token.value,
                principal: token.principal ?? 'unknown',
                lifetime: token.expiresAt,
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
