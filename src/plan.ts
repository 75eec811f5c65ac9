// Plans the steps from the observed hub to the desired state. Pure and exhaustive: every
// observed x desired pair is a row of the table test in __tests__/plan.test.ts.
import { teardownAction, type TeardownState } from './fleet-plan.ts';
import type { DesiredState } from './inputs/spec.ts';
import type { AwaitedState, ObservedInstance } from './model.ts';

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
  | { kind: 'install' }
  | { kind: 'check-health' }
  | { kind: 'delete-security-group' };

export type FinalState = DesiredState | 'absent';

export interface Plan {
  steps: Step[];
  finalState: FinalState;
}

const wait = (until: AwaitedState): Step => ({ kind: 'wait', until });

/** Steps that bring a hub whose instance is (or will be) running to a verified TLJH. */
function ensureInstalled(instance: ObservedInstance | undefined, tljhVersion: string): Step[] {
  if (instance?.installedVersion === tljhVersion) return [{ kind: 'check-health' }];
  return [{ kind: 'wait-agent' }, { kind: 'install' }];
}

export function planSteps(observed: ObservedHub, desired: DesiredState, tljhVersion: string): Plan {
  const instance = observed.instance?.state === 'terminated' ? undefined : observed.instance;
  if (desired === 'running') return planRunning(instance, tljhVersion);
  return planTeardown(observed, desired);
}

/** Launch, start or await the hub's instance, then make sure TLJH is installed and healthy. */
function planRunning(instance: ObservedInstance | undefined, tljhVersion: string): Plan {
  switch (instance?.state) {
    case undefined:
    case 'terminated':
      return {
        steps: [{ kind: 'launch' }, wait('running'), ...ensureInstalled(undefined, tljhVersion)],
        finalState: 'running',
      };
    case 'pending':
      return {
        steps: [wait('running'), ...ensureInstalled(instance, tljhVersion)],
        finalState: 'running',
      };
    case 'running':
      return { steps: ensureInstalled(instance, tljhVersion), finalState: 'running' };
    case 'stopping':
      return {
        steps: [
          // Another run may start it first: then the start below changes nothing.
          wait('startable'),
          { kind: 'start' },
          wait('running'),
          ...ensureInstalled(instance, tljhVersion),
        ],
        finalState: 'running',
      };
    case 'stopped':
      return {
        steps: [{ kind: 'start' }, wait('running'), ...ensureInstalled(instance, tljhVersion)],
        finalState: 'running',
      };
    case 'shutting-down':
      // Someone is terminating it: let that finish, then launch a fresh hub.
      return {
        steps: [
          wait('terminated'),
          { kind: 'launch' },
          wait('running'),
          ...ensureInstalled(undefined, tljhVersion),
        ],
        finalState: 'running',
      };
  }
}

/**
 * Stop and terminate act on every live instance of the hub (teardown.ts): the steps are those
 * any of them needs, in the order teardown takes them.
 */
function planTeardown(observed: ObservedHub, desired: TeardownState): Plan {
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
    return { steps, finalState: absent ? 'absent' : 'stopped' };
  }

  // desired === 'terminated'
  const steps: Step[] = [];
  if (actions.has('terminate')) steps.push({ kind: 'terminate' });
  if (actions.has('terminate') || actions.has('wait-terminated')) steps.push(wait('terminated'));
  if (observed.ownedSecurityGroupId) steps.push({ kind: 'delete-security-group' });
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
      return 'install TLJH through SSM Run Command and verify it';
    case 'check-health':
      return 'check the hub answers /hub/api (reinstall only if it does not)';
    case 'delete-security-group':
      return "delete the hub's security group";
  }
}

/** Steps that change something in AWS (a plan without them is a no-op). */
export function isMutating(step: Step): boolean {
  return ['launch', 'start', 'stop', 'terminate', 'install', 'delete-security-group'].includes(
    step.kind,
  );
}
