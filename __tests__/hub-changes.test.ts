// The changes of a spec on a hub's instance (hub-changes.ts), against EC2 answers scripted call by
// call: growing the root volume while EBS may hold another modification, and a start EC2 has no
// capacity for after a type change.
import {
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  StartInstancesCommand,
  type VolumeModification,
} from '@aws-sdk/client-ec2';
import type { ReconcileContext } from '../src/context.ts';
import { ActionError } from '../src/errors.ts';
import { growRootVolume, startInstance } from '../src/hub-changes.ts';
import { FakeClock, awsError, rejection } from './helpers/fakes.ts';
import { testClients, useMockedEc2, useMockedSsm } from './helpers/mocked-clients.ts';
import { RecordingLog } from './helpers/recording-log.ts';

const { ec2Mock, ec2 } = useMockedEc2();
const { ssm } = useMockedSsm();

const VOLUME = 'vol-0000000000000000a';
const INSTANCE = 'i-0000000000000000b';
const POLL_MS = 5_000;

let clock: FakeClock;
let log: RecordingLog;
const ctx = (): ReconcileContext => ({
  ec2,
  ssm,
  route53: testClients().route53,
  clock,
  pollMs: POLL_MS,
  log,
  runKey: 'octo/hubs/1/1',
  runOwner: 'run-owner-1',
});

beforeEach(() => {
  clock = new FakeClock();
  log = new RecordingLog();
});

const modification = (
  ModificationState: VolumeModification['ModificationState'],
  TargetSize: number,
  startedMinutesAgo = 1,
): VolumeModification => ({
  VolumeId: VOLUME,
  ModificationState,
  TargetSize,
  StartTime: new Date(clock.now() - startedMinutesAgo * 60_000),
});

/** Each DescribeVolumesModifications answers the next row (the last one again once done). */
function modifications(rows: VolumeModification[][]): void {
  let n = 0;
  ec2Mock
    .on(DescribeVolumesModificationsCommand)
    .callsFake(() => ({ VolumesModifications: rows[Math.min(n++, rows.length - 1)] }));
}

const calls = (command: Parameters<typeof ec2Mock.commandCalls>[0]) =>
  ec2Mock.commandCalls(command).length;

describe('growRootVolume', () => {
  test.each(['modifying', 'optimizing'] as const)(
    'a modification to another size still %s: an ActionError, no ModifyVolume',
    async (state) => {
      modifications([[modification(state, 40)]]);
      ec2Mock.on(ModifyVolumeCommand).rejects(awsError('IncorrectModificationState'));
      const err = await rejection(growRootVolume(ctx(), VOLUME, 30));
      expect(err).toBeInstanceOf(ActionError);
      expect(err.message).toContain('still applying another change');
      expect(err.message).toContain(`to 40 GiB, ${state}`);
      expect(calls(ModifyVolumeCommand)).toBe(0);
      expect(clock.sleeps).toEqual([]);
    },
  );

  test('one to the same size under way: not sent again, waited for', async () => {
    modifications([
      [modification('modifying', 30)],
      [modification('modifying', 30)],
      [modification('optimizing', 30)],
    ]);
    ec2Mock.on(ModifyVolumeCommand).rejects(awsError('IncorrectModificationState'));
    await growRootVolume(ctx(), VOLUME, 30);
    expect(calls(ModifyVolumeCommand)).toBe(0);
    expect(calls(DescribeVolumesModificationsCommand)).toBe(3);
    expect(clock.sleeps).toEqual([POLL_MS]);
  });

  test("an older 'completed' one of another size keeps it waiting until this size's is optimizing", async () => {
    const older = modification('completed', 25, 600);
    modifications([
      [older], // before: nothing under way, ModifyVolume is sent
      [older], // EBS does not list the new one yet
      [older, modification('modifying', 30)],
      [older, modification('optimizing', 30)],
    ]);
    ec2Mock.on(ModifyVolumeCommand).resolves({});
    await growRootVolume(ctx(), VOLUME, 30);
    expect(ec2Mock.commandCalls(ModifyVolumeCommand).map((c) => c.args[0].input)).toEqual([
      { VolumeId: VOLUME, Size: 30 },
    ]);
    expect(calls(DescribeVolumesModificationsCommand)).toBe(4);
    expect(clock.sleeps).toEqual([POLL_MS, POLL_MS]);
  });

  test('none listed: the volume size DescribeVolumes answers decides', async () => {
    modifications([[]]);
    ec2Mock.on(ModifyVolumeCommand).resolves({});
    ec2Mock
      .on(DescribeVolumesCommand)
      .resolvesOnce({ Volumes: [{ VolumeId: VOLUME, Size: 20 }] })
      .resolves({ Volumes: [{ VolumeId: VOLUME, Size: 30 }] });
    await growRootVolume(ctx(), VOLUME, 30);
    expect(calls(ModifyVolumeCommand)).toBe(1);
    expect(calls(DescribeVolumesCommand)).toBe(2);
    expect(clock.sleeps).toEqual([POLL_MS]);
  });

  test('a failed modification of this size: an ActionError', async () => {
    modifications([[], [modification('failed', 30)]]);
    ec2Mock.on(ModifyVolumeCommand).resolves({});
    const err = await rejection(growRootVolume(ctx(), VOLUME, 30));
    expect(err.message).toContain('modification failed');
  });
});

describe('startInstance', () => {
  const spec = { hubName: 'workshop', instanceType: 't3.medium' };

  beforeEach(() => {
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: INSTANCE, State: { Name: 'running' } }] }],
    });
  });

  test('after a type change, InsufficientInstanceCapacity: back to the old type, started, an ActionError', async () => {
    ec2Mock
      .on(StartInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity', 'No capacity in eu-west-1a.'))
      .resolves({});
    const err = await rejection(startInstance(ctx(), spec, INSTANCE, 't3.small'));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain("EC2 could not start hub 'workshop' as t3.medium");
    expect(err.message).toContain('No capacity in eu-west-1a.');
    expect(err.message).toContain('It was started again as t3.small.');
    expect(
      ec2Mock.commandCalls(ModifyInstanceAttributeCommand).map((c) => c.args[0].input),
    ).toEqual([{ InstanceId: INSTANCE, InstanceType: { Value: 't3.small' } }]);
    expect(calls(StartInstancesCommand)).toBe(2);
    expect(log.warnings.join('\n')).toContain('going back to t3.small');
  });

  test('without a type change in this run: the error thrown as is', async () => {
    const ice = awsError('InsufficientInstanceCapacity');
    ec2Mock.on(StartInstancesCommand).rejects(ice);
    await expect(startInstance(ctx(), spec, INSTANCE)).rejects.toBe(ice);
    expect(calls(ModifyInstanceAttributeCommand)).toBe(0);
    expect(calls(StartInstancesCommand)).toBe(1);
  });

  test('another error (UnauthorizedOperation) after a type change: not reverted', async () => {
    const denied = awsError('UnauthorizedOperation');
    ec2Mock.on(StartInstancesCommand).rejects(denied);
    await expect(startInstance(ctx(), spec, INSTANCE, 't3.small')).rejects.toBe(denied);
    expect(calls(ModifyInstanceAttributeCommand)).toBe(0);
    expect(calls(StartInstancesCommand)).toBe(1);
  });
});
