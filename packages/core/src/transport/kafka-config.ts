import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { kafkaClientConfig, type Credentials } from '@stream-app/credentials/kafka';
import { withSecurityDebug, type ConnectionLog } from '../kafka/connection-log.js';
import type { Logger } from '../logging/logger.js';

/** librdkafka properties, typed by the client's own declarations. */
export type LibrdkafkaConfig = Omit<KafkaJS.CommonConstructorConfig, 'kafkaJS'>;

export interface KafkaTransportOptions {
  bootstrap: string;
  credentials?: Credentials;
  /** `User:<name>` the broker will see, for errors about ACLs. */
  principal: () => Promise<string>;
  logger: Logger;
  /** librdkafka properties for every client (e.g. `client.id`), below the ones stream-app sets. */
  clientConfig?: LibrdkafkaConfig;
  /** Reads what the clients log about their connections (the transport makes one when not given). */
  connections?: ConnectionLog;
}

/**
 * Over OAUTHBEARER, librdkafka's `security` debug context (added to the user's): its lines say when a
 * connection authenticates and re-authenticates, which `ConnectionLog` counts. About ten lines per
 * authentication, logged at debug level.
 */
function debugConfig(options: KafkaTransportOptions): Pick<LibrdkafkaConfig, 'debug'> {
  // OAUTHBEARER only: the broker gives its sessions a lifetime (the token's), which PLAIN and SCRAM lack
  // unless connections.max.reauth.ms is set.
  const sasl = options.credentials?.kind === 'oauth';
  if (!sasl) return options.clientConfig?.debug ? { debug: options.clientConfig.debug } : {};
  return { debug: withSecurityDebug(options.clientConfig?.debug) as LibrdkafkaConfig['debug'] };
}

/** The configuration every client of the transport is built from: the user's properties, then the credentials'. */
export function commonConfig(options: KafkaTransportOptions, logger: KafkaJS.Logger): KafkaJS.CommonConstructorConfig {
  const { kafkaJS, ...librdkafka } = kafkaClientConfig(options.credentials);
  return {
    ...options.clientConfig,
    ...debugConfig(options),
    // The credentials' librdkafka part is only ssl.* properties, which the client's types spell as strings.
    ...(librdkafka as LibrdkafkaConfig),
    kafkaJS: { ...kafkaJS, brokers: options.bootstrap.split(','), logger },
  };
}

/**
 * The same configuration for the client's lower-level API (used by the partition reader), which
 * takes librdkafka's own names: security.protocol, sasl.*, and the token callback.
 */
export function librdkafkaConfig(options: KafkaTransportOptions): LibrdkafkaConfig {
  const { kafkaJS, ...librdkafka } = kafkaClientConfig(options.credentials);
  const sasl = kafkaJS.sasl;
  const config: LibrdkafkaConfig = {
    ...options.clientConfig,
    ...debugConfig(options),
    ...(librdkafka as LibrdkafkaConfig),
    'bootstrap.servers': options.bootstrap,
    'security.protocol': `${sasl ? 'sasl_' : ''}${kafkaJS.ssl ? 'ssl' : 'plaintext'}`,
  };
  if (sasl?.mechanism === 'oauthbearer') {
    const provider = sasl.oauthBearerProvider;
    Object.assign(config, {
      'sasl.mechanisms': 'OAUTHBEARER',
      oauthbearer_token_refresh_cb: async () => {
        const token = await provider();
        return {
          tokenValue: token.value,
          lifetime: token.lifetime,
          principal: token.principal,
          ...(token.extensions ? { extensions: token.extensions } : {}),
        };
      },
    });
  } else if (sasl) {
    Object.assign(config, {
      'sasl.mechanisms': sasl.mechanism.toUpperCase(),
      'sasl.username': sasl.username,
      'sasl.password': sasl.password,
    });
  }
  return config;
}
