/** What a test needs to reach a running test broker; plain data, so it crosses process boundaries. */
export interface KafkaInfo {
  version: string;
  bootstrap: {
    /** SASL_PLAINTEXT with PLAIN (the super user `admin`, or `passwordUser`) or SCRAM (`passwordUser`). */
    admin: string;
    /** SASL_PLAINTEXT + OAUTHBEARER. */
    oauth: string;
    /** SASL_SSL + OAUTHBEARER, certificate signed by `caFile`. */
    oauthSsl: string;
    /** SASL_PLAINTEXT + OAUTHBEARER listeners asked for with `reauthListeners`, by `connections.max.reauth.ms`. */
    reauth: { [reauthMs: number]: string };
  };
  caFile: string;
  adminUser: { username: string; password: string };
  /** A user of the admin listener by PLAIN or SCRAM-SHA-256/512, not a super user: the same authorization work as an OAuth principal. */
  passwordUser: { username: string; password: string };
  /** Folder of this broker's configuration, data and log. */
  dataDir: string;
  logFile: string;
  /** Classpath folder, for Kafka's own tools. */
  lib: string;
}
