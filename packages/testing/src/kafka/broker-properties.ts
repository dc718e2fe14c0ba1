export interface BrokerPorts {
  controller: number;
  admin: number;
  oauth: number;
  oauthSsl: number;
  /** More SASL_PLAINTEXT OAUTHBEARER listeners, by their `connections.max.reauth.ms`. */
  reauth: Array<{ reauthMs: number; port: number }>;
}

export interface BrokerPropertiesInput {
  ports: BrokerPorts;
  logDir: string;
  adminPassword: string;
  /** A user of the admin listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) that is not a super user: its ACLs apply. */
  passwordUser: { username: string; password: string };
  keystoreFile: string;
  keystorePassword: string;
  jwksUri: string;
  issuer: string;
  audience: string;
  /** `connections.max.reauth.ms` on the OAuth listeners; 0 = never re-authenticate. */
  reauthMs: number;
  jwksRefreshMs: number;
  extra: Record<string, string | number | boolean>;
}

const PLAIN_LOGIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SCRAM_LOGIN = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const OAUTH_LOGIN = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule';
// Without this handler Kafka accepts UNSIGNED tokens: never leave it out.
const OAUTH_VALIDATOR = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler';

/** server.properties for one combined broker + controller with PLAIN admin and two OAUTHBEARER listeners. */
export function brokerProperties(input: BrokerPropertiesInput): string {
  const { ports } = input;
  const plainJaas = `${PLAIN_LOGIN} required username="admin" password="${input.adminPassword}" user_admin="${input.adminPassword}";`;
  const adminListenerJaas = plainJaas.replace(
    /;$/,
    ` user_${input.passwordUser.username}="${input.passwordUser.password}";`,
  );
  const oauthListener = (name: string, reauthMs = input.reauthMs): Record<string, string | number> => ({
    [`listener.name.${name}.sasl.enabled.mechanisms`]: 'OAUTHBEARER',
    [`listener.name.${name}.oauthbearer.sasl.jaas.config`]: `${OAUTH_LOGIN} required ;`,
    [`listener.name.${name}.oauthbearer.sasl.server.callback.handler.class`]: OAUTH_VALIDATOR,
    [`listener.name.${name}.oauthbearer.connections.max.reauth.ms`]: reauthMs,
  });
  const reauthListeners = ports.reauth.map(({ reauthMs, port }) => ({
    name: reauthListenerName(reauthMs),
    port,
    reauthMs,
  }));
  // Every listener but the controller's is advertised.
  const advertised = [
    `ADMIN://127.0.0.1:${ports.admin}`,
    `OAUTH://127.0.0.1:${ports.oauth}`,
    `OAUTH_SSL://127.0.0.1:${ports.oauthSsl}`,
    ...reauthListeners.map(({ name, port }) => `${name}://127.0.0.1:${port}`),
  ];
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${ports.controller}`,
    listeners: [`CONTROLLER://127.0.0.1:${ports.controller}`, ...advertised].join(','),
    'advertised.listeners': advertised.join(','),
    'listener.security.protocol.map': [
      'CONTROLLER:SASL_PLAINTEXT,ADMIN:SASL_PLAINTEXT,OAUTH:SASL_PLAINTEXT,OAUTH_SSL:SASL_SSL',
      ...reauthListeners.map(({ name }) => `${name}:SASL_PLAINTEXT`),
    ].join(','),
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'ADMIN',
    'sasl.mechanism.controller.protocol': 'PLAIN',
    'sasl.mechanism.inter.broker.protocol': 'PLAIN',
    'listener.name.controller.sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.controller.plain.sasl.jaas.config': plainJaas,
    'listener.name.admin.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.admin.scram-sha-256.sasl.jaas.config': `${SCRAM_LOGIN} required ;`,
    'listener.name.admin.scram-sha-512.sasl.jaas.config': `${SCRAM_LOGIN} required ;`,
    'listener.name.admin.plain.sasl.jaas.config': adminListenerJaas,
    ...oauthListener('oauth'),
    ...oauthListener('oauth_ssl'),
    ...Object.assign({}, ...reauthListeners.map(({ name, reauthMs }) => oauthListener(name.toLowerCase(), reauthMs))),
    'listener.name.oauth_ssl.ssl.keystore.type': 'PKCS12',
    'listener.name.oauth_ssl.ssl.keystore.location': input.keystoreFile,
    'listener.name.oauth_ssl.ssl.keystore.password': input.keystorePassword,
    'listener.name.oauth_ssl.ssl.key.password': input.keystorePassword,
    'sasl.oauthbearer.jwks.endpoint.url': input.jwksUri,
    'sasl.oauthbearer.jwks.endpoint.refresh.ms': input.jwksRefreshMs,
    'sasl.oauthbearer.expected.issuer': input.issuer,
    'sasl.oauthbearer.expected.audience': input.audience,
    'sasl.oauthbearer.sub.claim.name': 'sub',
    'sasl.oauthbearer.scope.claim.name': 'scope',
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': false,
    'super.users': 'User:admin',
    'log.dirs': input.logDir,
    'auto.create.topics.enable': false,
    'num.partitions': 1,
    'offsets.topic.replication.factor': 1,
    // Fewer internal partitions: a single test broker creates them much faster.
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.num.partitions': 5,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    // A transaction past its timeout is aborted (and its producer fenced) within a second, not ten.
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': 1000,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'num.network.threads': 2,
    'num.io.threads': 4,
    ...input.extra,
  };
  return Object.entries(properties)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join('\n')
    .concat('\n');
}

/** The listener that re-authenticates every `reauthMs` (0: never). */
function reauthListenerName(reauthMs: number): string {
  return `OAUTH_REAUTH_${reauthMs}`;
}

export const LOG4J2_PROPERTIES = `status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
logger.coordinator.name = org.apache.kafka.coordinator
logger.coordinator.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
# Names the check a refused token failed (issuer, audience, expiry, signature).
logger.oauth.name = org.apache.kafka.common.security.oauthbearer
logger.oauth.level = DEBUG
logger.authenticator.name = org.apache.kafka.common.security.authenticator
logger.authenticator.level = DEBUG
`;
