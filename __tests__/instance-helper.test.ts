// The Python helper the install script writes to the instance, run here on the real python3.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTANCE_HELPER } from '../src/instance-helper.ts';

let dir: string;
let helper: string;
let settings: string;

const SETTINGS = {
  adminPassword: 'hunter2-pw',
  settings: [
    ['auth.GitHubOAuthenticator.client_secret', 'gh-s3cr3t'],
    ['https.letsencrypt.email', 'naomi@example.org'],
    ['user_environment.default_app', '$(touch /tmp/tljh-helper-pwned)'],
  ],
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tljh-helper-'));
  helper = join(dir, 'tljh-action-helper.py');
  settings = join(dir, 'settings.json');
  writeFileSync(helper, INSTANCE_HELPER.trim() + '\n');
  writeFileSync(settings, JSON.stringify(SETTINGS));
  // A tljh-config that records its arguments, one per line, each call ending with '--'.
  mkdirSync(join(dir, 'bin'));
  writeFileSync(
    join(dir, 'bin', 'tljh-config'),
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >>"${dir}/tljh-config.calls"\necho ==END== >>"${dir}/tljh-config.calls"\n`,
  );
  chmodSync(join(dir, 'bin', 'tljh-config'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function helperRun(args: string[], input = '') {
  const out = spawnSync('python3', [helper, ...args], {
    input,
    encoding: 'utf8',
    env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin` },
  });
  expect(out.error).toBeUndefined();
  return out;
}

test('redact hides the admin password and secret-looking settings, nothing else', () => {
  const out = helperRun(
    ['redact', settings],
    'admin naomi:hunter2-pw\nclient_secret=gh-s3cr3t\nemail naomi@example.org\n',
  );
  expect(out.status).toBe(0);
  expect(out.stdout).toBe('admin naomi:***\nclient_secret=***\nemail naomi@example.org\n');
});

test('redact with empty settings copies its input', () => {
  writeFileSync(join(dir, 'empty.json'), '{}');
  const out = helperRun(['redact', join(dir, 'empty.json')], 'line 1\nline 2\n');
  expect(out.stdout).toBe('line 1\nline 2\n');
});

test('field prints one string field, or nothing', () => {
  expect(helperRun(['field', settings, 'adminPassword']).stdout).toBe('hunter2-pw');
  expect(helperRun(['field', settings, 'missing']).stdout).toBe('');
  expect(helperRun(['field', settings, 'settings']).stdout).toBe('');
});

test('apply runs tljh-config set per setting as an argument list, then reload', () => {
  const out = helperRun(['apply', settings]);
  expect(out.status).toBe(0);
  expect(out.stdout).toBe(SETTINGS.settings.map(([key]) => `::tljh:: setting=${key}\n`).join(''));
  const calls = readFileSync(join(dir, 'tljh-config.calls'), 'utf8')
    .trim()
    .split('\n==END==\n')
    .map((c) => c.replace(/\n==END==$/, '').split('\n'));
  expect(calls).toEqual([
    ...SETTINGS.settings.map(([key, value]) => ['set', key!, '--', value!]),
    ['reload'],
    ['reload', 'proxy'],
  ]);
});

test('an unknown command fails', () => {
  expect(helperRun(['frobnicate']).status).not.toBe(0);
});
