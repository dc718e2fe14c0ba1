// Every ```ts block in docs/ and the README is type-checked against the
// packages' sources, so that the docs cannot drift from the API.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fail, repoRoot } from './lib/ui.mjs';

const out = join(repoRoot, '.cache', 'doc-snippets');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const markdown = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? markdown(join(dir, entry.name)) : entry.name.endsWith('.md') ? [join(dir, entry.name)] : [],
  );

// Values a reader fills in: snippets may use these names without defining them.
const PLACEHOLDERS = `
declare const tenantId: string, clientId: string, clientSecret: string, scope: string;
declare const keyPem: string, certPem: string, token: string, expiresAt: number;
declare const fromSSO: (options: { profile: string }) => () => Promise<{ accessKeyId: string; secretAccessKey: string }>;
`;

const files = [];
for (const doc of [join(repoRoot, 'README.md'), ...markdown(join(repoRoot, 'docs'))]) {
  const blocks = [...readFileSync(doc, 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)];
  blocks.forEach((block, index) => {
    const name = `${relative(repoRoot, doc).replace(/[^\w]+/g, '_')}_${index + 1}.ts`;
    // `export {}` makes each snippet a module of its own (top-level await, no clashes).
    writeFileSync(join(out, name), `// from ${relative(repoRoot, doc)}\n${block[1]}\n${PLACEHOLDERS}\nexport {};\n`);
    files.push(name);
  });
}

writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify({
    extends: '../../tsconfig.json',
    compilerOptions: { noEmit: true, noUnusedLocals: false, baseUrl: '../..' },
    include: ['*.ts'],
  }),
);
const tsc = spawnSync(
  process.execPath,
  [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(out, 'tsconfig.json')],
  {
    stdio: 'inherit',
  },
);
if (tsc.status !== 0) fail(`a docs snippet does not compile (snippets are in ${relative(repoRoot, out)})`);
process.stdout.write(`${files.length} docs snippets compile\n`);
