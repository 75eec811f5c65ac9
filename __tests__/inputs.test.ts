import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../src/errors.ts';
import { DEFAULTS, isCidr, parseInputs, printable, type HubSpec } from '../src/inputs.ts';

const ENV = { AWS_REGION: 'eu-west-1' };

/** parseInputs with the given inputs (anything absent reads as '', like @actions/core). */
function parse(inputs: Record<string, string>, env: Record<string, string | undefined> = ENV) {
  return parseInputs((name) => inputs[name] ?? '', env);
}

const running = (inputs: Record<string, string> = {}) =>
  parse({ 'admin-user': 'naomi', ...inputs });

/** The InputError parsing throws, checked to name the input and to say what it accepts. */
function rejection(inputs: Record<string, string>, input: string, env = ENV): InputError {
  let caught: unknown;
  try {
    parse(inputs, env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InputError);
  const err = caught as InputError;
  expect(err.message).toContain(`Input '${input}'`);
  expect(err.message).toMatch(/Accepted: .+\.$/);
  // A rejected value is echoed safely: one line, bounded.
  expect(err.message).not.toMatch(/[\r\n]/);
  return err;
}

describe('defaults', () => {
  test('only admin-user and a region are needed for a running hub', () => {
    const spec = running();
    // The documented inputs' defaults (inputs added later are checked in their own tests).
    expect(spec).toMatchObject<Partial<HubSpec>>({
      hubName: 'tljh',
      state: 'running',
      adminUser: 'naomi',
      instanceType: 't3.small',
      region: 'eu-west-1',
      iamInstanceProfile: undefined,
      subnetId: undefined,
      securityGroupIds: [],
      allowedCidrs: ['0.0.0.0/0', '::/0'],
      rootVolumeSizeGiB: 20,
      ubuntuVersion: '24.04',
      imageId: undefined,
      tljhVersion: '2.0.0',
      extraTags: {},
      installTimeoutMinutes: 30,
      dryRun: false,
      bulk: false,
      expiredOnly: false,
      ttlMs: undefined,
      githubToken: '',
      prComment: 'auto',
    });
  });

  test('the DEFAULTS table matches the documented contract', () => {
    expect(DEFAULTS['hub-name']).toBe('tljh');
    expect(DEFAULTS.state).toBe('running');
    expect(DEFAULTS['instance-type']).toBe('t3.small');
    expect(DEFAULTS['tljh-version']).toBe('2.0.0');
  });

  test('whitespace around a value is ignored and an all-blank value means the default', () => {
    const spec = running({ 'hub-name': '  workshop \n', 'instance-type': '   ' });
    expect(spec.hubName).toBe('workshop');
    expect(spec.instanceType).toBe('t3.small');
  });
});

describe('region', () => {
  test('the aws-region input wins over the environment', () => {
    expect(
      parse({ 'admin-user': 'a', 'aws-region': 'us-east-2' }, { AWS_REGION: 'eu-west-1' }).region,
    ).toBe('us-east-2');
  });
  test('AWS_REGION, then AWS_DEFAULT_REGION', () => {
    expect(parse({ 'admin-user': 'a' }, { AWS_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
    expect(parse({ 'admin-user': 'a' }, { AWS_DEFAULT_REGION: 'ap-south-1' }).region).toBe(
      'ap-south-1',
    );
    expect(
      parse({ 'admin-user': 'a' }, { AWS_REGION: 'eu-west-3', AWS_DEFAULT_REGION: 'ap-south-1' })
        .region,
    ).toBe('eu-west-3');
  });
  test('no region anywhere is an InputError naming aws-region', () => {
    const err = rejection({ 'admin-user': 'a' }, 'aws-region', {} as typeof ENV);
    expect(err.message).toContain('AWS_REGION');
    expect(err.message).toContain('eu-west-1');
  });
  test.each([
    'us-gov-west-1',
    'cn-north-1',
    'ap-southeast-2',
    'eu-central-1',
    'us-isob-east-1',
    'eusc-de-east-1',
  ])('accepts %s', (region) => {
    expect(running({ 'aws-region': region }).region).toBe(region);
  });
  test.each([
    'EU-WEST-1',
    'eu-west',
    'euwest1',
    'eu-west-1; ls',
    'eu-west-123',
    'e-west-1',
    'eusx-de-east-1',
  ])('rejects %j', (region) => {
    rejection({ 'admin-user': 'a', 'aws-region': region }, 'aws-region');
  });
});

describe('state and admin-user', () => {
  test.each(['running', 'stopped', 'terminated'] as const)('accepts state %s', (state) => {
    expect(running({ state }).state).toBe(state);
  });
  test.each(['Running', 'start', 'absent', 'present', 'running '.repeat(2)])(
    'rejects state %j, listing the three accepted',
    (state) => {
      const err = rejection({ 'admin-user': 'a', state }, 'state');
      expect(err.message).toContain('Accepted: running, stopped, terminated.');
    },
  );
  test('admin-user is required for running', () => {
    const err = rejection({}, 'admin-user');
    expect(err.message).toContain('required when state is running');
  });
  test.each(['stopped', 'terminated'])('admin-user is not required for %s', (state) => {
    const spec = parse({ state });
    expect(spec.state).toBe(state);
    expect(spec.adminUser).toBeUndefined();
  });
  test.each(['naomi', '_svc', 'a', 'jo-anne', 'user_2', 'a'.repeat(32)])(
    'accepts admin-user %j',
    (user) => {
      expect(running({ 'admin-user': user }).adminUser).toBe(user);
    },
  );
  test.each(['Naomi', '1abc', 'a'.repeat(33), 'naomi:secret', 'na.omi', 'na omi', '-x'])(
    'rejects admin-user %j',
    (user) => {
      const err = rejection({ 'admin-user': user }, 'admin-user');
      expect(err.message).toContain('Unix user name');
    },
  );
  test('a bad admin-user is rejected even when stopping', () => {
    rejection({ state: 'stopped', 'admin-user': 'x;y' }, 'admin-user');
  });
});

describe('hub-name', () => {
  test.each(['tljh', 'pr-123', 'a', '0', 'a'.repeat(40), 'workshop-2026'])('accepts %j', (name) => {
    expect(running({ 'hub-name': name }).hubName).toBe(name);
  });
  test.each(['-a', 'a-', 'A', 'a_b', 'a.b', 'a'.repeat(41), 'ü'])('rejects %j', (name) => {
    const err = rejection({ 'admin-user': 'a', 'hub-name': name }, 'hub-name');
    expect(err.message).toContain('lower-case letters, digits and hyphens');
  });
});

describe('bulk selection, ttl and pr-comment', () => {
  test.each(['stopped', 'terminated'])('a hub-name pattern selects many hubs for %s', (state) => {
    const spec = parse({ 'hub-name': 'pr-*', state });
    expect(spec).toMatchObject({ hubName: 'pr-*', bulk: true, state });
  });
  test('a pattern cannot be used with running', () => {
    const err = rejection({ 'hub-name': 'pr-*', 'admin-user': 'a' }, 'hub-name');
    expect(err.message).toContain("the pattern 'pr-*' selects many hubs");
    expect(err.message).toContain('such as pr-* with state stopped or terminated');
  });
  test.each(['PR-*', 'pr_*', 'pr-*;id', '$(*)', `${'a'.repeat(40)}*`])(
    'rejects the pattern %j',
    (name) => {
      rejection({ 'hub-name': name, state: 'terminated' }, 'hub-name');
    },
  );
  test('expired-only makes even one name a bulk selection, and forbids running', () => {
    expect(
      parse({ 'hub-name': 'pr-1', state: 'terminated', 'expired-only': 'true' }),
    ).toMatchObject({ bulk: true, expiredOnly: true });
    rejection({ 'hub-name': 'pr-1', 'expired-only': 'true', 'admin-user': 'a' }, 'hub-name');
    rejection({ state: 'terminated', 'expired-only': 'perhaps' }, 'expired-only');
  });
  test.each([
    ['90m', 90 * 60_000],
    ['8h', 8 * 3_600_000],
    ['3d', 3 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['366d', 366 * 86_400_000],
  ])('ttl %j', (raw, ms) => {
    expect(running({ ttl: raw }).ttlMs).toBe(ms);
  });
  test.each(['0h', '367d', '8 hours', '8H', '1y', '-1d', '1.5h', 'h'])('ttl rejects %j', (raw) => {
    const err = rejection({ 'admin-user': 'a', ttl: raw }, 'ttl');
    expect(err.message).toContain('such as 90m, 8h, 3d or 2w');
  });
  test.each(['auto', 'true', 'false'] as const)('pr-comment %s', (v) => {
    expect(running({ 'pr-comment': v }).prComment).toBe(v);
  });
  test('pr-comment rejects other values', () => {
    const err = rejection({ 'admin-user': 'a', 'pr-comment': 'yes' }, 'pr-comment');
    expect(err.message).toContain('Accepted: auto, true, false.');
  });
});

describe('instance-type', () => {
  test.each(['t3.small', 'm7g.large', 't4g.nano', 'c6in.32xlarge', 'u-6tb1.metal'])(
    'accepts %j',
    (t) => {
      expect(running({ 'instance-type': t }).instanceType).toBe(t);
    },
  );
  test.each(['t3', 'T3.small', 't3.small;id', '.small', 't3..small'])('rejects %j', (t) => {
    const err = rejection({ 'admin-user': 'a', 'instance-type': t }, 'instance-type');
    expect(err.message).toContain('t3.small');
  });
});

describe('instance-type and subnet-id as ordered lists of choices', () => {
  const A = 'subnet-0123456789abcdef0';
  const B = 'subnet-0123456789abcdef1';

  test('one instance type is a list of one; no subnet-id is an empty list', () => {
    const spec = running({ 'instance-type': 'm7g.large' });
    expect(spec.instanceTypes).toEqual(['m7g.large']);
    expect(spec.instanceType).toBe('m7g.large');
    expect(spec.subnetIds).toEqual([]);
    expect(spec.subnetId).toBeUndefined();
  });

  test('the default instance type is one choice', () => {
    expect(running().instanceTypes).toEqual([running().instanceType]);
  });

  test('order is kept (comma, space or newline separated); the first is instanceType', () => {
    const spec = running({
      'instance-type': 't3.small, t3a.small\nt2.small',
      'subnet-id': `${B},${A}`,
    });
    expect(spec.instanceTypes).toEqual(['t3.small', 't3a.small', 't2.small']);
    expect(spec.instanceType).toBe('t3.small');
    expect(spec.subnetIds).toEqual([B, A]);
    expect(spec.subnetId).toBe(B);
  });

  test('8 choices are fine', () => {
    const types = ['t3', 't3a', 't2', 'm5', 'm6i', 'm7i', 'c5', 'c6i'].map((f) => `${f}.large`);
    expect(running({ 'instance-type': types.join(', ') }).instanceTypes).toEqual(types);
  });

  test.each([
    ['instance-type', 't3.small, t3a.small, t3.small'],
    ['subnet-id', `${A}, ${B}, ${A}`],
  ])('%s: duplicates are rejected, naming the input', (input, value) => {
    const err = rejection({ 'admin-user': 'a', [input]: value }, input);
    expect(err.message).toContain('1 to 8 distinct values');
  });

  test.each([
    ['instance-type', Array.from({ length: 9 }, (_, i) => `m${i + 1}.large`).join(', ')],
    ['subnet-id', Array.from({ length: 9 }, (_, i) => `subnet-0123456789abcdef${i}`).join(', ')],
  ])('%s: more than 8 choices are rejected, naming the input', (input, value) => {
    const err = rejection({ 'admin-user': 'a', [input]: value }, input);
    expect(err.message).toContain('1 to 8 distinct values');
  });

  test.each([
    ['instance-type', 't3.small, t3;id'],
    ['subnet-id', `${A}, subnet-XYZ`],
  ])('%s: one bad choice rejects the input', (input, value) => {
    rejection({ 'admin-user': 'a', [input]: value }, input);
  });

  test('only separators is no choice: an error for instance-type', () => {
    rejection({ 'admin-user': 'a', 'instance-type': ' , , ' }, 'instance-type');
  });
});

describe('iam-instance-profile', () => {
  test.each([
    'tljh-ssm',
    'My_Profile+1=,.@-',
    'arn:aws:iam::123456789012:instance-profile/tljh-ssm',
    'arn:aws-us-gov:iam::123456789012:instance-profile/path/to/tljh',
  ])('accepts %j', (p) => {
    expect(running({ 'iam-instance-profile': p }).iamInstanceProfile).toBe(p);
  });
  test('absent means none', () => {
    expect(running().iamInstanceProfile).toBeUndefined();
  });
  test.each([
    'has space',
    'a'.repeat(129),
    'arn:aws:iam::123:instance-profile/x',
    'arn:aws:iam::123456789012:role/x',
    'p;id',
  ])('rejects %j', (p) => {
    const err = rejection({ 'admin-user': 'a', 'iam-instance-profile': p }, 'iam-instance-profile');
    expect(err.message).toContain('instance profile name or its ARN');
  });
});

describe('ids: subnet-id, security-group-ids, image-id', () => {
  test('valid ids', () => {
    const spec = running({
      'subnet-id': 'subnet-0123456789abcdef0',
      'security-group-ids': 'sg-0123456789abcdef0, sg-12345678\nsg-abcdef01',
      'image-id': 'ami-0123456789abcdef0',
    });
    expect(spec.subnetId).toBe('subnet-0123456789abcdef0');
    expect(spec.securityGroupIds).toEqual(['sg-0123456789abcdef0', 'sg-12345678', 'sg-abcdef01']);
    expect(spec.imageId).toBe('ami-0123456789abcdef0');
  });
  test.each([
    ['subnet-id', 'subnet-XYZ'],
    ['subnet-id', 'sg-0123456789abcdef0'],
    ['security-group-ids', 'sg-0123456789abcdef0, default'],
    ['security-group-ids', 'sg-123'],
    ['image-id', 'ami-123'],
    ['image-id', 'ubuntu-24.04'],
  ])('%s rejects %j', (input, value) => {
    const err = rejection({ 'admin-user': 'a', [input]: value }, input);
    expect(err.message).toMatch(/such as (subnet|sg|ami)-0123456789abcdef0/);
  });
});

describe('numbers, versions and booleans', () => {
  test.each([
    ['root-volume-size', '8', 8],
    ['root-volume-size', '16384', 16384],
    ['root-volume-size', '100', 100],
    ['install-timeout', '5', 5],
    ['install-timeout', '180', 180],
  ])('%s accepts %j', (input, value, expected) => {
    const spec = running({ [input]: value });
    expect(input === 'root-volume-size' ? spec.rootVolumeSizeGiB : spec.installTimeoutMinutes).toBe(
      expected,
    );
  });
  test.each([
    ['root-volume-size', '7', 'from 8 to 16384'],
    ['root-volume-size', '16385', 'from 8 to 16384'],
    ['root-volume-size', '20.5', 'from 8 to 16384'],
    ['root-volume-size', '-20', 'from 8 to 16384'],
    ['root-volume-size', '1e3', 'from 8 to 16384'],
    ['install-timeout', '4', 'from 5 to 180'],
    ['install-timeout', '181', 'from 5 to 180'],
    ['install-timeout', 'ten', 'from 5 to 180'],
  ])('%s rejects %j', (input, value, accepted) => {
    const err = rejection({ 'admin-user': 'a', [input]: value }, input);
    expect(err.message).toContain(`a whole number ${accepted}`);
  });
  test.each(['24.04', '22.04'] as const)('ubuntu-version accepts %s', (v) => {
    expect(running({ 'ubuntu-version': v }).ubuntuVersion).toBe(v);
  });
  test.each(['20.04', '24.10', 'noble', '24'])('ubuntu-version rejects %j', (v) => {
    const err = rejection({ 'admin-user': 'a', 'ubuntu-version': v }, 'ubuntu-version');
    expect(err.message).toContain('Accepted: 24.04, 22.04.');
  });
  test.each(['2.0.0', '1.0.0', 'main', 'v2.0.0b1', '2.0.0-rc.1', 'a'.repeat(63)])(
    'tljh-version accepts %j',
    (v) => {
      expect(running({ 'tljh-version': v }).tljhVersion).toBe(v);
    },
  );
  test.each(['.hidden', '-x', 'a/b', '2.0.0 beta', 'a'.repeat(64)])(
    'tljh-version rejects %j',
    (v) => {
      const err = rejection({ 'admin-user': 'a', 'tljh-version': v }, 'tljh-version');
      expect(err.message).toContain('a TLJH release such as 2.0.0');
    },
  );
  test.each([
    ['true', true],
    ['True', true],
    ['yes', true],
    ['1', true],
    ['false', false],
    ['NO', false],
    ['0', false],
  ])('dry-run %j is %s', (raw, expected) => {
    expect(running({ 'dry-run': raw }).dryRun).toBe(expected);
  });
  test.each(['maybe', 'on', 'y', '2'])('dry-run rejects %j', (raw) => {
    const err = rejection({ 'admin-user': 'a', 'dry-run': raw }, 'dry-run');
    expect(err.message).toContain('Accepted: true or false.');
  });
});

describe('allowed-cidrs', () => {
  test('comma, space and newline separated, v4 and v6', () => {
    expect(
      running({ 'allowed-cidrs': '203.0.113.0/24,198.51.100.7/32\n2001:db8::/32  ::/0' })
        .allowedCidrs,
    ).toEqual(['203.0.113.0/24', '198.51.100.7/32', '2001:db8::/32', '::/0']);
  });
  test.each([
    '0.0.0.0/0',
    '10.0.0.0/8',
    '255.255.255.255/32',
    '::/0',
    '2001:db8::/32',
    '2001:db8:0:0:0:0:0:1/128',
    'fe80::1/64',
    '::1/128',
    'ABCD:EF01::/16',
  ])('isCidr accepts %j', (c) => {
    expect(isCidr(c)).toBe(true);
  });
  test.each([
    '10.0.0.0',
    '10.0.0.0/33',
    '256.0.0.0/8',
    '10.0.0/8',
    '10.0.0.0.0/8',
    '10.0.0.0/-1',
    '::/129',
    '2001:db8::1::/64',
    '1:2:3:4:5:6:7:8:9/64',
    '1:2:3:4:5:6:7/64',
    '1:2:3:4:5:6:7:8::/64',
    '12345::/16',
    'g::/16',
    ':::/0',
    '::ffff:1.2.3.4/128',
    'localhost/8',
    '',
  ])('isCidr rejects %j', (c) => {
    expect(isCidr(c)).toBe(false);
  });
  test('a bad block is an InputError naming allowed-cidrs', () => {
    const err = rejection(
      { 'admin-user': 'a', 'allowed-cidrs': '10.0.0.0/8, 10.0.0.0/40' },
      'allowed-cidrs',
    );
    expect(err.message).toContain("'10.0.0.0/40' is not a CIDR block");
    expect(err.message).toContain('203.0.113.0/24 or ::/0');
  });
  // The hub's own group gets one rule per block for port 80 and one for 443 (src/aws/ec2.ts,
  // webPermissions), and EC2's default quota is 60 inbound rules per security group, counted
  // apart for IPv4 and IPv6: 30 blocks of each family fit, 31 do not.
  const v4 = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i}.0/24`);
  const v6 = (n: number) => Array.from({ length: n }, (_, i) => `2001:db8:${i.toString(16)}::/48`);
  test('30 IPv4 and 30 IPv6 blocks fit the default quota', () => {
    const cidrs = [...v4(30), ...v6(30)];
    expect(running({ 'allowed-cidrs': cidrs.join(',') }).allowedCidrs).toEqual(cidrs);
  });
  test.each([
    ['IPv4', [...v4(31), ...v6(1)], 31],
    ['IPv6', [...v4(1), ...v6(31)], 31],
    ['IPv4', v4(51), 51],
  ])('more than 30 %s blocks are rejected, naming the quota', (family, cidrs, count) => {
    const err = rejection(
      { 'admin-user': 'a', 'allowed-cidrs': cidrs.join('\n') },
      'allowed-cidrs',
    );
    expect(err.message).toContain(`${count} ${family} blocks need ${count * 2} inbound rules`);
    expect(err.message).toContain('60 inbound rules per security group');
    expect(err.message).toContain('at most 30 IPv4 and 30 IPv6 blocks');
  });
  test('a block listed twice counts once (EC2 would refuse the duplicate rule)', () => {
    const cidrs = v4(30);
    const spec = running({
      'allowed-cidrs': [
        ...cidrs,
        '010.0.0.0/24',
        'ABCD:EF01::/16',
        'abcd:ef01:0::/16',
        '2001:db8::1/128',
        '2001:0db8:0:0:0:0:0:1/128',
        '2001:db8::/128',
      ].join(','),
    });
    expect(spec.allowedCidrs).toEqual([
      ...cidrs,
      'ABCD:EF01::/16',
      '2001:db8::1/128',
      '2001:db8::/128',
    ]);
  });
});

describe('tags', () => {
  test('one key=value per line; comments, blanks and spaces around are ignored', () => {
    const spec = running({
      tags: '# cost allocation\nproject = workshop-2026\n\n  owner=naomi@example.org \r\ncourse=CS 101: intro\nempty=',
    });
    expect(spec.extraTags).toEqual({
      project: 'workshop-2026',
      owner: 'naomi@example.org',
      course: 'CS 101: intro',
      empty: '',
    });
  });
  test('a value may contain =', () => {
    expect(running({ tags: 'expr=a=b' }).extraTags).toEqual({ expr: 'a=b' });
  });
  test.each([
    'aws:cloudformation:stack-name=x',
    'AWS:foo=x',
    'tljh:hub=other',
    'tljh:managed-by=me',
    'tljh:installed-version=2.0.0',
    'Name=my-hub',
  ])('reserved key in %j is rejected', (line) => {
    const err = rejection({ 'admin-user': 'a', tags: line }, 'tags');
    expect(err.message).toContain('is reserved');
    expect(err.message).toContain("not starting with 'aws:' or 'tljh:', and not 'Name'");
  });
  test.each(['novalue', '=value', ` =x`, `k=${'v'.repeat(257)}`, `${'k'.repeat(129)}=v`])(
    'malformed line %j is rejected',
    (line) => {
      const err = rejection({ 'admin-user': 'a', tags: line }, 'tags');
      expect(err.message).toContain("one 'key=value' per line");
    },
  );
  test('limits: 128-char key and 256-char value are fine; 41 tags are too many', () => {
    const spec = running({ tags: `${'k'.repeat(128)}=${'v'.repeat(256)}` });
    expect(Object.keys(spec.extraTags)[0]).toHaveLength(128);
    const many = Array.from({ length: 41 }, (_, i) => `k${i}=v`).join('\n');
    const err = rejection({ 'admin-user': 'a', tags: many }, 'tags');
    expect(err.message).toContain('too many tags');
    expect(running({ tags: many.split('\n').slice(0, 40).join('\n') }).extraTags).toHaveProperty(
      'k39',
      'v',
    );
  });
  test('the keys fit the one tag that records them (tljh:tag-keys, 256 characters)', () => {
    const keys = (n: number, len: number) =>
      Array.from({ length: n }, (_, i) => `${String(i).padStart(3, '0')}${'k'.repeat(len - 3)}=v`);
    // 3 keys of 85 and their 2 commas: 257 characters.
    const err = rejection({ 'admin-user': 'a', tags: keys(3, 85).join('\n') }, 'tags');
    expect(err.message).toContain('the keys take 257 characters');
    expect(err.message).toContain('at most 256');
    expect(Object.keys(running({ tags: keys(3, 84).join('\n') }).extraTags)).toHaveLength(3);
  });
});

// Defect 2: TLJH hands the plugins to `pip install` (tljh/conda.py ensure_pip_packages), so any
// pip requirement must pass, one per line; what could be read as an option or needs quoting
// care in the install script must not.
describe('tljh-plugins: one pip requirement per line', () => {
  /** [line, the project name pip reads (undefined for a bare URL)] */
  const VALID: [string, string | undefined][] = [
    ['tljh-repo2docker', 'tljh-repo2docker'],
    ['tljh-repo2docker==1.0', 'tljh-repo2docker'],
    ['pkg>=1,<2', 'pkg'],
    ['pkg >= 1.0, < 2', 'pkg'],
    ['pkg (>=1,<2)', 'pkg'],
    ['pkg[a,b]', 'pkg'],
    ['pkg[ a , b ]>=1.0', 'pkg'],
    ['pkg[a,b]>=1.0,!=1.5.*,<3', 'pkg'],
    ['pkg~=1.4.2', 'pkg'],
    ['pkg===1.0+local', 'pkg'],
    ['pkg==1!2.0.post1', 'pkg'],
    ['Pkg.Name_x-y', 'Pkg.Name_x-y'],
    ['git+https://github.com/org/plugin@v1', undefined],
    ['git+https://github.com/org/plugin@v1#egg=plugin', 'plugin'],
    ['git+https://github.com/org/repo.git@main#egg=plugin&subdirectory=sub', 'plugin'],
    // A wheel's file name carries its project name.
    ['https://files.example.org/plugin-1.0-py3-none-any.whl', 'plugin'],
    ['name @ https://example.org/name-1.0.tar.gz', 'name'],
    ['name@git+https://github.com/org/plugin@v1', 'name'],
    ['name[extra] @ https://example.org:8443/p/name-1.0.zip', 'name'],
  ];

  test('each valid specifier is kept as one plugin, exactly as written', () => {
    for (const [line] of VALID) {
      expect([line, running({ 'tljh-plugins': line }).plugins]).toEqual([line, [line]]);
    }
  });

  test('pip itself reads each accepted line as one requirement of that project', () => {
    // pip's own parser for a command-line requirement (what `pip install <arg>` runs), offline;
    // in an empty directory, so that no name can be taken for a local path.
    const cwd = mkdtempSync(join(tmpdir(), 'pip-parse-'));
    const program = String.raw`
import json, sys
from pip._internal.req.constructors import install_req_from_line
out = []
for line in json.load(sys.stdin):
    r = install_req_from_line(line)
    out.append([r.name, bool(r.link)])
json.dump(out, sys.stdout)
`;
    const res = spawnSync('python3', ['-c', program], {
      cwd,
      input: JSON.stringify(VALID.map(([l]) => l)),
      encoding: 'utf8',
    });
    rmSync(cwd, { recursive: true, force: true });
    expect(res.stderr).toBe('');
    const parsed = JSON.parse(res.stdout) as [string | null, boolean][];
    expect(parsed.map(([name]) => name ?? undefined)).toEqual(VALID.map(([, name]) => name));
    // The URL forms are direct references, the others come from the index.
    expect(parsed.map(([, link]) => link)).toEqual(VALID.map(([l]) => /https:/.test(l)));
  });

  test('one per line: blank lines and # comments are skipped, lines are trimmed', () => {
    const raw =
      '\n  pkg>=1,<2  \n# a comment\r\npkg[a,b]\n\ngit+https://github.com/org/plugin@v1\n';
    expect(running({ 'tljh-plugins': raw }).plugins).toEqual([
      'pkg>=1,<2',
      'pkg[a,b]',
      'git+https://github.com/org/plugin@v1',
    ]);
    expect(running({ 'tljh-plugins': '' }).plugins).toEqual([]);
  });

  test.each<[string, string, RegExp]>([
    ['an option', '--index-url=https://evil.example.org/simple', /starts with - \(an option\)/],
    ['an editable install', '-e git+https://github.com/org/plugin', /starts with -/],
    ['a short option', '-rrequirements.txt', /starts with -/],
    ['an environment marker', 'pkg>=1.0; python_version>="3.9"', /holds .*quote/],
    ['a quoteless marker', 'pkg>=1.0; sys_platform==linux', /environment marker \(;\)/],
    ['a single quote', "pkg'x", /quote/],
    ['a double quote', 'pkg"x', /quote/],
    ['a backslash', 'pkg\\x', /quote, \\/],
    ['a dollar', 'pkg$(reboot)', /\$/],
    ['a backtick', 'pkg`reboot`', /`/],
    ['a tab', 'pkg\t>=1', /control/],
    ['a NUL', 'pkg\u0000', /control/],
    ['a carriage return inside', 'pkg\rreboot', /control/],
    ['non-ASCII', 'pkgé', /non-ASCII/],
    ['two on one line (space)', 'pkg-a pkg-b', /is not one pip requirement/],
    ['two on one line (comma)', 'pkg-a, pkg-b', /is not one pip requirement/],
    ['a per-requirement option', 'pkg --install-option=--prefix=/tmp', /not one pip requirement/],
    ['a plain http URL', 'http://example.org/p.whl', /not one pip requirement/],
    ['an ssh URL', 'git+ssh://git@github.com/org/plugin', /not one pip requirement/],
    ['a file URL', 'name @ file:///etc/passwd', /not one pip requirement/],
    ['credentials in a URL', 'git+https://user:pw@github.com/org/p', /not one pip requirement/],
    ['a local path', './plugin', /not one pip requirement/],
    ['a pipe', 'pkg|reboot', /not one pip requirement/],
    ['a redirect', 'pkg>>out', /not one pip requirement/],
    ['a glob', 'pkg*', /not one pip requirement/],
    ['a version that is no version', 'pkg<in', /not one pip requirement/],
    ['an ampersand', 'pkg&&reboot', /not one pip requirement/],
    ['too long', `pkg @ https://example.org/${'a'.repeat(600)}`, /longer than 600/],
  ])('rejects %s', (_label, line, problem) => {
    const err = rejection(
      { 'admin-user': 'naomi', 'tljh-plugins': `ok-plugin\n${line}` },
      'tljh-plugins',
    );
    expect(err.message).toMatch(problem);
    // It says what is accepted, and the message stays one printable, bounded line.
    expect(err.message).toContain('Accepted: one pip requirement per line');
    expect(err.message).toMatch(/^[\x20-\x7e]+$/);
    expect(err.message.length).toBeLessThan(400);
  });
});

describe('hostile values are rejected with InputError', () => {
  const hostile: [string, string][] = [
    ['semicolon', 'naomi;reboot'],
    ['command substitution', 'naomi$(id)'],
    ['variable', 'x$HOME'],
    ['backticks', 'naomi`id`'],
    ['single quote', "nao'mi"],
    ['double quote', 'nao"mi'],
    ['embedded newline', 'nao\nmi'],
    ['embedded carriage return', 'nao\rmi'],
    ['pipe', 'a|sh'],
    ['ampersand', 'a&&b'],
    ['redirect', 'a>b'],
    ['glob', 'a*'],
    ['backslash', 'a\\b'],
    ['unicode letter', 'naömi'],
    ['unicode dash', 'nao\u2013mi'],
    ['zero-width space', 'nao\u200bmi'],
    ['NUL', 'nao\u0000mi'],
    ['leading dash', '-naomi'],
    ['leading double dash', '--admin=root'],
    ['300 characters', 'a'.repeat(300)],
  ];

  describe.each(['admin-user', 'hub-name', 'tljh-version'])('%s', (input) => {
    test.each(hostile)('%s', (_label, value) => {
      const err = rejection({ 'admin-user': 'naomi', [input]: value }, input);
      // The echoed value is bounded (printable() keeps 60 characters).
      expect(err.message.length).toBeLessThan(400);
    });
  });

  describe('tags', () => {
    // Tag values never reach a shell (only the EC2 API), so a leading dash is a legal tag; every
    // other hostile value must be refused. Newlines separate tags, so the hostile part of an
    // embedded-newline value is its own line.
    test.each(hostile.filter(([label]) => !label.startsWith('leading')))('value: %s', (_l, v) => {
      rejection({ 'admin-user': 'naomi', tags: `k=${v}` }, 'tags');
    });
    test.each(hostile.filter(([label]) => !label.startsWith('leading')))('key: %s', (_l, v) => {
      rejection({ 'admin-user': 'naomi', tags: `${v}=v` }, 'tags');
    });
    test('a leading dash is a legal EC2 tag and is kept as data', () => {
      expect(running({ tags: '-k=-v' }).extraTags).toEqual({ '-k': '-v' });
    });
  });
});

describe('tljh-config: a rejected secret is not echoed', () => {
  // The InputError goes to the log through setFailed: a secret setting's value must not be in
  // it (its printable form, with ? for control characters, would not match the mask).
  test.each([
    ['auth.GitHubOAuthenticator.client_secret', 'S3cret\u0007value'],
    ['auth.LDAPAuthenticator.lookup_dn_search_password', 'pw\u001b[2Jrest'],
    ['auth.Generic.access_token', '--'],
  ])('%s', (key, value) => {
    const err = rejection(
      { 'admin-user': 'naomi', 'tljh-config': `${key}=${value}` },
      'tljh-config',
    );
    expect(err.message).toContain(`'${key}'`);
    expect(err.message).not.toContain(printable(value));
    expect(err.message).not.toContain(value);
  });

  test('a rejected line without a secret is still shown, to say which one', () => {
    const err = rejection(
      { 'admin-user': 'naomi', 'tljh-config': 'user_environment.default_app=lab\u0007' },
      'tljh-config',
    );
    expect(err.message).toContain("line 'user_environment.default_app=lab?'");
  });
});

describe('printable', () => {
  test('replaces control and non-ASCII characters and bounds the length', () => {
    expect(printable('a\nb\u0000c\u00e9')).toBe('a?b?c?');
    const long = printable('x'.repeat(300));
    expect(long).toHaveLength(60);
    expect(long.endsWith('...')).toBe(true);
    expect(printable('short')).toBe('short');
  });
});

describe('https-wait', () => {
  const https = { 'https-domain': 'hub.example.org', 'https-email': 'ops@example.org' };

  test('waits 5 minutes for the certificate by default, as long as asked up to an hour, or not at all', () => {
    expect(running(https).https?.waitMinutes).toBe(5);
    expect(running({ ...https, 'https-wait': '0' }).https?.waitMinutes).toBe(0);
    expect(running({ ...https, 'https-wait': '60' }).https?.waitMinutes).toBe(60);
  });

  test.each(['61', '-1', '1.5', 'soon'])('rejects %j, naming the input', (value) => {
    rejection({ 'admin-user': 'naomi', ...https, 'https-wait': value }, 'https-wait');
  });
});

describe('market-type and spot-fallback', () => {
  test('On-Demand by default, without fallback', () => {
    expect(running()).toMatchObject({ marketType: 'on-demand', spotFallback: false });
  });

  test('spot, with or without the fallback to On-Demand', () => {
    expect(running({ 'market-type': 'spot' })).toMatchObject({
      marketType: 'spot',
      spotFallback: false,
    });
    expect(running({ 'market-type': 'spot', 'spot-fallback': 'true' })).toMatchObject({
      marketType: 'spot',
      spotFallback: true,
    });
  });

  test('spot-fallback means nothing for On-Demand: accepted and ignored', () => {
    expect(running({ 'spot-fallback': 'true' })).toMatchObject({
      marketType: 'on-demand',
      spotFallback: false,
    });
  });

  test.each(['Spot', 'reserved', 'spot,on-demand'])('market-type %j is refused, naming it', (v) => {
    const err = rejection({ 'admin-user': 'naomi', 'market-type': v }, 'market-type');
    expect(err.message).toContain('on-demand, spot');
  });

  test('a spot-fallback that is not a boolean is refused, naming it', () => {
    rejection(
      { 'admin-user': 'naomi', 'market-type': 'spot', 'spot-fallback': 'maybe' },
      'spot-fallback',
    );
  });
});

describe('image-cache and image-cache-keep', () => {
  test('off by default, keeping 2 images per family, unused ones for 30 days', () => {
    expect(running()).toMatchObject({
      imageCache: false,
      imageCacheKeep: 2,
      imageCacheMaxUnusedMs: 30 * 86_400_000,
    });
    expect(running({ 'image-cache-max-unused': '2w' }).imageCacheMaxUnusedMs).toBe(14 * 86_400_000);
  });

  test.each(['0d', '2 weeks', '400d'])('image-cache-max-unused %j is refused, naming it', (v) => {
    rejection({ 'admin-user': 'naomi', 'image-cache-max-unused': v }, 'image-cache-max-unused');
  });

  test('on, with another number to keep', () => {
    expect(running({ 'image-cache': 'true', 'image-cache-keep': '5' })).toMatchObject({
      imageCache: true,
      imageCacheKeep: 5,
    });
  });

  test.each(['0', '21', 'two', '-1'])('image-cache-keep %j is refused, naming it', (v) => {
    rejection({ 'admin-user': 'naomi', 'image-cache-keep': v }, 'image-cache-keep');
  });

  test('with image-id it is refused, naming image-cache: an own image is never baked over', () => {
    const err = rejection(
      { 'admin-user': 'naomi', 'image-cache': 'true', 'image-id': 'ami-0123456789abcdef0' },
      'image-cache',
    );
    expect(err.message).toContain('image-id');
  });
});
