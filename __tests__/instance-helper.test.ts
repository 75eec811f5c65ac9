// The Python helper the install script writes to the instance, run here on the real python3.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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
    // Never the machine's /opt/tljh: the helper keeps what it set in a scratch file here.
    env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, TLJH_ACTION_OWNED: join(dir, 'owned.json') },
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
/** Python lines that load the helper's functions into `ns` without running a command. */
const loadHelper = () => [
  `sys.argv = ['helper', 'no-such-command']`,
  'ns = {"__name__": "helper"}',
  'try:',
  `    exec(open(${JSON.stringify(helper)}).read(), ns)`,
  'except SystemExit:',
  '    pass',
];

function helperFunction(call: string, env: Record<string, string> = {}) {
  const program = ['import json, sys', ...loadHelper(), `print(json.dumps(${call}))`].join('\n');
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

/**
 * Runs the helper's `apply` on this document, with `scratch/bin` first on PATH (its recording
 * tljh-config), what it set kept in `scratch/state`, and the hub's python3 a stub there (or
 * `hubPython`). Returns its output and the tljh-config calls it made, one argv each.
 */
function applyIn(
  scratch: string,
  doc: object,
  args: string[],
  hubPython = join(scratch, 'bin', 'hub-python3'),
) {
  const file = join(scratch, 'settings.json');
  writeFileSync(file, JSON.stringify(doc));
  rmSync(join(scratch, 'calls'), { force: true });
  const out = spawnSync('python3', [helper, 'apply', file, ...args], {
    encoding: 'utf8',
    env: {
      PATH: `${join(scratch, 'bin')}:/usr/bin:/bin`,
      TLJH_ACTION_OWNED: join(scratch, 'state', 'tljh-ec2-action.json'),
      TLJH_HUB_PYTHON: hubPython,
    },
  });
  expect(out.error).toBeUndefined();
  let calls: string[][] = [];
  try {
    calls = readFileSync(join(scratch, 'calls'), 'utf8')
      .trim()
      .split('\n==END==\n')
      .map((c) => c.replace(/\n?==END==$/, '').split('\n'));
  } catch {
    // tljh-config never ran
  }
  return { ...out, calls };
}

describe('apply: what an earlier run set, admins and the password (the settings command)', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(dir, 'owned-'));
    const bin = join(scratch, 'bin');
    mkdirSync(bin);
    // tljh-config and the hub's python3, each recording its argv (and the python its stdin).
    writeFileSync(
      join(bin, 'tljh-config'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >>"${scratch}/calls"\necho ==END== >>"${scratch}/calls"\n`,
    );
    writeFileSync(
      join(bin, 'hub-python3'),
      `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done >"${scratch}/hub-python.argv"\ncat >"${scratch}/hub-python.stdin"\n`,
    );
    chmodSync(join(bin, 'tljh-config'), 0o755);
    chmodSync(join(bin, 'hub-python3'), 0o755);
  });

  /** Runs `apply` on this document in this block's scratch directory. */
  const apply = (doc: object, ...args: string[]) => applyIn(scratch, doc, args);

  const owned = () =>
    JSON.parse(readFileSync(join(scratch, 'state', 'tljh-ec2-action.json'), 'utf8')) as unknown;

  test('a key the first run set and the second does not ask for is unset', () => {
    const first = apply({
      settings: [
        ['limits.memory', '1G'],
        ['limits.cpu', '2'],
      ],
    });
    expect(first.status).toBe(0);
    expect(owned()).toEqual({ keys: ['limits.memory', 'limits.cpu'], items: [], admins: [] });
    const second = apply({ settings: [['limits.memory', '2G']] });
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('::tljh:: unset=limits.cpu\n');
    expect(second.calls).toEqual([
      ['unset', 'limits.cpu'],
      ['set', 'limits.memory', '--', '2G'],
      ['reload', 'hub'],
    ]);
    expect(owned()).toEqual({ keys: ['limits.memory'], items: [], admins: [] });
  });

  test('a key the action never set is never unset', () => {
    // No earlier run: nothing to unset, whatever is set by hand on the hub.
    const first = apply({ settings: [['limits.memory', '1G']] });
    expect(first.calls.filter(([c]) => c === 'unset')).toEqual([]);
    // The earlier run set limits.memory only: a hand-set key (say auth.type) stays.
    const second = apply({ settings: [] }, 'naomi', '--whole');
    expect(second.calls.filter(([c]) => c === 'unset')).toEqual([['unset', 'limits.memory']]);
    // And once unset, it is no longer the action's: a third run unsets nothing.
    const third = apply({ settings: [] }, 'naomi', '--whole');
    expect(third.calls.filter(([c]) => c === 'unset')).toEqual([]);
  });

  test('--whole adds the admin (remove-item first), and removes an admin no longer asked', () => {
    const first = apply({ settings: [] }, 'naomi', '--whole');
    expect(first.status).toBe(0);
    expect(first.calls).toEqual([
      ['remove-item', 'users.admin', '--', 'naomi'],
      ['add-item', 'users.admin', '--', 'naomi'],
      ['reload', 'hub'],
    ]);
    const second = apply({ settings: [] }, 'ada', '--whole');
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('::tljh:: admin-removed=naomi\n');
    expect(second.calls).toEqual([
      ['remove-item', 'users.admin', '--', 'naomi'],
      ['remove-item', 'users.admin', '--', 'ada'],
      ['add-item', 'users.admin', '--', 'ada'],
      ['reload', 'hub'],
    ]);
    expect(owned()).toMatchObject({ admins: ['ada'] });
  });

  test('without --whole the installer added the admin: an earlier one is only removed', () => {
    apply({ settings: [] }, 'naomi', '--whole');
    const out = apply({ settings: [['limits.memory', '1G']] }, 'ada');
    // The installer kept naomi (it passes every admin of the hub on): removed here, once.
    expect(out.calls.filter(([, key]) => key === 'users.admin')).toEqual([
      ['remove-item', 'users.admin', '--', 'naomi'],
    ]);
    expect(existsSync(join(scratch, 'hub-python.argv'))).toBe(false);
  });

  test('--whole with adminPassword: the hub python gets the name in argv, the password on stdin only', () => {
    const password = 'n3w-Admin-pw';
    const out = apply({ adminPassword: password, settings: [] }, 'naomi', '--whole');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('::tljh:: admin-password=set\n');
    const argv = readFileSync(join(scratch, 'hub-python.argv'), 'utf8');
    expect(argv.trim().split('\n').at(-1)).toBe('naomi');
    expect(argv.split('\n')[0]).toBe('-c');
    expect(argv).toContain('bcrypt.hashpw(sys.stdin.buffer.read(), bcrypt.gensalt())');
    expect(argv).toContain('/opt/tljh/state/passwords.dbm');
    expect(argv).not.toContain(password);
    expect(readFileSync(join(scratch, 'hub-python.stdin'), 'utf8')).toBe(password);
    expect(out.stdout + out.stderr).not.toContain(password);
    expect(out.calls.flat()).not.toContain(password);
  });

  test('a failing hub python: exit 12, the password hidden from its stderr', () => {
    const password = 'n3w-Admin-pw';
    writeFileSync(
      join(scratch, 'bin', 'hub-python3'),
      `#!/bin/sh\necho "ValueError: bad password $(cat)" >&2\nexit 1\n`,
    );
    const out = apply({ adminPassword: password, settings: [] }, 'naomi', '--whole');
    expect(out.status).toBe(12);
    expect(out.stdout).toContain(
      '::tljh:: error=setting the admin password failed: ValueError: bad password ***',
    );
    expect(out.stdout).not.toContain(password);
  });

  test('https removed: its keys unset and its items removed, then proxy reloaded before hub', () => {
    const https = {
      settings: [
        ['https.enabled', 'true'],
        ['https.letsencrypt.email', 'naomi@example.org'],
      ],
      items: [['https.letsencrypt.domains', 'hub.example.org']],
    };
    const first = apply(https, 'naomi', '--whole');
    expect(first.calls).toContainEqual([
      'add-item',
      'https.letsencrypt.domains',
      '--',
      'hub.example.org',
    ]);
    const second = apply({ settings: [] }, 'naomi', '--whole');
    expect(second.status).toBe(0);
    expect(second.calls).toEqual([
      ['unset', 'https.enabled'],
      ['unset', 'https.letsencrypt.email'],
      ['remove-item', 'https.letsencrypt.domains', '--', 'hub.example.org'],
      ['remove-item', 'users.admin', '--', 'naomi'],
      ['add-item', 'users.admin', '--', 'naomi'],
      ['reload', 'proxy'],
      ['reload', 'hub'],
    ]);
    expect(owned()).toEqual({ keys: [], items: [], admins: ['naomi'] });
  });

  test('a changed https domain: the old item removed, the new one added', () => {
    apply({ settings: [], items: [['https.letsencrypt.domains', 'old.example.org']] });
    const out = apply({ settings: [], items: [['https.letsencrypt.domains', 'new.example.org']] });
    expect(out.calls).toEqual([
      ['remove-item', 'https.letsencrypt.domains', '--', 'old.example.org'],
      ['remove-item', 'https.letsencrypt.domains', '--', 'new.example.org'],
      ['add-item', 'https.letsencrypt.domains', '--', 'new.example.org'],
      ['reload', 'proxy'],
      ['reload', 'hub'],
    ]);
  });

  describe("traefik's certificate store (acme.json, beside the action's record)", () => {
    const acme = () => join(scratch, 'state', 'acme.json');
    const https = (staging: boolean, domain = 'hub.example.org') => ({
      settings: [
        ['https.enabled', 'true'],
        ['https.letsencrypt.email', 'ops@example.org'],
        ...(staging ? [['https.letsencrypt.staging', 'true']] : []),
      ],
      items: [['https.letsencrypt.domains', domain]],
    });

    test('emptied when the CA changes (staging → production): traefik issues afresh', () => {
      apply(https(true));
      writeFileSync(acme(), '{"letsencrypt":{"Certificates":["staging"]}}');
      const out = apply(https(false));
      expect(out.stdout).toContain('::tljh:: acme-reset=1');
      expect(existsSync(acme())).toBe(false);
      expect(out.calls.slice(-2)).toEqual([
        ['reload', 'proxy'],
        ['reload', 'hub'],
      ]);
    });

    test('emptied when the names change', () => {
      apply(https(false));
      writeFileSync(acme(), '{}');
      apply(https(false, 'other.example.org'));
      expect(existsSync(acme())).toBe(false);
    });

    test('kept when neither changes (a re-run, another setting)', () => {
      apply(https(false));
      writeFileSync(acme(), '{}');
      const out = apply({ ...https(false), settings: [...https(false).settings, ['a.b', 'c']] });
      expect(out.stdout).not.toContain('acme-reset');
      expect(existsSync(acme())).toBe(true);
    });
  });

  test('without --whole and with nothing to change: no tljh-config call, no reload', () => {
    const out = apply({ settings: [] }, 'naomi');
    expect(out.status).toBe(0);
    expect(out.calls).toEqual([]);
    expect(out.stdout).toBe('');
  });

  test('--whole with nothing to change still reloads the hub (and not the proxy)', () => {
    const out = apply({ settings: [] }, '', '--whole');
    expect(out.status).toBe(0);
    expect(out.calls).toEqual([['reload', 'hub']]);
  });

  test('an admin the action set, replaced at an installer run, is still removed later', () => {
    // naomi was set by a settings command; then admin-user became ada in a run that also
    // needed the installer (plugins, a new TLJH version): the installer keeps every admin
    // config.yaml has (bootstrap.ts passes them on), and apply runs without --whole.
    apply({ settings: [] }, 'naomi', '--whole');
    const install = apply({ settings: [] }, 'ada');
    const later = apply({ settings: [] }, 'ada', '--whole');
    expect([...install.calls, ...later.calls]).toContainEqual([
      'remove-item',
      'users.admin',
      '--',
      'naomi',
    ]);
  });

  test('an unreadable record of what the action owned reads as nothing owned', () => {
    mkdirSync(join(scratch, 'state'), { recursive: true });
    writeFileSync(join(scratch, 'state', 'tljh-ec2-action.json'), 'not json');
    const out = apply({ settings: [['limits.memory', '1G']] });
    expect(out.status).toBe(0);
    expect(out.calls.filter(([c]) => c === 'unset')).toEqual([]);
    expect(owned()).toEqual({ keys: ['limits.memory'], items: [], admins: [] });
  });
});

describe('apply: a run that fails half-way, the proxy settings, a missing hub python', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(dir, 'review-'));
    mkdirSync(join(scratch, 'bin'));
  });

  /** A tljh-config that records its calls (one argument a line, '==END==' after each) and exits 1 on `set FAILING`. */
  function tljhConfig(failing = '') {
    writeFileSync(
      join(scratch, 'bin', 'tljh-config'),
      [
        '#!/bin/sh',
        `for a in "$@"; do printf '%s\\n' "$a"; done >>"${scratch}/calls"`,
        `echo ==END== >>"${scratch}/calls"`,
        `if [ "$1" = set ] && [ "$2" = '${failing}' ]; then echo "cannot set $2" >&2; exit 1; fi`,
        '',
      ].join('\n'),
    );
    chmodSync(join(scratch, 'bin', 'tljh-config'), 0o755);
  }

  /** Runs `apply` on this document in this block's scratch directory. */
  const apply = (doc: object, args: string[] = [], hubPython?: string) =>
    applyIn(scratch, doc, args, hubPython);

  const owned = () =>
    JSON.parse(readFileSync(join(scratch, 'state', 'tljh-ec2-action.json'), 'utf8')) as {
      keys: string[];
    };

  test('a set that fails half-way still leaves the new keys owned: a later run unsets them', () => {
    tljhConfig();
    expect(apply({ settings: [['limits.memory', '1G']] }).status).toBe(0);
    tljhConfig('limits.cpu');
    const failed = apply({
      settings: [
        ['limits.memory', '2G'],
        ['user_environment.default_app', 'jupyterlab'],
        ['limits.cpu', '2'],
        ['services.cull.timeout', '600'],
      ],
    });
    expect(failed.status).toBe(12);
    expect(failed.stdout).toContain('::tljh:: error=tljh-config set limits.cpu failed');
    // The key set before the failure, and those after it, are the action's now.
    expect(owned().keys).toEqual(
      expect.arrayContaining([
        'limits.memory',
        'user_environment.default_app',
        'limits.cpu',
        'services.cull.timeout',
      ]),
    );
    tljhConfig();
    const later = apply({ settings: [['limits.memory', '2G']] });
    expect(later.status).toBe(0);
    expect(later.calls.filter(([c]) => c === 'unset').map(([, key]) => key)).toEqual(
      expect.arrayContaining([
        'user_environment.default_app',
        'limits.cpu',
        'services.cull.timeout',
      ]),
    );
    expect(owned().keys).toEqual(['limits.memory']);
  });

  test.each(['http.port', 'traefik_api.port'])(
    'a changed %s reloads the proxy before the hub',
    (key) => {
      tljhConfig();
      const out = apply({ settings: [[key, '8080']] });
      expect(out.status).toBe(0);
      expect(out.calls).toEqual([
        ['set', key, '--', '8080'],
        ['reload', 'proxy'],
        ['reload', 'hub'],
      ]);
    },
  );

  test('a hub python that is missing: exit 12 and an error line, no traceback, no password', () => {
    tljhConfig();
    const password = 'n3w-Admin-pw';
    const out = apply(
      { adminPassword: password, settings: [] },
      ['naomi', '--whole'],
      join(scratch, 'no-such-python3'),
    );
    expect(out.status).toBe(12);
    expect(out.stdout).toMatch(/^::tljh:: error=setting the admin password failed/m);
    expect(out.stdout + out.stderr).not.toContain('Traceback');
    expect(out.stdout + out.stderr).not.toContain(password);
    expect(out.stdout).not.toContain('admin-password=set');
  });
});

describe('reading the settings: an endpoint that does not answer', () => {
  /** A local endpoint that takes the first `stall` connections and never answers them. */
  function postThrough(stall: number, status = 200) {
    const program = [
      'import http.server, json, socket, sys, threading',
      ...loadHelper(),
      'seen = []',
      'class H(http.server.BaseHTTPRequestHandler):',
      '    def do_POST(self):',
      '        seen.append(self.rfile.read(int(self.headers["content-length"])).decode())',
      `        if len(seen) <= ${stall}:`,
      '            threading.Event().wait(3)',
      '            return',
      `        self.send_response(${status}); self.end_headers(); self.wfile.write(b"ok")`,
      '    def log_message(self, *a): pass',
      'server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)',
      'threading.Thread(target=server.serve_forever, daemon=True).start()',
      'url = "http://127.0.0.1:%d/" % server.server_address[1]',
      'try:',
      '    out = ns["post"](url, b"body", {"x": "y"}, timeout=0.5, attempts=3).decode()',
      'except Exception as e:',
      '    out = type(e).__name__',
      'print(json.dumps({"out": out, "posts": len(seen)}))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', program], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    return { ...(JSON.parse(run.stdout) as { out: string; posts: number }), stderr: run.stderr };
  }

  test('a stalled request is sent again, and the second answer is read', () => {
    const r = postThrough(1);
    expect(r).toMatchObject({ out: 'ok', posts: 2 });
    expect(r.stderr).toContain('trying again (2 of 3)');
  });

  test('three stalls: it gives up with the time-out', () => {
    expect(postThrough(3)).toMatchObject({ out: 'TimeoutError', posts: 3 });
  });

  test('a refusal (4xx) is final: one request', () => {
    expect(postThrough(0, 403)).toMatchObject({ out: 'HTTPError', posts: 1 });
  });
});
