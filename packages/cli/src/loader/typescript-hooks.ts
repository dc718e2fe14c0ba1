// Node module hooks that run a TypeScript app entry as the tests do: SWC with legacy decorators
// and decorator metadata (esbuild-based loaders such as tsx cannot emit the metadata Records need).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { LoadHook, ResolveHook } from 'node:module';
import { transform } from '@swc/core';

const TYPESCRIPT = /\.(?:ts|mts|cts)$/;

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    // `import './order.js'` in TypeScript source means ./order.ts (NodeNext style).
    const relative = /^\.{1,2}\//.test(specifier) && /\.[cm]?js$/.test(specifier);
    if (!relative || !context.parentURL || !TYPESCRIPT.test(context.parentURL)) throw error;
    return nextResolve(specifier.replace(/js$/, 'ts'), context);
  }
};

export const load: LoadHook = async (url, context, nextLoad) => {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(url) || url.includes('/node_modules/')) {
    return nextLoad(url, context);
  }
  const filename = fileURLToPath(url);
  const { code } = await transform(await readFile(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2022',
    },
    module: { type: 'es6' },
  });
  return { format: 'module', source: code, shortCircuit: true };
};
