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
// docs/api is generated from the sources' TSDoc (checked below), not written by hand.
const api = join(repoRoot, 'docs', 'api');
for (const doc of [
  join(repoRoot, 'README.md'),
  ...markdown(join(repoRoot, 'docs')).filter((file) => !file.startsWith(api)),
]) {
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

// Every error code raised in the packages' sources has its row in docs/errors.md.
const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
const errorsDoc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
const codes = new Set(
  readdirSync(join(repoRoot, 'packages')).flatMap((pkg) => {
    const src = join(repoRoot, 'packages', pkg, 'src');
    try {
      return sources(src).flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/STREAM_APP_ERR_[A-Z_]+/g)].map((m) => m[0]),
      );
    } catch {
      return [];
    }
  }),
);
const undocumented = [...codes].filter((code) => !errorsDoc.includes(`\`${code}\``));
if (undocumented.length > 0) fail(`error codes missing from docs/errors.md: ${undocumented.join(', ')}`);
process.stdout.write(`${codes.size} error codes documented\n`);

// The API reference matches the sources: regenerated here, compared file by file.
const regenerated = join(repoRoot, '.cache', 'api-check');
rmSync(regenerated, { recursive: true, force: true });
const typedoc = spawnSync(
  process.execPath,
  [join(repoRoot, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', regenerated],
  { cwd: repoRoot, stdio: 'inherit' },
);
if (typedoc.status !== 0) fail('typedoc could not build the API reference');
const listing = (dir) =>
  markdown(dir)
    .map((file) => relative(dir, file))
    .sort();
const expected = listing(regenerated);
const stale = [
  ...expected.filter((file) => {
    try {
      return readFileSync(join(api, file), 'utf8') !== readFileSync(join(regenerated, file), 'utf8');
    } catch {
      return true;
    }
  }),
  ...listing(api).filter((file) => !expected.includes(file)),
];
if (stale.length > 0) {
  fail(`docs/api is out of date (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', …' : ''}): run pnpm docs:api`);
}
process.stdout.write(`the API reference (${expected.length} pages) matches the sources\n`);
