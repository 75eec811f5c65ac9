// Unit table tests for the diff planner: every group of the spec x a running verified hub, a
// stopped hub and no hub at all, with the desired state running or stopped. Each row changes
// exactly one group (the observed hub is built from one spec, the desired from another), runs
// diffSpec, then planSteps, and compares the steps written out by hand.
import type { DesiredState } from '../src/inputs.ts';
import { planSteps, type ObservedHub, type Plan, type Step } from '../src/plan.ts';
import {
  desiredSpec,
  diffSpec,
  RUNNING_GROUPS,
  type DesiredSpec,
  type ObservedSpec,
} from '../src/spec-diff.ts';
import { SPEC_GROUPS, type SpecGroup } from '../src/spec-record.ts';
import { spec } from './helpers/hub-spec.ts';

const V = '2.0.0';
const SALT = 'plan-table-salt';
const EXPIRES = '2030-01-01T00:00:00.000Z';

const start: Step = { kind: 'start' };
const stop: Step = { kind: 'stop' };
const launch: Step = { kind: 'launch' };
const waitRunning: Step = { kind: 'wait', until: 'running' };
const waitStopped: Step = { kind: 'wait', until: 'stopped' };
const agent: Step = { kind: 'wait-agent' };
const install: Step = { kind: 'install' };
const health: Step = { kind: 'check-health' };
const settings = (group: SpecGroup): Step => ({ kind: 'apply-settings', groups: [group] });

/** What a hub built from this spec reports, as spec-observe.ts reads it. */
function observedOf(d: DesiredSpec): ObservedSpec {
  return {
    record: d.record,
    instanceType: d.instanceTypes[0],
    rootVolumeGiB: d.rootVolumeGiB,
    allowedCidrs: [...d.allowedCidrs],
    tags: { ...d.tags, 'tljh:hub': 'workshop', ...(d.ttl ? { 'tljh:expires-at': EXPIRES } : {}) },
    ownedTagKeys: Object.keys(d.tags),
    expiresAt: d.ttl ? EXPIRES : undefined,
  };
}

type Inputs = Record<string, string>;

interface Row {
  group: SpecGroup;
  /** The inputs the hub was built from, and those of this run. */
  had: Inputs;
  want: Inputs;
  /** The steps that apply the change on a running verified hub (desired running). */
  running: Step[];
  /** A stopped hub, desired running. */
  startAndApply: Step[];
  /** A stopped hub (or a running one being stopped): the steps after the stop itself. */
}

const ROWS: Row[] = [
  {
    group: 'instance-type',
    had: { 'instance-type': 't3.small' },
    want: { 'instance-type': 't3.medium' },
    // On a running hub the plan states the downtime of the restart.
    running: [
      stop,
      waitStopped,
      { kind: 'change-type', from: 't3.small', to: 't3.medium', downtime: true },
      start,
      waitRunning,
      health,
    ],
    startAndApply: [
      { kind: 'change-type', from: 't3.small', to: 't3.medium' },
      start,
      waitRunning,
      health,
    ],
  },
  {
    group: 'root-volume',
    had: { 'root-volume-size': '20' },
    want: { 'root-volume-size': '30' },
    running: [agent, { kind: 'grow-volume', from: 20, to: 30 }],
    startAndApply: [start, waitRunning, agent, { kind: 'grow-volume', from: 20, to: 30 }],
  },
  {
    group: 'allowed-cidrs',
    had: { 'allowed-cidrs': '0.0.0.0/0, ::/0' },
    want: { 'allowed-cidrs': '0.0.0.0/0, 203.0.113.0/24' },
    running: [{ kind: 'match-rules', add: ['203.0.113.0/24'], remove: ['::/0'] }, health],
    startAndApply: [
      { kind: 'match-rules', add: ['203.0.113.0/24'], remove: ['::/0'] },
      start,
      waitRunning,
      health,
    ],
  },
  {
    group: 'tags',
    had: { tags: 'team=data\nowner=ada' },
    want: { tags: 'team=ml\ncost-centre=42' },
    running: [{ kind: 'change-tags', set: ['team', 'cost-centre'], remove: ['owner'] }, health],
    startAndApply: [
      { kind: 'change-tags', set: ['team', 'cost-centre'], remove: ['owner'] },
      start,
      waitRunning,
      health,
    ],
  },
  {
    group: 'ttl',
    had: { ttl: '8h' },
    want: {},
    running: [{ kind: 'change-tags', set: [], remove: ['tljh:expires-at'] }, health],
    startAndApply: [
      { kind: 'change-tags', set: [], remove: ['tljh:expires-at'] },
      start,
      waitRunning,
      health,
    ],
  },
  {
    group: 'tljh-config',
    had: { 'tljh-config': 'limits.memory=1G' },
    want: { 'tljh-config': 'limits.memory=2G' },
    running: [agent, settings('tljh-config')],
    startAndApply: [start, waitRunning, agent, settings('tljh-config')],
  },
  {
    group: 'admins',
    had: { 'admin-user': 'naomi' },
    want: { 'admin-user': 'ada' },
    running: [agent, settings('admins')],
    startAndApply: [start, waitRunning, agent, settings('admins')],
  },
  {
    group: 'admin-password',
    had: { 'admin-password': 'old-Passw0rd' },
    want: { 'admin-password': 'new-Passw0rd' },
    running: [agent, settings('admin-password')],
    startAndApply: [start, waitRunning, agent, settings('admin-password')],
  },
  {
    group: 'https',
    had: {},
    want: { 'https-domain': 'hub.example.org', 'https-email': 'naomi@example.org' },
    running: [agent, settings('https')],
    startAndApply: [start, waitRunning, agent, settings('https')],
  },
  {
    group: 'plugins',
    had: {},
    want: { 'tljh-plugins': 'tljh-repo2docker==1.0.0' },
    running: [agent, { kind: 'install', why: 'plugins changed' }],
    startAndApply: [start, waitRunning, agent, { kind: 'install', why: 'plugins changed' }],
  },
];

type HubState = 'running' | 'stopped' | 'absent';

function hub(state: HubState, instanceType: string | undefined): ObservedHub {
  if (state === 'absent') return {};
  return {
    instance: { instanceId: 'i-0123456789abcdef0', state, installedVersion: V, instanceType },
  };
}

/** diffSpec, then planSteps, as reconcile.ts chains them. */
function planFor(had: Inputs | undefined, want: Inputs, state: HubState, desired: DesiredState) {
  const d = desiredSpec(spec(want), SALT);
  const observed =
    state === 'absent' || !had ? undefined : observedOf(desiredSpec(spec(had), SALT));
  const diff = diffSpec(d, observed);
  return { diff, plan: planSteps(hub(state, observed?.instanceType), desired, V, diff) };
}

const changedGroups = (diff: ReturnType<typeof diffSpec>): SpecGroup[] =>
  diff.groups.filter((g) => g.changed).map((g) => g.group);

test('the table covers every group of the spec', () => {
  expect(ROWS.map((r) => r.group).sort()).toEqual([...SPEC_GROUPS].sort());
});

describe('nothing changed', () => {
  const same = { tags: 'team=data', ttl: '8h', 'tljh-config': 'limits.memory=1G' };

  test('running hub, desired running: the health check only', () => {
    const { diff, plan } = planFor(same, same, 'running', 'running');
    expect(changedGroups(diff)).toEqual([]);
    expect(plan).toEqual<Plan>({ steps: [health], finalState: 'running' });
  });

  test('stopped hub, desired running: start, then the health check only', () => {
    const { plan } = planFor(same, same, 'stopped', 'running');
    expect(plan).toEqual<Plan>({ steps: [start, waitRunning, health], finalState: 'running' });
  });

  test('stopped hub, desired stopped: no step and nothing pending', () => {
    const { plan } = planFor(same, same, 'stopped', 'stopped');
    expect(plan).toEqual<Plan>({ steps: [], finalState: 'stopped' });
  });

  test('running hub, desired stopped: the stop only', () => {
    const { plan } = planFor(same, same, 'running', 'stopped');
    expect(plan).toEqual<Plan>({ steps: [stop, waitStopped], finalState: 'stopped' });
  });
});

describe.each(ROWS)('$group changed', (row) => {
  // A stop only stops: every changed group waits for the next run with state running.
  const pending = { pending: [row.group] };

  test('exactly this group differs', () => {
    const { diff } = planFor(row.had, row.want, 'running', 'running');
    expect(changedGroups(diff)).toEqual([row.group]);
  });

  test('running verified hub, desired running: the change, no reinstall', () => {
    const { plan } = planFor(row.had, row.want, 'running', 'running');
    expect(plan).toEqual<Plan>({ steps: row.running, finalState: 'running' });
    if (row.group !== 'plugins') expect(plan.steps).not.toContainEqual(install);
  });

  test('stopped hub, desired running: the change around the start, nothing pending', () => {
    const { plan } = planFor(row.had, row.want, 'stopped', 'running');
    expect(plan).toEqual<Plan>({ steps: row.startAndApply, finalState: 'running' });
  });

  test('stopped hub, desired stopped: nothing changes, the group is pending', () => {
    const { plan } = planFor(row.had, row.want, 'stopped', 'stopped');
    expect(plan).toEqual<Plan>({ steps: [], finalState: 'stopped', ...pending });
  });

  test('running hub, desired stopped: the stop only, the group pending', () => {
    const { plan } = planFor(row.had, row.want, 'running', 'stopped');
    expect(plan).toEqual<Plan>({
      steps: [stop, waitStopped],
      finalState: 'stopped',
      ...pending,
    });
  });

  test('absent, desired running: launch and install, no change step', () => {
    const { diff, plan } = planFor(row.had, row.want, 'absent', 'running');
    expect(changedGroups(diff)).toEqual([...SPEC_GROUPS]);
    expect(plan).toEqual<Plan>({
      steps: [launch, waitRunning, agent, install],
      finalState: 'running',
    });
  });

  test('absent, desired stopped: nothing to do and nothing pending', () => {
    const { plan } = planFor(row.had, row.want, 'absent', 'stopped');
    expect(plan).toEqual<Plan>({ steps: [], finalState: 'absent' });
  });
});

test('the groups applied on the instance itself (through SSM) are these', () => {
  expect([...RUNNING_GROUPS].sort()).toEqual(
    ['root-volume', 'tljh-config', 'admins', 'admin-password', 'https', 'plugins'].sort(),
  );
});
