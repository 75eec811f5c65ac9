import {
  DescribeInstancesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { ActionError } from '../src/errors.ts';
import { parseInputs, type HubSpec } from '../src/inputs.ts';
import {
  describeChoice,
  launchChoices,
  launchFirstAvailable,
  settleLaunchRace,
  type LaunchChoice,
} from '../src/launch.ts';
import type { ObservedInstance } from '../src/model.ts';
import type { ReconcileContext } from '../src/context.ts';
import { TAG_HUB, TAG_MANAGED_BY } from '../src/tags.ts';
import { FakeClock, awsError } from './helpers/fakes.ts';
import { testClients, useMockedEc2 } from './helpers/mocked-clients.ts';
import { RecordingLog } from './helpers/recording-log.ts';

const { ec2Mock } = useMockedEc2();

const OURS = 'i-0000000000000000a';
const RIVAL = 'i-0000000000000000b';
const THIRD = 'i-0000000000000000c';
const SUBNET_A = 'subnet-0000000000000000a';
const SUBNET_B = 'subnet-0000000000000000b';
const TOKEN = `tljh-${'0123456789abcdef'.repeat(3)}`;

let log: RecordingLog;

function ctx(): ReconcileContext {
  return {
    ...testClients(),
    clock: new FakeClock(),
    pollMs: 10_000,
    runOwner: 'run-owner-1',
    log,
  };
}

beforeEach(() => {
  log = new RecordingLog();
});

function spec(inputs: Record<string, string> = {}): HubSpec {
  const all: Record<string, string> = { 'hub-name': 'workshop', 'admin-user': 'naomi', ...inputs };
  return parseInputs((name) => all[name] ?? '', { AWS_REGION: 'eu-west-1' });
}

describe('launchChoices', () => {
  test('one type, no subnet: the default subnet', () => {
    expect(launchChoices(spec())).toEqual([{ instanceType: 't3.small', subnetId: undefined }]);
  });

  test('each type in each subnet, in order, then the next type', () => {
    const choices = launchChoices(
      spec({ 'instance-type': 't3.small, t3a.small', 'subnet-id': `${SUBNET_A}, ${SUBNET_B}` }),
    );
    expect(choices).toEqual([
      { instanceType: 't3.small', subnetId: SUBNET_A },
      { instanceType: 't3.small', subnetId: SUBNET_B },
      { instanceType: 't3a.small', subnetId: SUBNET_A },
      { instanceType: 't3a.small', subnetId: SUBNET_B },
    ]);
    expect(choices.map(describeChoice)).toEqual([
      `t3.small in ${SUBNET_A}`,
      `t3.small in ${SUBNET_B}`,
      `t3a.small in ${SUBNET_A}`,
      `t3a.small in ${SUBNET_B}`,
    ]);
  });

  test('several types without a subnet', () => {
    expect(
      launchChoices(spec({ 'instance-type': 'm7i.large\nm6i.large' })).map(describeChoice),
    ).toEqual(['m7i.large', 'm6i.large']);
  });
});

describe('launchFirstAvailable', () => {
  const request = {
    hubName: 'workshop',
    imageId: 'ami-0123456789abcdef0',
    rootDeviceName: '/dev/sda1',
    rootVolumeSizeGiB: 30,
    securityGroupIds: ['sg-0123456789abcdef0'],
    extraTags: {},
    clientToken: TOKEN,
  };
  const choices: LaunchChoice[] = [
    { instanceType: 't3.small', subnetId: SUBNET_A },
    { instanceType: 't3a.small', subnetId: SUBNET_B },
  ];
  const runInputs = (): RunInstancesCommandInput[] =>
    ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);

  test('no capacity for the first choice: the second is launched with its own ClientToken', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity', 'We currently do not have capacity'))
      .resolves({ Instances: [{ InstanceId: OURS }] });
    const launched = await launchFirstAvailable(ctx(), request, choices);
    expect(launched).toEqual({ instanceId: OURS, choice: choices[1] });

    const [first, second] = runInputs();
    expect(runInputs()).toHaveLength(2);
    expect(first).toMatchObject({ InstanceType: 't3.small', ClientToken: TOKEN });
    expect(second).toMatchObject({ InstanceType: 't3a.small' });
    expect(first!.NetworkInterfaces?.[0]?.SubnetId).toBe(SUBNET_A);
    expect(second!.NetworkInterfaces?.[0]?.SubnetId).toBe(SUBNET_B);
    expect(second!.ClientToken).not.toBe(first!.ClientToken);
    expect(second!.ClientToken!.length).toBeLessThanOrEqual(64);

    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toContain(`t3.small in ${SUBNET_A}`);
    expect(log.warnings[0]).toContain('InsufficientInstanceCapacity');
    expect(log.warnings[0]).toContain(`Trying t3a.small in ${SUBNET_B}`);
  });

  test('each choice keeps its ClientToken: a retried run asks EC2 the same question', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejects(awsError('InsufficientInstanceCapacity'))
      .on(RunInstancesCommand, { InstanceType: 't3a.small' })
      .resolves({ Instances: [{ InstanceId: OURS }] });
    await launchFirstAvailable(ctx(), request, choices);
    const firstRun = runInputs().map((i) => i.ClientToken);
    ec2Mock.resetHistory();
    await launchFirstAvailable(ctx(), request, choices);
    expect(runInputs().map((i) => i.ClientToken)).toEqual(firstRun);
  });

  test('Unsupported (the type is not offered in that zone) also moves on', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('Unsupported', 'not supported in your requested Availability Zone'))
      .resolves({ Instances: [{ InstanceId: OURS }] });
    const launched = await launchFirstAvailable(ctx(), request, choices);
    expect(launched.choice).toEqual(choices[1]);
    expect(log.warnings[0]).toContain('Unsupported');
  });

  test('another error (UnauthorizedOperation) is thrown at once', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    await expect(launchFirstAvailable(ctx(), request, choices)).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
    expect(runInputs()).toHaveLength(1);
    expect(log.warnings).toEqual([]);
  });

  test('every choice without capacity: an ActionError listing each', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity', 'none here'))
      .rejectsOnce(awsError('Unsupported', 'not in this zone'));
    let caught: unknown;
    try {
      await launchFirstAvailable(ctx(), request, choices);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ActionError);
    const err = caught as ActionError;
    expect(err.message).toBe(
      [
        'No instance type and subnet had capacity:',
        `  - t3.small in ${SUBNET_A}: InsufficientInstanceCapacity: none here`,
        `  - t3a.small in ${SUBNET_B}: Unsupported: not in this zone`,
      ].join('\n'),
    );
    expect(err.hint).toContain("fallbacks to 'instance-type'");
    expect(runInputs()).toHaveLength(2);
    // The last warning has no next choice to name.
    expect(log.warnings[1]).not.toContain('Trying');
  });
});

describe('settleLaunchRace', () => {
  function tagged(id: string, state: string, launched: string): Instance {
    return {
      InstanceId: id,
      State: { Name: state as never },
      LaunchTime: new Date(launched),
      Tags: [
        { Key: TAG_HUB, Value: 'workshop' },
        { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
      ],
    };
  }
  /** The hub's instances as the tag-filtered DescribeInstances lists them (in any order). */
  const listed = (...instances: Instance[]) =>
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: instances }] });
  const ours = (): ObservedInstance => ({ instanceId: OURS, state: 'pending' });
  const terminated = () =>
    ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds);

  test('we are the oldest: nothing is terminated, we stand', async () => {
    listed(
      tagged(RIVAL, 'pending', '2026-01-01T00:00:05Z'),
      tagged(OURS, 'pending', '2026-01-01T00:00:00Z'),
    );
    const done: string[] = [];
    const result = await settleLaunchRace(ctx(), 'workshop', ours(), OURS, done);
    expect(result.instanceId).toBe(OURS);
    expect(terminated()).toEqual([]);
    expect(done).toEqual([]);
    expect(log.warnings).toEqual([]);
  });

  test('a same-second rival with a lower id wins', async () => {
    listed(
      tagged(OURS, 'pending', '2026-01-01T00:00:00Z'),
      tagged('i-00000000000000009', 'pending', '2026-01-01T00:00:00Z'),
    );
    const result = await settleLaunchRace(ctx(), 'workshop', ours(), OURS, []);
    expect(result.instanceId).toBe('i-00000000000000009');
    expect(terminated()).toEqual([[OURS]]);
  });

  test('an older rival: our own launch is terminated, with a warning, and the winner returned', async () => {
    listed(
      tagged(OURS, 'pending', '2026-01-01T00:00:05Z'),
      tagged(RIVAL, 'running', '2026-01-01T00:00:00Z'),
    );
    const done: string[] = [];
    const result = await settleLaunchRace(ctx(), 'workshop', ours(), OURS, done);
    expect(result).toMatchObject({ instanceId: RIVAL, state: 'running' });
    expect(terminated()).toEqual([[OURS]]);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toContain(`Another run launched ${RIVAL}`);
    expect(log.warnings[0]).toContain(`terminated ${OURS}`);
    expect(done).toEqual([`terminated ${OURS} (a concurrent run's ${RIVAL} was older)`]);
  });

  test('an adopted instance (not our launch) that lost is left alone', async () => {
    listed(
      tagged(THIRD, 'running', '2026-01-01T00:00:05Z'),
      tagged(RIVAL, 'running', '2026-01-01T00:00:00Z'),
    );
    const done: string[] = [];
    const result = await settleLaunchRace(
      ctx(),
      'workshop',
      { instanceId: THIRD, state: 'running' },
      OURS,
      done,
    );
    expect(result.instanceId).toBe(RIVAL);
    expect(terminated()).toEqual([]);
    expect(done).toEqual([]);
    expect(log.warnings).toEqual([]);
    expect(log.infos.join('\n')).toContain(`${RIVAL} is older than ${THIRD}`);
  });

  test('our launch not visible yet: it stands, even with other instances listed', async () => {
    listed(tagged(RIVAL, 'running', '2026-01-01T00:00:00Z'));
    const result = await settleLaunchRace(ctx(), 'workshop', ours(), OURS, []);
    expect(result.instanceId).toBe(OURS);
    expect(terminated()).toEqual([]);
  });

  test('currentGone: the oldest live instance is returned', async () => {
    listed(
      tagged(THIRD, 'running', '2026-01-01T00:00:09Z'),
      tagged(RIVAL, 'running', '2026-01-01T00:00:05Z'),
    );
    const result = await settleLaunchRace(
      ctx(),
      'workshop',
      { instanceId: THIRD, state: 'running' },
      OURS,
      [],
      true,
    );
    expect(result.instanceId).toBe(RIVAL);
  });

  test('currentGone with nothing live: the current instance is returned (the caller rethrows)', async () => {
    listed();
    const result = await settleLaunchRace(ctx(), 'workshop', ours(), OURS, [], true);
    expect(result.instanceId).toBe(OURS);
    expect(terminated()).toEqual([]);
  });

  test('shutting-down instances are ignored, even when older', async () => {
    listed(
      tagged(RIVAL, 'shutting-down', '2026-01-01T00:00:00Z'),
      tagged(OURS, 'pending', '2026-01-01T00:00:05Z'),
    );
    const result = await settleLaunchRace(ctx(), 'workshop', ours(), OURS, []);
    expect(result.instanceId).toBe(OURS);
    expect(terminated()).toEqual([]);
  });

  test('the lookup asks for this hub by its tags', async () => {
    listed();
    await settleLaunchRace(ctx(), 'workshop', ours(), OURS, []);
    const filters = ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters;
    expect(filters).toEqual(
      expect.arrayContaining([
        { Name: `tag:${TAG_HUB}`, Values: ['workshop'] },
        { Name: `tag:${TAG_MANAGED_BY}`, Values: ['tljh-ec2-action'] },
      ]),
    );
  });
});
