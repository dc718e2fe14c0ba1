// Sensor readings, authenticated to Kafka with tokens from Keycloak: `stream-app worker -A src/app.ts`.
// Everything that differs between a laptop and production comes from the environment (see README.md).
import { agent, App, service, type Stream } from '@stream-app/core';
import { keycloak } from '@stream-app/identity-providers';
import { PrincipalFromClaim } from './principal.js';
import { Reading } from './reading.js';

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name} (see examples/keycloak/README.md)`);
  return value;
}

/** Above this, a reading is reported as an alert. */
const ALERT_CELSIUS = Number(env('SENSORS_ALERT_CELSIUS', '30'));

export const app = new App({
  id: env('SENSORS_APP_ID', 'sensors'),
  broker: env('KAFKA_BOOTSTRAP'),
  credentials: new PrincipalFromClaim(
    // A Keycloak client with service accounts on; the token's aud comes from its audience mapper, not from here.
    keycloak({
      url: env('KEYCLOAK_URL'),
      realm: env('KEYCLOAK_REALM'),
      clientId: env('KEYCLOAK_CLIENT_ID'),
      clientSecret: env('KEYCLOAK_CLIENT_SECRET'),
      // Relaxes nothing for a real server: plain HTTP is allowed to 127.0.0.1/localhost only, all else must be HTTPS.
      allowInsecureLoopback: true,
    }),
    // Keycloak's sub is a UUID; the broker is set to take the client id from azp (see README.md).
    env('KAFKA_PRINCIPAL_CLAIM', 'azp'),
  ),
  topicPartitions: 3,
});

export const readings = app.topic(env('SENSORS_TOPIC', 'sensor-readings'), { valueType: Reading });

@service(app)
export class Monitor {
  @agent(readings)
  async watch(stream: Stream<Reading>) {
    for await (const reading of stream) {
      const alert = reading.celsius > ALERT_CELSIUS ? ' ALERT' : '';
      console.log(`sensor ${reading.sensorId} reads ${reading.celsius.toFixed(1)} °C${alert}`);
    }
  }
}
