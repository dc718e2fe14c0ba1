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
      --key <key>                the message key, in the topic's key type (default string)
      --any-topic                send to a topic the app does not declare: the value must be JSON, and
                                 the topic must exist (it is not created)`,
  options: { ...APP_OPTIONS, value: { type: 'string' }, key: { type: 'string' }, 'any-topic': { type: 'boolean' } },
  positionals: true,
  async run(values, positionals, context) {
    const [name, ...extra] = positionals;
    if (!name || extra.length > 0)
      throw new UsageError('give exactly one topic: stream-app send <topic> --value <json>');
    const value = text(values, 'value');
    if (value === undefined) throw new UsageError('--value <json> is required');
    const app = await appOf(values, context);
    const { out } = context;
    const topic = app.topics.get(name);
    const key = text(values, 'key');
    // A mistyped name must not become a topic: an undeclared one needs --any-topic and is never declared.
    if (!topic && !values['any-topic']) {
      throw new UsageError(
        `${app.id} declares no topic '${name}' (it has ${[...app.topics.keys()].join(', ') || 'none'}); give --any-topic to send raw JSON to it anyway`,
      );
    }
    if (!topic) JSON.parse(value);
    // Decoded as the agent will decode it: a Record topic checks every rule here, before anything connects.
    const decoded = topic?.valueCodec.decode(Buffer.from(value));
    const decodedKey = key === undefined || !topic ? undefined : topic.keyCodec.decode(Buffer.from(key));
    try {
      await out.step(
        `sending to ${name} on ${app.options.bootstrap}`,
        async () => {
          await app.connect();
          if (topic) await topic.send({ value: decoded, ...(decodedKey === undefined ? {} : { key: decodedKey }) });
          else
            await app.produce({
              topic: name,
              key: key === undefined ? null : Buffer.from(key),
              value: Buffer.from(value),
            });
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
