// Plans the steps from the observed hub to the desired state. Pure and exhaustive: every
// observed x desired pair is a row of the table test in __tests__/plan.test.ts.
import { teardownAction, type TeardownState } from './fleet-plan.ts';
import type { DesiredState } from './inputs/spec.ts';
import type { AwaitedState, ObservedInstance } from './model.ts';
import { SETTINGS_GROUPS, changed, pendingGroups, type SpecDiff } from './spec-diff.ts';
import { endpointSteps, type EndpointSpec, type EndpointStep } from './plan-endpoint.ts';
import { TAG_DNS_ADDRESS, TAG_DNS_RECORD, TAG_ELASTIC_IP, TAG_EXPIRES_AT } from './tags.ts';

export type { EndpointSpec } from './plan-endpoint.ts';

export interface ObservedHub {
  /** The hub's live instance (the oldest): never a terminated one. */
  instance?: ObservedInstance;
  /** Newer live instances carrying the hub's tags (a lost launch race): stopped and terminated too. */
  duplicates?: ObservedInstance[];
  /** The security group the action created for this hub, if it still exists. */
  ownedSecurityGroupId?: string;
}

export type Step =
  | { kind: 'launch' }
  | { kind: 'start' }
  | { kind: 'stop' }
  | { kind: 'terminate' }
  | { kind: 'wait'; until: AwaitedState }
  | { kind: 'wait-agent' }
  | { kind: 'install'; why?: string }
  | { kind: 'change-type'; from: string; to: string; downtime?: boolean }
  | { kind: 'grow-volume'; from?: number; to: number }
  | { kind: 'apply-settings'; groups: string[] }
  | { kind: 'match-rules'; add: string[]; remove: string[] }
  | { kind: 'change-tags'; set: string[]; remove: string[] }
  | { kind: 'check-health' }
  | { kind: 'delete-security-group' }
  | EndpointStep
  | { kind: 'release-address' }
  | { kind: 'withdraw-record'; name: string };

const NO_ENDPOINT: EndpointSpec = { elasticIp: false };

export type FinalState = DesiredState | 'absent';

export interface Plan {
  steps: Step[];
  finalState: FinalState;
  /** The groups of the spec a stop left for the next run with state running. */
  pending?: string[];
}

const wait = (until: AwaitedState): Step => ({ kind: 'wait', until });

const NO_DIFF: SpecDiff = { groups: [], tags: { set: {}, remove: [] }, removeExpiry: false };

/**
 * Steps that bring a hub whose instance is (or will be) running to a verified TLJH with the
 * spec's settings: the installer when TLJH is missing, at another version, or the plugins
 * changed (it installs them); else one settings command when settings changed; else the cheap
 * health check. The root volume grows first (the installer may need the room).
 */
function ensureInstalled(
  instance: ObservedInstance | undefined,
  tljhVersion: string,
  diff: SpecDiff,
): Step[] {
  const onInstance: Step[] = [];
  if (diff.rootVolume && changed(diff, ['root-volume']))
    onInstance.push({ kind: 'grow-volume', ...diff.rootVolume });
  if (instance?.installedVersion !== tljhVersion) onInstance.push({ kind: 'install' });
  else if (changed(diff, ['plugins'])) onInstance.push({ kind: 'install', why: 'plugins changed' });
  else if (changed(diff, SETTINGS_GROUPS)) {
    onInstance.push({
      kind: 'apply-settings',
      groups: diff.groups
        .filter((g) => g.changed && SETTINGS_GROUPS.includes(g.group as never))
        .map((g) => g.group),
    });
  }
  if (!onInstance.length) return [{ kind: 'check-health' }];
  return [{ kind: 'wait-agent' }, ...onInstance];
}

/** Changes EC2 makes whatever the instance's state: the web rules and the tags. */
function offlineChanges(diff: SpecDiff): Step[] {
  const steps: Step[] = [];
  if (diff.rules && changed(diff, ['allowed-cidrs']))
    steps.push({ kind: 'match-rules', ...diff.rules });
  if (changed(diff, ['tags', 'ttl'])) {
    steps.push({
      kind: 'change-tags',
      set: Object.keys(diff.tags.set),
      remove: [...diff.tags.remove, ...(diff.removeExpiry ? [TAG_EXPIRES_AT] : [])],
    });
  }
  return steps;
}

/** The type change of a stopped instance (EC2 changes it only then). */
function typeChange(diff: SpecDiff): Step[] {
  return diff.instanceType ? [{ kind: 'change-type', ...diff.instanceType }] : [];
}

export function planSteps(
  observed: ObservedHub,
  desired: DesiredState,
  tljhVersion: string,
  diff: SpecDiff = NO_DIFF,
  endpoint: EndpointSpec = NO_ENDPOINT,
): Plan {
  const instance = observed.instance?.state === 'terminated' ? undefined : observed.instance;
  if (desired === 'running') return planRunning(instance, tljhVersion, diff, endpoint);
  return planTeardown(observed, desired, diff, endpoint);
}

/** Launch, start or await the hub's instance, then make sure TLJH is installed and healthy. */
function planRunning(
  instance: ObservedInstance | undefined,
  tljhVersion: string,
  diff: SpecDiff,
  endpoint: EndpointSpec,
): Plan {
  const plan = (steps: Step[]): Plan => ({ steps, finalState: 'running' });
  const fresh = (pre: Step[]): Plan =>
    plan([
      ...pre,
      { kind: 'launch' },
      wait('running'),
      ...endpointSteps(undefined, endpoint, true),
      ...ensureInstalled(undefined, tljhVersion, NO_DIFF),
    ]);
  const changes = offlineChanges(diff);
  const restarts = Boolean(diff.instanceType) || instance?.state !== 'running';
  const then = [
    ...endpointSteps(instance, endpoint, restarts),
    ...ensureInstalled(instance, tljhVersion, diff),
  ];
  // A new type needs a stopped instance: stop, change, start (the plan's downtime).
  const restart: Step[] = diff.instanceType
    ? [
        { kind: 'stop' },
        wait('stopped'),
        { kind: 'change-type', ...diff.instanceType, downtime: true },
        { kind: 'start' },
        wait('running'),
      ]
    : [];
  switch (instance?.state) {
    case undefined:
    case 'terminated':
      return fresh([]);
    case 'pending':
      return plan([...changes, wait('running'), ...restart, ...then]);
    case 'running':
      return plan([...changes, ...restart, ...then]);
    case 'stopping':
      return plan([
        ...changes,
        // Another run may start it first: then the start below changes nothing (and a type
        // change waits for the next stop).
        wait('startable'),
        ...typeChange(diff),
        { kind: 'start' },
        wait('running'),
        ...then,
      ]);
    case 'stopped':
      return plan([...changes, ...typeChange(diff), { kind: 'start' }, wait('running'), ...then]);
    case 'shutting-down':
      // Someone is terminating it: let that finish, then launch a fresh hub.
      return fresh([wait('terminated')]);
  }
}

/**
 * Stop and terminate act on every live instance of the hub (teardown.ts): the steps are those
 * any of them needs, in the order teardown takes them.
 */
function planTeardown(
  observed: ObservedHub,
  desired: TeardownState,
  diff: SpecDiff,
  endpoint: EndpointSpec,
): Plan {
  const all = [observed.instance, ...(observed.duplicates ?? [])].filter(
    (i): i is ObservedInstance => i !== undefined && i.state !== 'terminated',
  );
  const actions = new Set(all.map((i) => teardownAction(i.state, desired)));
  if (desired === 'stopped') {
    const steps: Step[] = [];
    if (all.some((i) => i.state === 'pending')) steps.push(wait('running'));
    if (actions.has('stop')) steps.push({ kind: 'stop' });
    if (actions.has('stop') || actions.has('wait-stopped')) steps.push(wait('stopped'));
    // Only instances being terminated: there is nothing left to stop.
    const absent = all.every((i) => i.state === 'shutting-down');
    if (absent) return { steps, finalState: 'absent' };
    // Without an Elastic IP the address goes back to AWS: so does the name, until the start.
    for (const i of all) {
      const name = i.tags?.[TAG_DNS_RECORD]?.split('/')[1];
      const live = i.tags?.[TAG_DNS_ADDRESS] && !i.tags[TAG_ELASTIC_IP];
      if (name && live && i.state !== 'shutting-down')
        steps.push({ kind: 'withdraw-record', name });
    }
    // A stop only stops: what changed waits for the next run with state running.
    const pending = pendingGroups(diff).map((g) => g.group);
    return { steps, finalState: 'stopped', ...(pending.length ? { pending } : {}) };
  }

  // desired === 'terminated'
  const steps: Step[] = [];
  if (actions.has('terminate')) steps.push({ kind: 'terminate' });
  if (actions.has('terminate') || actions.has('wait-terminated')) steps.push(wait('terminated'));
  if (observed.ownedSecurityGroupId) steps.push({ kind: 'delete-security-group' });
  // Whatever the hub was reached by goes with it (teardown.ts looks for both in any case).
  const tags = all.map((i) => i.tags ?? {});
  if (endpoint.elasticIp || tags.some((t) => t[TAG_ELASTIC_IP]))
    steps.push({ kind: 'release-address' });
  const names = new Set([
    ...(endpoint.dns ? [endpoint.dns.name] : []),
    ...tags.flatMap((t) => (t[TAG_DNS_RECORD] ? [t[TAG_DNS_RECORD].split('/')[1]!] : [])),
  ]);
  for (const name of names) steps.push({ kind: 'delete-record', name });
  return { steps, finalState: 'terminated' };
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'launch':
      return 'launch a new instance';
    case 'start':
      return 'start the stopped instance';
    case 'stop':
      return 'stop the instance';
    case 'terminate':
      return 'terminate the instance';
    case 'wait':
      return step.until === 'startable'
        ? 'wait until the instance is stopped (or started by another run)'
        : `wait until the instance is ${step.until}`;
    case 'wait-agent':
      return 'wait for the SSM agent to be Online';
    case 'install':
      return `install TLJH through SSM Run Command and verify it${step.why ? ` (${step.why})` : ''}`;
    case 'change-type':
      return `change the instance type ${step.from} → ${step.to}${step.downtime ? ' (downtime: the hub is down from the stop until it answers again, typically 1 to 3 minutes)' : ''}`;
    case 'grow-volume':
      return `grow the root volume ${step.from ?? '?'} → ${step.to} GiB, then its partition and file system`;
    case 'apply-settings':
      return `apply the settings (${step.groups.join(', ')}) with one SSM command, no installer run`;
    case 'match-rules':
      return `allow exactly the allowed-cidrs on ports 80 and 443 (${[...step.add.map((c) => `+${c}`), ...step.remove.map((c) => `−${c}`)].join(', ')})`;
    case 'change-tags':
      return `change the tags (${[...step.set.map((k) => `set ${k}`), ...step.remove.map((k) => `remove ${k}`)].join(', ')})`;
    case 'check-health':
      return 'check the hub answers /hub/api (reinstall only if it does not)';
    case 'delete-security-group':
      return "delete the hub's security group";
    case 'attach-address':
      return "associate the hub's Elastic IP (allocated and tagged first if it has none)";
    case 'point-record':
      return `point ${step.name} at the hub (A record and ownership TXT), and wait until Route 53 serves it`;
    case 'release-address':
      return "release the hub's Elastic IP";
    case 'delete-record':
      return `delete ${step.name} if this hub owns it`;
    case 'withdraw-record':
      return `remove the A record of ${step.name} while the hub is stopped (its address goes back to AWS; the start writes it again)`;
  }
}

/** Steps that change something in AWS (a plan without them is a no-op). */
export function isMutating(step: Step): boolean {
  return [
    'launch',
    'start',
    'stop',
    'terminate',
    'install',
    'delete-security-group',
    'change-type',
    'grow-volume',
    'apply-settings',
    'match-rules',
    'change-tags',
    'attach-address',
    'point-record',
    'release-address',
    'delete-record',
    'withdraw-record',
  ].includes(step.kind);
}
