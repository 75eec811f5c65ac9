// What the action applied to a hub, kept on the instance as one tag (tljh:applied) so a re-run
// can tell what changed without asking the instance: one digest per group of settings, and the
// root volume's size. Pure (node:crypto only).
//
// The tag is readable by anyone who may describe the instance, and some groups hold secrets (the
// admin password, an OAuth client secret): their digests are scrypt, deliberately slow and
// salted per hub, so guessing a password from its digest costs as much as guessing it against a
// stored password hash. Groups without a secret use salted SHA-256 (a fast hash reveals nothing
// there and keeps a no-op run quick). Digests are cut to 96 bits: they only detect a change.
import { createHash, randomBytes, scryptSync } from 'node:crypto';
import { isSecretSetting } from './inputs/secret-settings.ts';
import type { HubSpec } from './inputs/spec.ts';

export const TAG_APPLIED = 'tljh:applied';
/** The keys of the user's `tags` the action set (comma-separated): only those it removes. */
export const TAG_TAG_KEYS = 'tljh:tag-keys';

/**
 * The groups of settings a re-run compares. Those recorded as digests are applied on the
 * instance; instance-type, tags and ttl are read back from EC2 itself.
 */
export const RECORDED_GROUPS = [
  'tljh-config',
  'admins',
  'admin-password',
  'https',
  'plugins',
  'root-volume',
  'allowed-cidrs',
] as const;
export type RecordedGroup = (typeof RECORDED_GROUPS)[number];
export type SpecGroup = RecordedGroup | 'instance-type' | 'tags' | 'ttl';
export const SPEC_GROUPS: readonly SpecGroup[] = [
  'instance-type',
  'root-volume',
  'allowed-cidrs',
  'tags',
  'ttl',
  'tljh-config',
  'admins',
  'admin-password',
  'https',
  'plugins',
];

/** Short names in the tag (EC2 tag values hold 256 characters). */
const SHORT: Record<RecordedGroup, string> = {
  'tljh-config': 'cfg',
  admins: 'adm',
  'admin-password': 'pw',
  https: 'tls',
  plugins: 'plg',
  'root-volume': 'vol',
  'allowed-cidrs': 'net',
};

export interface SpecRecord {
  /** Per hub, random: the same settings on two hubs give different digests. */
  salt: string;
  values: Partial<Record<RecordedGroup, string>>;
}

// OWASP's scrypt parameters for password storage (N=2^17, r=8, p=1): 128 MiB, ~0.3 s here.
const SCRYPT = { N: 2 ** 17, r: 8, p: 1, maxmem: 160 * 1024 * 1024 };
const DIGEST_BYTES = 12;

export function newSalt(): string {
  return randomBytes(12).toString('base64url');
}

/** The value of each recorded group a spec asks for, before hashing; undefined: not managed. */
export function groupValues(spec: HubSpec): Record<RecordedGroup, string | undefined> {
  const settings = spec.tljhSettings;
  return {
    'tljh-config': settings.length ? JSON.stringify(settings) : '',
    admins: spec.adminUser ? JSON.stringify([spec.adminUser]) : '',
    // No password given: the hub keeps the one it has (given before, generated or chosen).
    'admin-password': spec.adminPassword
      ? JSON.stringify([spec.adminUser, spec.adminPassword])
      : undefined,
    // Staging only when on: the records of hubs made before it existed stay equal.
    https: spec.https
      ? JSON.stringify([
          spec.https.domain,
          spec.https.email,
          ...(spec.https.staging ? ['staging'] : []),
        ])
      : '',
    plugins:
      spec.plugins.length || spec.userRequirementsUrl
        ? JSON.stringify([spec.plugins, spec.userRequirementsUrl ?? ''])
        : '',
    'root-volume': String(spec.rootVolumeSizeGiB),
    // In groups of the user's own (security-group-ids), the action has no rules to match.
    'allowed-cidrs': spec.securityGroupIds.length
      ? undefined
      : JSON.stringify([...spec.allowedCidrs].sort()),
  };
}

/** Whether a group's value holds a secret (then its digest is the slow one). */
export function holdsSecret(spec: HubSpec, group: RecordedGroup): boolean {
  if (group === 'admin-password') return true;
  return group === 'tljh-config' && spec.tljhSettings.some(([k]) => isSecretSetting(k));
}

/** The recorded form of one group's value: the size itself for root-volume, else a digest. */
export function recordedValue(
  group: RecordedGroup,
  value: string,
  salt: string,
  secret: boolean,
): string {
  // Nothing asked (no setting, no plugin): recorded as such, so it compares as empty.
  if (group === 'root-volume' || value === '') return value;
  const input = `${group}\n${value}`;
  const bytes = secret
    ? scryptSync(input, `tljh-ec2-action/${salt}`, DIGEST_BYTES, SCRYPT)
    : createHash('sha256').update(`${salt}\n${input}`).digest().subarray(0, DIGEST_BYTES);
  return bytes.toString('base64url');
}

export function formatRecord(record: SpecRecord): string {
  const parts = [`s=${record.salt}`];
  for (const group of RECORDED_GROUPS) {
    const value = record.values[group];
    if (value !== undefined) parts.push(`${SHORT[group]}=${value}`);
  }
  return parts.join(';');
}

/** Reads the tag back; anything unreadable reads as no record (every group then re-applied). */
export function parseRecord(tag: string | undefined): SpecRecord | undefined {
  if (!tag) return undefined;
  const fields = new Map(
    tag.split(';').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at), part.slice(at + 1)] as const;
    }),
  );
  const salt = fields.get('s');
  if (!salt || !/^[A-Za-z0-9_-]{8,32}$/.test(salt)) return undefined;
  const values: SpecRecord['values'] = {};
  for (const group of RECORDED_GROUPS) {
    const value = fields.get(SHORT[group]);
    if (value !== undefined) values[group] = value;
  }
  return { salt, values };
}

/** The owned tag keys, as recorded. */
export function parseTagKeys(tag: string | undefined): string[] {
  return tag ? tag.split(',').filter(Boolean) : [];
}

/** The record a spec asks for, on a hub with this salt (slow: the secret groups are scrypt). */
export function desiredRecord(spec: HubSpec, salt: string): SpecRecord {
  const values: SpecRecord['values'] = {};
  for (const [group, value] of Object.entries(groupValues(spec)) as [
    RecordedGroup,
    string | undefined,
  ][]) {
    if (value !== undefined)
      values[group] = recordedValue(group, value, salt, holdsSecret(spec, group));
  }
  return { salt, values };
}

/** Words for the summary, one per group: never a secret value. */
export function groupLabels(spec: HubSpec): Partial<Record<RecordedGroup, string>> {
  const keys = spec.tljhSettings.map(([k]) => k);
  const plugins = spec.plugins.length ? [`${spec.plugins.length} plugin(s)`] : [];
  return {
    'tljh-config': keys.length ? `${keys.length} key(s): ${keys.join(', ')}` : 'none',
    admins: spec.adminUser ?? '',
    'admin-password': 'given (not shown)',
    https: spec.https ? spec.https.domain : 'off',
    plugins:
      [...plugins, ...(spec.userRequirementsUrl ? ['user requirements URL'] : [])].join(', ') ||
      'none',
  };
}
