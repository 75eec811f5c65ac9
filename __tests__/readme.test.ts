// The README against the code: one row per input and output of action.yml, no claim that the
// first visitor sets the admin password, and a Development map with every source file.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const ACTION = yaml.load(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
};

/** The first-column names of the first table under a heading (`a`, `b` in one cell: both). */
function tableNames(heading: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const lines = README.slice(start + heading.length + 2).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
  return lines
    .slice(first + 2, end)
    .flatMap((row) => [...row.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [relative(ROOT, join(dir, e.name))]
        : [],
  );
}

test('the inputs table has one row per input of action.yml, none twice', () => {
  const names = tableNames('### Inputs');
  expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  expect([...names].sort()).toEqual(Object.keys(ACTION.inputs).sort());
});

test('the outputs table has one row per output of action.yml, none twice', () => {
  const names = tableNames('### Outputs');
  expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  expect([...names].sort()).toEqual(Object.keys(ACTION.outputs).sort());
});

test('hub-url names the http:// forms (address, dns-name) and the https:// form', () => {
  const row = README.split('\n').find((l) => l.startsWith('| `hub-url` |'))!;
  expect(row).toContain('http://<public-ip>/');
  expect(row).toContain('http://<dns-name>/');
  expect(row).toContain('https://<name>/');
});

test('no line says the first login sets the admin password', () => {
  expect(README).not.toMatch(/first (person|visitor|login)[^.]*sets/i);
});

test('the Development map lists every source file', () => {
  const listed = new Set(tableNames('## Development'));
  const missing = sourceFiles(join(ROOT, 'src')).filter((f) => !listed.has(f));
  expect(missing).toEqual([]);
});
