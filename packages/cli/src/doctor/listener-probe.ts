import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** What one broker address answered to a SaslHandshake: whether it is reachable and which mechanisms it offers. */
export type ListenerProbe =
  | { reachable: false; error: string }
  | { reachable: true; sasl: false; tls: boolean }
  | { reachable: true; sasl: true; tls: boolean; mechanisms: string[] };

const SASL_HANDSHAKE = 17;
const ILLEGAL_SASL_STATE = 34;

/**
 * Asks a listener which SASL mechanisms it has enabled: a SaslHandshake v1 request (Kafka protocol,
 * key 17) with a mechanism no broker has, whose answer lists the enabled ones. A listener without
 * SASL answers ILLEGAL_SASL_STATE or closes. Nothing authenticates; the connection is closed after.
 */
export function probeListener(address: string, options: { tls: boolean; timeoutMs?: number }): Promise<ListenerProbe> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve) => {
    let settled = false;
    const done = (probe: ListenerProbe) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(probe);
    };
    const onConnect = () => socket.write(handshakeRequest());
    // The CA is not what is being checked here: the client's own connection checks it.
    const socket: Socket = options.tls
      ? tlsConnect({ host, port, servername: host, rejectUnauthorized: false }, onConnect)
      : tcpConnect({ host, port }, onConnect);
    socket.setTimeout(options.timeoutMs ?? 5000, () => done({ reachable: false, error: 'no answer within 5 s' }));
    let connected = false;
    socket.once(options.tls ? 'secureConnect' : 'connect', () => (connected = true));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      done(
        connected
          ? { reachable: true, sasl: false, tls: options.tls }
          : { reachable: false, error: error.code ?? error.message },
      ),
    );
    socket.on('close', () =>
      done(connected ? { reachable: true, sasl: false, tls: options.tls } : { reachable: false, error: 'closed' }),
    );
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < 4 + received.readInt32BE(0)) return;
      done(parseHandshake(received.subarray(4), options.tls));
    });
  });
}

function handshakeRequest(): Buffer {
  const clientId = Buffer.from('stream-app-doctor');
  const mechanism = Buffer.from('STREAM-APP-PROBE');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 2 + mechanism.length);
  let at = body.writeInt16BE(SASL_HANDSHAKE, 0);
  at = body.writeInt16BE(1, at); // version 1
  at = body.writeInt32BE(1, at); // correlation id
  at = body.writeInt16BE(clientId.length, at);
  at += clientId.copy(body, at);
  at = body.writeInt16BE(mechanism.length, at);
  mechanism.copy(body, at);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function parseHandshake(response: Buffer, tls: boolean): ListenerProbe {
  // correlation id (4), error code (2), mechanisms: int32 count, then int16-length strings
  const error = response.readInt16BE(4);
  if (error === ILLEGAL_SASL_STATE) return { reachable: true, sasl: false, tls };
  const mechanisms: string[] = [];
  let at = 6;
  const count = response.readInt32BE(at);
  at += 4;
  for (let index = 0; index < count && at < response.length; index++) {
    const length = response.readInt16BE(at);
    at += 2;
    mechanisms.push(response.toString('utf8', at, at + length));
    at += length;
  }
  return { reachable: true, sasl: true, tls, mechanisms };
}

function splitAddress(address: string): [string, number] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), Number(address.slice(index + 1))];
}
