import { APP_HELP, APP_OPTIONS, appOf, text, UsageError, type Command } from './command.js';

export const sendCommand: Command = {
  name: 'send',
  summary: "send one message to a topic, checked against the topic's Record type",
  help: `usage: stream-app send -A <module> <topic> --value <json> [--key <key>] [--json]

Decodes the value with the topic's value type, as an agent would receive it: a Record's every rule
is checked, and a value that breaks one is refused with each field path, nothing sent. Then it
connects as the app (declaring its topics when the app may) and sends.

options:
${APP_HELP}
      --value <json>             the message value (JSON for json and Record topics)
      --key <key>                the message key, in the topic's key type (default string)`,
  options: { ...APP_OPTIONS, value: { type: 'string' }, key: { type: 'string' } },
  positionals: true,
  async run(values, positionals, context) {
    const [name, ...extra] = positionals;
    if (!name || extra.length > 0)
      throw new UsageError('give exactly one topic: stream-app send <topic> --value <json>');
    const value = text(values, 'value');
    if (value === undefined) throw new UsageError('--value <json> is required');
    const app = await appOf(values, context);
    const { out } = context;
    const declared = app.topics.get(name);
    if (!declared) {
      out.line(out.mark('warn', `${app.id} declares no topic '${name}': the value is sent as JSON, unchecked`));
    }
    const topic = declared ?? app.topic(name);
    // Decoded as the agent will decode it: a Record topic checks every rule here, before anything connects.
    const decoded = topic.valueCodec.decode(Buffer.from(value));
    const key = text(values, 'key');
    const decodedKey = key === undefined ? undefined : topic.keyCodec.decode(Buffer.from(key));
    try {
      await out.step(
        `sending to ${name} on ${app.options.bootstrap}`,
        async () => {
          await app.connect();
          await topic.send({ value: decoded, ...(decodedKey === undefined ? {} : { key: decodedKey }) });
        },
        () => `sent to ${name}${key === undefined ? '' : ` with key ${JSON.stringify(key)}`}`,
      );
    } finally {
      await app.stop().catch(() => {});
    }
    out.result({ sent: { topic: name, key: key ?? null } });
    return 0;
  },
};
