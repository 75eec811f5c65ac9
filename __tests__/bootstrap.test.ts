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
import {
  MARK,
  bootstrapUrl,
  buildInstallScript,
  EXIT_CODES,
  buildVerifyScript,
  shQuote,
} from '../src/bootstrap.ts';
import { evaluateReport, parseReport } from '../src/verify.ts';
import { FAILED_INSTALL } from './helpers/fakes.ts';

const HOSTILE = [
  '',
  'plain',
  "it's",
  "''",
  "'",
  '"double"',
  '$(touch /tmp/tljh-pwned)',
  '`touch /tmp/tljh-pwned`',
  '${HOME}',
  '$HOME',
  'a;b && c || d | e',
  'line1\nline2',
  'tab\there',
  '\\backslash\\',
  '*?[a-z]',
  '-n',
  '--admin=root',
  'unicode: naïve ✓ 日本',
  '!history',
  '~root',
  "x'; touch /tmp/tljh-pwned; echo '",
];

describe('shQuote', () => {
  test.each(HOSTILE)('%j round-trips through sh -c printf', (value) => {
    const out = spawnSync('sh', ['-c', `printf %s ${shQuote(value)}`], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(value);
  });

  test('no hostile value ran a command', () => {
    expect(existsSync('/tmp/tljh-pwned')).toBe(false);
  });

  test('always single-quoted', () => {
    expect(shQuote('abc')).toBe("'abc'");
    expect(shQuote("a'b")).toBe(`'a'"'"'b'`);
  });
});

const INSTALL = buildInstallScript({
  region: 'eu-west-1',
  tljhVersion: '2.0.0',
  adminUser: 'naomi',
});
const VERIFY = buildVerifyScript();

test('with the staging CA, the instance leaves the certificate to the runner', () => {
  const production = buildVerifyScript('hub.example.org');
  const staging = buildVerifyScript('hub.example.org', true);
  expect(production).toContain('https-cert=valid');
  expect(staging).not.toContain('https-cert=not-yet');
  expect(staging).toContain('https-cert=staging CA, checked from the runner');
});

describe('generated scripts', () => {
  test.each([
    ['install', INSTALL, []],
    ['verify', VERIFY, []],
    ['verify with HTTPS', buildVerifyScript('hub.example.org'), []],
    ['verify with HTTPS from the staging CA', buildVerifyScript('hub.example.org', true), []],
    // SC2016 ("expressions don't expand in single quotes") is the point of shQuote here.
    [
      'install with odd values',
      buildInstallScript({ region: 'eu-west-1', tljhVersion: "v'1", adminUser: '$(id)' }),
      ['-e', 'SC2016'],
    ],
  ])('%s script passes shellcheck -s sh', (_name, script, extra) => {
    const out = spawnSync('shellcheck', ['-s', 'sh', ...extra, '-'], {
      input: script,
      encoding: 'utf8',
    });
    // CI installs shellcheck: a missing binary fails here rather than skipping the lint.
    expect(out.error).toBeUndefined();
    expect(out.stdout + out.stderr).toBe('');
    expect(out.status).toBe(0);
  });

  test('install script pins the bootstrap URL and quotes --version and --admin', () => {
    expect(bootstrapUrl('2.0.0')).toBe(
      'https://raw.githubusercontent.com/jupyterhub/the-littlest-jupyterhub/2.0.0/bootstrap/bootstrap.py',
    );
    expect(INSTALL).toContain(`bootstrap_url='${bootstrapUrl('2.0.0')}'`);
    expect(INSTALL).toContain("tljh_version='2.0.0'");
    expect(INSTALL).toContain("admin_user='naomi'");
    expect(INSTALL).toContain('--version "$tljh_version" --admin "$@"');
    // Without a settings parameter there is no password: --admin is the user name alone.
    expect(INSTALL).toContain("admin_password=''");
    expect(INSTALL).toContain('admin_flag="$admin_user"');
    // Downloaded to a file first: never curl | python3.
    expect(INSTALL).not.toMatch(/curl[^\n]*\|\s*(sudo\s+)?python3/);
  });

  test('both scripts are POSIX sh and report with the marker', () => {
    for (const script of [INSTALL, VERIFY]) {
      expect(script.startsWith('#!/bin/sh\n')).toBe(true);
      expect(script).toContain(`${MARK} phase=verify`);
      expect(script).toContain('/opt/tljh/installer.log');
      expect(script).toContain('systemctl is-active');
      expect(script).toContain('http://127.0.0.1/hub/api');
    }
    expect(VERIFY).not.toContain('bootstrap.py');
  });

  test('scripts stay far below the 64 KB SSM document limit', () => {
    const longest = buildInstallScript({
      region: 'eu-west-1',
      tljhVersion: 'v'.repeat(63),
      adminUser: 'a'.repeat(32),
    });
    for (const script of [INSTALL, VERIFY, longest]) {
      expect(Buffer.byteLength(script, 'utf8')).toBeLessThan(32 * 1024);
    }
  });

  test('dpkg lock timeout is turned into 5 s polls', () => {
    const script = buildInstallScript({
      region: 'eu-west-1',
      tljhVersion: '2.0.0',
      adminUser: 'naomi',
      dpkgLockTimeoutSeconds: 12,
    });
    expect(script).toContain('if [ "$polls" -gt 3 ]; then');
    expect(INSTALL).toContain('if [ "$polls" -gt 120 ]; then');
  });
});

// ----- Running the install script for real, against stub commands ---------------------------

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  stubDir: string;
}

const STUB_COMMON: Record<string, string> = {
  'cloud-init': 'echo "...."; echo "status: done"',
  fuser: 'exit 1',
  sleep: 'exit 0',
  // The user-server check: the account commands never touch the real /etc.
  useradd: 'mkdir -p "$STUB_DIR/probe-home"; echo "$@" >>"$STUB_DIR/useradd.calls"',
  userdel: 'echo "$@" >>"$STUB_DIR/userdel.calls"',
  getent: 'echo "jupyter-tljh-action-probe:x:1001:1001::$STUB_DIR/probe-home:/bin/sh"',
  runuser: 'printf "%s\\n" "$@" >"$STUB_DIR/runuser.args"; exec /bin/sleep 30',
  // The IMDS guard: its own tests (imds-guard.test.ts) run the real iptables.
  iptables: 'exit 0',
  ip6tables: 'exit 0',
};

/** A curl that serves bootstrap.py downloads and answers the verify probe of /hub/api. */
function curlStub(api: string, apiExit = 0): string {
  return `out=''; url=''
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift 2 ;;
    -w|-H|--max-time|--retry|--retry-delay) shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
echo "$url" >>"$STUB_DIR/curl.urls"
case "$url" in
  https://raw.githubusercontent.com/*) echo '# fake bootstrap.py' >"$out" ;;
  http://127.0.0.1/hub/api) printf '%s' ${shQuote(api)}; exit ${apiExit} ;;
  http://127.0.0.1:*/api/status) # the user-server check's server: up once runuser started it
    for i in 1 2 3 4 5 6 7 8 9 10; do [ -f "$STUB_DIR/runuser.args" ] && exit 0; /bin/sleep 0.1; done
    exit 7 ;;
  *) exit 6 ;;
esac`;
}

/** The action's own helper (tljh-action-helper.py) runs on the real python3; only bootstrap.py is faked. */
const REAL_PYTHON_FOR_HELPER = `case "$1" in */bootstrap.py) ;; *) exec /usr/bin/python3 "$@" ;; esac`;

const SUCCEEDING: Record<string, string> = {
  ...STUB_COMMON,
  curl: curlStub('{"version": "5.3.0"}\n200'),
  systemctl: 'echo active',
  python3: `${REAL_PYTHON_FOR_HELPER}
for a in "$@"; do printf '%s\\n' "$a"; done >"$STUB_DIR/python3.args"
mkdir -p /opt/tljh/user
{
  echo "2026-01-01 10:00:00,000 Checking if TLJH is already installed..."
  echo "2026-01-01 10:00:01,000 Setting up hub environment..."
  echo "2026-01-01 10:03:00,000 Done!"
} >>/opt/tljh/installer.log
echo "Setting up hub environment..." >&2
echo "Done!" >&2
exit 0`,
};

const FAILING: Record<string, string> = {
  ...STUB_COMMON,
  curl: curlStub('\n000', 7),
  systemctl: 'case "$1" in is-active) echo inactive; exit 3 ;; esac',
  python3: `${REAL_PYTHON_FOR_HELPER}
mkdir -p /opt/tljh
for l in ${FAILED_INSTALL.logTail.map(shQuote).join(' ')}; do echo "$l"; done >>/opt/tljh/installer.log
for l in ${FAILED_INSTALL.output.map(shQuote).join(' ')}; do echo "$l" >&2; done
exit 1`,
};

/**
 * Runs a script with `sh`, with the stubs first on PATH, inside a private mount namespace whose
 * /opt is an empty tmpfs (the script's writes to /opt/tljh never reach the real /opt) and an
 * empty network namespace.
 */
function runWithStubs(script: string, stubs: Record<string, string>, seedLog?: string): Run {
  const dir = mkdtempSync(join(tmpdir(), 'tljh-stubs-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  writeFileSync(join(dir, 'script.sh'), script);
  const seed = seedLog === undefined ? '' : join(dir, 'seed.log');
  if (seedLog !== undefined) writeFileSync(seed, seedLog);
  // $2, if given, is an installer.log left by an earlier install.
  const inner =
    'mount -t tmpfs tmpfs /opt && mount -t tmpfs tmpfs /usr/local/sbin && mount -t tmpfs tmpfs /etc/systemd/system && { [ -z "$2" ] || { mkdir -p /opt/tljh/user && cp "$2" /opt/tljh/installer.log; }; } && exec sh "$1"';
  // Unprivileged (CI), unshare needs root: the runner's passwordless sudo. The environment is
  // set after sudo (whose secure_path would otherwise replace PATH and skip the stubs), and
  // -n gives the script a network namespace without interfaces: no packet can leave.
  const asRoot = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const env = [`PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, `STUB_DIR=${dir}`, `TMPDIR=${dir}`];
  const [cmd, ...args] = [
    ...asRoot,
    ...['unshare', '-m', '-n', 'env', '-i', ...env],
    ...['sh', '-c', inner, 'sh', join(dir, 'script.sh'), seed],
  ];
  const out = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 30_000 });
  expect(out.error).toBeUndefined();
  // The mount namespace must have worked, or the run proves nothing.
  expect(out.stderr).not.toMatch(/unshare|mount:/);
  return { status: out.status, stdout: out.stdout, stderr: out.stderr, stubDir: dir };
}

describe('install script under sh with stub commands', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const run = (script: string, stubs: Record<string, string>, seedLog?: string): Run => {
    const r = runWithStubs(script, stubs, seedLog);
    dirs.push(r.stubDir);
    return r;
  };

  test('a succeeding installer gives a healthy report and exit 0', () => {
    const r = run(INSTALL, SUCCEEDING);
    expect(r.status).toBe(0);
    const report = parseReport(r.stdout);
    expect(report.fields).toMatchObject({
      'cloud-init': 'status: done',
      'installer-exit': '0',
      'installer-log': 'done',
      'service-jupyterhub': 'active',
      'service-traefik': 'active',
      'api-status': '200',
      'api-body': '{"version": "5.3.0"}',
    });
    expect(report.installerOutput).toEqual(['Setting up hub environment...', 'Done!']);
    expect(report.logTail.at(-1)).toBe('2026-01-01 10:03:00,000 Done!');
    expect(evaluateReport(report)).toEqual({ healthy: true, problems: [], version: '5.3.0' });
    // The installer got exactly the pinned version and the admin, as separate arguments.
    const args = readFileSync(join(r.stubDir, 'python3.args'), 'utf8').trim().split('\n');
    expect(args.slice(1)).toEqual(['--version', '2.0.0', '--admin', 'naomi']);
    expect(args[0]).toMatch(/\/bootstrap\.py$/);
    expect(readFileSync(join(r.stubDir, 'curl.urls'), 'utf8').split('\n')).toEqual([
      bootstrapUrl('2.0.0'),
      'http://127.0.0.1/hub/api',
      expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api\/status$/), // the user-server check
      '',
    ]);
    // ... run as the unprivileged probe account, from the user environment.
    const runuser = readFileSync(join(r.stubDir, 'runuser.args'), 'utf8').split('\n');
    expect(runuser.slice(0, 3)).toEqual(['-u', 'jupyter-tljh-action-probe', '--']);
    expect(runuser).toContain('/opt/tljh/user/bin/python3');
    // The real /opt was never written.
    const realLog = '/opt/tljh/installer.log';
    expect(existsSync(realLog) ? readFileSync(realLog, 'utf8') : '').not.toContain(
      '2026-01-01 10:03:00,000 Done!',
    );
  });

  test('hostile values reach the installer verbatim and run nothing', () => {
    const marker = join(tmpdir(), `tljh-pwned-${process.pid}`);
    const admin = `x'; touch ${marker}; echo '$(touch ${marker})\`touch ${marker}\``;
    const r = run(
      buildInstallScript({ region: 'eu-west-1', tljhVersion: '2.0.0', adminUser: admin }),
      SUCCEEDING,
    );
    expect(r.status).toBe(0);
    const args = readFileSync(join(r.stubDir, 'python3.args'), 'utf8').trim().split('\n');
    expect(args.slice(1)).toEqual(['--version', '2.0.0', '--admin', admin]);
    expect(existsSync(marker)).toBe(false);
  });

  test("a failing installer gives an unhealthy report carrying the installer's lines", () => {
    const r = run(INSTALL, FAILING);
    // The installer's own status is in the report; the script's code names the step.
    expect(r.status).toBe(EXIT_CODES.installer);
    const report = parseReport(r.stdout);
    expect(report.fields['installer-exit']).toBe('1');
    expect(report.fields['installer-log']).toBe('incomplete');
    expect(report.installerOutput).toEqual(FAILED_INSTALL.output);
    expect(report.installerOutput).toContain(FAILED_INSTALL.ranLine);
    expect(report.logTail).toEqual(FAILED_INSTALL.logTail);
    const health = evaluateReport(report);
    expect(health.healthy).toBe(false);
    expect(health.problems).toEqual([
      'the TLJH installer exited with code 1',
      "/opt/tljh/installer.log does not end with 'Done!' (incomplete)",
      'service jupyterhub is inactive',
      'service traefik is inactive',
      '/hub/api on the instance answered 000 without a hub version',
      "a user's server did not start from /opt/tljh/user as an unprivileged user: there is no user environment at /opt/tljh/user",
    ]);
  });

  test('a download failure stops before the installer, with its own exit code', () => {
    const r = run(INSTALL, { ...SUCCEEDING, curl: 'exit 22' });
    expect(r.status).toBe(11);
    const report = parseReport(r.stdout);
    expect(report.fields.error).toContain(`could not download ${bootstrapUrl('2.0.0')}`);
    expect(report.fields['installer-exit']).toBeUndefined();
    expect(existsSync(join(r.stubDir, 'python3.args'))).toBe(false);
    expect(evaluateReport(report).healthy).toBe(false);
  });

  test('a settings parameter is read on the instance: only its name is in the script', () => {
    const script = buildInstallScript({
      region: 'eu-west-1',
      tljhVersion: '2.0.0',
      adminUser: 'naomi',
      settingsParameter: '/tljh/workshop/settings',
    });
    expect(script).toContain("read '/tljh/workshop/settings' 'eu-west-1'");
    // In the sandbox there is no network: the read fails, and the script stops before installing.
    const r = run(script, SUCCEEDING);
    expect(r.status).toBe(15);
    expect(parseReport(r.stdout).fields.error).toContain('could not read the settings parameter');
    expect(existsSync(join(r.stubDir, 'python3.args'))).toBe(false);
  });

  test('a dpkg lock held for too long stops the script', () => {
    const script = buildInstallScript({
      region: 'eu-west-1',
      tljhVersion: '2.0.0',
      adminUser: 'naomi',
      dpkgLockTimeoutSeconds: 10,
    });
    const r = run(script, { ...SUCCEEDING, fuser: 'echo poll >>"$STUB_DIR/fuser.calls"; exit 0' });
    expect(r.status).toBe(10);
    expect(parseReport(r.stdout).fields.error).toBe(
      'another process held the dpkg lock for too long',
    );
    expect(readFileSync(join(r.stubDir, 'fuser.calls'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  test('the verify script alone reports the same checks and always exits 0', () => {
    const healthy = run(
      VERIFY,
      { ...SUCCEEDING, python3: 'exit 99' },
      '2026-01-01 10:00:00,000 Setting up hub environment...\n2026-01-01 10:03:00,000 Done!\n',
    );
    expect(healthy.status).toBe(0);
    expect(evaluateReport(parseReport(healthy.stdout))).toEqual({
      healthy: true,
      problems: [],
      version: '5.3.0',
    });
    const broken = run(VERIFY, FAILING);
    expect(broken.status).toBe(0);
    const health = evaluateReport(parseReport(broken.stdout));
    expect(health.healthy).toBe(false);
    expect(health.problems[0]).toBe("/opt/tljh/installer.log does not end with 'Done!' (missing)");
  });
});

/** Runs scripts with stub commands; their directories go after the enclosing describe block. */
function useStubRuns(): (script: string, stubs: Record<string, string>) => Run {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return (script, stubs) => {
    const r = runWithStubs(script, stubs);
    dirs.push(r.stubDir);
    return r;
  };
}

describe('what the installer is handed (defects found against TLJH 2.0.0 source)', () => {
  const run = useStubRuns();
  const installerArgs = (r: Run): string[] =>
    readFileSync(join(r.stubDir, 'python3.args'), 'utf8').trim().split('\n').slice(1);

  test('the installer runs under umask 022: TLJH never widens the user environment modes', () => {
    const python3 = SUCCEEDING.python3!.replace(
      'mkdir -p /opt/tljh/user',
      'umask >"$STUB_DIR/installer.umask"; mkdir -p /opt/tljh/user',
    );
    const r = run(INSTALL, { ...SUCCEEDING, python3 });
    expect(r.status).toBe(0);
    expect(readFileSync(join(r.stubDir, 'installer.umask'), 'utf8').trim()).toBe('0022');
  });

  test('every plugin follows one --plugin flag (argparse nargs="*" keeps only the last flag)', () => {
    const r = run(
      buildInstallScript({
        region: 'eu-west-1',
        tljhVersion: '2.0.0',
        adminUser: 'naomi',
        plugins: ['tljh-repo2docker>=1,<2', 'pkg[a,b]', 'git+https://github.com/org/plugin@v1'],
      }),
      SUCCEEDING,
    );
    expect(r.status).toBe(0);
    const args = installerArgs(r);
    expect(args.filter((a) => a === '--plugin')).toHaveLength(1);
    expect(args.slice(args.indexOf('--plugin'))).toEqual([
      '--plugin',
      'tljh-repo2docker>=1,<2',
      'pkg[a,b]',
      'git+https://github.com/org/plugin@v1',
    ]);
  });

  test('a reinstall passes on the admins the hub already has (the installer overwrites users.admin)', () => {
    // The hub environment's Python answers the helper's `admins` with what config.yaml lists.
    const seed = `mkdir -p /opt/tljh/config /opt/tljh/hub/bin
echo 'users: {admin: [naomi, alice, "bad;name"]}' >/opt/tljh/config/config.yaml
printf '#!/bin/sh\\nprintf "naomi\\\\nalice\\\\nbad;name\\\\n-x\\\\n"\\n' >/opt/tljh/hub/bin/python3
chmod +x /opt/tljh/hub/bin/python3
echo "status: done"`;
    const r = run(INSTALL, { ...SUCCEEDING, 'cloud-init': seed });
    expect(r.status).toBe(0);
    const args = installerArgs(r);
    expect(args.slice(args.indexOf('--admin'))).toEqual(['--admin', 'naomi', 'alice']);
    const report = parseReport(r.stdout);
    expect(report.fields['kept-admin-skipped']).toBe('-x');
  });

  test("an installer killed by the OOM killer (137) is reported as such, the script's own code is 20", () => {
    const python3 = SUCCEEDING.python3!.replace('exit 0', 'exit 137');
    const r = run(INSTALL, { ...SUCCEEDING, python3 });
    expect(r.status).toBe(EXIT_CODES.installer);
    const health = evaluateReport(parseReport(r.stdout));
    expect(health.problems).toContain(
      'the TLJH installer exited with code 137 (killed: out of memory? try a larger instance-type)',
    );
  });
});

describe("TLJH's progress page (bootstrap.py --show-progress-page, on a cold install)", () => {
  const run = useStubRuns();
  /** A curl stub whose bootstrap.py download is `source`. */
  const serving = (source: string): string =>
    SUCCEEDING.curl!.replace(
      `echo '# fake bootstrap.py' >"$out" ;;`,
      `cat >"$out" <<'FAKE_BOOTSTRAP' ;;\n${source}\nFAKE_BOOTSTRAP`,
    );
  // Every TLJH release's bootstrap.py (0.2.0 on) documents and parses the flag.
  const WITH_FLAG = '# usage: bootstrap.py [--show-progress-page] [--version VERSION]';
  const installerArgs = (r: Run): string[] =>
    readFileSync(join(r.stubDir, 'python3.args'), 'utf8').trim().split('\n').slice(1);

  test('a cold install runs a bootstrap.py that has the flag with --show-progress-page, from /', () => {
    const python3 = SUCCEEDING.python3!.replace(
      'mkdir -p /opt/tljh/user',
      'pwd >"$STUB_DIR/python3.cwd"; mkdir -p /opt/tljh/user',
    );
    const r = run(INSTALL, { ...SUCCEEDING, curl: serving(WITH_FLAG), python3 });
    expect(r.status).toBe(0);
    expect(installerArgs(r)).toEqual([
      '--show-progress-page',
      '--version',
      '2.0.0',
      '--admin',
      'naomi',
    ]);
    expect(parseReport(r.stdout).fields['progress-page']).toBe('yes');
    // The page server serves /var/run/index.html as a path relative to its working directory.
    expect(readFileSync(join(r.stubDir, 'python3.cwd'), 'utf8').trim()).toBe('/');
  });

  test('not with a bootstrap.py without the flag (a ref older than any release)', () => {
    const r = run(INSTALL, { ...SUCCEEDING, curl: serving('# usage: bootstrap.py [--version V]') });
    expect(r.status).toBe(0);
    expect(installerArgs(r)).toEqual(['--version', '2.0.0', '--admin', 'naomi']);
    expect(parseReport(r.stdout).fields['progress-page']).toBe('no');
  });

  test('not on a hub TLJH installed before (traefik holds port 80: bootstrap.py ignores it)', () => {
    const seed = `mkdir -p /opt/tljh/hub/bin && printf '#!/bin/sh\\n' >/opt/tljh/hub/bin/python3
chmod +x /opt/tljh/hub/bin/python3
echo "status: done"`;
    const r = run(INSTALL, { ...SUCCEEDING, curl: serving(WITH_FLAG), 'cloud-init': seed });
    expect(r.status).toBe(0);
    expect(installerArgs(r)).not.toContain('--show-progress-page');
    expect(parseReport(r.stdout).fields['progress-page']).toBe('no');
  });

  // As upstream's bootstrap.py does it: the page server is a multiprocessing.Process (not a
  // daemon) serving until SIGINT; then either bootstrap.py itself fails (its exit joins the
  // server: forever) or it hands over (execv) to an installer that fails (the server orphaned).
  const upstreamLike = (failure: string): string => `${WITH_FLAG}
import multiprocessing, os, signal, sys
from http.server import HTTPServer, SimpleHTTPRequestHandler
def serve_forever(server):
    signal.alarm(40)  # a test that fails leaves nothing behind for long
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
if "--show-progress-page" in sys.argv:
    p = multiprocessing.Process(target=serve_forever, args=(HTTPServer(("", 0), SimpleHTTPRequestHandler),))
    p.start()
    with open(os.environ["STUB_DIR"] + "/page-server.pid", "w") as f:
        f.write(str(p.pid))
${failure}`;

  test('the installer can stop the page server with SIGINT, as upstream does before traefik starts', () => {
    // Run as an asynchronous command, bootstrap.py (and its server) would ignore SIGINT.
    const stopsIt = `p.join(0.5)
os.kill(p.pid, signal.SIGINT)
p.join(5)
os.makedirs("/opt/tljh/user", exist_ok=True)
with open("/opt/tljh/installer.log", "a") as f:
    f.write("2026-01-01 10:03:00,000 Done!\\n")
sys.exit(0 if p.exitcode is not None else 3)`;
    const python3 = 'exec /usr/bin/python3 "$@"';
    const r = run(INSTALL, { ...SUCCEEDING, curl: serving(upstreamLike(stopsIt)), python3 });
    expect(parseReport(r.stdout).fields['installer-exit']).toBe('0');
    expect(r.status).toBe(0);
  });

  test.each([
    [
      'bootstrap.py fails before the installer (it would wait for the server forever)',
      `raise RuntimeError("Ran pip install with exit code 1")`,
    ],
    [
      'the installer fails (the server would stay orphaned on port 80)',
      `os.execv("/bin/sh", ["sh", "-c", "echo 'Traceback (most recent call last):' >&2; exit 1"])`,
    ],
  ])('%s: the script stops the page server and reports the failure', (_name, failure) => {
    const python3 = 'exec /usr/bin/python3 "$@"';
    const r = run(INSTALL, { ...FAILING, curl: serving(upstreamLike(failure)), python3 });
    const pid = readFileSync(join(r.stubDir, 'page-server.pid'), 'utf8').trim();
    const cmdline = (): string => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    try {
      expect(r.status).toBe(EXIT_CODES.installer);
      const report = parseReport(r.stdout);
      expect(report.fields['progress-page']).toBe('yes');
      expect(report.fields['installer-exit']).toBe('1');
      expect(r.stdout).toContain('Traceback (most recent call last):');
      expect(cmdline()).not.toContain('bootstrap.py');
    } finally {
      if (cmdline().includes('bootstrap.py')) process.kill(Number(pid), 'SIGKILL');
    }
  });
});
