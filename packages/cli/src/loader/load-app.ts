import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from '@stream-app/core';
import { StreamAppError } from '@stream-app/credentials/errors';
import { CliError } from '../errors.js';

/** The App among a module's exports. */
function findApp(exports: { [name: string]: unknown }, exportName: string | undefined, modulePath: string): App {
  const isApp = (value: unknown): value is App =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as App).start === 'function' &&
    (value as App).agents instanceof Map &&
    typeof (value as App).id === 'string';
  const candidates = exportName ? [exports[exportName]] : [exports.default, exports.app, ...Object.values(exports)];
  const found = candidates.find(isApp);
  if (found) return found;
  throw new CliError(
    'STREAM_APP_ERR_APP_LOAD',
    exportName
      ? `${modulePath} has no App exported as "${exportName}" (exports: ${Object.keys(exports).join(', ') || 'none'})`
      : `${modulePath} exports no App: export it (export const app = new App({...})) or name it with -A ${modulePath}:<export>`,
  );
}

/** Loads the app module of `-A <module>[:<export>]` (TypeScript too) and finds its App. */
export async function loadApp(spec: string, cwd: string): Promise<App> {
  const match = /^(.*?)(?::([A-Za-z_$][\w$]*))?$/.exec(spec)!;
  const modulePath = match[1]!;
  const file = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath);
  if (!existsSync(file)) throw new CliError('STREAM_APP_ERR_APP_LOAD', `cannot find the app module ${file}`);
  // The hooks are compiled next to this file; run from sources (tests), the host already reads TypeScript.
  const hooks = new URL('./typescript-hooks.js', import.meta.url);
  if (/\.[cm]?ts$/.test(file) && existsSync(hooks)) register(hooks);
  let exports: { [name: string]: unknown };
  try {
    exports = (await import(pathToFileURL(file).href)) as { [name: string]: unknown };
  } catch (error) {
    if (error instanceof StreamAppError) throw error;
    const code = (error as { code?: string }).code;
    throw new CliError(
      'STREAM_APP_ERR_APP_LOAD',
      code === 'ERR_MODULE_NOT_FOUND' && !(error as Error).message.includes(' imported from ')
        ? `cannot find the app module ${file}`
        : `loading ${modulePath} failed: ${(error as Error).message}` +
            (code === 'ERR_MODULE_NOT_FOUND' ? ' (install it where the app module can resolve it)' : ''),
      { cause: error },
    );
  }
  return findApp(exports, match[2], modulePath);
}
