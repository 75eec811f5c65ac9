// The IMDS block (src/scripts/imds-guard.ts): lint, idempotence against a stand-in iptables that
// keeps the rule table in a file, failure handling, and (as root, in a fresh network namespace
// with the real iptables) that a non-root user is refused the metadata service while root is not.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IMDS_GUARD_UNIT,
  buildImdsGuard,
  imdsGuardApplyScript,
  imdsGuardUnit,
} from '../src/scripts/imds-guard.ts';

const REJECT4 = 'OUTPUT -d 169.254.169.254/32 -m owner --uid-owner 1-4294967294 -j REJECT';
const REJECT6 = 'OUTPUT -d fd00:ec2::254/128 -m owner --uid-owner 1-4294967294 -j REJECT';
const EIC4 = 'OUTPUT -d 169.254.169.254/32 -m owner --uid-owner 4242 -j ACCEPT';
const EIC6 = 'OUTPUT -d fd00:ec2::254/128 -m owner --uid-owner 4242 -j ACCEPT';

// Stand-in for iptables/ip6tables: OUTPUT's rules in a file, one per line, in chain order.
const IPTABLES_STUB = `#!/bin/sh
name=$(basename "$0")
state="$STUB_STATE/$name.rules"
echo "$name $*" >>"$STUB_STATE/calls.log"
[ "\${STUB_FAIL:-}" = "$name" ] && exit 4
touch "$state"
[ "$1" = -w ] && shift 2
op=$1; chain=$2; shift 2
[ "$op" = -I ] && shift
rule="$chain $*"
case $op in
  -C) grep -qxF -- "$rule" "$state" ;;
  -I) { printf '%s\\n' "$rule"; cat "$state"; } >"$state.new" && mv "$state.new" "$state" ;;
  -A) printf '%s\\n' "$rule" >>"$state" ;;
  -D) awk -v r="$rule" 'done || $0 != r { print; next } { done = 1 }' "$state" >"$state.new"
      if cmp -s "$state" "$state.new"; then rm -f "$state.new"; exit 1; fi
      mv "$state.new" "$state" ;;
  *) exit 2 ;;
esac
`;
const SYSTEMCTL_STUB = `#!/bin/sh
echo "systemctl $*" >>"$STUB_STATE/calls.log"
[ "\${STUB_FAIL:-}" = systemctl ] && exit 1
exit 0
`;
// \`id -u ec2-instance-connect\` answers only when the test says that user exists.
const ID_STUB = `#!/bin/sh
if [ "$1" = -u ] && [ "$2" = ec2-instance-connect ] && [ -n "\${STUB_EIC_UID:-}" ]; then
  echo "$STUB_EIC_UID"; exit 0
fi
exit 1
`;

interface Sandbox {
  dir: string;
  bin: string;
  state: string;
  sbin: string;
  units: string;
}

const sandboxes: string[] = [];
afterAll(() => sandboxes.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sandbox(stubs: Record<string, string>): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'imds-guard-'));
  sandboxes.push(dir);
  const box = {
    dir,
    bin: join(dir, 'bin'),
    state: join(dir, 'state'),
    sbin: join(dir, 'sbin'),
    units: join(dir, 'units'),
  };
  mkdirSync(box.bin);
  mkdirSync(box.state);
  for (const [name, text] of Object.entries(stubs)) {
    writeFileSync(join(box.bin, name), text);
    chmodSync(join(box.bin, name), 0o755);
  }
  return box;
}

function script(box: Sandbox, exitCode?: number): string {
  return `#!/bin/sh\nset -u\n${buildImdsGuard({ sbinDir: box.sbin, unitDir: box.units, exitCode })}\n`;
}

/** Runs the snippet with dash (Ubuntu's sh), the stubs first on PATH. */
function run(box: Sandbox, env: Record<string, string> = {}, text = script(box)) {
  const file = join(box.dir, 'guard.sh');
  writeFileSync(file, text);
  return spawnSync('dash', [file], {
    encoding: 'utf8',
    env: { PATH: `${box.bin}:${process.env.PATH}`, STUB_STATE: box.state, ...env },
  });
}

const rules = (box: Sandbox, name: string) =>
  readFileSync(join(box.state, `${name}.rules`), 'utf8')
    .split('\n')
    .filter(Boolean);
const calls = (box: Sandbox) =>
  readFileSync(join(box.state, 'calls.log'), 'utf8').split('\n').filter(Boolean);

describe('lint', () => {
  test.each([
    ['install step', `#!/bin/sh\n${buildImdsGuard()}\n`],
    ['boot-time script', imdsGuardApplyScript()],
  ])('the %s passes shellcheck -s sh', (_name, text) => {
    const out = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: text, encoding: 'utf8' });
    expect(out.error).toBeUndefined();
    expect(out.stdout + out.stderr).toBe('');
    expect(out.status).toBe(0);
  });

  test('the unit runs the script before the network and the hub, at every boot', () => {
    const unit = imdsGuardUnit('/usr/local/sbin/tljh-imds-guard');
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/sbin\/tljh-imds-guard$/m);
    expect(unit).toMatch(/^Before=.*\bnetwork-pre\.target\b.*\bjupyterhub\.service\b/m);
    expect(unit).toMatch(/^Type=oneshot$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
  });
});

describe('with a stand-in iptables', () => {
  const stubs = {
    iptables: IPTABLES_STUB,
    ip6tables: IPTABLES_STUB,
    systemctl: SYSTEMCTL_STUB,
    id: ID_STUB,
  };

  test('adds each rule once however often it runs, and enables the boot-time unit', () => {
    const box = sandbox(stubs);
    for (let i = 0; i < 3; i++) {
      const out = run(box, { STUB_EIC_UID: '4242' });
      expect(out.stderr).toBe('');
      expect(out.status).toBe(0);
      expect(out.stdout.trim().split('\n')).toEqual([
        '::tljh:: phase=imds-guard',
        '::tljh:: imds-guard=ok',
      ]);
    }
    // The Instance Connect exception comes first, or the REJECT would shadow it.
    expect(rules(box, 'iptables')).toEqual([EIC4, REJECT4]);
    expect(rules(box, 'ip6tables')).toEqual([EIC6, REJECT6]);
    expect(calls(box).filter((c) => c.startsWith('systemctl'))).toEqual(
      Array(3)
        .fill(['systemctl daemon-reload', `systemctl enable ${IMDS_GUARD_UNIT}`])
        .flat(),
    );
    const apply = join(box.sbin, 'tljh-imds-guard');
    const unit = join(box.units, IMDS_GUARD_UNIT);
    expect(statSync(apply).mode & 0o777).toBe(0o755);
    expect(statSync(unit).mode & 0o777).toBe(0o644);
    expect(readFileSync(apply, 'utf8')).toBe(imdsGuardApplyScript());
    expect(readFileSync(unit, 'utf8')).toBe(imdsGuardUnit(apply));
  });

  test('keeps the Instance Connect exception ahead of a REJECT added after it', () => {
    const box = sandbox(stubs);
    writeFileSync(join(box.state, 'iptables.rules'), `${EIC4}\n`);
    expect(run(box, { STUB_EIC_UID: '4242' }).status).toBe(0);
    expect(rules(box, 'iptables')).toEqual([EIC4, REJECT4]);
  });

  test('without the Instance Connect user, only the REJECT rules', () => {
    const box = sandbox(stubs);
    expect(run(box).status).toBe(0);
    expect(rules(box, 'iptables')).toEqual([REJECT4]);
    expect(rules(box, 'ip6tables')).toEqual([REJECT6]);
  });

  test.each([
    ['iptables', 'iptables refused the rules'],
    ['ip6tables', 'iptables refused the rules'],
    ['systemctl', `could not enable ${IMDS_GUARD_UNIT}`],
  ])('fails closed when %s fails', (failing, why) => {
    const box = sandbox(stubs);
    const out = run(box, { STUB_FAIL: failing }, script(box, 21));
    expect(out.status).toBe(21);
    expect(out.stdout).toContain(
      `::tljh:: error=could not block the instance metadata service for non-root users: ${why}`,
    );
    expect(out.stdout).not.toContain('imds-guard=ok');
  });

  test('fails closed when iptables is not installed', () => {
    const box = sandbox({});
    const out = spawnSync('/bin/dash', ['-c', script(box)], {
      encoding: 'utf8',
      env: { PATH: box.bin },
    });
    expect(out.status).toBe(17);
    expect(out.stdout).toContain('error=could not block the instance metadata service');
    expect(out.stdout).toContain('iptables is not installed');
  });
});

// As root only (unshare needs CAP_SYS_ADMIN): a fresh network namespace holds only loopback,
// so the rules touch neither this machine's firewall nor any real metadata service.
const isRoot = process.getuid?.() === 0;
const describeAsRoot = isRoot ? describe : describe.skip;

const SERVER = `
const http = require('node:http');
for (const host of ['169.254.169.254', 'fd00:ec2::254'])
  http.createServer((_q, s) => s.end('role-credentials')).listen(80, host);
`;

// Prints one `name=curl-exit-code` line per probe; 0 means the metadata service answered,
// 7 means the connection was refused (REJECT), 28 a time-out.
const NAMESPACE_SCRIPT = `
set -u
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
ip -6 addr add fd00:ec2::254/128 dev lo nodad
"$NODE" "$BOX/server.cjs" &
server=$!
i=0
until curl -s -o /dev/null --max-time 1 http://169.254.169.254/; do
  i=$((i + 1)); [ "$i" -lt 50 ] || { echo server=down; kill "$server"; exit 1; }
  sleep 0.1
done
probe() { # name uid url
  if [ "$2" = 0 ]; then curl -s -o /dev/null --max-time 5 "$3"
  else setpriv --reuid="$2" --regid="$2" --clear-groups curl -s -o /dev/null --max-time 5 "$3"; fi
  echo "$1=$?"
}
probes() { # prefix
  probe "$1.root4" 0 http://169.254.169.254/
  probe "$1.root6" 0 'http://[fd00:ec2::254]/'
  probe "$1.user4" 65534 http://169.254.169.254/
  probe "$1.user6" 65534 'http://[fd00:ec2::254]/'
  probe "$1.eic4" 4242 http://169.254.169.254/
}
probes before
PATH="$BOX/bin:$PATH" STUB_STATE="$BOX/state" STUB_EIC_UID=4242 dash "$BOX/guard.sh" | sed 's/^/first: /'
PATH="$BOX/bin:$PATH" STUB_STATE="$BOX/state" STUB_EIC_UID=4242 dash "$BOX/guard.sh" | sed 's/^/second: /'
probes after
echo "rules4=$(iptables -S OUTPUT | grep -c -- '-m owner')"
echo "rules6=$(ip6tables -S OUTPUT | grep -c -- '-m owner')"
# A reboot loses the rules; the unit's script alone puts them back.
iptables -F OUTPUT; ip6tables -F OUTPUT
probe flushed.user4 65534 http://169.254.169.254/
PATH="$BOX/bin:$PATH" STUB_EIC_UID=4242 "$BOX/sbin/tljh-imds-guard"; echo boot=$?
probe boot.user4 65534 http://169.254.169.254/
probe boot.user6 65534 'http://[fd00:ec2::254]/'
probe boot.root4 0 http://169.254.169.254/
kill "$server"
`;

describeAsRoot('in a fresh network namespace with the real iptables', () => {
  test('non-root users are refused the metadata service, root is not, and a reboot restores it', () => {
    for (const tool of ['iptables', 'ip6tables', 'unshare', 'setpriv', 'curl']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
      // scripts/setup.sh installs them; a missing tool fails here rather than skipping the proof.
      expect(`${tool}: ${found ? 'found' : 'missing (run scripts/setup.sh)'}`).toBe(
        `${tool}: found`,
      );
    }
    const box = sandbox({ systemctl: SYSTEMCTL_STUB, id: ID_STUB });
    writeFileSync(join(box.dir, 'server.cjs'), SERVER);
    writeFileSync(join(box.dir, 'guard.sh'), script(box));
    const out = spawnSync('unshare', ['--net', '--', 'dash', '-c', NAMESPACE_SCRIPT], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NODE: process.execPath, BOX: box.dir },
      timeout: 90_000,
    });
    expect(out.stderr).toBe('');
    const report = Object.fromEntries(
      out.stdout
        .split('\n')
        .filter((l) => /^[\w.]+=/.test(l))
        .map((l) => l.split('=') as [string, string]),
    );
    // Without the guard, any user reads the metadata service: what this whole test is about.
    expect(report).toMatchObject({ 'before.root4': '0', 'before.user4': '0', 'before.user6': '0' });
    expect(out.stdout).toContain('first: ::tljh:: imds-guard=ok');
    expect(out.stdout).toContain('second: ::tljh:: imds-guard=ok');
    expect(report).toMatchObject({
      'after.root4': '0',
      'after.root6': '0',
      'after.user4': '7',
      'after.user6': '7',
      'after.eic4': '0',
      // Two rules per family (the exception and the REJECT), however often the step ran.
      rules4: '2',
      rules6: '2',
      'flushed.user4': '0',
      boot: '0',
      'boot.user4': '7',
      'boot.user6': '7',
      'boot.root4': '0',
    });
  });
});
