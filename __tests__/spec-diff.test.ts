// diffSpec's specifics (the table of every group x hub state is __tests__/plan-changes.test.ts):
// fallback instance types, the root volume that only grows, CIDR blocks compared normalised,
// the tags the action owns, the expiry tag, groups not given, and the per-port rule changes.
import { InputError } from '../src/errors.ts';
import { planSteps } from '../src/plan.ts';
import {
  allowedOnEveryPort,
  changed,
  desiredSpec,
  diffSpec,
  pendingGroups,
  webRuleChange,
  type DesiredSpec,
  type GroupDiff,
  type ObservedSpec,
  type SpecDiff,
} from '../src/spec-diff.ts';
import type { SpecGroup } from '../src/spec-record.ts';
import { spec } from './helpers/hub-spec.ts';

const SALT = 'spec-diff-salt';

function desired(inputs: Record<string, string> = {}): DesiredSpec {
  return desiredSpec(spec(inputs), SALT);
}

/** The hub as a run with these inputs left it. */
function observedOf(inputs: Record<string, string> = {}, extra: Partial<ObservedSpec> = {}) {
  const d = desired(inputs);
  const observed: ObservedSpec = {
    record: d.record,
    instanceType: d.instanceTypes[0],
    tags: { ...d.tags, 'tljh:hub': 'workshop' },
    ownedTagKeys: Object.keys(d.tags),
    ...extra,
  };
  return observed;
}

function group(diff: SpecDiff, name: SpecGroup): GroupDiff {
  const found = diff.groups.find((g) => g.group === name);
  if (!found) throw new Error(`no ${name} in the diff`);
  return found;
}

const changedGroups = (diff: SpecDiff) => diff.groups.filter((g) => g.changed).map((g) => g.group);

/** The record without one group (a hub an older version of the action left). */
function withoutRecorded(observed: ObservedSpec, ...groups: string[]): ObservedSpec {
  const values = Object.fromEntries(
    Object.entries(observed.record!.values).filter(([g]) => !groups.includes(g)),
  );
  return { ...observed, record: { salt: observed.record!.salt, values } };
}

test('an unchanged hub: every group unchanged, no change to make', () => {
  const diff = diffSpec(desired(), observedOf());
  expect(changedGroups(diff)).toEqual([]);
  expect(diff.instanceType).toBeUndefined();
  expect(diff.rootVolume).toBeUndefined();
  expect(diff.rules).toBeUndefined();
  expect(diff.tags).toEqual({ set: {}, remove: [] });
  expect(diff.removeExpiry).toBe(false);
  expect(diff.groups.map((g) => g.group)).toEqual([
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
  ]);
});

test('no hub: every group is set at launch', () => {
  const diff = diffSpec(desired(), undefined);
  expect(diff.groups.every((g) => g.changed && g.detail === 'set at launch')).toBe(true);
  expect(diff.tags).toEqual({ set: {}, remove: [] });
  expect(diff.removeExpiry).toBe(false);
});

describe('instance-type', () => {
  const types = { 'instance-type': 't3.small, t3a.small' };

  test('a hub on a fallback type of the list keeps it', () => {
    const diff = diffSpec(desired(types), observedOf(types, { instanceType: 't3a.small' }));
    expect(group(diff, 'instance-type')).toMatchObject({ changed: false, detail: 't3a.small' });
    expect(diff.instanceType).toBeUndefined();
  });

  test('a type out of the list changes to the first of it', () => {
    const diff = diffSpec(desired(types), observedOf(types, { instanceType: 'm5.large' }));
    expect(diff.instanceType).toEqual({ from: 'm5.large', to: 't3.small' });
    expect(group(diff, 'instance-type')).toMatchObject({
      changed: true,
      detail: 'm5.large → t3.small',
      needsRunning: false,
    });
  });

  test('a type not observed (not read) is left alone', () => {
    const diff = diffSpec(desired(types), observedOf(types, { instanceType: undefined }));
    expect(group(diff, 'instance-type').changed).toBe(false);
    expect(diff.instanceType).toBeUndefined();
  });
});

describe('root-volume', () => {
  // Found by e2e/races.test.ts: a run that finds the instance another run launched a moment ago
  // (no record yet, and EC2 not listing its volume yet) planned a grow it could not make.
  test('no record and no size to read (a launch of another run): nothing to grow', () => {
    const observed = observedOf({}, { record: undefined, rootVolumeGiB: undefined });
    const diff = diffSpec(desired({ 'root-volume-size': '20' }), observed);
    expect(group(diff, 'root-volume')).toMatchObject({ changed: false });
    expect(diff.rootVolume).toBeUndefined();
  });

  test('a smaller size is refused, naming root-volume-size and the current size', () => {
    const observed = observedOf({ 'root-volume-size': '30' }, { rootVolumeGiB: 30 });
    const diff = diffSpec(desired({ 'root-volume-size': '20' }), observed);
    // Refused, not thrown: a running run fails with it, a stop only reports it.
    expect(diff.refused).toBeInstanceOf(InputError);
    expect(diff.refused?.message).toMatch(
      /^Input 'root-volume-size': 20 GiB is smaller .*\(30 GiB\)/,
    );
    expect(diff.rootVolume).toBeUndefined();
  });

  test('a smaller size is refused from the record alone (the size not read)', () => {
    const observed = observedOf({ 'root-volume-size': '30' });
    expect(diffSpec(desired({ 'root-volume-size': '20' }), observed).refused?.message).toMatch(
      /'root-volume-size'.*30 GiB/,
    );
  });

  test('a volume grown by hand beyond the record is refused too (EBS never shrinks)', () => {
    const observed = observedOf({ 'root-volume-size': '20' }, { rootVolumeGiB: 50 });
    expect(diffSpec(desired({ 'root-volume-size': '30' }), observed).refused?.message).toMatch(
      /'root-volume-size': 30 GiB .*\(50 GiB\)/,
    );
  });

  test('the recorded size equal: unchanged, nothing to record', () => {
    const diff = diffSpec(
      desired({ 'root-volume-size': '30' }),
      observedOf({ 'root-volume-size': '30' }),
    );
    expect(group(diff, 'root-volume')).toMatchObject({ changed: false, detail: '30 GiB' });
    expect(diff.rootVolume).toBeUndefined();
  });

  test('the size equal but not recorded: not changed, only recorded (no grow step)', () => {
    const observed = withoutRecorded(
      observedOf({ 'root-volume-size': '30' }, { rootVolumeGiB: 30 }),
      'root-volume',
    );
    const diff = diffSpec(desired({ 'root-volume-size': '30' }), observed);
    expect(group(diff, 'root-volume').changed).toBe(false);
    expect(diff.rootVolume).toEqual({ from: 30, to: 30 });
    const hub = {
      instance: { instanceId: 'i-1', state: 'running' as const, installedVersion: '2.0.0' },
    };
    expect(planSteps(hub, 'running', '2.0.0', diff).steps).toEqual([{ kind: 'check-health' }]);
  });

  test('a larger size: changed, from the size read', () => {
    const observed = observedOf({ 'root-volume-size': '20' }, { rootVolumeGiB: 20 });
    const diff = diffSpec(desired({ 'root-volume-size': '64' }), observed);
    expect(group(diff, 'root-volume')).toMatchObject({
      changed: true,
      detail: '20 GiB → 64 GiB',
      needsRunning: true,
    });
    expect(diff.rootVolume).toEqual({ from: 20, to: 64 });
  });
});

describe('allowed-cidrs', () => {
  test('the recorded digest equal: unchanged, the rules not compared', () => {
    const diff = diffSpec(desired(), observedOf({}, { allowedCidrs: ['198.51.100.0/24'] }));
    expect(group(diff, 'allowed-cidrs').changed).toBe(false);
    expect(diff.rules).toBeUndefined();
  });

  test.each([
    ['leading zeros in IPv4', '010.000.000.000/08', '10.0.0.0/8'],
    ['IPv6 case', '2001:DB8::/32', '2001:db8::/32'],
    ['IPv6 compression', '2001:db8::/32', '2001:db8:0:0:0:0:0:0/32'],
    ['IPv6 leading zeros', '2001:0db8::/32', '2001:db8::/32'],
  ])('%s: the same block, unchanged (%s vs %s)', (_what, wanted, existing) => {
    // The digests differ (the spelling does), so the rules are read and compared normalised.
    const observed = withoutRecorded(observedOf(), 'allowed-cidrs');
    const diff = diffSpec(desired({ 'allowed-cidrs': wanted }), {
      ...observed,
      allowedCidrs: [existing],
    });
    expect(group(diff, 'allowed-cidrs').changed).toBe(false);
    expect(diff.rules).toEqual({ add: [], remove: [] });
  });

  test('narrowed and widened: exactly the blocks to add and to remove, as spelled', () => {
    const observed = withoutRecorded(observedOf(), 'allowed-cidrs');
    const diff = diffSpec(desired({ 'allowed-cidrs': '10.0.0.0/8, 2001:db8::/32' }), {
      ...observed,
      allowedCidrs: ['0.0.0.0/0', '10.0.0.0/8', '2001:0DB8:0:0::/48'],
    });
    expect(diff.rules).toEqual({
      add: ['2001:db8::/32'],
      remove: ['0.0.0.0/0', '2001:0DB8:0:0::/48'],
    });
    expect(group(diff, 'allowed-cidrs')).toMatchObject({
      changed: true,
      detail: '+2001:db8::/32, −0.0.0.0/0, −2001:0DB8:0:0::/48',
      needsRunning: false,
    });
  });

  test('with security-group-ids: not managed, never changed', () => {
    const inputs = { 'security-group-ids': 'sg-0123456789abcdef0' };
    const d = desired(inputs);
    expect(d.record.values['allowed-cidrs']).toBeUndefined();
    const diff = diffSpec(d, { ...withoutRecorded(observedOf(inputs)), allowedCidrs: [] });
    expect(group(diff, 'allowed-cidrs').changed).toBe(false);
    expect(diff.rules).toBeUndefined();
  });
});

describe('tags', () => {
  const hubTags = {
    team: 'data',
    owner: 'ada',
    'set-by-hand': 'yes',
    'tljh:hub': 'workshop',
    'tljh:expires-at': '2030-01-01T00:00:00.000Z',
  };

  test('added, changed and removed: only the keys the action set are removed', () => {
    const diff = diffSpec(desired({ tags: 'team=ml\ncost-centre=42' }), {
      ...observedOf(),
      tags: hubTags,
      ownedTagKeys: ['team', 'owner'],
    });
    expect(diff.tags).toEqual({ set: { team: 'ml', 'cost-centre': '42' }, remove: ['owner'] });
    expect(group(diff, 'tags')).toMatchObject({
      changed: true,
      detail: 'team: data → ml, +cost-centre=42, −owner',
      needsRunning: false,
    });
  });

  test('a key set by hand is never removed, nor a tljh: key even if recorded as owned', () => {
    const diff = diffSpec(desired(), {
      ...observedOf(),
      tags: hubTags,
      ownedTagKeys: ['tljh:hub', 'tljh:expires-at'],
    });
    expect(diff.tags).toEqual({ set: {}, remove: [] });
    expect(group(diff, 'tags').changed).toBe(false);
  });

  test('an owned key already gone is not removed again', () => {
    const diff = diffSpec(desired(), { ...observedOf(), tags: {}, ownedTagKeys: ['owner'] });
    expect(diff.tags.remove).toEqual([]);
  });

  test('a tljh: key in the desired tags is never set', () => {
    const d: DesiredSpec = { ...desired(), tags: { 'tljh:hub': 'other', team: 'ml' } };
    const diff = diffSpec(d, { ...observedOf(), tags: hubTags, ownedTagKeys: [] });
    expect(diff.tags.set).toEqual({ team: 'ml' });
  });

  test('the same value: nothing set', () => {
    const diff = diffSpec(desired({ tags: 'team=data' }), {
      ...observedOf(),
      tags: hubTags,
      ownedTagKeys: ['team'],
    });
    expect(diff.tags).toEqual({ set: {}, remove: [] });
  });
});

describe('ttl', () => {
  test('removed: the expiry tag goes', () => {
    const diff = diffSpec(desired(), observedOf({}, { expiresAt: '2030-01-01T00:00:00.000Z' }));
    expect(diff.removeExpiry).toBe(true);
    expect(group(diff, 'ttl')).toMatchObject({ changed: true, needsRunning: false });
    expect(group(diff, 'ttl').detail).toContain('2030-01-01T00:00:00.000Z');
  });

  test('still given: refreshed, not a change', () => {
    const diff = diffSpec(
      desired({ ttl: '8h' }),
      observedOf({ ttl: '8h' }, { expiresAt: '2030-01-01T00:00:00.000Z' }),
    );
    expect(diff.removeExpiry).toBe(false);
    expect(group(diff, 'ttl')).toMatchObject({ changed: false, detail: 'expiry refreshed' });
  });

  test('never given: nothing', () => {
    const diff = diffSpec(desired(), observedOf());
    expect(diff.removeExpiry).toBe(false);
    expect(group(diff, 'ttl')).toMatchObject({ changed: false, detail: 'none' });
  });
});

describe('recorded groups', () => {
  test('admin-password not given: unchanged, whatever the hub has', () => {
    const diff = diffSpec(desired(), observedOf({ 'admin-password': 'old-Passw0rd' }));
    expect(group(diff, 'admin-password')).toMatchObject({
      changed: false,
      detail: 'not given: kept as it is',
    });
  });

  test('admin-password given and not recorded: changed, the label holds no password', () => {
    const diff = diffSpec(desired({ 'admin-password': 'new-Passw0rd' }), observedOf());
    expect(group(diff, 'admin-password')).toMatchObject({ changed: true, needsRunning: true });
    expect(JSON.stringify(diff)).not.toContain('new-Passw0rd');
  });

  test('no record and an empty group: unchanged (nothing to apply)', () => {
    const observed: ObservedSpec = { ...observedOf(), record: undefined };
    const diff = diffSpec(desired(), observed);
    for (const name of ['tljh-config', 'https', 'plugins'] as const) {
      expect(group(diff, name)).toMatchObject({ changed: false, detail: 'none' });
    }
  });

  test('a hub an older version verified (no record), nothing asked: no installer run', () => {
    const observed: ObservedSpec = { ...observedOf(), record: undefined };
    const diff = diffSpec(desired(), observed);
    const hub = {
      instance: { instanceId: 'i-1', state: 'running' as const, installedVersion: '2.0.0' },
    };
    expect(planSteps(hub, 'running', '2.0.0', diff).steps).not.toContainEqual(
      expect.objectContaining({ kind: 'install' }),
    );
  });

  test('no record and a group asked for: changed', () => {
    const observed: ObservedSpec = { ...observedOf(), record: undefined };
    const diff = diffSpec(desired({ 'tljh-config': 'limits.memory=1G' }), observed);
    expect(group(diff, 'tljh-config')).toMatchObject({
      changed: true,
      detail: '1 key(s): limits.memory',
    });
  });

  test('a group emptied: changed (the earlier keys get unset)', () => {
    const diff = diffSpec(desired(), observedOf({ 'tljh-config': 'limits.memory=1G' }));
    expect(group(diff, 'tljh-config')).toMatchObject({ changed: true, detail: 'none' });
  });

  test('a record with another salt: every recorded group reads as changed', () => {
    const observed = observedOf({}, {});
    const other = desiredSpec(spec(), 'another-salt');
    const diff = diffSpec(other, observed);
    expect(group(diff, 'admins').changed).toBe(true);
  });

  test('changed and pendingGroups', () => {
    const diff = diffSpec(
      desired({ 'instance-type': 't3.medium', 'tljh-config': 'limits.memory=1G' }),
      observedOf(),
    );
    expect(changed(diff, ['instance-type'])).toBe(true);
    expect(changed(diff, ['tags', 'ttl'])).toBe(false);
    // A stop leaves every changed group for the next running run.
    expect(pendingGroups(diff).map((g) => g.group)).toEqual(['instance-type', 'tljh-config']);
  });
});

describe('webRuleChange', () => {
  test('per port, exactly the blocks to add and to remove', () => {
    const current = new Map([
      [80, ['0.0.0.0/0', '10.0.0.0/8']],
      [443, ['10.0.0.0/8', '192.0.2.0/24']],
    ]);
    const { add, remove } = webRuleChange(current, ['10.0.0.0/8', '203.0.113.0/24']);
    expect(add).toEqual(
      new Map([
        [80, ['203.0.113.0/24']],
        [443, ['203.0.113.0/24']],
      ]),
    );
    expect(remove).toEqual(
      new Map([
        [80, ['0.0.0.0/0']],
        [443, ['192.0.2.0/24']],
      ]),
    );
  });

  test("a block missing on one port only is added there; remove keeps EC2's spelling", () => {
    const current = new Map([
      [80, ['2001:0DB8:0000::/32', '2001:db8:1::/48']],
      [443, []],
    ]);
    const { add, remove } = webRuleChange(current, ['2001:db8::/32']);
    expect(add).toEqual(
      new Map([
        [80, []],
        [443, ['2001:db8::/32']],
      ]),
    );
    expect(remove).toEqual(
      new Map([
        [80, ['2001:db8:1::/48']],
        [443, []],
      ]),
    );
  });

  test('already exact: nothing to add or remove on any port', () => {
    const current = new Map([
      [80, ['0.0.0.0/0', '::/0']],
      [443, ['::0/0', '0.0.0.0/0']],
    ]);
    const { add, remove } = webRuleChange(current, ['0.0.0.0/0', '::/0']);
    expect([...add.values(), ...remove.values()].flat()).toEqual([]);
  });
});

describe('allowedOnEveryPort', () => {
  test('only the blocks every port allows, compared normalised', () => {
    const rules = new Map([
      [80, ['0.0.0.0/0', '10.0.0.0/8', '2001:db8::/32']],
      [443, ['10.0.0.0/8', '2001:DB8:0::/32']],
    ]);
    expect(allowedOnEveryPort(rules)).toEqual(['10.0.0.0/8', '2001:db8::/32']);
  });

  test('a port with no rule: nothing is allowed', () => {
    expect(
      allowedOnEveryPort(
        new Map([
          [80, ['0.0.0.0/0']],
          [443, []],
        ]),
      ),
    ).toEqual([]);
  });

  test('no port at all: nothing', () => {
    expect(allowedOnEveryPort(new Map())).toEqual([]);
  });
});
