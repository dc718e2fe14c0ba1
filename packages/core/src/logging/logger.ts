import { StreamAppError } from '../errors/index.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = { [name: string]: unknown };

export interface Logger {
  readonly level: LogLevel;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** `pretty` for people (the default on a terminal), `json` for log collectors: one object per line. */
  format?: 'pretty' | 'json';
  write?: (line: string) => void;
}

const RANK: { [level in LogLevel]: number } = { debug: 10, info: 20, warn: 30, error: 40 };
const LABEL: { [level in LogLevel]: string } = { debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR' };

export function isLogLevel(value: string): value is LogLevel {
  return value in RANK;
}

/** Structured logs: a message and named fields, never a payload. Errors print as their code and message. */
export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (at: LogLevel, message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    const all = { ...bound, ...fields };
    if (format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level: at, msg: message, ...plainFields(all) }));
      return;
    }
    const rest = Object.entries(plainFields(all))
      .map(
        ([name, value]) => `${name}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`,
      )
      .join(' ');
    write(`${new Date().toISOString().slice(11, 23)} ${LABEL[at]} ${message}${rest ? `  ${rest}` : ''}`);
  };
  return {
    level,
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    child: (fields) => createLogger({ level, format, write }, { ...bound, ...fields }),
  };
}

function plainFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[name] = value instanceof Error ? describeError(value) : value;
  }
  return out;
}

/** An error as a log field: its code and message, and for errors not raised on purpose the stack. */
export function describeError(error: Error): LogFields {
  if (error instanceof StreamAppError) return { code: error.code, message: error.message };
  return { name: error.name, message: error.message, stack: error.stack?.split('\n').slice(1, 6).join('\n') };
}
