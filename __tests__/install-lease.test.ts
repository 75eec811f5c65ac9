import { DescribeInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, InvocationDoesNotExist } from '@aws-sdk/client-ssm';
import { InstallLease } from '../src/install-lease.ts';
import {
  COMMAND_END_GRACE_MS,
  LEASE_WITHOUT_COMMAND_MS,
  RELEASED,
  formatLease,
} from '../src/lease.ts';
import type { ReconcileContext } from '../src/context.ts';
import { ActionError, InstanceGoneError } from '../src/errors.ts';
import { TAG_INSTALL_LEASE, TAG_INSTALLED_VERSION } from '../src/tags.ts';
import { FakeClock, awsError } from './helpers/fakes.ts';
import { testClients, useMockedEc2, useMockedSsm } from './helpers/mocked-clients.ts';
import { RecordingLog } from './helpers/recording-log.ts';

const { ssmMock } = useMockedSsm();
const { ec2Mock } = useMockedEc2();
const ID = 'i-0123456789abcdef0';
const INSTALL_TIMEOUT_MS = 30 * 60_000;

let clock: FakeClock;
let lease: InstallLease;
let infos: string[];
beforeEach(() => {
  clock = new FakeClock();
  const log = new RecordingLog();
  ({ infos } = log);
  const ctx: ReconcileContext = { ...testClients(), clock, pollMs: 5000, runOwner: 'me', log };
  lease = new InstallLease(ctx, INSTALL_TIMEOUT_MS, () => ID);
});

const other = (commandId?: string, at = clock.now()) =>
  formatLease({ owner: 'other', at, commandId });

describe("another run's lease", () => {
  test('none, ours, released or lapsed: free, without asking SSM', async () => {
    expect(await lease.otherRuns(undefined)).toBe('free');
    expect(await lease.otherRuns('garbage')).toBe('free');
    expect(
      await lease.otherRuns(formatLease({ owner: 'me', at: clock.now(), commandId: 'c' })),
    ).toBe('free');
    expect(await lease.otherRuns(other(RELEASED))).toBe('free');
    const old = clock.now() - INSTALL_TIMEOUT_MS - LEASE_WITHOUT_COMMAND_MS - 1;
    expect(await lease.otherRuns(other('cmd-other', old))).toBe('free');
    expect(
      await lease.otherRuns(other(undefined, clock.now() - LEASE_WITHOUT_COMMAND_MS - 1)),
    ).toBe('free');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(0);
  });

  test('before its command is sent: installing', async () => {
    expect(await lease.otherRuns(other())).toBe('installing');
  });

  // Defect 11 (a): SSM does not know a command for a moment after SendCommand.
  test('a command SSM does not know yet (InvocationDoesNotExist): installing', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejects(new InvocationDoesNotExist({ $metadata: {}, message: '' }));
    expect(await lease.otherRuns(other('cmd-other'))).toBe('installing');
  });

  test('a command still running: installing; an ended one: ended (not free)', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolvesOnce({ Status: 'InProgress' }).resolves({
      Status: 'Success',
    });
    expect(await lease.otherRuns(other('cmd-other'))).toBe('installing');
    expect(await lease.otherRuns(other('cmd-other'))).toBe('ended');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({
      CommandId: 'cmd-other',
      InstanceId: ID,
    });
  });

  test("another instance's lease is asked about on that instance", async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    await lease.otherRuns(other('cmd-other'), 'i-0000000000000000f');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input.InstanceId).toBe(
      'i-0000000000000000f',
    );
  });
});

test('the grace after a command ended is far shorter than a lease lapse', () => {
  // A dead run is taken over after the grace, not after the whole install budget.
  expect(COMMAND_END_GRACE_MS).toBeLessThan(INSTALL_TIMEOUT_MS + LEASE_WITHOUT_COMMAND_MS);
  expect(COMMAND_END_GRACE_MS).toBeGreaterThanOrEqual(60_000);
});

describe('awaitOther: waiting for the run that installs the hub', () => {
  const VERSION = '1.0.0';
  /** The instance as the next DescribeInstances sees it; `look` may change it per look. */
  let seen: { state: string; lease?: string; installed?: string };
  let look: (n: number) => void;
  let looks: number;

  beforeEach(() => {
    looks = 0;
    look = () => undefined;
    ec2Mock.on(DescribeInstancesCommand).callsFake(() => {
      look(++looks);
      const tags = [
        ...(seen.lease ? [{ Key: TAG_INSTALL_LEASE, Value: seen.lease }] : []),
        ...(seen.installed ? [{ Key: TAG_INSTALLED_VERSION, Value: seen.installed }] : []),
      ];
      const instance: Instance = {
        InstanceId: ID,
        State: { Name: seen.state as never },
        Tags: tags,
      };
      return { Reservations: [{ Instances: [instance] }] };
    });
  });

  test('its command runs, then it marks the hub installed: check', async () => {
    seen = { state: 'running', lease: other('cmd-other') };
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    look = (n) => {
      if (n === 4) seen = { state: 'running', lease: other(RELEASED), installed: VERSION };
    };
    expect(await lease.awaitOther(VERSION)).toBe('check');
    expect(looks).toBe(4);
    expect(clock.sleeps).toEqual([5000, 5000, 5000]);
    expect(infos[0]).toBe(`Waiting for the run that is installing TLJH on ${ID}...`);
  });

  test('the installed tag while its command still runs (a repair) is not enough', async () => {
    seen = { state: 'running', lease: other('cmd-other'), installed: VERSION };
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolvesOnce({ Status: 'InProgress' })
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success' });
    expect(await lease.awaitOther(VERSION)).toBe('check');
    expect(looks).toBe(3);
  });

  test('its lease released without the mark (its install failed): install at once', async () => {
    seen = { state: 'running', lease: other(RELEASED) };
    expect(await lease.awaitOther(VERSION)).toBe('install');
    expect(looks).toBe(1);
    expect(clock.sleeps).toEqual([]);
    expect(infos).toContain(`No other run is installing ${ID} any more: installing it here.`);
  });

  test('its command ended and it neither marked nor released: take over after the grace', async () => {
    seen = { state: 'running', lease: other('cmd-other') };
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed' });
    const t0 = clock.now();
    expect(await lease.awaitOther(VERSION)).toBe('take-over');
    expect(clock.now() - t0).toBe(COMMAND_END_GRACE_MS);
    expect(infos).toContain(
      `The run installing ${ID} ended its command 5m00s ago without marking the hub: installing it here.`,
    );
  });

  test('no lease yet (the other run launched it and will take it): wait, then install', async () => {
    seen = { state: 'running' };
    const t0 = clock.now();
    expect(await lease.awaitOther(VERSION)).toBe('install');
    expect(clock.now() - t0).toBe(LEASE_WITHOUT_COMMAND_MS);
  });

  test('a progress line about once a minute, saying what the other run is at', async () => {
    seen = { state: 'running', lease: other('cmd-other') };
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    look = (n) => {
      if (n === 30) seen = { state: 'running', lease: other(RELEASED), installed: VERSION };
    };
    expect(await lease.awaitOther(VERSION)).toBe('check');
    expect(infos.filter((l) => l.startsWith('Still waiting'))).toEqual([
      `Still waiting for the run that is installing TLJH on ${ID} (1m00s, its install is under way)`,
      `Still waiting for the run that is installing TLJH on ${ID} (2m00s, its install is under way)`,
    ]);
  });

  test.each(['stopped', 'stopping', 'terminated', 'shutting-down'])(
    'the instance %s meanwhile: InstanceGoneError at once',
    async (state) => {
      seen = { state: 'running', lease: other('cmd-other') };
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
      look = (n) => {
        if (n === 3) seen = { ...seen, state };
      };
      const err = await lease.awaitOther(VERSION).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InstanceGoneError);
      expect(looks).toBe(3);
    },
  );

  test('throttling past the SDK retries is looked through', async () => {
    seen = { state: 'running', lease: other(RELEASED), installed: VERSION };
    ec2Mock
      .on(DescribeInstancesCommand)
      .rejectsOnce(awsError('RequestLimitExceeded'))
      .resolves({
        Reservations: [
          {
            Instances: [
              {
                InstanceId: ID,
                State: { Name: 'running' },
                Tags: [{ Key: TAG_INSTALLED_VERSION, Value: VERSION }],
              },
            ],
          },
        ],
      });
    expect(await lease.awaitOther(VERSION)).toBe('check');
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
  });

  test('runs that keep renewing the lease without ending: an ActionError at the deadline', async () => {
    seen = { state: 'running' };
    // Each look finds a fresh lease without a command: a chain of runs taking over and dying.
    look = () => {
      seen = { state: 'running', lease: other() };
    };
    const t0 = clock.now();
    const err = await lease.awaitOther(VERSION).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActionError);
    expect((err as Error).message).toContain(
      `Gave up waiting for the run that is installing TLJH on ${ID}`,
    );
    expect(clock.now() - t0).toBe(lease.awaitOtherTimeoutMs());
    expect(lease.awaitOtherTimeoutMs()).toBeGreaterThan(
      INSTALL_TIMEOUT_MS + LEASE_WITHOUT_COMMAND_MS,
    );
  });
});
