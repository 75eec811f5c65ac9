// action.yml is the one source of inputs, defaults and outputs: the generated defaults and README
// tables match it, the code reads and sets only what it declares, and scripts/action-meta.ts
// --check catches a drifted artefact (run on a copy of the files in a temporary directory).
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { parseInputs } from '../src/inputs.ts';
import { DEFAULTS, INPUT_NAMES, OUTPUT_NAMES } from '../src/inputs/defaults.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = join(ROOT, 'scripts', 'action-meta.ts');
/** Node 24 from the `node` npm package: it runs the script's TypeScript as `npm run` does. */
const NODE24 = join(ROOT, 'node_modules', '.bin', 'node');
const DEFAULTS_FILE = join('src', 'inputs', 'defaults.ts');

interface Field {
  description: string;
  default?: unknown;
}
function action(text = readFileSync(join(ROOT, 'action.yml'), 'utf8')) {
  return yaml.load(text) as { inputs: Record<string, Field>; outputs: Record<string, Field> };
}
const ACTION = action();

/** The first-column names of the table between `<!-- action-<name>:start/end -->`, in order. */
function tableNames(readme: string, name: 'inputs' | 'outputs'): string[] {
  const start = readme.indexOf(`<!-- action-${name}:start -->`);
  const end = readme.indexOf(`<!-- action-${name}:end -->`);
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const rows = readme
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('|'));
  return rows.slice(2).map((row) => /^\| `([^`]+)` \|/.exec(row)![1]!);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('the generated defaults module', () => {
  test('DEFAULTS is every default of action.yml except the runner-evaluated expressions', () => {
    const declared = Object.fromEntries(
      Object.entries(ACTION.inputs)
        .filter(([, spec]) => spec.default !== undefined && !/\$\{\{/.test(String(spec.default)))
        .map(([name, spec]) => [name, String(spec.default)]),
    );
    expect(DEFAULTS).toEqual(declared);
    expect(Object.keys(DEFAULTS)).toContain('hub-name');
    expect(DEFAULTS).not.toHaveProperty('github-token');
  });

  test('INPUT_NAMES and OUTPUT_NAMES are action.yml inputs and outputs, in order', () => {
    expect(INPUT_NAMES).toEqual(Object.keys(ACTION.inputs));
    expect(OUTPUT_NAMES).toEqual(Object.keys(ACTION.outputs));
  });

  test('parseInputs accepts every default and applies it to an empty input', () => {
    const spec = parseInputs((name) => (name === 'admin-user' ? 'naomi' : ''), {
      AWS_REGION: 'eu-west-1',
    });
    expect(spec.hubName).toBe(DEFAULTS['hub-name']);
    expect(spec.state).toBe(DEFAULTS.state);
    expect(spec.instanceTypes.join(', ')).toBe(DEFAULTS['instance-type']);
    expect(spec.allowedCidrs.join(', ')).toBe(DEFAULTS['allowed-cidrs']);
    expect(String(spec.rootVolumeSizeGiB)).toBe(DEFAULTS['root-volume-size']);
    expect(spec.ubuntuVersion).toBe(DEFAULTS['ubuntu-version']);
    expect(spec.tljhVersion).toBe(DEFAULTS['tljh-version']);
    expect(String(spec.installTimeoutMinutes)).toBe(DEFAULTS['install-timeout']);
    expect(String(spec.dryRun)).toBe(DEFAULTS['dry-run']);
    expect(String(spec.expiredOnly)).toBe(DEFAULTS['expired-only']);
    expect(spec.prComment).toBe(DEFAULTS['pr-comment']);
    // The token's default is the runner's `${{ github.token }}`: unset, it reads as ''.
    expect(spec.githubToken).toBe('');
    const https = parseInputs(
      (name) =>
        ({ 'admin-user': 'naomi', 'https-domain': 'hub.example.org', 'https-email': 'a@b.org' })[
          name
        ] ?? '',
      { AWS_REGION: 'eu-west-1' },
    );
    expect(String(https.https?.waitMinutes)).toBe(DEFAULTS['https-wait']);
  });
});

describe('the code uses only what action.yml declares', () => {
  test('parseInputs reads exactly the inputs of action.yml', () => {
    const read = new Set<string>();
    const record = (inputs: Record<string, string>) => (name: string) => {
      read.add(name);
      return inputs[name] ?? '';
    };
    parseInputs(record({ 'admin-user': 'naomi' }), { AWS_REGION: 'eu-west-1' });
    parseInputs(
      record({
        'admin-user': 'naomi',
        'https-domain': 'hub.example.org',
        'https-email': 'a@b.org',
      }),
      { AWS_REGION: 'eu-west-1' },
    );
    expect([...read].sort()).toEqual([...INPUT_NAMES].sort());
  });

  test('every output src/ sets is declared, and every declared output is set', () => {
    const set = new Set(
      sourceFiles(join(ROOT, 'src')).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/setOutput\(\s*'([^']+)'/g)].map((m) => m[1]!),
      ),
    );
    expect([...set].sort()).toEqual([...OUTPUT_NAMES].sort());
  });
});

describe('the README tables', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  test('list every input and output once, in action.yml order', () => {
    expect(tableNames(readme, 'inputs')).toEqual([...INPUT_NAMES]);
    expect(tableNames(readme, 'outputs')).toEqual([...OUTPUT_NAMES]);
  });

  test("each row carries action.yml's default and description", () => {
    const row = readme.split('\n').find((l) => l.startsWith('| `allowed-cidrs` |'))!;
    expect(row).toContain(`| \`${DEFAULTS['allowed-cidrs']}\` |`);
    expect(row).toContain(ACTION.inputs['allowed-cidrs']!.description.trim());
  });
});

describe('scripts/action-meta.ts', () => {
  let dir: string;

  /** A copy of the three files the script reads and writes. */
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'action-meta-'));
    mkdirSync(join(dir, 'src', 'inputs'), { recursive: true });
    for (const file of ['action.yml', 'README.md', DEFAULTS_FILE]) {
      cpSync(join(ROOT, file), join(dir, file));
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(...args: string[]) {
    const result = spawnSync(NODE24, [SCRIPT, '--root', dir, ...args], { encoding: 'utf8' });
    return { status: result.status, out: result.stdout, err: result.stderr };
  }
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(dir, file), change(read(file)));

  test('--check passes on the committed files and changes nothing', () => {
    const before = read('README.md');
    const result = run('--check');
    expect(result).toMatchObject({ status: 0, err: '' });
    expect(read('README.md')).toBe(before);
  });

  test('--check names a README whose table was edited by hand, and only it', () => {
    edit('README.md', (t) =>
      t.replace('| `dry-run` | no | `false` |', '| `dry-run` | no | `true` |'),
    );
    const result = run('--check');
    expect(result.status).toBe(1);
    expect(result.err).toContain('README.md: differs from action.yml');
    expect(result.err).not.toContain('defaults.ts');
  });

  test('--check names a defaults module edited by hand, and only it', () => {
    edit(DEFAULTS_FILE, (t) => t.replace("state: 'running'", "state: 'stopped'"));
    const result = run('--check');
    expect(result.status).toBe(1);
    expect(result.err).toContain(`${DEFAULTS_FILE}: differs from action.yml`);
    expect(result.err).not.toContain('README.md');
  });

  test('a changed default drifts both; a run without --check rewrites them', () => {
    edit('action.yml', (t) => t.replace('    default: t3.small', '    default: m7g.large'));
    const check = run('--check');
    expect(check.status).toBe(1);
    expect(check.err).toContain('README.md');
    expect(check.err).toContain(DEFAULTS_FILE);
    expect(run()).toMatchObject({ status: 0 });
    expect(read(DEFAULTS_FILE)).toContain("'instance-type': 'm7g.large'");
    expect(read('README.md')).toContain('| `instance-type` | no | `m7g.large` |');
    expect(run('--check')).toMatchObject({ status: 0, err: '' });
  });

  test('a missing defaults module is written', () => {
    rmSync(join(dir, DEFAULTS_FILE));
    expect(run('--check').err).toContain(DEFAULTS_FILE);
    expect(run().status).toBe(0);
    expect(read(DEFAULTS_FILE)).toBe(readFileSync(join(ROOT, DEFAULTS_FILE), 'utf8'));
  });

  test('table cells escape | and new lines; text outside the markers is kept', () => {
    const doc = action(read('action.yml'));
    doc.inputs.state!.description = 'one | two\nthree';
    doc.inputs.state!.default = 'a|b';
    writeFileSync(join(dir, 'action.yml'), yaml.dump(doc));
    edit('README.md', (t) => t.replace('### Inputs', '### Inputs\n\nHand-written words.'));
    expect(run().status).toBe(0);
    const readme = read('README.md');
    expect(readme).toContain('| `state` | no | `a\\|b` | one \\| two<br>three |');
    expect(readme).toContain('Hand-written words.');
    expect(tableNames(readme, 'inputs')).toEqual([...INPUT_NAMES]);
    expect(read(DEFAULTS_FILE)).toContain("state: 'a|b'");
  });

  test('a README without the markers, or an input without a description, is an error', () => {
    edit('README.md', (t) => t.replace('<!-- action-outputs:end -->', ''));
    const noMarker = run('--check');
    expect(noMarker.status).toBe(2);
    expect(noMarker.err).toContain('<!-- action-outputs:end -->');
    cpSync(join(ROOT, 'README.md'), join(dir, 'README.md'));
    edit('action.yml', (t) => t.replace(/( {2}ttl:\n) {4}description: >-\n(?: {6}.*\n)+/, '$1'));
    const noDescription = run('--check');
    expect(noDescription.status).toBe(2);
    expect(noDescription.err).toContain("input 'ttl' has no description");
  });
});
