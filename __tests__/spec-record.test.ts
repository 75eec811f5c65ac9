// The tljh:applied record: its tag format, its digests (scrypt where a group holds a secret,
// salted SHA-256 otherwise), the groups it leaves out, and the summary's labels.
import { createHash, scryptSync } from 'node:crypto';
import {
  RECORDED_GROUPS,
  desiredRecord,
  formatRecord,
  groupLabels,
  groupValues,
  holdsSecret,
  newSalt,
  parseRecord,
  parseTagKeys,
  recordedValue,
  type SpecRecord,
} from '../src/spec-record.ts';
import { spec } from './helpers/hub-spec.ts';

const SALT = 'Ab3_-xyzAb3_-xyz';
const PASSWORD = 'correct-Horse-battery-9';
const CLIENT_SECRET = 'gh-0auth-s3cr3t-value';

/** The documented slow digest: scrypt N=2^17, r=8, p=1, 12 bytes, base64url. */
function scrypt(group: string, value: string, salt: string): string {
  return scryptSync(`${group}\n${value}`, `tljh-ec2-action/${salt}`, 12, {
    N: 2 ** 17,
    r: 8,
    p: 1,
    maxmem: 256 * 1024 * 1024,
  }).toString('base64url');
}

/** The fast digest: salted SHA-256, cut to 12 bytes. */
function sha(group: string, value: string, salt: string): string {
  return createHash('sha256')
    .update(`${salt}\n${group}\n${value}`)
    .digest()
    .subarray(0, 12)
    .toString('base64url');
}

describe('the tag format', () => {
  const record: SpecRecord = {
    salt: SALT,
    values: {
      'tljh-config': 'AAAAAAAAAAAAAAAA',
      admins: 'BBBBBBBBBBBBBBBB',
      'admin-password': 'CCCCCCCCCCCCCCCC',
      https: 'DDDDDDDDDDDDDDDD',
      plugins: 'EEEEEEEEEEEEEEEE',
      'root-volume': '30',
      'allowed-cidrs': 'FFFFFFFFFFFFFFFF',
    },
  };

  test('format then parse gives the record back', () => {
    expect(parseRecord(formatRecord(record))).toEqual(record);
  });

  test('short names, salt first, groups left out when not recorded', () => {
    expect(formatRecord({ salt: SALT, values: { 'root-volume': '20', admins: 'x' } })).toBe(
      `s=${SALT};adm=x;vol=20`,
    );
    expect(parseRecord(`s=${SALT};vol=20`)).toEqual({
      salt: SALT,
      values: { 'root-volume': '20' },
    });
  });

  test('a real record round-trips', () => {
    const real = desiredRecord(
      spec({ 'tljh-config': 'limits.memory=1G', 'admin-password': PASSWORD }),
      newSalt(),
    );
    expect(parseRecord(formatRecord(real))).toEqual(real);
  });

  test.each([
    ['undefined', undefined],
    ['empty', ''],
    ['garbage', 'not a record at all'],
    ['no salt', 'cfg=AAAA;vol=20'],
    ['an empty salt', 's=;vol=20'],
    ['a short salt', 's=abc;vol=20'],
    ['a salt with other characters', 's=abc$def/ghi;vol=20'],
    ['a salt too long', `s=${'a'.repeat(33)};vol=20`],
  ])('%s reads as no record', (_what, tag) => {
    expect(parseRecord(tag)).toBeUndefined();
  });

  test('unknown fields are ignored', () => {
    expect(parseRecord(`s=${SALT};zzz=1;pw=abc`)).toEqual({
      salt: SALT,
      values: { 'admin-password': 'abc' },
    });
  });

  test('newSalt is readable back and differs each time', () => {
    const a = newSalt();
    expect(parseRecord(`s=${a}`)).toEqual({ salt: a, values: {} });
    expect(newSalt()).not.toBe(a);
  });

  test('parseTagKeys', () => {
    expect(parseTagKeys(undefined)).toEqual([]);
    expect(parseTagKeys('')).toEqual([]);
    expect(parseTagKeys('team,,owner')).toEqual(['team', 'owner']);
  });
});

describe('digests', () => {
  test('a secret group is scrypt with the documented parameters, not the salted SHA-256', () => {
    const s = spec({ 'admin-password': PASSWORD });
    const value = groupValues(s)['admin-password']!;
    expect(value).toContain(PASSWORD);
    expect(holdsSecret(s, 'admin-password')).toBe(true);
    const recorded = desiredRecord(s, SALT).values['admin-password'];
    expect(recorded).toBe(scrypt('admin-password', value, SALT));
    expect(recorded).not.toBe(sha('admin-password', value, SALT));
    expect(recorded).not.toContain(PASSWORD);
  });

  test('tljh-config holding a client_secret is scrypt too', () => {
    const s = spec({
      'tljh-config': `auth.GitHubOAuthenticator.client_secret=${CLIENT_SECRET}`,
    });
    expect(holdsSecret(s, 'tljh-config')).toBe(true);
    const value = groupValues(s)['tljh-config']!;
    expect(desiredRecord(s, SALT).values['tljh-config']).toBe(scrypt('tljh-config', value, SALT));
  });

  test('a group without a secret is the salted SHA-256, cut to 96 bits', () => {
    const s = spec({ 'tljh-config': 'limits.memory=1G' });
    expect(holdsSecret(s, 'tljh-config')).toBe(false);
    const value = groupValues(s)['tljh-config']!;
    const recorded = desiredRecord(s, SALT).values['tljh-config']!;
    expect(recorded).toBe(sha('tljh-config', value, SALT));
    expect(Buffer.from(recorded, 'base64url')).toHaveLength(12);
  });

  test('different salts give different digests (secret and not)', () => {
    const s = spec({ 'admin-password': PASSWORD, 'tljh-config': 'limits.memory=1G' });
    const a = desiredRecord(s, SALT).values;
    const b = desiredRecord(s, 'another-salt-0001').values;
    expect(a['admin-password']).not.toBe(b['admin-password']);
    expect(a['tljh-config']).not.toBe(b['tljh-config']);
    expect(a['root-volume']).toBe(b['root-volume']);
  });

  test('different passwords give different digests; the same one the same', () => {
    const one = desiredRecord(spec({ 'admin-password': PASSWORD }), SALT).values;
    const again = desiredRecord(spec({ 'admin-password': PASSWORD }), SALT).values;
    const other = desiredRecord(spec({ 'admin-password': PASSWORD + 'x' }), SALT).values;
    expect(again['admin-password']).toBe(one['admin-password']);
    expect(other['admin-password']).not.toBe(one['admin-password']);
  });

  test('the root volume is recorded as its size', () => {
    expect(recordedValue('root-volume', '64', SALT, false)).toBe('64');
    expect(desiredRecord(spec({ 'root-volume-size': '64' }), SALT).values['root-volume']).toBe(
      '64',
    );
  });

  test('the same value in two groups gives two digests (the group is part of the input)', () => {
    expect(recordedValue('admins', '[]', SALT, false)).not.toBe(
      recordedValue('plugins', '[]', SALT, false),
    );
  });
});

describe('what is recorded', () => {
  const everything = {
    'admin-password': PASSWORD,
    'tljh-config': [
      `auth.GitHubOAuthenticator.client_secret=${CLIENT_SECRET}`,
      'auth.GitHubOAuthenticator.client_id=abc',
      'limits.memory=4G',
    ].join('\n'),
    'tljh-plugins': 'tljh-repo2docker==1.0.0\ngit+https://github.com/org/plugin@v1',
    'user-requirements-url': 'https://example.org/requirements.txt',
    'https-domain': 'a-rather-long-hub-name.workshops.example.org',
    'https-email': 'organiser@example.org',
    'root-volume-size': '16384',
    'allowed-cidrs': '10.0.0.0/8, 2001:db8::/32',
    ttl: '2w',
    tags: 'team=data',
  };

  test("the whole tag fits EC2's 256-character tag value with every group set", () => {
    const record = desiredRecord(spec(everything), newSalt());
    expect(Object.keys(record.values).sort()).toEqual([...RECORDED_GROUPS].sort());
    const tag = formatRecord(record);
    expect(tag.length).toBeLessThanOrEqual(256);
    expect(tag).not.toContain(PASSWORD);
    expect(tag).not.toContain(CLIENT_SECRET);
  });

  test('without admin-password: no pw in the record', () => {
    const record = desiredRecord(spec(), SALT);
    expect(record.values['admin-password']).toBeUndefined();
    expect(formatRecord(record)).not.toContain('pw=');
  });

  test('allowed-cidrs not recorded when security-group-ids are given', () => {
    const mine = desiredRecord(spec({ 'security-group-ids': 'sg-0123456789abcdef0' }), SALT);
    expect(mine.values['allowed-cidrs']).toBeUndefined();
    expect(formatRecord(mine)).not.toContain('net=');
    expect(desiredRecord(spec(), SALT).values['allowed-cidrs']).toBeDefined();
  });

  test('allowed-cidrs recorded in any order the same', () => {
    const a = desiredRecord(spec({ 'allowed-cidrs': '10.0.0.0/8, 192.0.2.0/24' }), SALT);
    const b = desiredRecord(spec({ 'allowed-cidrs': '192.0.2.0/24, 10.0.0.0/8' }), SALT);
    expect(a.values['allowed-cidrs']).toBe(b.values['allowed-cidrs']);
  });

  test('groupLabels never holds a secret value', () => {
    const labels = groupLabels(spec(everything));
    const text = JSON.stringify(labels);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(CLIENT_SECRET);
    expect(labels['admin-password']).toBe('given (not shown)');
    expect(labels['tljh-config']).toBe(
      '3 key(s): auth.GitHubOAuthenticator.client_secret, auth.GitHubOAuthenticator.client_id, limits.memory',
    );
    expect(labels.https).toBe('a-rather-long-hub-name.workshops.example.org');
    expect(labels.plugins).toBe('2 plugin(s), user requirements URL');
  });

  test('groupLabels of an empty spec', () => {
    expect(groupLabels(spec())).toMatchObject({
      'tljh-config': 'none',
      admins: 'naomi',
      https: 'off',
      plugins: 'none',
    });
  });
});
