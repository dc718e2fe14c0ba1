// Small helpers for pleasant, honest script output.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
export const bold = (t) => paint('1', t);
export const dim = (t) => paint('2', t);
export const green = (t) => paint('32', t);
export const red = (t) => paint('31', t);

export function info(message) {
  process.stdout.write(`${dim('›')} ${message}\n`);
}

/** Runs `fn`, printing what it does and how long it took. */
export function step(label, fn) {
  const started = Date.now();
  process.stdout.write(`${dim('›')} ${label}…\n`);
  const result = fn();
  process.stdout.write(`${green('✓')} ${label} ${dim(`(${((Date.now() - started) / 1000).toFixed(1)} s)`)}\n`);
  return result;
}

/** `step` for work that returns a promise. */
export async function stepAsync(label, fn) {
  const started = Date.now();
  process.stdout.write(`${dim('›')} ${label}…\n`);
  const result = await fn();
  process.stdout.write(`${green('✓')} ${label} ${dim(`(${((Date.now() - started) / 1000).toFixed(1)} s)`)}\n`);
  return result;
}

export function fail(message) {
  process.stderr.write(`${red('✗')} ${message}\n`);
  process.exit(1);
}
