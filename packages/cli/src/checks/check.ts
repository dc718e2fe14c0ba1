import type { Mark, Output } from '../output/output.js';

/** One line of `doctor` or `token --verify`: what was checked, how it went, and what to do when it failed. */
export interface Check {
  name: string;
  mark: Mark;
  message: string;
  /** What to change, when the check failed or warned. */
  fix?: string;
  /** The broker or client setting to compare, when one decides the outcome. */
  setting?: string;
}

export function printChecks(out: Output, checks: Check[]): void {
  const width = Math.max(0, ...checks.map((check) => check.name.length));
  for (const check of checks) {
    out.line(out.mark(check.mark, `${check.name.padEnd(width)}  ${check.message}`));
    const indent = ' '.repeat(out.markWidth + width + 2);
    if (check.setting && check.mark !== 'ok') out.line(`${indent}${out.dim(`compare: ${check.setting}`)}`);
    if (check.fix && check.mark !== 'ok') out.line(`${indent}fix: ${check.fix}`);
  }
}

/** 0 when nothing failed, 1 otherwise (warnings do not fail). */
export function exitCodeOf(checks: Check[]): number {
  return checks.some((check) => check.mark === 'fail') ? 1 : 0;
}
