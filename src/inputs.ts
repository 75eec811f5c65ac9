// Parses and validates every input into a typed spec. Pure: the caller passes a getter, so
// tests need no environment. Anything that will reach a shell script, a tag or an AWS call is
// checked against a strict pattern here, before any AWS call is made. The rules of each kind of
// input live in src/inputs/; this module puts them together and is the one others import.
import { InputError } from './errors.ts';
import { parseCidrs } from './inputs/cidrs.ts';
import { parseEndpoint } from './inputs/endpoint.ts';
import { boolean, choices, integer, list, match, pick, printable } from './inputs/fields.ts';
import { parseHubConfig } from './inputs/hub-config.ts';
import { parseImageCache } from './inputs/image-cache.ts';
import { parseMarket } from './inputs/market.ts';
import { DEFAULTS, DESIRED_STATES, type HubSpec, type InputGetter } from './inputs/spec.ts';
import { parseTags } from './inputs/tags.ts';
import { parseTtl } from './ttl.ts';

export { INBOUND_RULES_QUOTA, isCidr } from './inputs/cidrs.ts';
export { printable } from './inputs/fields.ts';
export { SETTINGS_LIMIT_BYTES } from './inputs/hub-config.ts';
export { MARKET_TYPES, type MarketType } from './inputs/market.ts';
export { PLUGINS_ACCEPTED } from './inputs/plugins.ts';
export { SECRET_SETTING_WORDS, isSecretSetting, specSecrets } from './inputs/secret-settings.ts';
export {
  DEFAULTS,
  DESIRED_STATES,
  type DesiredState,
  type HubSpec,
  type InputGetter,
  type UbuntuVersion,
} from './inputs/spec.ts';
export { RESERVED_TAG_PREFIX } from './inputs/tags.ts';

const HUB_NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
// A pattern of hub names for bulk operations: `*` matches any run of characters.
const HUB_PATTERN = /^(?=.*\*)[a-z0-9*-]{1,40}$/;
// Unix user names as TLJH creates them (lower case; TLJH prefixes them with jupyter-).
const ADMIN_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
// Two letters (eu-west-1, cn-north-1, us-gov-west-1, us-isob-east-1), or the European
// Sovereign Cloud's eusc-de-east-1.
const REGION = /^(?:[a-z]{2}|eusc)(?:-[a-z]+)+-\d{1,2}$/;
const PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const PROFILE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/[\w+=,.@/-]{1,512}$/;
const SUBNET = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP = /^sg-[0-9a-f]{8,17}$/;
const IMAGE = /^ami-[0-9a-f]{8,17}$/;
// A TLJH release (2.0.0) or a git tag/branch name: it goes into a URL and, quoted, a script.
const TLJH_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

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
  const allowedCidrs = parseCidrs(get('allowed-cidrs'));
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

  const endpoint = parseEndpoint(get);
  const imageId = imageRaw
    ? match('image-id', imageRaw, IMAGE, 'an AMI id such as ami-0123456789abcdef0')
    : undefined;
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
    ...parseMarket(get),
    securityGroupIds,
    allowedCidrs,
    rootVolumeSizeGiB: integer('root-volume-size', get('root-volume-size'), 8, 16384),
    ubuntuVersion: pick('ubuntu-version', get('ubuntu-version'), ['24.04', '22.04'] as const),
    imageId,
    ...parseImageCache(get, imageId),
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
    ...endpoint,
    ...parseHubConfig(getInput, get, endpoint.dns?.name),
    prComment: pick('pr-comment', get('pr-comment'), ['auto', 'true', 'false'] as const),
  };
}
