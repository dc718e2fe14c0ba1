import type { Io } from '../io.js';

/** How a check or step ended, as `doctor`, `acls --check` and progress lines print it. */
export type Mark = 'ok' | 'fail' | 'warn' | 'info';

const MARKS: { [mark in Mark]: { symbol: string; plain: string; color: number } } = {
  ok: { symbol: '✓', plain: 'ok  ', color: 32 },
  fail: { symbol: '✗', plain: 'FAIL', color: 31 },
  warn: { symbol: '!', plain: 'warn', color: 33 },
  info: { symbol: '·', plain: '    ', color: 36 },
};

/**
 * What a command prints. On a terminal: colors and progress lines that end in place; piped: plain
 * lines, no escape codes; with `--json`: nothing but one JSON document at the end, for scripts.
 */
export class Output {
  readonly json: boolean;
  readonly #io: Io;
  readonly #color: boolean;
  readonly #live: boolean;

  constructor(io: Io, options: { json?: boolean | undefined } = {}) {
    this.#io = io;
    this.json = options.json === true;
    const tty = io.isTTY?.() ?? false;
    // NO_COLOR (https://no-color.org) wins; FORCE_COLOR turns colors on when piped.
    const force = io.env.FORCE_COLOR;
    this.#color = !io.env.NO_COLOR && (force === undefined || force === '' ? tty : force !== '0' && force !== 'false');
    this.#live = tty && !this.json;
  }

  /** A line of human output (dropped under --json). */
  line(text = ''): void {
    if (!this.json) this.#io.out(text);
  }

  /** A problem: to stderr, also under --json (scripts read stdout). */
  error(text: string): void {
    this.#io.err(this.#color ? `\u001b[31m${text}\u001b[39m` : text);
  }

  /** The one result of a `--json` run. */
  result(value: unknown): void {
    if (this.json) this.#io.out(JSON.stringify(value, null, 2));
  }

  bold(text: string): string {
    return this.#color ? `\u001b[1m${text}\u001b[22m` : text;
  }

  dim(text: string): string {
    return this.#color ? `\u001b[2m${text}\u001b[22m` : text;
  }

  /** How many columns `mark()` puts before its text. */
  get markWidth(): number {
    return this.#color || this.#live ? 2 : 5;
  }

  /** `✓ text` in green on a terminal, `ok   text` when piped. */
  mark(mark: Mark, text: string): string {
    const { symbol, plain, color } = MARKS[mark];
    return this.#color ? `\u001b[${color}m${symbol}\u001b[39m ${text}` : `${this.#live ? symbol : plain} ${text}`;
  }

  /** Rows under a header, columns padded to their widest cell. */
  table(header: string[], rows: string[][]): void {
    if (this.json) return;
    const widths = header.map((name, column) =>
      Math.max(name.length, ...rows.map((row) => (row[column] ?? '').length)),
    );
    const format = (cells: string[]) =>
      cells
        .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd();
    this.line(this.bold(format(header)));
    for (const row of rows) this.line(format(row));
  }

  /**
   * A step that takes a while: `label…` now, then its outcome on the same line (a terminal) or the next
   * (piped). Under --json it prints nothing.
   */
  async step<T>(
    label: string,
    work: () => Promise<T>,
    done?: (value: T) => string | { mark: Mark; text: string },
  ): Promise<T> {
    if (this.json) return work();
    const started = Date.now();
    if (this.#live) this.#io.write?.(`${this.dim('›')} ${label}…`);
    else this.#io.out(`› ${label}…`);
    const clear = () => this.#live && this.#io.write?.('\r\u001b[2K');
    try {
      const value = await work();
      clear();
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const outcome = done ? done(value) : label;
      const { mark, text } = typeof outcome === 'string' ? { mark: 'ok' as const, text: outcome } : outcome;
      this.#io.out(this.mark(mark, `${text} ${this.dim(`(${seconds} s)`)}`));
      return value;
    } catch (error) {
      clear();
      this.#io.out(this.mark('fail', label));
      throw error;
    }
  }
}
