/** What a command may touch, so that tests can run commands in-process. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  /** Whether stdout is a terminal (colors, progress lines that end in place). */
  isTTY?(): boolean;
  /** Raw text to stdout, without a newline (a progress line). */
  write?(text: string): void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  isTTY: () => process.stdout.isTTY === true,
  write: (text) => process.stdout.write(text),
};
