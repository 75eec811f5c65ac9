// Waiting for instance states: the pure table of what each state means, and the wait itself
// against DescribeInstances answers that change from one look to the next.
import { DescribeInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { InstanceGoneError } from '../src/errors.ts';
import type { AwaitedState } from '../src/model.ts';
import {
  START_VISIBLE_MS,
  judgeState,
  waitForInstance,
  waitForInstances,
  type SeenState,
} from '../src/instance-waits.ts';
import { FakeClock, awsError } from './helpers/fakes.ts';
import { useMockedEc2 } from './helpers/mocked-clients.ts';
import { RecordingLog } from './helpers/recording-log.ts';

const { ec2Mock, ec2 } = useMockedEc2();

let clock: FakeClock;
let log: RecordingLog;
let infos: string[];
const ctx = () => ({ ec2, clock, pollMs: 5000, log });

/** Each look answers the next row: instance id -> state (absent: EC2 does not list it). */
function answers(rows: Record<string, string>[]): void {
  let n = 0;
  ec2Mock.on(DescribeInstancesCommand).callsFake(() => {
    const row = rows[Math.min(n++, rows.length - 1)]!;
    const Instances: Instance[] = Object.entries(row).map(([InstanceId, state]) => ({
      InstanceId,
      State: { Name: state as never },
    }));
    return { Reservations: [{ Instances }] };
  });
}

beforeEach(() => {
  clock = new FakeClock();
  log = new RecordingLog();
  ({ infos } = log);
});

describe('judgeState: what a state means while waiting', () => {
  const rows: [AwaitedState, SeenState, boolean, number, string][] = [
    ['terminated', 'pending', false, 0, 'progress'],
    ['terminated', 'running', false, 0, 'progress'],
    ['terminated', 'stopping', false, 0, 'progress'],
    ['terminated', 'stopped', false, 0, 'progress'],
    ['terminated', 'shutting-down', false, 0, 'progress'],
    ['terminated', 'terminated', false, 0, 'reached'],
    ['terminated', 'not-found', false, 0, 'reached'],
    ['startable', 'pending', false, 0, 'reached'],
    ['startable', 'running', false, 0, 'reached'],
    ['startable', 'stopping', false, 0, 'progress'],
    ['startable', 'stopped', false, 0, 'reached'],
    ['startable', 'shutting-down', false, 0, 'gone'],
    ['startable', 'terminated', false, 0, 'gone'],
    ['startable', 'not-found', false, 0, 'gone'],
    ['stopped', 'pending', false, 0, 'progress'],
    ['stopped', 'running', false, 0, 'progress'],
    ['stopped', 'stopping', false, 0, 'progress'],
    ['stopped', 'stopped', false, 0, 'reached'],
    ['stopped', 'shutting-down', false, 0, 'gone'],
    ['stopped', 'terminated', false, 0, 'gone'],
    ['stopped', 'not-found', false, 0, 'gone'],
    ['running', 'pending', false, 0, 'progress'],
    ['running', 'running', false, 0, 'reached'],
    ['running', 'stopping', false, 0, 'gone'],
    ['running', 'shutting-down', false, 0, 'gone'],
    ['running', 'terminated', false, 0, 'gone'],
    ['running', 'stopped', false, 0, 'progress'],
    ['running', 'stopped', true, 0, 'gone'],
    ['running', 'stopped', false, START_VISIBLE_MS, 'gone'],
    ['running', 'not-found', false, 0, 'progress'],
    ['running', 'not-found', true, 0, 'gone'],
  ];
  test.each(rows)('until %s, seen %s (moved %s, after %d ms): %s', (until, s, moved, ms, want) => {
    expect(judgeState(until, s, moved, ms)).toBe(want);
  });
});

test('a terminate sent to a stopping instance waits through stopping and shutting-down', async () => {
  answers([{ 'i-1': 'stopping' }, { 'i-1': 'shutting-down' }, { 'i-1': 'terminated' }]);
  await expect(waitForInstance(ctx(), 'i-1', 'terminated')).resolves.toBeUndefined();
  expect(clock.sleeps).toEqual([5000, 5000]);
});

test('a start that EC2 drops back to stopped ends the wait at once, not at the deadline', async () => {
  answers([{ 'i-1': 'stopped' }, { 'i-1': 'pending' }, { 'i-1': 'stopped' }]);
  const err = await waitForInstance(ctx(), 'i-1', 'running').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InstanceGoneError);
  expect((err as InstanceGoneError).state).toBe('stopped');
  expect(clock.sleeps).toHaveLength(2);
});

test('a start still reading stopped is given START_VISIBLE_MS, then called gone', async () => {
  answers([{ 'i-1': 'stopped' }]);
  await expect(waitForInstance(ctx(), 'i-1', 'running')).rejects.toBeInstanceOf(InstanceGoneError);
  expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(START_VISIBLE_MS);
});

test('at the deadline, the error names the last state seen', async () => {
  answers([{ 'i-1': 'stopping' }]);
  await expect(waitForInstance(ctx(), 'i-1', 'stopped', { timeoutMs: 90_000 })).rejects.toThrow(
    'Instance i-1 did not become stopped (still not after 90 s; last seen: stopping).',
  );
  expect(infos).toContain('Still waiting for i-1 to be stopped (1m00s, i-1 stopping)');
});

test('many instances: each gets its own outcome, and decided ones are no longer asked', async () => {
  answers([
    { 'i-1': 'stopping', 'i-2': 'stopped', 'i-3': 'running' },
    { 'i-1': 'terminated', 'i-3': 'running' },
  ]);
  const outcomes = await waitForInstances(ctx(), ['i-1', 'i-2', 'i-3'], 'stopped', {
    timeoutMs: 10_000,
  });
  expect(outcomes).toEqual([
    { instanceId: 'i-1', state: 'terminated', result: 'gone' },
    { instanceId: 'i-2', state: 'stopped', result: 'reached' },
    { instanceId: 'i-3', state: 'running', result: 'timed-out' },
  ]);
  const asked = ec2Mock
    .commandCalls(DescribeInstancesCommand)
    .map((c) => c.args[0].input.Filters?.[0]?.Values);
  expect(asked[0]).toEqual(['i-1', 'i-2', 'i-3']);
  expect(asked[1]).toEqual(['i-1', 'i-3']);
});

test('throttling is looked through; an expired session ends the wait at once', async () => {
  let n = 0;
  ec2Mock.on(DescribeInstancesCommand).callsFake(() => {
    if (n++ === 0) throw awsError('RequestLimitExceeded');
    return { Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'running' } }] }] };
  });
  await expect(waitForInstance(ctx(), 'i-1', 'running')).resolves.toBeUndefined();
  const expired = awsError('RequestExpired');
  ec2Mock.on(DescribeInstancesCommand).rejects(expired);
  await expect(waitForInstance(ctx(), 'i-1', 'running')).rejects.toBe(expired);
});
