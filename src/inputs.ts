// Parses and validates every input into a typed spec. Pure: the caller passes a getter, so
// tests need no environment. Anything that will reach a shell script, a tag or an AWS call is
// checked against a strict pattern here, before any AWS call is made.
import { InputError } from './errors.ts';
import { parseTtl } from './ttl.ts';

export type DesiredState = 'running' | 'stopped' | 'terminated';
export const DESIRED_STATES: readonly DesiredState[] = ['running', 'stopped', 'terminated'];
export type UbuntuVersion = '24.04' | '22.04';

export interface HubSpec {
  hubName: string;
  state: DesiredState;
  adminUser?: string;
  /** The first choice of instanceTypes. */
  instanceType: string;
  /** Ordered choices: the next is tried when EC2 has no capacity for one. */
  instanceTypes: string[];
  region: string;
  iamInstanceProfile?: string;
  /** The first choice of subnetIds. */
  subnetId?: string;
  subnetIds: string[];
  securityGroupIds: string[];
  allowedCidrs: string[];
  rootVolumeSizeGiB: number;
  ubuntuVersion: UbuntuVersion;
  imageId?: string;
  tljhVersion: string;
  extraTags: Record<string, string>;
  installTimeoutMinutes: number;
  dryRun: boolean;
  /** hub-name is a pattern (`*`, `pr-*`): act on every matching hub (stopped or terminated only). */
  bulk: boolean;
  /** Bulk terminate/stop only hubs whose tljh:expires-at has passed. */
  expiredOnly: boolean;
  /** Time to live: the hub is tagged to expire this long after the run. */
  ttlMs?: number;
  githubToken: string;
  prComment: 'auto' | 'true' | 'false';
  /** Given by the user (a secret); when absent and no authenticator is configured, one is generated. */
  adminPassword?: string;
  generatePassword: boolean;
  /** tljh-config settings, applied one at a time with `tljh-config set` (argument lists, no shell). */
  tljhSettings: [string, string][];
  plugins: string[];
  userRequirementsUrl?: string;
  https?: { domain: string; email: string };
}

export type InputGetter = (name: string) => string;

export const DEFAULTS = {
  'hub-name': 'tljh',
  state: 'running',
  'instance-type': 't3.small',
  'allowed-cidrs': '0.0.0.0/0, ::/0',
  'root-volume-size': '20',
  'ubuntu-version': '24.04',
  'tljh-version': '2.0.0',
  'install-timeout': '30',
  'dry-run': 'false',
  'expired-only': 'false',
  'pr-comment': 'auto',
} as const;

const HUB_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
// A pattern of hub names for bulk operations: `*` matches any run of characters.
const HUB_PATTERN = /^(?=.*\*)[a-z0-9*-]{1,40}$/;
// Unix user names as TLJH creates them (lower case; TLJH prefixes them with jupyter-).
const ADMIN_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,512}$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
const IMAGE = /^ami-[0-9a-f]{8,17}$/;
// A TLJH release (2.0.0) or a git tag/branch name: it goes into a URL and, quoted, a script.
const TLJH_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TAG_KEY = /^[\w .:/=+@-]{1,128}$/;
const TAG_VALUE = /^[\w .:/=+@-]{0,256}$/;

/** Tag keys the action owns: users may not set them through `tags`. */
export const RESERVED_TAG_PREFIX = 'tljh:';

function list(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function choices(name: string, raw: string, pattern: RegExp, accepted: string): string[] {
  const values = list(raw).map((v) => match(name, v, pattern, accepted));
  if (!values.length || values.length > 8 || new Set(values).size !== values.length) {
    throw new InputError(
      name,
      `'${printable(raw)}' is not valid`,
      `${accepted}; 1 to 8 distinct values`,
    );
  }
  return values;
}

function pick<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new InputError(name, `'${printable(raw)}' is not allowed`, allowed.join(', '));
}

/** Shows a rejected value safely in a log line: no control characters, bounded length. */
export function printable(raw: string): string {
  const cleaned = raw.replace(/[^\x20-\x7e]/g, '?');
  return cleaned.length > 60 ? `${cleaned.slice(0, 57)}...` : cleaned;
}

function match(name: string, raw: string, pattern: RegExp, accepted: string): string {
  if (!pattern.test(raw)) {
    throw new InputError(name, `'${printable(raw)}' is not valid`, accepted);
  }
  return raw;
}

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InputError(
      name,
      `'${printable(raw)}' is not valid`,
      `a whole number from ${min} to ${max}`,
    );
  }
  return Number(raw);
}

function boolean(name: string, raw: string): boolean {
  if (/^(true|yes|1)$/i.test(raw)) return true;
  if (/^(false|no|0|)$/i.test(raw)) return false;
  throw new InputError(name, `'${printable(raw)}' is not valid`, 'true or false');
}

export function isCidr(raw: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
  if (v4) {
    return v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 32;
  }
  const v6 = /^([0-9a-f:]+)\/(\d{1,3})$/i.exec(raw);
  if (!v6 || Number(v6[2]) > 128) return false;
  const addr = v6[1]!;
  const halves = addr.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  const okGroups = groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g));
  return okGroups && (halves.length === 2 ? groups.length < 8 : groups.length === 8);
}

const ADMIN_PASSWORD = /^[\x21-\x39\x3b-\x7e]{8,128}$/;
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+){0,8}$/;
// Any text without control characters: values reach tljh-config as one argv entry, never a shell.
// `--` alone is the one value argparse (tljh-config) can never take as a value.
const CONFIG_VALUE = /^(?!--$)[^\p{Cc}\p{Cs}]{0,1024}$/u;
const PLUGIN =
  /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,99}(?:\[[A-Za-z0-9,._-]{1,100}\])?(?:(?:==|>=|<=|~=|!=|<|>)[A-Za-z0-9.*+!-]{1,50})?|git\+https:\/\/[A-Za-z0-9._~/-]{1,200}(?:@[A-Za-z0-9._/-]{1,100})?)$/;
const HTTPS_URL = /^https:\/\/[A-Za-z0-9.-]{1,253}(?::\d{1,5})?(?:\/[A-Za-z0-9._~%/+=-]{0,500})?$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
/** SSM standard parameters hold 4 KB: the admin password and the settings travel in one. */
export const SETTINGS_LIMIT_BYTES = 4096;

function parseSettings(raw: string): [string, string][] {
  const settings: [string, string][] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    const value = eq > 0 ? line.slice(eq + 1).trim() : '';
    if (!CONFIG_KEY.test(key) || !CONFIG_VALUE.test(value)) {
      throw new InputError(
        'tljh-config',
        `line '${printable(line)}' is not valid`,
        "one 'key=value' per line: a dotted tljh-config key such as user_environment.default_app, and a value without control characters (at most 1024)",
      );
    }
    settings.push([key, value]);
  }
  return settings;
}

function parseTags(raw: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const line of raw.split(/\r?\n/).map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    const value = eq > 0 ? line.slice(eq + 1).trim() : '';
    const accepted =
      "one 'key=value' per line; keys up to 128 and values up to 256 of letters, digits, spaces and _ . : / = + - @";
    if (!key || !TAG_KEY.test(key) || !TAG_VALUE.test(value)) {
      throw new InputError('tags', `line '${printable(line)}' is not valid`, accepted);
    }
    if (
      key.toLowerCase().startsWith('aws:') ||
      key.startsWith(RESERVED_TAG_PREFIX) ||
      key === 'Name'
    ) {
      throw new InputError(
        'tags',
        `key '${printable(key)}' is reserved`,
        `any key not starting with 'aws:' or '${RESERVED_TAG_PREFIX}', and not 'Name'`,
      );
    }
    tags[key] = value;
  }
  if (Object.keys(tags).length > 40) {
    throw new InputError(
      'tags',
      'too many tags',
      'at most 40 (EC2 allows 50 and the action sets a few)',
    );
  }
  return tags;
}

export function parseInputs(
  getInput: InputGetter,
  env: Record<string, string | undefined> = {},
): HubSpec {
  const get = (name: keyof typeof DEFAULTS | string): string => {
    const value = getInput(name).trim();
    return value || (DEFAULTS as Record<string, string>)[name] || '';
  };

  const state = pick('state', get('state'), DESIRED_STATES);
  const hubRaw = get('hub-name');
  const expiredOnly = boolean('expired-only', get('expired-only'));
  // expired-only goes through the bulk path even for one name: it is a selection.
  const bulk = HUB_PATTERN.test(hubRaw) || expiredOnly;
  if (bulk && state === 'running') {
    throw new InputError(
      'hub-name',
      `the pattern '${printable(hubRaw)}' selects many hubs, which only state stopped or terminated can act on`,
      'one hub name with state running, or a pattern such as pr-* with state stopped or terminated',
    );
  }
  const hubName = HUB_PATTERN.test(hubRaw)
    ? hubRaw
    : match(
        'hub-name',
        hubRaw,
        HUB_NAME,
        "lower-case letters, digits and hyphens, 1 to 40 characters, starting and ending with a letter or digit (or, to stop or terminate many hubs, a pattern with '*' such as pr-*)",
      );
  const ttlRaw = get('ttl');
  const ttlMs = ttlRaw ? parseTtl(ttlRaw) : undefined;
  if (ttlRaw && ttlMs === undefined) {
    throw new InputError(
      'ttl',
      `'${printable(ttlRaw)}' is not valid`,
      'a duration such as 90m, 8h, 3d or 2w (at most 366 days)',
    );
  }

  const adminRaw = get('admin-user');
  const adminUser = adminRaw
    ? match(
        'admin-user',
        adminRaw,
        ADMIN_USER,
        'a Unix user name: lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters',
      )
    : undefined;
  if (state === 'running' && !adminUser && !bulk) {
    throw new InputError(
      'admin-user',
      'is required when state is running',
      'a Unix user name such as naomi',
    );
  }

  const regionRaw = get('aws-region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || '';
  if (!regionRaw) {
    throw new InputError(
      'aws-region',
      'no region given and neither AWS_REGION nor AWS_DEFAULT_REGION is set',
      'an AWS region such as eu-west-1 (aws-actions/configure-aws-credentials sets AWS_REGION)',
    );
  }
  const region = match('aws-region', regionRaw, REGION, 'an AWS region such as eu-west-1');

  const profileRaw = get('iam-instance-profile');
  if (profileRaw && !PROFILE_NAME.test(profileRaw) && !PROFILE_ARN.test(profileRaw)) {
    throw new InputError(
      'iam-instance-profile',
      `'${printable(profileRaw)}' is not valid`,
      'an instance profile name or its ARN (arn:aws:iam::<account>:instance-profile/<name>)',
    );
  }

  const subnetRaw = get('subnet-id');
  const securityGroupIds = list(get('security-group-ids')).map((g) =>
    match(
      'security-group-ids',
      g,
      SECURITY_GROUP,
      'security group ids such as sg-0123456789abcdef0, separated by commas or new lines',
    ),
  );
  const allowedCidrs = list(get('allowed-cidrs'));
  for (const cidr of allowedCidrs) {
    if (!isCidr(cidr)) {
      throw new InputError(
        'allowed-cidrs',
        `'${printable(cidr)}' is not a CIDR block`,
        'IPv4 or IPv6 CIDR blocks such as 203.0.113.0/24 or ::/0, separated by commas or new lines',
      );
    }
  }
  if (allowedCidrs.length > 50) {
    throw new InputError('allowed-cidrs', 'too many blocks', 'at most 50 CIDR blocks');
  }
  const imageRaw = get('image-id');
  // Ordered choices: when EC2 has no capacity for one (or does not offer it in that zone), the
  // launch moves on to the next.
  const instanceTypes = choices(
    'instance-type',
    get('instance-type'),
    INSTANCE_TYPE,
    'EC2 instance types such as t3.small or m7g.large, in order of preference, separated by commas',
  );
  const subnetIds = subnetRaw
    ? choices(
        'subnet-id',
        subnetRaw,
        SUBNET,
        'subnet ids such as subnet-0123456789abcdef0, in order of preference, separated by commas',
      )
    : [];

  return {
    hubName,
    state,
    adminUser,
    instanceType: instanceTypes[0]!,
    instanceTypes,
    region,
    iamInstanceProfile: profileRaw || undefined,
    subnetId: subnetIds[0],
    subnetIds,
    securityGroupIds,
    allowedCidrs,
    rootVolumeSizeGiB: integer('root-volume-size', get('root-volume-size'), 8, 16384),
    ubuntuVersion: pick('ubuntu-version', get('ubuntu-version'), ['24.04', '22.04'] as const),
    imageId: imageRaw
      ? match('image-id', imageRaw, IMAGE, 'an AMI id such as ami-0123456789abcdef0')
      : undefined,
    tljhVersion: match(
      'tljh-version',
      get('tljh-version'),
      TLJH_VERSION,
      'a TLJH release such as 2.0.0, or a git tag or branch name',
    ),
    extraTags: parseTags(getInput('tags')),
    installTimeoutMinutes: integer('install-timeout', get('install-timeout'), 5, 180),
    dryRun: boolean('dry-run', get('dry-run')),
    bulk,
    expiredOnly,
    ttlMs,
    githubToken: getInput('github-token').trim(),
    ...parseSecurity(getInput, get),
    prComment: pick('pr-comment', get('pr-comment'), ['auto', 'true', 'false'] as const),
  };
}

/** Admin credentials, tljh-config settings, plugins and HTTPS (the inputs that reach the hub). */
function parseSecurity(getInput: InputGetter, get: (name: string) => string) {
  const passwordRaw = getInput('admin-password');
  if (passwordRaw && !ADMIN_PASSWORD.test(passwordRaw)) {
    // Never echo a password, even a rejected one.
    throw new InputError(
      'admin-password',
      'is not valid',
      '8 to 128 printable ASCII characters without spaces or colons',
    );
  }
  const tljhSettings = parseSettings(getInput('tljh-config'));
  const plugins = list(get('tljh-plugins')).map((p) =>
    match(
      'tljh-plugins',
      p,
      PLUGIN,
      'pip requirements such as tljh-repo2docker==1.0 or git+https://github.com/org/plugin@v1, one per line',
    ),
  );
  const requirementsRaw = get('user-requirements-url');
  const userRequirementsUrl = requirementsRaw
    ? match(
        'user-requirements-url',
        requirementsRaw,
        HTTPS_URL,
        'an https:// URL of a requirements.txt, without query string',
      )
    : undefined;
  const domainRaw = get('https-domain');
  const emailRaw = get('https-email');
  if (Boolean(domainRaw) !== Boolean(emailRaw)) {
    throw new InputError(
      domainRaw ? 'https-email' : 'https-domain',
      'is required with the other',
      'both https-domain and https-email, or neither',
    );
  }
  const https = domainRaw
    ? {
        domain: match(
          'https-domain',
          domainRaw.toLowerCase(),
          DOMAIN,
          'a DNS name such as hub.example.org',
        ),
        email: match('https-email', emailRaw, EMAIL, "an e-mail address for Let's Encrypt"),
      }
    : undefined;
  const hasAuthenticator = tljhSettings.some(([k]) => k === 'auth.type');
  const size = Buffer.byteLength(
    JSON.stringify({ adminPassword: passwordRaw || 'x'.repeat(32), settings: tljhSettings }),
  );
  if (size > SETTINGS_LIMIT_BYTES - 512) {
    throw new InputError(
      'tljh-config',
      `the settings take ${size} bytes`,
      `at most ${SETTINGS_LIMIT_BYTES - 512} bytes in all`,
    );
  }
  return {
    adminPassword: passwordRaw || undefined,
    generatePassword: !passwordRaw && !hasAuthenticator,
    tljhSettings,
    plugins,
    userRequirementsUrl,
    https,
  };
}
