import { createLogger, isLogLevel, type App, type LogLevel, type Logger } from '@stream-app/core';
import { CoreError } from '@stream-app/core';
import { loadApp } from '../loader/load-app.js';
import type { Io } from '../io.js';
import type { Command } from './command.js';
import type { WebServer } from '@stream-app/web';

const WORKER_HELP = `usage: stream-app worker -A <module>[:<export>] [options]

Runs the app's agents: joins the consumer group, consumes, processes and produces until
SIGINT or SIGTERM, then drains, commits and closes.

options:
  -A, --app <module>     the module that creates the App: a .ts or .js file; the App is its
                         default export, its export named "app", or the export named after ':'
  -l, --loglevel <level> debug, info (default; or $STREAM_APP_LOG_LEVEL), warn or error
      --log-format <f>   pretty (default on a terminal) or json (one object per line)
  -h, --help             this text`;

export interface WorkerArgs {
  app?: string | undefined;
  loglevel?: string | undefined;
  'log-format'?: string | undefined;
}

function banner(app: App, principal: string, webUrl: string | undefined): string {
  const credentials = app.credentials;
  const rows: Array<[string, string]> = [
    ['app', app.id],
    ['broker', app.options.bootstrap],
    ['auth', credentials ? credentials.describe() : 'none (PLAINTEXT)'],
    ['principal', principal],
    ['group', app.id],
    [
      'agents',
      [...app.agents.values()]
        .map((agent) => `${agent.name} ← ${agent.topic.name}${agent.concurrency > 1 ? ` ×${agent.concurrency}` : ''}`)
        .join('\n') || 'none',
    ],
    ['topics', [...app.topics.values()].map((topic) => topic.name).join(', ')],
    ...(app.tables.size > 0
      ? [
          ['tables', [...app.tables.values()].map((table) => `${table.name} → ${table.changelogTopic}`).join('\n')] as [
            string,
            string,
          ],
        ]
      : []),
    ...(app.timers.length > 0
      ? [['timers', app.timers.map((timer) => `${timer.name} (${timer.description})`).join('\n')] as [string, string]]
      : []),
    ['dead letters', `${app.options.deadLetterTopic} (${app.options.onBadMessage})`],
    ...(webUrl
      ? [
          [
            'web',
            `${webUrl} (${app.options.web?.auth ? `bearer tokens, ${app.options.web.auth.mode}` : 'no auth'}; /health /ready /metrics${app.pages.length > 0 ? `, ${app.pages.length} page(s)` : ''})`,
          ] as [string, string],
        ]
      : []),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows
    .map(([name, value]) =>
      value
        .split('\n')
        .map((line, index) => `  ${(index === 0 ? name : '').padEnd(width)}  ${line}`)
        .join('\n'),
    )
    .join('\n');
}

export const workerCommand: Command = {
  name: 'worker',
  summary: "run the app's agents (stream-app worker -A ./src/app.ts)",
  help: WORKER_HELP,
  options: {
    app: { type: 'string', short: 'A' },
    loglevel: { type: 'string', short: 'l' },
    'log-format': { type: 'string' },
  },
  run: (values, _positionals, { io, cwd }) => runWorker(values as WorkerArgs, io, cwd),
};

/** `stream-app worker`: runs until a signal (exit 0 after a clean stop) or a failure (exit 1). */
async function runWorker(args: WorkerArgs, io: Io, cwd: string): Promise<number> {
  if (!args.app) {
    io.err(`${WORKER_HELP}\n\nerror: -A <module> is required`);
    return 2;
  }
  const level = args.loglevel ?? io.env.STREAM_APP_LOG_LEVEL ?? 'info';
  if (!isLogLevel(level)) {
    io.err(`error: --loglevel must be debug, info, warn or error, got "${level}"`);
    return 2;
  }
  const format = args['log-format'];
  if (format !== undefined && format !== 'pretty' && format !== 'json') {
    io.err(`error: --log-format must be pretty or json, got "${format}"`);
    return 2;
  }
  // librdkafka holds a libuv thread per connecting client; the default 4 let a few slow connects stall the rest.
  io.env.UV_THREADPOOL_SIZE ??= '16';
  const logger = createLogger({ level: level as LogLevel, ...(format ? { format } : {}), write: io.err });
  let app: App;
  try {
    app = await loadApp(args.app, cwd);
  } catch (error) {
    logger.error('cannot load the app', { error: error as Error });
    return 1;
  }
  app.setLogger(logger.child({ app: app.id }));
  // Listen before anything is printed: a supervisor may signal as soon as it sees "ready".
  let signalled: (signal: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
  process.once('SIGINT', signalled);
  process.once('SIGTERM', signalled);
  // A rejection nobody watches would end the process with no word of what the app was doing: it fails
  // the app with a code instead, and the worker stops cleanly.
  const unhandled = (reason: unknown) =>
    app.fail(
      new CoreError(
        'STREAM_APP_ERR_UNHANDLED',
        `a promise rejected and nothing handled it: ${reason instanceof Error ? reason.message : String(reason)}`,
        { cause: reason, details: { where: 'unhandledRejection' } },
      ),
    );
  process.on('unhandledRejection', unhandled);
  io.out(`stream-app worker: starting ${app.id} against ${app.options.bootstrap}…`);
  const started = Date.now();
  const failure = new Promise<Error>((resolve) => app.once('failed', resolve));
  let web: WebServer | undefined;
  try {
    // Up before the app starts: /health answers and /ready says what it waits for while it joins and recovers.
    if (app.options.web) web = await (await import('@stream-app/web')).startWebServer(app);
    await app.start();
  } catch (error) {
    logger.error('the app could not start', { error: error as Error });
    await web?.close().catch(() => {});
    await boundedStop(app, logger).catch(() => {});
    process.off('unhandledRejection', unhandled);
    return 1;
  }
  io.out(
    `\n${banner(app, await app.principal(), web?.url)}\n\nready in ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops gracefully.\n`,
  );

  const outcome = await Promise.race([
    signal.then((received) => ({ signal: received, error: undefined })),
    failure.then((error) => ({ signal: undefined, error })),
  ]);
  if (outcome.signal) {
    io.out(`\n${outcome.signal}: stopping — agents finish what they hold, then offsets are committed…`);
  }
  // From now on a signal means "now".
  process.off('SIGINT', signalled);
  process.off('SIGTERM', signalled);
  const force = (received: NodeJS.Signals) => {
    io.err(`${received}: exiting without waiting for the graceful stop`);
    process.exit(130);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  const stopping = Date.now();
  // The web server goes first: a worker that stops withdraws from the members topic while it can send.
  await web?.close().catch((error: unknown) => logger.warn('closing the web server failed', { error: error as Error }));
  await boundedStop(app, logger);
  process.off('unhandledRejection', unhandled);
  const stats = app.stats();
  io.out(
    `stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s: ${stats.received} received, ` +
      `${stats.deadLettered} dead-lettered, ${stats.commits} commits.`,
  );
  return outcome.error ? 1 : 0;
}

/**
 * Stops the app. Each step of a stop is bounded on its own (agents by shutdownTimeoutMs, the client by
 * its timeouts), but a client that cannot reach the broker may hold a close for minutes: past twice the
 * shutdown timeout and 15 s, the process exits 1 without waiting.
 */
async function boundedStop(app: App, logger: Logger): Promise<void> {
  const boundMs = 2 * app.options.shutdownTimeoutMs + 15_000;
  const bound = setTimeout(() => {
    logger.error(`the app did not stop within ${boundMs} ms; exiting without waiting`, {
      code: 'STREAM_APP_ERR_SHUTDOWN_TIMEOUT',
      shutdownTimeoutMs: app.options.shutdownTimeoutMs,
    });
    process.exit(1);
  }, boundMs);
  bound.unref();
  try {
    await app.stop();
  } finally {
    clearTimeout(bound);
  }
}
