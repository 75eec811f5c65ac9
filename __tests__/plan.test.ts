import { DESIRED_STATES, type DesiredState } from '../src/inputs.ts';
import { INSTANCE_STATES, type InstanceState } from '../src/model.ts';
import {
  describeStep,
  isMutating,
  planSteps,
  type FinalState,
  type ObservedHub,
  type Step,
} from '../src/plan.ts';

const V = '2.0.0';

// Shorthands for the expected step lists.
const launch: Step = { kind: 'launch' };
const start: Step = { kind: 'start' };
const stop: Step = { kind: 'stop' };
const terminate: Step = { kind: 'terminate' };
const waitRunning: Step = { kind: 'wait', until: 'running' };
const waitStopped: Step = { kind: 'wait', until: 'stopped' };
/** Before a start: stopped, or already started by another run. */
const waitStartable: Step = { kind: 'wait', until: 'startable' };
const waitTerminated: Step = { kind: 'wait', until: 'terminated' };
const agent: Step = { kind: 'wait-agent' };
const install: Step = { kind: 'install' };
const health: Step = { kind: 'check-health' };
const deleteSg: Step = { kind: 'delete-security-group' };

type Observed = 'absent' | InstanceState;
type Installed = 'matching' | 'other' | 'none';

function observedHub(state: Observed, installed: Installed, sg?: string): ObservedHub {
  if (state === 'absent') return { ownedSecurityGroupId: sg };
  return {
    instance: {
      instanceId: 'i-0123456789abcdef0',
      state,
      installedVersion: installed === 'matching' ? V : installed === 'other' ? '1.0.0' : undefined,
      publicIp: state === 'running' ? '203.0.113.10' : undefined,
    },
    ownedSecurityGroupId: sg,
  };
}

/** The expected plan, written out by hand for every observed x installed x desired triple. */
function expected(
  state: Observed,
  installed: Installed,
  desired: DesiredState,
): [Step[], FinalState] {
  const verified = installed === 'matching';
  const ensure = verified ? [health] : [agent, install];
  const fresh = [agent, install];
  switch (desired) {
    case 'running':
      return {
        absent: [[launch, waitRunning, ...fresh], 'running'],
        terminated: [[launch, waitRunning, ...fresh], 'running'],
        pending: [[waitRunning, ...ensure], 'running'],
        running: [[...ensure], 'running'],
        stopping: [[waitStartable, start, waitRunning, ...ensure], 'running'],
        stopped: [[start, waitRunning, ...ensure], 'running'],
        'shutting-down': [[waitTerminated, launch, waitRunning, ...fresh], 'running'],
      }[state] as [Step[], FinalState];
    case 'stopped':
      return {
        absent: [[], 'absent'],
        terminated: [[], 'absent'],
        pending: [[waitRunning, stop, waitStopped], 'stopped'],
        running: [[stop, waitStopped], 'stopped'],
        stopping: [[waitStopped], 'stopped'],
        stopped: [[], 'stopped'],
        // Being terminated: nothing to stop, nothing to wait for.
        'shutting-down': [[], 'absent'],
      }[state] as [Step[], FinalState];
    case 'terminated':
      return {
        absent: [[], 'terminated'],
        terminated: [[], 'terminated'],
        pending: [[terminate, waitTerminated], 'terminated'],
        running: [[terminate, waitTerminated], 'terminated'],
        stopping: [[terminate, waitTerminated], 'terminated'],
        stopped: [[terminate, waitTerminated], 'terminated'],
        'shutting-down': [[waitTerminated], 'terminated'],
      }[state] as [Step[], FinalState];
  }
}

const OBSERVED: Observed[] = ['absent', ...INSTANCE_STATES];
const INSTALLED: Installed[] = ['matching', 'other', 'none'];
const TABLE = OBSERVED.flatMap((state) =>
  INSTALLED.flatMap((installed) =>
    DESIRED_STATES.map((desired) => [state, installed, desired] as const),
  ),
);

test('the table covers every observed state, install marker and desired state', () => {
  expect(INSTANCE_STATES).toEqual([
    'pending',
    'running',
    'stopping',
    'stopped',
    'shutting-down',
    'terminated',
  ]);
  expect(DESIRED_STATES).toEqual(['running', 'stopped', 'terminated']);
  expect(TABLE).toHaveLength(7 * 3 * 3);
});

describe.each(TABLE)('observed %s (installed: %s) -> desired %s', (state, installed, desired) => {
  test('exact steps and final state', () => {
    const [steps, finalState] = expected(state, installed, desired);
    expect(planSteps(observedHub(state, installed), desired, V)).toEqual({ steps, finalState });
  });

  test('with an owned security group: deleted last, only when terminating', () => {
    const [steps, finalState] = expected(state, installed, desired);
    const withSg = desired === 'terminated' ? [...steps, deleteSg] : steps;
    expect(planSteps(observedHub(state, installed, 'sg-0123456789abcdef0'), desired, V)).toEqual({
      steps: withSg,
      finalState,
    });
  });
});

describe('planning properties', () => {
  test('the plan is pure: the same input gives the same plan and the input is not changed', () => {
    const hub = observedHub('stopped', 'other', 'sg-1');
    const copy = structuredClone(hub);
    expect(planSteps(hub, 'running', V)).toEqual(planSteps(hub, 'running', V));
    expect(hub).toEqual(copy);
  });

  test('a hub verified at another version is reinstalled, at the same version only checked', () => {
    const hub = observedHub('running', 'other');
    expect(planSteps(hub, 'running', '1.0.0').steps).toEqual([health]);
    expect(planSteps(hub, 'running', V).steps).toEqual([agent, install]);
  });

  test('an already-converged hub has a plan without mutating steps', () => {
    const converged: [Observed, DesiredState][] = [
      ['running', 'running'],
      ['stopped', 'stopped'],
      ['absent', 'stopped'],
      ['absent', 'terminated'],
      ['terminated', 'terminated'],
    ];
    for (const [state, desired] of converged) {
      const plan = planSteps(observedHub(state, 'matching'), desired, V);
      expect(plan.steps.filter(isMutating)).toEqual([]);
    }
  });

  test('every plan towards running ends by verifying the hub', () => {
    for (const [state, installed, desired] of TABLE) {
      if (desired !== 'running') continue;
      const last = planSteps(observedHub(state, installed), desired, V).steps.at(-1);
      expect([health, install]).toContainEqual(last);
    }
  });
});

describe('stop and terminate plan for every live instance of the hub', () => {
  const at = (state: InstanceState, id: string) => ({ instanceId: id, state });
  const hub = (states: InstanceState[]): ObservedHub => {
    const [first, ...rest] = states.map((s, n) => at(s, `i-${n}`));
    return { instance: first, duplicates: rest };
  };

  test.each<[InstanceState[], DesiredState, Step[], FinalState]>([
    // The oldest is stopped, a newer duplicate runs: it is stopped too.
    [['stopped', 'running'], 'stopped', [stop, waitStopped], 'stopped'],
    [['running', 'pending'], 'stopped', [waitRunning, stop, waitStopped], 'stopped'],
    [['stopping', 'stopped'], 'stopped', [waitStopped], 'stopped'],
    [['shutting-down', 'running'], 'stopped', [stop, waitStopped], 'stopped'],
    [['shutting-down', 'shutting-down'], 'stopped', [], 'absent'],
    [['shutting-down', 'stopped'], 'terminated', [terminate, waitTerminated], 'terminated'],
    [['shutting-down', 'shutting-down'], 'terminated', [waitTerminated], 'terminated'],
  ])('%j -> %s', (states, desired, steps, finalState) => {
    expect(planSteps(hub(states), desired, V)).toEqual({ steps, finalState });
  });

  test('starting a hub takes the oldest instance only', () => {
    expect(planSteps(hub(['running', 'stopped']), 'running', V).steps).toEqual([agent, install]);
  });
});

describe('isMutating', () => {
  test.each<[Step, boolean]>([
    [launch, true],
    [start, true],
    [stop, true],
    [terminate, true],
    [install, true],
    [deleteSg, true],
    [waitRunning, false],
    [waitStopped, false],
    [waitTerminated, false],
    [agent, false],
    [health, false],
  ])('%j -> %s', (step, mutating) => {
    expect(isMutating(step)).toBe(mutating);
  });
});

describe('describeStep', () => {
  test.each<[Step, RegExp]>([
    [launch, /launch a new instance/],
    [start, /start the stopped instance/],
    [stop, /stop the instance/],
    [terminate, /terminate the instance/],
    [waitRunning, /wait until the instance is running/],
    [waitStopped, /wait until the instance is stopped/],
    [waitTerminated, /wait until the instance is terminated/],
    [agent, /SSM agent/],
    [install, /install TLJH/],
    [health, /\/hub\/api/],
    [deleteSg, /security group/],
  ])('%j', (step, text) => {
    expect(describeStep(step)).toMatch(text);
  });

  test('every kind has its own description', () => {
    const all = [launch, start, stop, terminate, waitRunning, agent, install, health, deleteSg];
    const texts = all.map(describeStep);
    expect(texts.every((t) => typeof t === 'string' && t.length > 5)).toBe(true);
    expect(new Set(texts).size).toBe(all.length);
  });
});
