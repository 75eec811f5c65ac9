// The diff of the whole spec: what the hub has (its tags, its type, its recorded digests) against
// what the inputs ask for, group by group. Pure and table-tested (__tests__/spec-diff.test.ts);
// plan.ts turns the changed groups into steps.
import { InputError } from './errors.ts';
import { cidrKey } from './inputs/cidrs.ts';
import { RESERVED_TAG_PREFIX } from './inputs/tags.ts';
import type { HubSpec } from './inputs/spec.ts';
import type { Market } from './model.ts';
import {
  RECORDED_GROUPS,
  desiredRecord,
  groupLabels,
  SPEC_GROUPS,
  type RecordedGroup,
  type SpecGroup,
  type SpecRecord,
} from './spec-record.ts';

/** What the spec asks for, as compared (the secret groups already digested). */
export interface DesiredSpec {
  /** The recorded form of each group (undefined: not managed, e.g. no admin-password given). */
  record: SpecRecord;
  /** The instance types accepted, first the preferred (a hub on a fallback type keeps it). */
  instanceTypes: string[];
  rootVolumeGiB: number;
  allowedCidrs: string[];
  /** The user's `tags` (never the action's own tljh: tags). */
  tags: Record<string, string>;
  /** Whether the hub has a time to live (tljh:expires-at is then refreshed, else removed). */
  ttl: boolean;
  /** Words for the summary: values that are not secret. */
  labels: Partial<Record<RecordedGroup, string>>;
}

/** The spec as compared with a hub whose record has this salt. */
export function desiredSpec(spec: HubSpec, salt: string): DesiredSpec {
  return {
    record: desiredRecord(spec, salt),
    instanceTypes: spec.instanceTypes,
    rootVolumeGiB: spec.rootVolumeSizeGiB,
    allowedCidrs: spec.allowedCidrs,
    tags: Object.fromEntries(
      Object.entries(spec.extraTags).filter(([k]) => !k.startsWith(RESERVED_TAG_PREFIX)),
    ),
    ttl: spec.ttlMs !== undefined,
    labels: groupLabels(spec),
  };
}

/** What the hub has, as observed. Details are read only for groups whose record differs. */
export interface ObservedSpec {
  record?: SpecRecord;
  instanceType?: string;
  /** A Spot hub keeps its type (EC2 changes no stopped Spot Instance's type). */
  market?: Market;
  /** The root volume's size, read when the recorded size differs from the one asked for. */
  rootVolumeGiB?: number;
  /** The CIDR blocks of the own group's web rules, read when the recorded digest differs. */
  allowedCidrs?: string[];
  tags: Record<string, string>;
  /** The tag keys of `tags` an earlier run set (tljh:tag-keys). */
  ownedTagKeys: string[];
  expiresAt?: string;
}

export interface TagChanges {
  set: Record<string, string>;
  remove: string[];
}

export interface GroupDiff {
  group: SpecGroup;
  changed: boolean;
  /** What changes (or what stays), in words that hold no secret. */
  detail: string;
  /** Applied on the instance itself (through SSM). */
  needsRunning: boolean;
}

export interface SpecDiff {
  groups: GroupDiff[];
  /** Set when the type changes. */
  instanceType?: { from: string; to: string };
  rootVolume?: { from?: number; to: number };
  rules?: { add: string[]; remove: string[] };
  tags: TagChanges;
  /** Remove tljh:expires-at (ttl no longer given). */
  removeExpiry: boolean;
  /** A change no run can make (a smaller root volume): a running run fails with it, unchanged. */
  refused?: InputError;
}

/** Groups applied on the instance (the settings command, the installer, the partition grow). */
export const RUNNING_GROUPS: readonly SpecGroup[] = [
  'root-volume',
  'tljh-config',
  'admins',
  'admin-password',
  'https',
  'plugins',
];

/** The groups one settings command applies (no installer run). */
export const SETTINGS_GROUPS: readonly RecordedGroup[] = [
  'tljh-config',
  'admins',
  'admin-password',
  'https',
];

function tagChanges(desired: DesiredSpec, observed: ObservedSpec): TagChanges {
  const set = Object.fromEntries(
    Object.entries(desired.tags).filter(
      ([k, v]) => !k.startsWith(RESERVED_TAG_PREFIX) && observed.tags[k] !== v,
    ),
  );
  const remove = observed.ownedTagKeys.filter(
    (k) => !(k in desired.tags) && k in observed.tags && !k.startsWith(RESERVED_TAG_PREFIX),
  );
  return { set, remove };
}

function describeTags({ set, remove }: TagChanges, observed: ObservedSpec): string {
  const parts = [
    ...Object.entries(set).map(([k, v]) =>
      k in observed.tags ? `${k}: ${observed.tags[k]} → ${v}` : `+${k}=${v}`,
    ),
    ...remove.map((k) => `−${k}`),
  ];
  return parts.join(', ');
}

function sameSet(a: string[], b: string[]): boolean {
  const x = new Set(a);
  return a.length === b.length && b.every((v) => x.has(v));
}

/**
 * Compares the spec with the hub, group by group. Without an instance every group is new: the
 * launch and the install apply them all. A smaller root volume is `refused` (EBS cannot shrink).
 */
export function diffSpec(desired: DesiredSpec, observed: ObservedSpec | undefined): SpecDiff {
  const noTags = { set: {}, remove: [] };
  if (!observed) {
    return {
      groups: SPEC_GROUPS.map((group) => ({
        group,
        changed: true,
        detail: 'set at launch',
        needsRunning: RUNNING_GROUPS.includes(group),
      })),
      tags: noTags,
      removeExpiry: false,
    };
  }
  const diff: SpecDiff = { groups: [], tags: tagChanges(desired, observed), removeExpiry: false };
  const add = (group: SpecGroup, changed: boolean, detail: string): void => {
    diff.groups.push({ group, changed, detail, needsRunning: RUNNING_GROUPS.includes(group) });
  };

  const type = observed.instanceType;
  if (type && !desired.instanceTypes.includes(type) && observed.market === 'spot') {
    add(
      'instance-type',
      false,
      `${type}: a Spot hub keeps its type (terminate it and create it again for ${desired.instanceTypes[0]!})`,
    );
  } else if (type && !desired.instanceTypes.includes(type)) {
    diff.instanceType = { from: type, to: desired.instanceTypes[0]! };
    add('instance-type', true, `${type} → ${diff.instanceType.to}`);
  } else add('instance-type', false, type ?? '');

  for (const group of RECORDED_GROUPS) {
    const want = desired.record.values[group];
    const had = observed.record?.values[group];
    // Not managed (no admin-password given): the hub keeps what it has.
    if (want === undefined) {
      add(group, false, 'not given: kept as it is');
      continue;
    }
    const label = desired.labels[group] ?? '';
    if (group === 'root-volume') {
      const to = desired.rootVolumeGiB;
      const from = had !== undefined ? Number(had) : observed.rootVolumeGiB;
      const size = observed.rootVolumeGiB ?? from;
      if (size !== undefined && size > to) {
        // Refused by a run that would apply it (state running); a stop only reports it.
        diff.refused = new InputError(
          'root-volume-size',
          `${to} GiB is smaller than the hub's root volume (${size} GiB)`,
          `${size} GiB or more: EBS volumes grow but never shrink (terminate the hub and create it again for a smaller one)`,
        );
        add(group, true, `${size} GiB → ${to} GiB: refused, EBS volumes never shrink`);
      } else if (had === want) add(group, false, `${to} GiB`);
      else if (had === undefined && size === undefined) {
        // No record and no size to read (an instance another run launched a moment ago, whose
        // volume EC2 does not list yet): the launch sized it; nothing to grow.
        add(group, false, `${to} GiB (set at launch)`);
      } else if (size === to && had === undefined) {
        // No record (an older version's hub) and already that size: only recorded.
        diff.rootVolume = { from: size, to };
        add(group, false, `${to} GiB`);
      } else {
        // Recorded otherwise: grown (or its file system still to grow, if a grow failed).
        diff.rootVolume = { from: size, to };
        add(
          group,
          true,
          size === to ? `${to} GiB, its file system to grow` : `${size ?? '?'} GiB → ${to} GiB`,
        );
      }
      continue;
    }
    if (group === 'allowed-cidrs') {
      if (had === want) {
        add(group, false, desired.allowedCidrs.join(', '));
        continue;
      }
      const current = (observed.allowedCidrs ?? []).map(cidrKey);
      const wanted = desired.allowedCidrs.map(cidrKey);
      const rules = {
        add: desired.allowedCidrs.filter((c) => !current.includes(cidrKey(c))),
        remove: (observed.allowedCidrs ?? []).filter((c) => !wanted.includes(cidrKey(c))),
      };
      diff.rules = rules;
      const changed = !sameSet(current, wanted);
      add(
        group,
        changed,
        changed
          ? [...rules.add.map((c) => `+${c}`), ...rules.remove.map((c) => `−${c}`)].join(', ')
          : desired.allowedCidrs.join(', '),
      );
      continue;
    }
    // Nothing asked and no record: nothing to apply (an older version's hub, or a new one).
    if (had === undefined && want === '') {
      add(group, false, 'none');
      continue;
    }
    add(group, had !== want, had === want ? label || 'unchanged' : label || 'changed');
  }

  const tags = diff.tags;
  const tagsChanged = Object.keys(tags.set).length > 0 || tags.remove.length > 0;
  add('tags', tagsChanged, tagsChanged ? describeTags(tags, observed) : 'unchanged');

  diff.removeExpiry = !desired.ttl && observed.expiresAt !== undefined;
  add(
    'ttl',
    diff.removeExpiry,
    diff.removeExpiry
      ? `no ttl: tljh:expires-at (${observed.expiresAt}) removed`
      : desired.ttl
        ? 'expiry refreshed'
        : 'none',
  );
  diff.groups.sort((a, b) => SPEC_GROUPS.indexOf(a.group) - SPEC_GROUPS.indexOf(b.group));
  return diff;
}

/** Whether any of these groups changed. */
export function changed(diff: SpecDiff, groups: readonly SpecGroup[]): boolean {
  return diff.groups.some((g) => g.changed && groups.includes(g.group));
}

/**
 * The groups a stop leaves for the next run with state running: every changed one. A stop only
 * stops: a stop job that passes fewer inputs must not take its defaults for a new spec.
 */
export function pendingGroups(diff: SpecDiff): GroupDiff[] {
  return diff.groups.filter((g) => g.changed);
}

/** The CIDR blocks allowed on every web port (a block missing on one port is not allowed). */
export function allowedOnEveryPort(rules: Map<number, string[]>): string[] {
  const [first, ...rest] = [...rules.values()];
  return (first ?? []).filter((c) => rest.every((r) => r.some((o) => cidrKey(o) === cidrKey(c))));
}

/** Per web port, what to revoke and authorize so that exactly these blocks are allowed. */
export function webRuleChange(
  current: Map<number, string[]>,
  cidrs: string[],
): { add: Map<number, string[]>; remove: Map<number, string[]> } {
  const wanted = new Set(cidrs.map(cidrKey));
  const add = new Map<number, string[]>();
  const remove = new Map<number, string[]>();
  for (const [port, have] of current) {
    const haveKeys = new Set(have.map(cidrKey));
    add.set(
      port,
      cidrs.filter((c) => !haveKeys.has(cidrKey(c))),
    );
    // EC2's own spelling of the rule: a revoke must name it as it is stored.
    remove.set(
      port,
      have.filter((c) => !wanted.has(cidrKey(c))),
    );
  }
  return { add, remove };
}
