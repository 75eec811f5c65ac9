// The Python helper the install script writes to the instance, run here on the real python3.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SECRET_SETTING_WORDS, isSecretSetting } from '../src/inputs.ts';
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

test('apply runs tljh-config set per setting as an argument list, then reloads proxy before hub', () => {
  const out = helperRun(['apply', settings]);
  expect(out.status).toBe(0);
  expect(out.stdout).toBe(SETTINGS.settings.map(([key]) => `::tljh:: setting=${key}\n`).join(''));
  const calls = readFileSync(join(dir, 'tljh-config.calls'), 'utf8')
    .trim()
    .split('\n==END==\n')
    .map((c) => c.replace(/\n==END==$/, '').split('\n'));
  expect(calls).toEqual([
    ...SETTINGS.settings.map(([key, value]) => ['set', key!, '--', value!]),
    // TLJH's order: traefik gets the https entrypoint first, then the hub moves to it.
    ['reload', 'proxy'],
    ['reload', 'hub'],
  ]);
});

test('an unknown command fails', () => {
  expect(helperRun(['frobnicate']).status).not.toBe(0);
});

/** Calls the helper's functions in python3 (loading it runs its dispatch, which exits on the dummy command). */
function helperFunction(call: string, env: Record<string, string> = {}) {
  const program = [
    'import json, sys',
    `sys.argv = ['helper', 'no-such-command']`,
    'ns = {"__name__": "helper"}',
    'try:',
    `    exec(open(${JSON.stringify(helper)}).read(), ns)`,
    'except SystemExit:',
    '    pass',
    `print(json.dumps(${call}))`,
  ].join('\n');
  const out = spawnSync('python3', ['-c', program], {
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin', ...env },
  });
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  return JSON.parse(out.stdout) as unknown;
}

describe('the SSM endpoint the instance reads its settings from', () => {
  // Every partition the AWS SDK knows (the runner's SDK resolves the same endpoints).
  const REGIONS = [
    'eu-west-1',
    'us-east-1',
    'il-central-1',
    'mx-central-1',
    'cn-north-1',
    'cn-northwest-1',
    'us-gov-west-1',
    'us-gov-east-1',
    'us-iso-east-1',
    'us-isob-east-1',
    'us-isof-south-1',
    'eu-isoe-west-1',
    'eusc-de-east-1',
  ];

  test('China regions use amazonaws.com.cn', () => {
    const call = `[ns["ssm_endpoint"](r) for r in ["cn-north-1", "cn-northwest-1"]]`;
    expect(helperFunction(call)).toEqual([
      'https://ssm.cn-north-1.amazonaws.com.cn',
      'https://ssm.cn-northwest-1.amazonaws.com.cn',
    ]);
  });

  test("every partition's endpoint is the one the AWS SDK resolves", () => {
    const ours = helperFunction(`[ns["ssm_endpoint"](r) for r in ${JSON.stringify(REGIONS)}]`);
    const sdk = REGIONS.map((Region) =>
      new SSMClient({ region: Region }).config
        .endpointProvider({ Region, UseFIPS: false, UseDualStack: false })
        .url.href.replace(/\/$/, ''),
    );
    expect(sdk).toContain('https://ssm.cn-north-1.amazonaws.com.cn');
    expect(ours).toEqual(sdk);
  });

  test('AWS_ENDPOINT_URL_SSM wins (the emulator, or a VPC endpoint)', () => {
    const endpoint = 'http://127.0.0.1:4566';
    expect(
      helperFunction(`ns["ssm_endpoint"]("cn-north-1")`, { AWS_ENDPOINT_URL_SSM: endpoint }),
    ).toBe(endpoint);
  });
});

test('redact hides the value of every setting the inputs mark secret', () => {
  const secretSettings = SECRET_SETTING_WORDS.map((w, i) => [`auth.Some.my_${w}`, `v4lue-${i}`]);
  const doc = join(dir, 'words.json');
  writeFileSync(
    doc,
    JSON.stringify({ settings: [...secretSettings, ['auth.Some.name', 'v4lue-x']] }),
  );
  expect(secretSettings.every(([key]) => isSecretSetting(key!))).toBe(true);
  const input = [...secretSettings.map(([, v]) => v), 'v4lue-x'].join('\n') + '\n';
  expect(helperRun(['redact', doc], input).stdout).toBe(
    [...secretSettings.map(() => '***'), 'v4lue-x'].join('\n') + '\n',
  );
});

test('apply: a failing tljh-config set does not echo a secret value from its stderr', () => {
  const bin = join(dir, 'failing-bin');
  mkdirSync(bin, { recursive: true });
  // argparse-style: the rejected value is quoted back on stderr.
  writeFileSync(
    join(bin, 'tljh-config'),
    `#!/bin/sh\necho "error: invalid value: '$4'" >&2\nexit 2\n`,
  );
  chmodSync(join(bin, 'tljh-config'), 0o755);
  const out = spawnSync('python3', [helper, 'apply', settings], {
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin` },
  });
  expect(out.status).toBe(12);
  expect(out.stdout).toContain(
    "::tljh:: error=tljh-config set auth.GitHubOAuthenticator.client_secret failed: error: invalid value: '***'",
  );
  expect(out.stdout).not.toContain('gh-s3cr3t');
});
