// The one stop/terminate path (teardown.ts) against the shared fake AWS: batched calls, pending
// instances stopped once running, what others did meanwhile taken as progress, security groups
// deleted once released, settings swept; and one hub's stop/terminate through reconcile(), which
// takes this path for every live instance of the hub, duplicates included.
import { appliedTag } from './helpers/hub-tags.ts';
import {
  DeleteSecurityGroupCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { parseInputs, type HubSpec } from '../src/inputs.ts';
import type { ReconcileContext } from '../src/context.ts';
import { reconcile } from '../src/reconcile.ts';
import { hubTags } from '../src/tags.ts';
import {
  SECURITY_GROUP_RELEASE_MS,
  teardown,
  type TeardownRequest,
  type TeardownTarget,
} from '../src/teardown.ts';
import { FakeAws } from './helpers/fake-aws.ts';
import { FakeClock, awsError } from './helpers/fakes.ts';
import { RecordingLog } from './helpers/recording-log.ts';

let clock: FakeClock;
let aws: FakeAws;
let log: RecordingLog;

/** Instances added mid-transition (no transition of the fake's own): completed at the next look. */
let seeded: Set<string>;
const DONE = { pending: 'running', stopping: 'stopped', 'shutting-down': 'terminated' } as const;

beforeEach(() => {
  clock = new FakeClock();
  aws = new FakeAws({ clock });
  log = new RecordingLog();
  seeded = new Set();
  aws.ec2.meanwhile = () => {
    for (const id of seeded) {
      const state = aws.ec2.state(id) as keyof typeof DONE;
      if (state in DONE) aws.ec2.setState(id, DONE[state]);
    }
    seeded.clear();
  };
});

function ctx(): ReconcileContext {
  return {
    ...aws.clients,
    clock,
    pollMs: 1000,
    log,
    runKey: 'octo/hubs/1/1/job/step',
    runOwner: 'owner-1',
  };
}

/**
 * A hub's instance in the fake, in its own security group (created once per hub), recorded as
 * created with the default inputs (so a stop has no rule or tag of the spec to change).
 */
function hubInstance(hub: string, id: string, state: Parameters<typeof aws.ec2.addInstance>[1]) {
  const group = `sg-${hub}`;
  if (!aws.ec2.groups.has(group)) {
    aws.ec2.addSecurityGroup({ GroupId: group, GroupName: `tljh-${hub}`, Tags: hubTags(hub) });
  }
  aws.ec2.addInstance(id, state, {
    Tags: [...hubTags(hub), appliedTag()],
    SecurityGroups: [{ GroupId: group }],
  });
  if (state in DONE) seeded.add(id);
  return { hubName: hub, instanceId: id, state } satisfies TeardownTarget;
}

/** One instance per state, of hubs a, b, c, ... (ids i-a, i-b, i-c, ...), in that order. */
const lettered = (...states: Parameters<typeof hubInstance>[2][]) =>
  states.map((state, i) => {
    const hub = String.fromCharCode(97 + i);
    return hubInstance(hub, `i-${hub}`, state);
  });

/** A settings parameter an interrupted install left behind. */
function leftover(hub: string, id: string): string {
  const name = `/tljh-ec2-action/${hub}/${id}/settings`;
  aws.ssm.putParameter({ Name: name, Value: 'secret', Type: 'SecureString' });
  return name;
}

const request = (r: Partial<TeardownRequest> & Pick<TeardownRequest, 'desired' | 'instances'>) =>
  teardown(ctx(), { cleanUp: [], timeoutMs: 10 * 60_000, ...r });

const summary = (instances: { instanceId: string; ok: boolean; result: string }[]) =>
  Object.fromEntries(instances.map((i) => [i.instanceId, [i.ok, i.result]]));

describe('stop', () => {
  test('the running ones stopped at once, a pending one once running; a stopping one only awaited', async () => {
    const instances = lettered('running', 'pending', 'stopping', 'stopped', 'shutting-down');
    // The pending one becomes running, the stopping one stopped, at the first look.
    const out = await request({ desired: 'stopped', instances });
    expect(aws.mutating()).toEqual(['StopInstancesCommand', 'StopInstancesCommand']);
    // A slow boot holds up no other stop: the running one first, the pending one after its wait.
    expect(aws.inputs(StopInstancesCommand).map((i) => i.InstanceIds)).toEqual([['i-a'], ['i-b']]);
    const names = aws.names();
    expect(names.indexOf('StopInstancesCommand')).toBeLessThan(
      names.indexOf('DescribeInstancesCommand'),
    );
    expect(names.indexOf('DescribeInstancesCommand')).toBeLessThan(
      names.lastIndexOf('StopInstancesCommand'),
    );
    expect(summary(out.instances)).toEqual({
      'i-a': [true, 'stopped'],
      'i-b': [true, 'stopped'],
      'i-c': [true, 'stopped (was already stopping)'],
      'i-d': [true, 'already stopped'],
      'i-e': [true, 'being terminated'],
    });
    expect(out.instances.filter((i) => i.sent).map((i) => i.instanceId)).toEqual(['i-a', 'i-b']);
    expect(out.changed).toBe(true);
    expect(aws.ec2.state('i-a')).toBe('stopped');
  });

  test('250 instances: three StopInstances calls of at most 100 ids', async () => {
    const instances = Array.from({ length: 250 }, (_, n) =>
      hubInstance(`h${n}`, `i-${n.toString(16).padStart(17, '0')}`, 'running'),
    );
    const out = await request({ desired: 'stopped', instances });
    expect(aws.inputs(StopInstancesCommand).map((i) => i.InstanceIds!.length)).toEqual([
      100, 100, 50,
    ]);
    expect(out.instances.every((i) => i.ok && i.result === 'stopped')).toBe(true);
  });

  test('terminated by someone else while we wait for it to stop: ok, terminated meanwhile', async () => {
    const instances = lettered('running', 'running');
    aws.ec2.settle = 'manual';
    aws.on(StopInstancesCommand, async (_input, next) => {
      const out: unknown = await next();
      aws.ec2.terminateInstances(['i-a']); // the reaper, a moment later
      aws.ec2.step();
      return out;
    });
    aws.ec2.meanwhile = () => aws.ec2.step();
    const out = await request({ desired: 'stopped', instances });
    expect(summary(out.instances)).toEqual({
      'i-a': [true, 'terminated meanwhile'],
      'i-b': [true, 'stopped'],
    });
    expect(out.instances.find((i) => i.instanceId === 'i-a')!.final).toBe('terminated');
  });

  test('a stop EC2 refuses because the instance is being terminated: ok, not FAILED', async () => {
    const instances = lettered('running', 'running');
    aws.ec2.terminateInstances(['i-a']); // after our listing, before our stop
    const out = await request({ desired: 'stopped', instances });
    // The batch was refused, then each instance tried alone.
    expect(aws.inputs(StopInstancesCommand).map((i) => i.InstanceIds)).toEqual([
      ['i-a', 'i-b'],
      ['i-a'],
      ['i-b'],
    ]);
    expect(summary(out.instances)).toEqual({
      'i-a': [true, 'terminated meanwhile'],
      'i-b': [true, 'stopped'],
    });
  });

  test('an instance still stopping at the deadline fails alone, naming its last state', async () => {
    const instances = lettered('running', 'running');
    aws.ec2.settle = 'manual';
    aws.ec2.meanwhile = () => {
      if (aws.ec2.state('i-b') === 'stopping') aws.ec2.setState('i-b', 'stopped');
    };
    const out = await request({ desired: 'stopped', instances, timeoutMs: 60_000 });
    expect(summary(out.instances)).toEqual({
      'i-a': [false, 'timed out (last seen: stopping)'],
      'i-b': [true, 'stopped'],
    });
    expect(log.warnings).toContain('a (i-a): timed out (last seen: stopping)');
  });
});

describe('terminate', () => {
  test('one TerminateInstances for every live state; shutting-down only awaited', async () => {
    const instances = lettered('pending', 'running', 'stopping', 'stopped', 'shutting-down');
    const out = await request({ desired: 'terminated', instances });
    expect(aws.inputs(TerminateInstancesCommand).map((i) => i.InstanceIds)).toEqual([
      ['i-a', 'i-b', 'i-c', 'i-d'],
    ]);
    expect(out.instances.every((i) => i.ok && i.result === 'terminated')).toBe(true);
    expect(out.instances.find((i) => i.instanceId === 'i-e')!.sent).toBe(false);
  });

  test('a terminate on a stopping or pending instance that still reads so a while is progress', async () => {
    const instances = lettered('stopping', 'pending');
    aws.ec2.settle = 'manual';
    let looks = 0;
    aws.on(TerminateInstancesCommand, async (_input, next) => {
      const out: unknown = await next();
      aws.ec2.setState('i-a', 'stopping'); // EC2 shows the old state for a while
      aws.ec2.setState('i-b', 'pending');
      return out;
    });
    aws.ec2.meanwhile = () => {
      if (++looks === 3) for (const id of ['i-a', 'i-b']) aws.ec2.setState(id, 'terminated');
    };
    const out = await request({ desired: 'terminated', instances });
    expect(summary(out.instances)).toEqual({
      'i-a': [true, 'terminated'],
      'i-b': [true, 'terminated'],
    });
  });

  test("the hubs' groups: retried while in use, one wait for all, then deleted", async () => {
    const instances = lettered('running', 'running');
    let refusals = 0;
    aws.on(DeleteSecurityGroupCommand, (_input, next) => {
      // The network interfaces are released a few seconds after the termination.
      if (refusals++ < 3) throw awsError('DependencyViolation');
      return next();
    });
    const before = clock.now();
    const out = await request({ desired: 'terminated', instances, cleanUp: ['a', 'b'] });
    expect(out.deletedGroups.sort()).toEqual(['sg-a', 'sg-b']);
    expect(out.groupsLeft).toEqual([]);
    expect(aws.ec2.groups.size).toBe(0);
    // Refused: sg-a, sg-b (first look), sg-a (second); then both deleted, two looks in all.
    expect(aws.inputs(DeleteSecurityGroupCommand).map((i) => i.GroupId)).toEqual([
      'sg-a',
      'sg-b',
      'sg-a',
      'sg-b',
      'sg-a',
    ]);
    expect(clock.now() - before).toBeLessThan(SECURITY_GROUP_RELEASE_MS);
  });

  test('a group still in use at the deadline: a warning, the instances are still ok', async () => {
    const instances = lettered('running');
    aws.fail(DeleteSecurityGroupCommand, awsError('DependencyViolation'));
    const before = clock.now();
    const out = await request({ desired: 'terminated', instances, cleanUp: ['a'] });
    expect(out.groupsLeft).toEqual(['sg-a']);
    expect(out.instances[0]).toMatchObject({ ok: true, result: 'terminated' });
    expect(clock.now() - before).toBeGreaterThanOrEqual(SECURITY_GROUP_RELEASE_MS);
    expect(log.warnings.join('\n')).toContain(
      "Security group sg-a is still in use; a run with hub-name 'a' and state terminated deletes it.",
    );
  });

  test('settings parameters of the terminated hubs are swept, not of the others', async () => {
    const instances = lettered('running', 'running');
    const a = leftover('a', 'i-a');
    const b = leftover('b', 'i-b');
    const out = await request({ desired: 'terminated', instances, cleanUp: ['a'] });
    expect(out.sweptParameters).toBe(1);
    expect(aws.ssm.parameters.has(a)).toBe(false);
    expect(aws.ssm.parameters.has(b)).toBe(true);
    expect(aws.ec2.groups.has('sg-b')).toBe(true);
  });

  test('a hub with an instance that failed keeps its group and settings', async () => {
    const instances = [hubInstance('a', 'i-a', 'running'), hubInstance('a', 'i-a2', 'running')];
    const a = leftover('a', 'i-a');
    aws.on(TerminateInstancesCommand, (input, next) => {
      if (input.InstanceIds?.includes('i-a2')) throw awsError('UnauthorizedOperation');
      return next();
    });
    const out = await request({ desired: 'terminated', instances, cleanUp: ['a'] });
    expect(summary(out.instances)).toEqual({
      'i-a': [true, 'terminated'],
      'i-a2': [false, 'UnauthorizedOperation: UnauthorizedOperation (test)'],
    });
    expect(aws.names()).not.toContain('DeleteSecurityGroupCommand');
    expect(aws.ssm.parameters.has(a)).toBe(true);
  });

  test('an expired session while sweeping fails the teardown, saying so', async () => {
    const instances = lettered('running');
    aws.fail(GetParametersByPathCommand, awsError('ExpiredTokenException'));
    await expect(
      request({ desired: 'terminated', instances, cleanUp: ['a'] }),
    ).rejects.toMatchObject({ message: expect.stringContaining('the AWS session expired') });
  });

  test('any other sweep error is a warning', async () => {
    const instances = lettered('running');
    aws.fail(GetParametersByPathCommand, awsError('AccessDeniedException'));
    const out = await request({ desired: 'terminated', instances, cleanUp: ['a'] });
    expect(out.instances[0]!.ok).toBe(true);
    expect(log.warnings.join('\n')).toContain('Could not look for leftover settings parameters');
  });
});

describe('one hub through reconcile(): every live instance, duplicates included', () => {
  function spec(state: string): HubSpec {
    const all: Record<string, string> = { 'hub-name': 'workshop', state };
    return parseInputs((name) => all[name] ?? '', { AWS_REGION: 'eu-west-1' });
  }

  test('stop: the duplicates are stopped too, in one call', async () => {
    hubInstance('workshop', 'i-old', 'running');
    clock.t += 1000;
    hubInstance('workshop', 'i-new', 'running');
    const outcome = await reconcile(ctx(), spec('stopped'));
    expect(aws.inputs(StopInstancesCommand).map((i) => i.InstanceIds)).toEqual([
      ['i-old', 'i-new'],
    ]);
    expect(aws.ec2.state('i-old')).toBe('stopped');
    expect(aws.ec2.state('i-new')).toBe('stopped');
    expect(outcome).toMatchObject({
      state: 'stopped',
      changed: true,
      instanceId: 'i-old',
      done: ['stopped i-old', 'stopped i-new'],
    });
    expect(log.warnings[0]).toContain('2 live instances carry hub');
  });

  test('stop: the oldest already stopped, a newer duplicate running -> the duplicate is stopped', async () => {
    hubInstance('workshop', 'i-old', 'stopped');
    clock.t += 1000;
    hubInstance('workshop', 'i-new', 'running');
    const outcome = await reconcile(ctx(), spec('stopped'));
    expect(aws.ec2.state('i-new')).toBe('stopped');
    expect(outcome).toMatchObject({ state: 'stopped', changed: true, done: ['stopped i-new'] });
  });

  test('terminate: every instance, then the group (once released) and the settings', async () => {
    hubInstance('workshop', 'i-old', 'running');
    clock.t += 1000;
    hubInstance('workshop', 'i-new', 'stopped');
    const settings = leftover('workshop', 'i-new');
    aws.fail(DeleteSecurityGroupCommand, awsError('DependencyViolation'), 2);
    const outcome = await reconcile(ctx(), spec('terminated'));
    expect(aws.inputs(TerminateInstancesCommand).map((i) => i.InstanceIds)).toEqual([
      ['i-old', 'i-new'],
    ]);
    expect(aws.ec2.state('i-old')).toBe('terminated');
    expect(aws.ec2.state('i-new')).toBe('terminated');
    expect(aws.ec2.groups.has('sg-workshop')).toBe(false);
    expect(aws.ssm.parameters.has(settings)).toBe(false);
    expect(outcome).toMatchObject({
      state: 'terminated',
      changed: true,
      done: [
        'terminated i-old',
        'terminated i-new',
        'deleted security group sg-workshop',
        'deleted 1 leftover settings parameter(s) of an interrupted install',
      ],
    });
  });

  test.each(['stopping', 'pending'] as const)(
    'terminate a hub that is %s (and still reads so for a while): success',
    async (state) => {
      hubInstance('workshop', 'i-old', state);
      aws.ec2.settle = 'manual';
      let looks = 0;
      aws.on(TerminateInstancesCommand, async (_input, next) => {
        const out: unknown = await next();
        aws.ec2.setState('i-old', state);
        return out;
      });
      aws.ec2.meanwhile = () => {
        if (++looks === 3) aws.ec2.setState('i-old', 'terminated');
      };
      const outcome = await reconcile(ctx(), spec('terminated'));
      expect(outcome).toMatchObject({
        state: 'terminated',
        done: expect.arrayContaining(['terminated i-old']),
      });
    },
  );

  test('stop: the hub terminated by someone meanwhile -> no failure, nothing left to stop', async () => {
    hubInstance('workshop', 'i-old', 'running');
    aws.on(StopInstancesCommand, async (_input, next) => {
      const out: unknown = await next();
      aws.ec2.terminateInstances(['i-old']);
      return out;
    });
    const outcome = await reconcile(ctx(), spec('stopped'));
    expect(outcome).toMatchObject({
      state: 'absent',
      done: ['stopped i-old (terminated meanwhile)'],
    });
  });

  test('dry run: the plan names every step, nothing is changed', async () => {
    hubInstance('workshop', 'i-old', 'stopped');
    clock.t += 1000;
    hubInstance('workshop', 'i-new', 'pending');
    aws.ec2.meanwhile = undefined; // still pending when listed
    const all: Record<string, string> = {
      'hub-name': 'workshop',
      state: 'stopped',
      'dry-run': 'true',
    };
    const outcome = await reconcile(
      ctx(),
      parseInputs((n) => all[n] ?? '', { AWS_REGION: 'eu-west-1' }),
    );
    expect(aws.mutating()).toEqual([]);
    expect(outcome.plan.steps.map((s) => (s.kind === 'wait' ? `wait-${s.until}` : s.kind))).toEqual(
      ['wait-running', 'stop', 'wait-stopped'],
    );
    expect(aws.names().filter((n) => n === 'DescribeInstancesCommand')).toHaveLength(1);
  });
});
