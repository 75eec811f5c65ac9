// The hostile-input test. A corpus of hostile values (shell metacharacters, newlines,
// quotes, control characters, unicode, very long values, leading dashes, format strings, marker
// and heredoc injections) goes through every input that reaches a script, a tag or a
// tljh-config call. Each value is either rejected by parseInputs (an InputError that names the
// input, says what it accepts and echoes nothing unprintable; pure, so no AWS call can have been
// made) or accepted, and then shown to be used safely:
//   - script inputs: the generated install script runs for real under `sh` (sandboxed, stub
//     commands recording their argv NUL-separated, the system's account, firewall and service
//     tools stubbed too) and the installer gets the value as one argument, nothing else runs,
//     and the ::tljh:: report is intact;
//   - tljh-config inputs and the admin password: the instance helper runs on the real python3
//     with the settings JSON the action would store, and tljh-config gets each value as one
//     argument, byte for byte; redact hides the password;
//   - tag inputs: runInstancesInput carries them unchanged as Tag values (no string building).
// A sample also goes through main.ts's run() with mocked AWS clients: setFailed, zero calls.
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { runInstancesInput } from '../src/aws/launch-request.ts';
import { MARK, PROBE_USER, bootstrapUrl, buildInstallScript, shQuote } from '../src/bootstrap.ts';
import { InputError } from '../src/errors.ts';
import { hubSettings, type HubSettings } from '../src/settings-parameter.ts';
import { INSTANCE_HELPER } from '../src/instance-helper.ts';
import { isCidr, parseInputs, type HubSpec } from '../src/inputs.ts';
import { TAG_HUB, TAG_MANAGED_BY, MANAGED_BY } from '../src/tags.ts';
import { parseTtl } from '../src/ttl.ts';
import { evaluateReport, parseReport } from '../src/verify.ts';
import { fakeCore, saveEnv } from './helpers/fake-core.ts';
import { awsError } from './helpers/fakes.ts';
import {
  mapLimit,
  readCalls,
  recordArgv,
  runSandboxed,
  type SandboxRun,
} from './helpers/sandbox.ts';

// ----- The corpus ----------------------------------------------------------------------------

/** Written by hand: the classics. */
const HAND: string[] = [
  '; rm -rf /',
  '$(reboot)',
  '`reboot`',
  "'",
  '"',
  '\\',
  "it's",
  '"quoted"',
  "'; reboot; '",
  '"; reboot; "',
  "x'$(reboot)'x",
  'a | reboot',
  'a && reboot',
  'a || reboot',
  'a & reboot',
  '> /etc/passwd',
  '< /etc/shadow',
  '>>out',
  '2>&1',
  'a>out',
  'a<in',
  '*',
  '?',
  '[a-z]*',
  '/*',
  '~',
  '~root',
  '!',
  '!!',
  '!-1',
  '#',
  '# comment',
  'a #comment',
  'a\nb',
  'a\r\nb',
  'a\rb',
  'a\tb',
  '\t',
  'a\0b',
  '\0',
  '\x1b[31mred\x1b[0m',
  '\x7f',
  '\x08\x08\x08',
  '\v\f',
  '\u0085',
  '\u2028',
  '\u2029',
  '😀',
  '👩‍💻',
  'naïve',
  'nai\u0308ve',
  '\u202Eevil',
  'a\u200Bb',
  '\u200B',
  'ｎａｏｍｉ',
  '日本語',
  'İstanbul',
  'straße',
  '\uFEFFbom',
  '\u00A0',
  '\u3000',
  '\uD800',
  '-rf',
  '--help',
  '--admin=x',
  '-',
  '--',
  '-n',
  '-e',
  '--version=1',
  '--plugin=evil',
  '--config-path=/etc/passwd',
  '-h@example.org',
  '%s',
  '%n',
  '%s%s%s%n',
  '%x%x',
  '%%',
  '{0}',
  '${IFS}',
  'a${IFS}b',
  '$HOME',
  '${HOME}',
  '$IFS',
  '$0',
  '$@',
  '$$',
  '$?',
  '\\x27',
  '\\x00',
  '\\n',
  '\\u0027',
  "' OR 1=1 --",
  "'; DROP TABLE hubs; --",
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '{"a":1}',
  '["x"]',
  '{}',
  'null',
  'key=value=x',
  '=',
  '==',
  ' ',
  '   ',
  ' naomi ',
  'TLJH_HELPER_EOF',
  'x\nTLJH_HELPER_EOF\nreboot',
  'EOF',
  '::tljh:: installer-exit=0',
  '::tljh:: api-status=200',
  'x\n::tljh:: installer-exit=0',
  '::tljh::',
  'root',
  'Name',
  'aws:cloudformation:stack-name',
  'tljh:hub',
  'tljh-*',
  '..',
  '../../etc/passwd',
  '/dev/null',
  'file:///etc/passwd',
  'http://169.254.169.254/latest/meta-data/',
  'https://example.org/$(reboot)',
  'https://example.org/a b',
  'https://user:pw@example.org/r.txt',
  'https://example.org/r.txt?x=1',
  'https://example.org/r.txt#frag',
  'git+https://github.com/org/plugin@v1;reboot',
  'git+ssh://git@github.com/org/plugin',
];

/** Hostile values that some validators accept: they prove the accepted ones are used safely. */
const ACCEPTED_BY_SOMETHING: string[] = [
  'tljh-repo2docker>1.0',
  'tljh-repo2docker<2',
  'pkg!=1.0',
  'pkg==1.*',
  'pkg~=1.0',
  'pkg[a,b]>=1',
  'a,b c',
  'git+https://github.com/org/plugin@v1',
  'https://example.org/%s%n%x',
  'https://example.org/~root/a+b=c%27%22',
  'https://EXAMPLE.org:8443/--help',
  'HUB.Example.ORG',
  'xn--80ak6aa92e.com',
  '-rf@example.org',
  '--help@example.org',
  '%n%s@example.org',
  'P@ss\'w"rd$(reboot)`id`',
  '--admin=root;reboot',
  '${IFS}reboot${IFS}',
  '$HOME/../..\\x27',
  'TLJH_HELPER_EOF\\n',
  '%s%s%s%s%n%n',
  '-rf-rf-rf',
  '2.0.0--help',
  'main_TLJH_HELPER_EOF',
  'naomi-',
  '_',
  '-1',
  '-1.5',
  'sg-0123456789abcdef0 sg-0123456789abcdef1',
  '10.0.0.0/8,::/0',
  'arn:aws:iam::123456789012:instance-profile/--help',
  '+=,.@-',
];

/** Characters with a meaning somewhere: the shell, printf, globs, YAML, URLs. */
const SPECIALS = [...' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];
const CONTROLS = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\x7f'];
/** A valid value of some input, to which a payload is appended (anchoring, multi-line). */
const VALID_PREFIXES = [
  'naomi',
  '2.0.0',
  'tljh-repo2docker',
  'https://example.org/r.txt',
  'hub.example.org',
  'naomi@example.org',
  'sg-0123456789abcdef0',
  't3.small',
  '8h',
  '10.0.0.0/8',
];
const PAYLOADS = [';reboot', '$(reboot)', '\nreboot', '`reboot`', ' --admin=root', "'"];

const PROGRAMMATIC: string[] = [
  ...SPECIALS.map((c) => `x${c}y`),
  ...SPECIALS.map((c) => `${c}x`),
  ...CONTROLS.map((c) => `x${c}y`),
  ...VALID_PREFIXES.flatMap((v) => PAYLOADS.map((p) => `${v}${p}`)),
  ...[300, 5000].flatMap((n) => [
    'a'.repeat(n),
    '-'.repeat(n),
    '$(reboot)'.repeat(Math.ceil(n / 9)),
    `${'x'.repeat(n - 1)}'`,
    '😀'.repeat(n),
    'é'.repeat(n),
  ]),
  // Just inside and just outside the limits of the validators.
  ...[32, 33, 63, 64, 128, 129, 1024, 1025].map((n) => 'a'.repeat(n)),
  '日'.repeat(1024),
  '日'.repeat(1025),
  'a'.repeat(7),
];

const CORPUS: string[] = [...new Set([...HAND, ...ACCEPTED_BY_SOMETHING, ...PROGRAMMATIC])];

/** A short printable name for a value in test titles. */
function label(value: string): string {
  const json = JSON.stringify(value);
  return json.length > 44 ? `${json.slice(0, 36)}…" (${value.length} chars)` : json;
}

// ----- The inputs, and the ways a value reaches them ------------------------------------------

interface Form {
  /** How the value is given: the input's name, or e.g. `tags (key=<v>)`. */
  id: string;
  /** The input an InputError must name. */
  input: string;
  inputs: (value: string) => Record<string, string>;
}

const SETTING_KEY = 'user_environment.default_app';
const plain = (input: string): Form => ({ id: input, input, inputs: (v) => ({ [input]: v }) });
const FORMS: Form[] = [
  plain('hub-name'),
  plain('admin-user'),
  plain('tljh-version'),
  { id: 'tags (key=<v>)', input: 'tags', inputs: (v) => ({ tags: `team=${v}` }) },
  { id: 'tags (<v>=value)', input: 'tags', inputs: (v) => ({ tags: `${v}=value` }) },
  {
    id: 'tljh-config (key=<v>)',
    input: 'tljh-config',
    inputs: (v) => ({ 'tljh-config': `${SETTING_KEY}=${v}` }),
  },
  {
    id: 'tljh-config (<v>=value)',
    input: 'tljh-config',
    inputs: (v) => ({ 'tljh-config': `${v}=value` }),
  },
  plain('tljh-plugins'),
  plain('user-requirements-url'),
  {
    id: 'https-domain',
    input: 'https-domain',
    inputs: (v) => ({ 'https-domain': v, 'https-email': 'naomi@example.org' }),
  },
  {
    id: 'https-email',
    input: 'https-email',
    inputs: (v) => ({ 'https-domain': 'hub.example.org', 'https-email': v }),
  },
  plain('admin-password'),
  plain('allowed-cidrs'),
  plain('instance-type'),
  plain('image-id'),
  plain('subnet-id'),
  plain('security-group-ids'),
  plain('iam-instance-profile'),
  plain('ttl'),
];

/** An otherwise valid set of inputs: a running hub for naomi, the region from the environment. */
const BASE: Record<string, string> = { state: 'running', 'admin-user': 'naomi' };
const ENV = { AWS_REGION: 'eu-west-1' };

interface Case {
  form: Form;
  value: string;
  inputs: Record<string, string>;
  spec?: HubSpec;
  error?: unknown;
}

const CASES: Case[] = FORMS.flatMap((form) =>
  CORPUS.map((value) => {
    const inputs = { ...BASE, ...form.inputs(value) };
    try {
      // Absent inputs read as '', like @actions/core; present ones are NOT trimmed first.
      return { form, value, inputs, spec: parseInputs((name) => inputs[name] ?? '', ENV) };
    } catch (error) {
      return { form, value, inputs, error };
    }
  }),
);
type Accepted = Case & { spec: HubSpec };
const accepted = (id: string): Accepted[] =>
  CASES.filter((c): c is Accepted => c.form.id === id && c.spec !== undefined);

// ----- Rejected values: a clear error, nothing echoed raw -------------------------------------

const PASSWORD_ERROR =
  "Input 'admin-password': is not valid. Accepted: 8 to 128 printable ASCII characters without spaces or colons.";

function rejectionProblems(c: Case): string[] {
  const err = c.error;
  if (!(err instanceof InputError)) return [`threw ${String(err)}, not an InputError`];
  const m = err.message;
  const problems: string[] = [];
  if (!m.startsWith(`Input '${c.form.input}': `)) problems.push(`does not name the input: ${m}`);
  if (!/\. Accepted: .+\.$/.test(m)) problems.push(`does not say what is accepted: ${m}`);
  // No newline, tab, NUL, escape sequence or bidi override can reach the log.
  if (!/^[\x20-\x7e]*$/.test(m)) problems.push(`has unprintable characters: ${JSON.stringify(m)}`);
  if (m.length > 400) problems.push(`is ${m.length} characters long`);
  if (c.form.input === 'admin-password' && m !== PASSWORD_ERROR) {
    problems.push(`does not hide the password: ${m}`);
  }
  return problems;
}

/** @actions/core's list splitting, as parseInputs documents it for list inputs. */
const list = (raw: string): string[] =>
  raw
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The line format of tljh-plugins: trimmed lines, without blanks and # comments. */
const requirementLines = (raw: string): string[] =>
  raw
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

/** The key=value line format of tags and tljh-config, for a value that holds no line break. */
function oneLine(line: string): [string, string][] {
  const l = line.trim();
  if (!l || l.startsWith('#')) return [];
  const eq = l.indexOf('=');
  return [[l.slice(0, eq).trim(), l.slice(eq + 1).trim()]];
}

/** What an accepted value must have become in the spec (the trimmed value, a default, a list). */
function expectedInSpec(c: Accepted): [unknown, unknown] {
  const { spec, value: v } = c;
  const t = v.trim();
  const multiLine = /[\r\n]/.test(v);
  switch (c.form.id) {
    case 'hub-name':
      return [spec.hubName, t || 'tljh'];
    case 'admin-user':
      return [spec.adminUser, t];
    case 'tljh-version':
      return [spec.tljhVersion, t || '2.0.0'];
    case 'tags (key=<v>)':
    case 'tags (<v>=value)':
      return multiLine
        ? [true, true]
        : [spec.extraTags, Object.fromEntries(oneLine(c.form.inputs(v).tags!))];
    case 'tljh-config (key=<v>)':
    case 'tljh-config (<v>=value)':
      return multiLine
        ? [true, true]
        : [spec.tljhSettings, oneLine(c.form.inputs(v)['tljh-config']!)];
    case 'tljh-plugins':
      // One pip requirement per line; blank lines and # comments skipped.
      return [spec.plugins, requirementLines(v)];
    case 'user-requirements-url':
      return [spec.userRequirementsUrl, t || undefined];
    case 'https-domain':
      return [spec.https?.domain, t.toLowerCase()];
    case 'https-email':
      return [spec.https?.email, t];
    case 'admin-password':
      return [spec.adminPassword, v || undefined];
    case 'allowed-cidrs':
      return [spec.allowedCidrs, t ? list(v) : ['0.0.0.0/0', '::/0']];
    case 'instance-type':
      return [spec.instanceType, t || 't3.small'];
    case 'image-id':
      return [spec.imageId, t || undefined];
    case 'subnet-id':
      return [spec.subnetId, t || undefined];
    case 'security-group-ids':
      return [spec.securityGroupIds, list(v)];
    case 'iam-instance-profile':
      return [spec.iamInstanceProfile, t || undefined];
    case 'ttl':
      return [spec.ttlMs, t ? parseTtl(t) : undefined];
    default:
      throw new Error(`no expectation for ${c.form.id}`);
  }
}

describe('each hostile value is rejected with a clear error, or accepted as given', () => {
  test(`the corpus has at least 100 hostile values (${CORPUS.length}) over ${FORMS.length} input forms: ${CASES.length} cases`, () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(100);
    expect(CASES).toHaveLength(CORPUS.length * FORMS.length);
    const rows = FORMS.map((f) => {
      const all = CASES.filter((c) => c.form === f);
      const ok = all.filter((c) => c.spec).length;
      return `${f.id.padEnd(26)} accepted ${String(ok).padStart(3)}  rejected ${String(all.length - ok).padStart(3)}`;
    });
    console.log(
      `Hostile inputs: ${CORPUS.length} values x ${FORMS.length} input forms = ${CASES.length} cases\n${rows.join('\n')}`,
    );
  });

  test.each(FORMS.map((f) => [f.id, f] as const))('%s', (_id, form) => {
    const problems: string[] = [];
    for (const c of CASES.filter((x) => x.form === form)) {
      if (c.error !== undefined) {
        problems.push(...rejectionProblems(c).map((p) => `${label(c.value)} rejected: ${p}`));
        continue;
      }
      const [got, want] = expectedInSpec(c as Accepted);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        problems.push(
          `${label(c.value)} accepted as ${JSON.stringify(got)}, not ${JSON.stringify(want)}`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

  test('the one-line key=value values are taken whole (the format splits only at the first =)', () => {
    const spec = accepted('tljh-config (<v>=value)').find((c) => c.value === 'key=value=x')!.spec;
    expect(spec.tljhSettings).toEqual([['key', 'value=x=value']]);
    const tags = accepted('tags (key=<v>)').find((c) => c.value === 'key=value=x')!.spec;
    expect(tags.extraTags).toEqual({ team: 'key=value=x' });
  });

  test('shell payloads are rejected by every input that is not free text', () => {
    for (const v of ['; rm -rf /', '$(reboot)', '`reboot`', 'a\0b', '\x1b[31mred\x1b[0m']) {
      // tljh-config values and passwords are free text: they are checked where they are used.
      const free = /^(tljh-config|admin-password)/;
      const cases = CASES.filter((c) => c.value === v && !free.test(c.form.id));
      expect(cases.filter((c) => c.spec).map((c) => c.form.id)).toEqual([]);
    }
  });
});

// ----- Tags and AWS inputs: carried as structure, never as built strings ----------------------

describe('tag and AWS inputs reach RunInstances unchanged, as structure', () => {
  const ids = [
    'hub-name',
    'tags (key=<v>)',
    'tags (<v>=value)',
    'instance-type',
    'image-id',
    'subnet-id',
    'security-group-ids',
    'iam-instance-profile',
  ];
  test.each(ids)('%s', (id) => {
    const cases = accepted(id);
    for (const { spec, value } of cases) {
      const input = runInstancesInput({
        hubName: spec.hubName,
        imageId: spec.imageId ?? 'ami-0123456789abcdef0',
        rootDeviceName: '/dev/sda1',
        instanceType: spec.instanceType,
        rootVolumeSizeGiB: spec.rootVolumeSizeGiB,
        iamInstanceProfile: spec.iamInstanceProfile,
        subnetId: spec.subnetId,
        securityGroupIds: spec.securityGroupIds,
        extraTags: spec.extraTags,
        clientToken: 'tljh-test',
      });
      const tags = [
        { Key: 'Name', Value: `tljh-${spec.hubName}` },
        { Key: TAG_HUB, Value: spec.hubName },
        { Key: TAG_MANAGED_BY, Value: MANAGED_BY },
        ...Object.entries(spec.extraTags).map(([Key, Value]) => ({ Key, Value })),
      ];
      const why = `for ${label(value)}`;
      expect([why, input.TagSpecifications]).toEqual([
        why,
        [
          { ResourceType: 'instance', Tags: tags },
          { ResourceType: 'volume', Tags: tags },
        ],
      ]);
      // No user tag can replace the action's own (reserved keys are rejected).
      expect(Object.keys(spec.extraTags).filter((k) => /^(aws:|tljh:|Name$)/i.test(k))).toEqual([]);
      expect(input.ImageId).toBe(spec.imageId ?? 'ami-0123456789abcdef0');
      expect(input.InstanceType).toBe(spec.instanceType);
      const profile = spec.iamInstanceProfile;
      expect(input.IamInstanceProfile).toEqual(
        profile ? (profile.startsWith('arn:') ? { Arn: profile } : { Name: profile }) : undefined,
      );
      const groups = spec.subnetId ? input.NetworkInterfaces?.[0]?.Groups : input.SecurityGroupIds;
      // No group given: the request names none (the hub's own is made by then; a builder takes
      // the VPC's default).
      expect(groups ?? []).toEqual(spec.securityGroupIds);
      expect(input.NetworkInterfaces?.[0]?.SubnetId).toBe(spec.subnetId);
    }
    // Each of these inputs accepts some hostile value (or at least its whitespace-only forms).
    expect(cases.length).toBeGreaterThan(0);
  });

  test('accepted CIDRs and TTLs are parsed data, not text', () => {
    for (const { spec } of accepted('allowed-cidrs')) {
      expect(spec.allowedCidrs.every(isCidr)).toBe(true);
    }
    for (const { spec } of accepted('ttl')) {
      expect(spec.ttlMs === undefined || Number.isInteger(spec.ttlMs)).toBe(true);
    }
  });
});

// ----- Script inputs: the install script, executed under sh with stub commands ---------------

const REGION = 'eu-west-1';
const INSTANCE_ID = 'i-0123456789abcdef0';
/** Commands no value may ever start: each records its call, which fails the test. */
const SENTINELS = [
  'reboot',
  'shutdown',
  'poweroff',
  'halt',
  'touch',
  'id',
  'whoami',
  'sudo',
  'wget',
  'nc',
  'bash',
  'ls',
  'uname',
  'evil',
  'y',
];

const SENTINEL_STUBS = Object.fromEntries(
  SENTINELS.map((name) => [name, `${recordArgv('sentinel')}\nexit 0`]),
);

/**
 * A curl that records its argv, serves bootstrap.py and answers the verify probes: the hub's
 * /hub/api (over HTTP, or HTTPS with --resolve) and the probe user's server. Like curl, the body
 * goes to -o (stdout for -o - or none) and -w's %{http_code} to stdout.
 */
const CURL = `${recordArgv('curl')}
out=''; url=''; fmt=''
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift 2 ;;
    -w) fmt=$2; shift 2 ;;
    -H|--max-time|--retry|--retry-delay|--resolve) shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
answer() {
  if [ -z "$out" ] || [ "$out" = - ]; then printf '%s' "$1"; else printf '%s' "$1" >"$out"; fi
  [ -z "$fmt" ] || printf "$(printf '%s' "$fmt" | sed "s/%{http_code}/$2/")"
}
case "$url" in
  https://raw.githubusercontent.com/*) answer '# fake bootstrap.py' 200 ;;
  http://127.0.0.1/hub/api | https://*/hub/api) answer '{"version": "5.3.0"}' 200 ;;
  # The probe's server answers once runuser has started it.
  http://127.0.0.1:*/api/status) [ -e "$STUB_DIR/runuser.started" ] || exit 7; answer '{}' 200 ;;
  *) exit 6 ;;
esac`;

/**
 * python3: the action's own helper runs on the real python3, except `read` (which would ask IMDS
 * and SSM) answers with the settings JSON the action would have stored. bootstrap.py is faked: it
 * records its argv, writes a finished installer.log and echoes its arguments (for the redaction).
 */
const PYTHON3 = `case "$1" in
  */bootstrap.py) ;;
  *)
    if [ "$2" = read ]; then
      ${recordArgv('settings-read')}
      cat "$STUB_DIR/settings.json"
      exit 0
    fi
    exec /usr/bin/python3 "$@" ;;
esac
${recordArgv('bootstrap')}
mkdir -p /opt/tljh/user
echo '2026-01-01 10:03:00,000 Done!' >>/opt/tljh/installer.log
printf 'installer argv:'
printf ' [%s]' "$@"
printf '\\n'
exit 0`;

/** The throwaway account the user-server check runs as (src/bootstrap.ts PROBE_USER). */
const PROBE = PROBE_USER;
const PROBE_PORT = '25000';

/**
 * The system tools the script uses besides the installer. Each records its argv and none
 * touches the real system: the accounts live only in these stubs (no /etc/passwd is written),
 * the firewall rules only in their call logs, the units on the sandbox's own tmpfs.
 */
const SYSTEM_STUBS: Record<string, string> = {
  // The IMDS guard: -C finds no rule yet, -I inserts it.
  iptables: `${recordArgv('iptables')}\ncase " $* " in *' -C '*) exit 1 ;; esac\nexit 0`,
  ip6tables: `${recordArgv('ip6tables')}\ncase " $* " in *' -C '*) exit 1 ;; esac\nexit 0`,
  // No ec2-instance-connect user here. \`id\` is also a sentinel: any other call fails the test.
  id: `${recordArgv('id')}\nexit 1`,
  systemctl: `${recordArgv('systemctl')}\n[ "$1" != is-active ] || echo active`,
  // The user-server check: an account whose home is in the run's directory.
  useradd: `${recordArgv('useradd')}\nmkdir -p "$STUB_DIR/probe-home"`,
  userdel: recordArgv('userdel'),
  getent: `${recordArgv('getent')}\necho "${PROBE_USER}:x:1001:1001::$STUB_DIR/probe-home:/bin/sh"`,
  // Serves until the check stops it (kill), like the Jupyter server it stands for.
  // (runuser.started is written once its call is recorded in full: then the server answers.)
  runuser: `${recordArgv('runuser')}\n: >"$STUB_DIR/runuser.started"\necho 'probe server started'\nexec /bin/sleep 30`,
  shuf: `${recordArgv('shuf')}\necho ${PROBE_PORT}`,
};

const HUB_STUBS: Record<string, string> = {
  ...SENTINEL_STUBS,
  ...SYSTEM_STUBS,
  'cloud-init': 'echo "status: done"',
  fuser: 'exit 1',
  sleep: 'exit 0',
  curl: CURL,
  python3: PYTHON3,
  'tljh-config': recordArgv('tljh-config'),
};

/** The IMDS guard's rules for one family, as the apply script asks for them (-C, then -I). */
function guardCalls(imds: string): string[][] {
  const rule = ['OUTPUT', '-d', imds, '-m', 'owner', '--uid-owner', '1-4294967294', '-j', 'REJECT'];
  return [
    ['-w', '5', '-C', ...rule],
    ['-w', '5', '-I', rule[0]!, '1', ...rule.slice(1)],
  ];
}
/** Whether the sandbox's kernel has IPv6 (the apply script skips ip6tables without it). */
const HAS_IPV6 = existsSync('/proc/net/if_inet6');

/** What tljh-config must receive for these settings: each value one argument, byte for byte. */
function expectedTljhConfigCalls(settings: HubSettings): string[][] {
  const calls = [
    ...settings.settings.map(([k, v]) => ['set', k, '--', v]),
    ...settings.items.flatMap(([k, v]) => [
      ['remove-item', k, '--', v],
      ['add-item', k, '--', v],
    ]),
  ];
  if (!calls.length) return [];
  // TLJH's order: the proxy first (only when https.* changed), then the hub.
  const proxy = [...settings.settings, ...settings.items].some(([k]) => k.startsWith('https.'));
  return [...calls, ...(proxy ? [['reload', 'proxy']] : []), ['reload', 'hub']];
}

/** Files a run may leave in its directory: anything else was created by a value. */
function unexpectedFiles(run: SandboxRun, allowed: string[]): string[] {
  const left = readdirSync(run.dir).filter(
    (f) => !['bin', 'cwd', 'script.sh', ...allowed].includes(f) && !f.endsWith('.calls'),
  );
  return [...left, ...readdirSync(run.cwd).map((f) => `cwd/${f}`)];
}

/** The inputs that reach the install script (the admin password through the settings). */
const SCRIPT_FORMS = [
  'admin-user',
  'tljh-version',
  'tljh-plugins',
  'user-requirements-url',
  'https-domain',
  'admin-password',
] as const;

/** What of an accepted value reaches the instance, per input. */
const FACT: Record<string, (s: HubSpec) => unknown> = {
  'admin-user': (s) => s.adminUser,
  'tljh-version': (s) => s.tljhVersion,
  'tljh-plugins': (s) => s.plugins,
  'user-requirements-url': (s) => s.userRequirementsUrl,
  'https-domain': (s) => s.https,
  'https-email': (s) => s.https,
  'admin-password': (s) => s.adminPassword,
  'tljh-config (key=<v>)': (s) => s.tljhSettings,
  'tljh-config (<v>=value)': (s) => s.tljhSettings,
};

/** The accepted cases of one input form, grouped by what reaches the instance. */
function distinct(id: string): Accepted[][] {
  const groups = new Map<string, Accepted[]>();
  for (const c of accepted(id)) {
    const key = JSON.stringify(FACT[id]!(c.spec)) ?? 'undefined';
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

/** A lone UTF-16 surrogate: no UTF-8 form, so no byte-for-byte journey (see its own test). */
const LONE_SURROGATE = /\p{Cs}/u;

interface Packed {
  /** The accepted cases this run carries, one distinct value of each script input at most. */
  carried: { id: string; cases: Accepted[] }[];
  spec: HubSpec;
}

/**
 * One install-script run carries one distinct accepted value of each script input at once (run k
 * takes the k-th of each), so the runs are as many as the most accepted input's values, not
 * their sum. Passwords start at run 4: runs 0 and 1 carry HTTPS, runs 2 and 3 no settings at all.
 */
function packScriptRuns(): Packed[] {
  const offset: Record<string, number> = { 'admin-password': 4 };
  const lists = SCRIPT_FORMS.map((id) => ({ id, groups: distinct(id), offset: offset[id] ?? 0 }));
  const n = Math.max(...lists.map((l) => l.groups.length + l.offset));
  return Array.from({ length: n }, (_, k) => {
    const inputs = { ...BASE };
    const carried: Packed['carried'] = [];
    for (const { id, groups, offset: o } of lists) {
      const cases = groups[k - o];
      if (!cases) continue;
      Object.assign(inputs, cases[0]!.form.inputs(cases[0]!.value));
      carried.push({ id, cases });
    }
    return { carried, spec: parseInputs((name) => inputs[name] ?? '', ENV) };
  });
}

const PARALLEL = 4;
const cleanup: string[] = [];
afterAll(() => {
  for (const d of cleanup) rmSync(d, { recursive: true, force: true });
});

/** Runs the install script for a spec, as install.ts would build it, in the sandbox. */
async function runInstall(
  spec: HubSpec,
  stubs = HUB_STUBS,
): Promise<{ run: SandboxRun; settings: HubSettings; parameter?: string }> {
  const settings = hubSettings(spec, spec.adminPassword);
  const needed = settings.adminPassword || settings.settings.length || settings.items.length;
  const parameter = needed ? `/tljh-ec2-action/${spec.hubName}/${INSTANCE_ID}/settings` : undefined;
  const script = buildInstallScript({
    tljhVersion: spec.tljhVersion,
    adminUser: spec.adminUser!,
    region: spec.region,
    settingsParameter: parameter,
    plugins: spec.plugins,
    userRequirementsUrl: spec.userRequirementsUrl,
    httpsDomain: spec.https?.domain,
  });
  // What withSettingsParameter() would have put in the SecureString parameter.
  const files = { 'settings.json': JSON.stringify(settings) };
  const run = await runSandboxed(script, { stubs, files });
  cleanup.push(run.dir);
  return { run, settings, parameter };
}

const carriedTitle = (cases: Case[]): string =>
  cases.map((c) => `${c.form.id} ${label(c.value)}`).join(', ');

describe('script inputs: the install script runs under sh and passes each value as one argument', () => {
  const packed = packScriptRuns();
  let runs: Awaited<ReturnType<typeof runInstall>>[] = [];

  beforeAll(async () => {
    runs = await mapLimit(packed, PARALLEL, (p) => runInstall(p.spec));
  }, 300_000);

  test(`every script input accepted some hostile value: ${packed.length} script runs carry them all`, () => {
    for (const id of SCRIPT_FORMS) {
      const carried = packed.flatMap((p) => p.carried.filter((c) => c.id === id));
      expect([id, carried.flatMap((c) => c.cases).length]).toEqual([id, accepted(id).length]);
      expect([id, carried.length > 0]).toEqual([id, true]);
    }
  });

  test.each(
    packed.map((p, i) => [p.carried.map((c) => carriedTitle(c.cases)).join('; '), i] as const),
  )('%s', (_title, i) => {
    const { spec, carried } = packed[i]!;
    const { run, settings, parameter } = runs[i]!;
    // The packed run carries exactly the values each case was accepted as.
    for (const { id, cases } of carried) {
      expect([id, FACT[id]!(spec)]).toEqual([id, FACT[id]!(cases[0]!.spec)]);
    }
    const password = spec.adminPassword;
    expect({ status: run.status, signal: run.signal, stderr: run.stderr }).toEqual({
      status: 0,
      signal: null,
      stderr: '',
    });

    // The installer got exactly the accepted values, each as one argument.
    const bootstrap = readCalls(run.dir, 'bootstrap');
    expect(bootstrap).toHaveLength(1);
    expect(bootstrap[0]![0]).toMatch(/\/bootstrap\.py$/);
    expect(bootstrap[0]!.slice(1)).toEqual([
      '--version',
      spec.tljhVersion,
      '--admin',
      password ? `${spec.adminUser}:${password}` : spec.adminUser,
      // One --plugin flag for all of them (TLJH's nargs="*" keeps only the last flag's list).
      ...(spec.plugins.length ? ['--plugin', ...spec.plugins] : []),
      ...(spec.userRequirementsUrl
        ? ['--user-requirements-txt-url', spec.userRequirementsUrl]
        : []),
    ]);

    // The settings came from the parameter by name; tljh-config got each value as one argument.
    expect(readCalls(run.dir, 'settings-read').map((a) => a.slice(1))).toEqual(
      parameter ? [['read', parameter, REGION]] : [],
    );
    expect(readCalls(run.dir, 'tljh-config')).toEqual(expectedTljhConfigCalls(settings));

    // curl fetched the pinned bootstrap URL and probed only the hub (with HTTPS: plain HTTP,
    // then the HTTPS name pinned to 127.0.0.1, verified and then not) and the probe's server.
    const curl = readCalls(run.dir, 'curl');
    const probeUrl = `http://127.0.0.1:${PROBE_PORT}/api/status`;
    const https = spec.https && {
      url: `https://${spec.https.domain}/hub/api`,
      resolve: `${spec.https.domain}:443:127.0.0.1`,
    };
    const hub = [bootstrapUrl(spec.tljhVersion), 'http://127.0.0.1/hub/api'];
    if (https) hub.push(https.url, https.url);
    expect(curl.slice(0, hub.length).map((a) => a.at(-1))).toEqual(hub);
    // The check asks until the server answers: once, or a few times if it starts slowly.
    const probes = curl.slice(hub.length).map((a) => a.at(-1));
    expect(probes.length).toBeGreaterThan(0);
    expect(probes).toEqual(probes.map(() => probeUrl));
    if (https) {
      // The domain arrives whole, in one argument of --resolve and of the URL.
      expect(curl[2]!.slice(-3)).toEqual(['--resolve', https.resolve, https.url]);
      expect(curl[2]).not.toContain('-k');
      expect(curl[3]).toEqual(expect.arrayContaining(['-k', '--resolve', https.resolve]));
      expect(curl[3]![curl[3]!.indexOf('--resolve') + 1]).toBe(https.resolve);
    }

    // The user-server check: the probe account, created, used and removed through the stubs.
    expect(readCalls(run.dir, 'useradd')).toEqual([['--create-home', '--shell', '/bin/sh', PROBE]]);
    expect(readCalls(run.dir, 'getent')).toEqual([['passwd', PROBE]]);
    expect(readCalls(run.dir, 'userdel')).toEqual([
      ['-r', PROBE],
      ['-r', '-f', PROBE],
    ]);
    const runuser = readCalls(run.dir, 'runuser');
    expect(runuser).toHaveLength(1);
    expect(runuser[0]!.slice(0, 6)).toEqual([
      '-u',
      PROBE,
      '--',
      'env',
      `HOME=${run.dir}/probe-home`,
      expect.stringMatching(/^JUPYTER_TOKEN=[0-9a-f]{32}$/),
    ]);
    expect(runuser[0]).toContain(`--ServerApp.port=${PROBE_PORT}`);
    // The token the server was started with is the one the check sent.
    const token = runuser[0]![5]!.slice('JUPYTER_TOKEN='.length);
    expect(curl.at(-1)).toContain(`Authorization: token ${token}`);

    // The IMDS guard: the two rules of each family, the boot unit enabled.
    expect(readCalls(run.dir, 'iptables')).toEqual(guardCalls('169.254.169.254/32'));
    expect(readCalls(run.dir, 'ip6tables')).toEqual(
      HAS_IPV6 ? guardCalls('fd00:ec2::254/128') : [],
    );
    expect(readCalls(run.dir, 'id')).toEqual([['-u', 'ec2-instance-connect']]);
    expect(readCalls(run.dir, 'systemctl')).toEqual([
      ['daemon-reload'],
      ['enable', 'tljh-imds-guard.service'],
      ['is-active', 'jupyterhub'],
      ['is-active', 'traefik'],
    ]);

    // Nothing else ran, and no file appeared (a redirection would have made one).
    expect(readCalls(run.dir, 'sentinel')).toEqual([]);
    expect(unexpectedFiles(run, ['settings.json', 'probe-home', 'runuser.started'])).toEqual([]);
    expect(readdirSync(`${run.dir}/probe-home`)).toEqual(['.probe.log']);

    // The report is the expected one, and healthy.
    const report = parseReport(run.stdout);
    expect(Object.keys(report.fields).sort()).toEqual(
      [
        'phase',
        'imds-guard',
        'cloud-init',
        'admins',
        // Whether bootstrap.py was given --show-progress-page (this fake has no such flag).
        'progress-page',
        'installer-exit',
        'installer-log',
        'service-jupyterhub',
        'service-traefik',
        'api-status',
        'api-body',
        'user-server',
        // The checks' start and end on the instance's clock (the job summary's verification time).
        'verify-started',
        'verify-ended',
        ...(settings.settings.length ? ['setting'] : []),
        ...(spec.https ? ['http-status', 'https-cert'] : []),
      ].sort(),
    );
    expect(report.fields).toMatchObject({
      phase: 'verify',
      'imds-guard': 'ok',
      'cloud-init': 'status: done',
      // A fresh hub: no config.yaml, so the --admin list is the admin alone.
      admins: '1',
      'installer-exit': '0',
      'installer-log': 'done',
      'api-status': '200',
      'user-server': 'ok',
      ...(spec.https ? { 'https-cert': 'valid' } : {}),
    });
    expect(report.userServerLog).toEqual([]);
    expect(evaluateReport(report)).toEqual({ healthy: true, problems: [], version: '5.3.0' });
    // Every line is a marker line or inside one of the two blocks.
    const loose = run.stdout.split('\n').filter((l) => l && !l.startsWith(`${MARK} `));
    expect(loose).toEqual([...report.installerOutput, ...report.logTail]);
    expect(report.logTail).toEqual(['2026-01-01 10:03:00,000 Done!']);

    // The installer's output left the instance with the password redacted.
    expect(report.installerOutput).toHaveLength(1);
    expect(report.installerOutput[0]).toMatch(/^installer argv: \[/);
    if (password) {
      expect(run.stdout).not.toContain(password);
      expect(report.installerOutput[0]).toContain(`[${spec.adminUser}:***]`);
    }
  });

  // The installer's lines are redacted before they are cut to 300 columns: a password that
  // straddles the cut (bootstrap.py's CalledProcessError line quotes `--admin naomi:<pw>`) stays hidden.
  test('a password straddling the 300-column cut is still redacted', async () => {
    const password = 'Straddl3d-Passw0rd-$(reboot)';
    const spec = parseInputs((n) => ({ ...BASE, 'admin-password': password })[n] ?? '', ENV);
    // A failing install: bootstrap.py's last line quotes the command, password and all.
    const line = `subprocess.CalledProcessError: Command '['/opt/tljh/hub/bin/python3', '-m', 'tljh.installer', '--admin', 'naomi:${password}']' returned non-zero exit status 1.`;
    const padded = 'x'.repeat(300 - 8 - line.indexOf(password)) + line;
    const python3 = PYTHON3.replace(
      "printf 'installer argv:'",
      `printf '%s\\n' ${shQuote(padded)}\nprintf 'installer argv:'`,
    );
    const { run } = await runInstall(spec, { ...HUB_STUBS, python3 });
    const output = parseReport(run.stdout).installerOutput;
    expect(output[0]).toMatch(/^x{8}/);
    expect(output.join('\n')).not.toContain(password.slice(0, 8));
  });
});

// ----- tljh-config inputs: the helper's `apply` on the real python3 ---------------------------

/** One run of the instance helper: apply the settings, then redact a line with the password. */
const HELPER_SCRIPT = `TLJH_ACTION_OWNED="$STUB_DIR/owned.json" python3 "$STUB_DIR/helper.py" apply "$STUB_DIR/settings.json"
echo "${MARK} apply-exit=$?"
python3 "$STUB_DIR/helper.py" redact "$STUB_DIR/settings.json" <"$STUB_DIR/redact.in"
`;
/** What generatePassword() returns: 24 base64url characters. */
const GENERATED = 'Gen3rated_Passw0rd-24chr';

async function runHelper(settings: HubSettings, password: string): Promise<SandboxRun> {
  const run = await runSandboxed(HELPER_SCRIPT, {
    stubs: { ...SENTINEL_STUBS, 'tljh-config': recordArgv('tljh-config') },
    files: {
      'helper.py': INSTANCE_HELPER.trim() + '\n',
      'settings.json': JSON.stringify(settings),
      'redact.in': `admin naomi:${password}\nsecond line\n`,
    },
  });
  cleanup.push(run.dir);
  return run;
}

interface HelperBatch {
  groups: { cases: Accepted[]; settings: HubSettings }[];
  settings: HubSettings;
}

/**
 * The helper is run on batches of distinct accepted values (python3 starts slowly): one
 * settings file holds each case's settings (hubSettings(spec, password), as install.ts builds
 * it) in turn, and each case's tljh-config calls are found at their place in the recorded ones.
 */
function helperBatches(size: number): HelperBatch[] {
  const groups = ['tljh-config (key=<v>)', 'tljh-config (<v>=value)', 'https-email']
    .flatMap(distinct)
    .filter((cases) => !LONE_SURROGATE.test(cases[0]!.value))
    .map((cases) => ({ cases, settings: hubSettings(cases[0]!.spec, GENERATED) }));
  const batches: HelperBatch[] = [];
  for (let i = 0; i < groups.length; i += size) {
    const chunk = groups.slice(i, i + size);
    batches.push({
      groups: chunk,
      settings: {
        adminPassword: GENERATED,
        settings: chunk.flatMap((g) => g.settings.settings),
        items: chunk.flatMap((g) => g.settings.items),
      },
    });
  }
  return batches;
}

describe('tljh-config inputs reach tljh-config as one argument each, through the helper', () => {
  const batches = helperBatches(40);
  let runs: SandboxRun[] = [];

  beforeAll(async () => {
    runs = await mapLimit(batches, PARALLEL, (b) => runHelper(b.settings, GENERATED));
  }, 300_000);

  test.each(batches.map((b, i) => [i, b.groups.length] as const))(
    'batch %i (%i distinct values): tljh-config calls, report lines and redaction',
    (i) => {
      const run = runs[i]!;
      const { settings } = batches[i]!;
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(readCalls(run.dir, 'tljh-config')).toEqual(expectedTljhConfigCalls(settings));
      expect(run.stdout).toBe(
        [
          ...settings.settings.map(([k]) => `${MARK} setting=${k}`),
          `${MARK} apply-exit=0`,
          'admin naomi:***',
          'second line',
          '',
        ].join('\n'),
      );
      expect(readCalls(run.dir, 'sentinel')).toEqual([]);
      // owned.json: what the helper set, so a later run unsets only that.
      expect(
        unexpectedFiles(run, ['helper.py', 'settings.json', 'redact.in', 'owned.json']),
      ).toEqual([]);
    },
  );

  const perCase = batches.flatMap((b, i) => {
    let set = 0;
    let item = 0;
    return b.groups.map((g) => {
      const at = { batch: i, set, item, group: g };
      set += g.settings.settings.length;
      item += g.settings.items.length;
      return at;
    });
  });
  test.each(perCase.map((p) => [carriedTitle(p.group.cases), p] as const))(
    '%s',
    (_title, { batch, set, item, group }) => {
      const calls = readCalls(runs[batch]!.dir, 'tljh-config');
      const own = group.settings;
      const sets = calls.filter((a) => a[0] === 'set').slice(set, set + own.settings.length);
      const adds = calls.filter((a) => a[0] === 'add-item').slice(item, item + own.items.length);
      // Byte for byte (readCalls decodes strict UTF-8), one argument each.
      expect(sets).toEqual(own.settings.map(([k, v]) => ['set', k, '--', v]));
      expect(adds).toEqual(own.items.map(([k, v]) => ['add-item', k, '--', v]));
    },
  );

  // A lone UTF-16 surrogate has no UTF-8 form: it is rejected before it can reach the instance.
  test('a lone surrogate in a tljh-config value is rejected, or reaches tljh-config', async () => {
    const c = CASES.find((x) => x.form.id === 'tljh-config (key=<v>)' && x.value === '\uD800')!;
    if (c.error !== undefined) {
      expect(rejectionProblems(c)).toEqual([]);
      return;
    }
    const settings = hubSettings(c.spec!, GENERATED);
    const run = await runHelper(settings, GENERATED);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });

  /** tljh-config's own argument parser (tljh/config.py main(), TLJH 2.0), on recorded calls. */
  function tljhConfigParse(calls: string[][]): ({ value: string } | { error: string })[] {
    const program = String.raw`
import argparse, contextlib, io, json, sys
class Stop(Exception):
    pass
class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Stop(message)
    def exit(self, status=0, message=None):
        raise Stop("exit %s" % status)
def parse(argv):
    p = Parser(prog="tljh-config")
    p.add_argument("--config-path", default="/opt/tljh/config/config.yaml")
    sub = p.add_subparsers(dest="action", parser_class=Parser)
    sub.add_parser("show")
    sub.add_parser("unset").add_argument("key_path")
    for name in ("set", "add-item", "remove-item"):
        s = sub.add_parser(name)
        s.add_argument("key_path")
        s.add_argument("value")
    sub.add_parser("reload").add_argument("component", choices=("hub", "proxy"), default="hub", nargs="?")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            return {"value": p.parse_args(argv).value}
        except Stop as e:
            return {"error": str(e)}
json.dump([parse(argv) for argv in json.load(sys.stdin)], sys.stdout)
`;
    const out = spawnSync('/usr/bin/python3', ['-c', program], {
      input: JSON.stringify(calls),
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    return JSON.parse(out.stdout) as ({ value: string } | { error: string })[];
  }

  const valueCalls = (dash: boolean): string[][] =>
    runs
      .flatMap((r) => readCalls(r.dir, 'tljh-config'))
      .filter((a) => a[0] !== 'reload' && a[3]!.startsWith('-') === dash);

  test("tljh-config's own parser reads each value that does not start with '-' as the value", () => {
    const calls = valueCalls(false);
    expect(calls.length).toBeGreaterThan(50);
    expect(tljhConfigParse(calls)).toEqual(calls.map((a) => ({ value: a[3] })));
  });

  // `apply` calls `tljh-config set KEY -- VALUE`: argparse never reads a value starting with '-'
  // as an option (the value `--` itself, which argparse cannot take, is rejected by inputs.ts).
  test("tljh-config's own parser reads each value that starts with '-' as the value", () => {
    const calls = valueCalls(true);
    expect(calls.length).toBeGreaterThan(5);
    expect(tljhConfigParse(calls)).toEqual(calls.map((a) => ({ value: a[3] })));
  });
});

// ----- The whole action: a rejected input fails the run before any AWS call -------------------

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);

describe('run() fails on a hostile input with zero AWS calls', () => {
  let inputs: Record<string, string> = {};
  const setFailed = jest.fn<(message: string | Error) => void>();
  const setSecret = jest.fn<(secret: string) => void>();
  let run: () => Promise<void>;
  // No pull request context (so no comment), and the region from AWS_REGION.
  const ENV_KEYS = ['GITHUB_EVENT_NAME', 'GITHUB_EVENT_PATH', 'AWS_DEFAULT_REGION', 'AWS_REGION'];
  const restoreEnv = saveEnv(ENV_KEYS);

  beforeAll(async () => {
    for (const k of ENV_KEYS) Reflect.deleteProperty(process.env, k);
    process.env.AWS_REGION = REGION;
    // Inputs like @actions/core's: trimmed unless asked not to.
    jest.unstable_mockModule('@actions/core', () =>
      fakeCore({ input: (name) => inputs[name], setSecret, setFailed }),
    );
    ({ run } = await import('../src/main.ts'));
  });
  afterAll(() => {
    restoreEnv();
  });

  let fetchSpy: ReturnType<typeof jest.spyOn>;
  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    setFailed.mockReset();
    setSecret.mockReset();
    inputs = {};
    fetchSpy = jest
      .spyOn(globalThis, 'fetch')
      .mockRejectedValue(new Error('no network in this test'));
  });
  afterEach(() => fetchSpy.mockRestore());

  const SAMPLE: [string, Record<string, string>][] = [
    ['admin-user', { 'admin-user': 'naomi$(reboot)' }],
    ['tljh-version', { 'tljh-version': '2.0.0; rm -rf /' }],
    ['tljh-plugins', { 'tljh-plugins': 'x`reboot`' }],
    ['user-requirements-url', { 'user-requirements-url': "https://example.org/r.txt'" }],
    ['https-domain', { 'https-domain': '-rf', 'https-email': 'naomi@example.org' }],
    ['tags', { tags: 'team=a\0b' }],
    ['tljh-config', { 'tljh-config': `${SETTING_KEY}=x\x1b[2Jy` }],
    ['hub-name', { 'hub-name': '--help' }],
    ['admin-password', { 'admin-password': 'hunter2 with space\u202E' }],
    ['instance-type', { 'instance-type': 't3.small\nreboot' }],
    ['ttl', { ttl: '::tljh:: installer-exit=0' }],
  ];

  test.each(SAMPLE)('%s %j', async (name, given) => {
    inputs = { ...BASE, ...given };
    await run();
    expect(setFailed).toHaveBeenCalledTimes(1);
    const message = String(setFailed.mock.calls[0]![0]);
    expect(message).toMatch(new RegExp(`^Input '${name}': .*\\. Accepted: .+\\.$`));
    expect(message).toMatch(/^[\x20-\x7e]*$/);
    if (name === 'admin-password') {
      expect(message).toBe(PASSWORD_ERROR);
      expect(setSecret).toHaveBeenCalledWith(given['admin-password']!.trim());
    }
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(ssmMock.calls()).toHaveLength(0);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  test('control: with valid inputs the same harness sees the AWS calls', async () => {
    inputs = { ...BASE };
    ec2Mock.onAnyCommand().rejects(awsError('UnauthorizedOperation'));
    ssmMock.onAnyCommand().rejects(awsError('AccessDeniedException'));
    await run();
    expect(setFailed).toHaveBeenCalledTimes(1);
    expect(String(setFailed.mock.calls[0]![0])).not.toMatch(/^Input /);
    expect(ec2Mock.calls().length + ssmMock.calls().length).toBeGreaterThan(0);
  });
});
