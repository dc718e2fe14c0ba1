/** What a test needs to reach a running test broker; plain data, so it crosses process boundaries. */
export interface KafkaInfo {
  version: string;
  bootstrap: {
    /** SASL_PLAINTEXT + PLAIN as the super user `admin`. */
    admin: string;
    /** SASL_PLAINTEXT + OAUTHBEARER. */
    oauth: string;
    /** SASL_SSL + OAUTHBEARER, certificate signed by `caFile`. */
    oauthSsl: string;
  };
  caFile: string;
  adminUser: { username: string; password: string };
  /** A PLAIN user on the admin listener that is not a super user: the same authorization work as an OAuth principal. */
  plainUser: { username: string; password: string };
  /** Folder of this broker's configuration, data and log. */
  dataDir: string;
  logFile: string;
  /** Classpath folder, for Kafka's own tools. */
  lib: string;
}
