import { EC2Client } from '@aws-sdk/client-ec2';
import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { InstallLease } from '../src/install-lease.ts';
import {
  COMMAND_END_GRACE_MS,
  LEASE_WITHOUT_COMMAND_MS,
  RELEASED,
  formatLease,
} from '../src/lease.ts';
import type { ReconcileContext } from '../src/reconcile.ts';
import { FakeClock } from './helpers/fakes.ts';

const ssmMock = mockClient(SSMClient);
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };
const ID = 'i-0123456789abcdef0';
const INSTALL_TIMEOUT_MS = 30 * 60_000;

let clock: FakeClock;
let lease: InstallLease;
beforeEach(() => {
  ssmMock.reset();
  clock = new FakeClock();
  const ctx = {
    ec2: new EC2Client({ region: 'eu-west-1', credentials }),
    ssm: new SSMClient({ region: 'eu-west-1', credentials }),
    clock,
    pollMs: 5000,
    runOwner: 'me',
    log: { info: () => undefined },
  } as unknown as ReconcileContext;
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
