import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
  type DescribeInstancesCommandInput,
  type Instance,
  type Tag,
} from '@aws-sdk/client-ec2';
import {
  describeHubInstance,
  describeImage,
  describeInstanceStates,
  findHubInstances,
  instanceTypeArchitecture,
  launchInstance,
  resolveVpc,
  startInstance,
  tagInstance,
  terminateInstance,
} from '../src/aws/ec2.ts';
import { runInstancesInput, type LaunchRequest } from '../src/aws/launch-request.ts';
import { ActionError } from '../src/errors.ts';
import { TAG_HUB, TAG_INSTALLED_VERSION, TAG_MANAGED_BY } from '../src/tags.ts';
import { awsError, rejection } from './helpers/fakes.ts';
import { useMockedEc2 } from './helpers/mocked-clients.ts';

const { ec2Mock, ec2 } = useMockedEc2();

const hubTagsFor = (hub: string, extra: Tag[] = []): Tag[] => [
  { Key: 'Name', Value: `tljh-${hub}` },
  { Key: TAG_HUB, Value: hub },
  { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
  ...extra,
];

function instance(id: string, state: string, launched: string, extra: Partial<Instance> = {}) {
  return {
    InstanceId: id,
    State: { Name: state },
    LaunchTime: new Date(launched),
    Tags: hubTagsFor('workshop'),
    ...extra,
  } as Instance;
}

describe('findHubInstances', () => {
  test('sends the hub and managed-by tag filters and every live state, not terminated', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    expect(await findHubInstances(ec2, 'workshop')).toEqual([]);
    const calls = ec2Mock.commandCalls(DescribeInstancesCommand);
    expect(calls).toHaveLength(1);
    const filters = calls[0]!.args[0].input.Filters!;
    expect(filters).toEqual([
      { Name: `tag:${TAG_HUB}`, Values: ['workshop'] },
      { Name: `tag:${TAG_MANAGED_BY}`, Values: ['tljh-ec2-action'] },
      {
        Name: 'instance-state-name',
        Values: ['pending', 'running', 'stopping', 'stopped', 'shutting-down'],
      },
    ]);
    expect(filters.flatMap((f) => f.Values)).not.toContain('terminated');
  });

  test('follows NextToken across pages and sorts oldest first', async () => {
    const pages = [
      {
        Reservations: [
          {
            Instances: [
              instance('i-0000000000000000c', 'stopped', '2026-03-01T00:00:00Z', {
                Tags: hubTagsFor('workshop', [{ Key: TAG_INSTALLED_VERSION, Value: '2.0.0' }]),
              }),
            ],
          },
        ],
        NextToken: 'page-2',
      },
      {
        Reservations: [
          {
            Instances: [
              instance('i-0000000000000000b', 'running', '2026-01-01T00:00:00Z', {
                PublicIpAddress: '203.0.113.7',
              }),
              instance('i-0000000000000000a', 'pending', '2026-01-01T00:00:00Z'),
            ],
          },
        ],
        NextToken: 'page-3',
      },
      { Reservations: [] },
    ];
    // The paginator reuses one input object, so note each call's token as it is sent.
    const tokens: (string | undefined)[] = [];
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: { NextToken?: string }) => {
      tokens.push(input.NextToken);
      return pages[tokens.length - 1];
    });
    const found = await findHubInstances(ec2, 'workshop');
    expect(tokens).toEqual([undefined, 'page-2', 'page-3']);
    // Oldest first; the same launch time is ordered by id.
    expect(found).toMatchObject([
      {
        instanceId: 'i-0000000000000000a',
        state: 'pending',
        installedVersion: undefined,
        publicIp: undefined,
        launchTime: new Date('2026-01-01T00:00:00Z'),
      },
      {
        instanceId: 'i-0000000000000000b',
        state: 'running',
        installedVersion: undefined,
        publicIp: '203.0.113.7',
        launchTime: new Date('2026-01-01T00:00:00Z'),
      },
      {
        instanceId: 'i-0000000000000000c',
        state: 'stopped',
        installedVersion: '2.0.0',
        publicIp: undefined,
        launchTime: new Date('2026-03-01T00:00:00Z'),
      },
    ]);
  });

  test('an instance of another hub (a looser filter match) is not taken', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            instance('i-0000000000000000a', 'running', '2026-01-01T00:00:00Z', {
              Tags: hubTagsFor('workshop-2'),
            }),
            instance('i-0000000000000000b', 'running', '2026-01-02T00:00:00Z'),
          ],
        },
      ],
    });
    expect((await findHubInstances(ec2, 'workshop')).map((i) => i.instanceId)).toEqual([
      'i-0000000000000000b',
    ]);
  });

  test('an AWS error propagates', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    await expect(findHubInstances(ec2, 'workshop')).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
  });
});

describe('describeHubInstance', () => {
  test('reads one instance by id', async () => {
    ec2Mock.on(DescribeInstancesCommand, { InstanceIds: ['i-0000000000000000a'] }).resolves({
      Reservations: [
        {
          Instances: [
            instance('i-0000000000000000a', 'running', '2026-01-01T00:00:00Z', {
              PublicIpAddress: '198.51.100.4',
            }),
          ],
        },
      ],
    });
    expect(await describeHubInstance(ec2, 'i-0000000000000000a')).toMatchObject({
      instanceId: 'i-0000000000000000a',
      state: 'running',
      publicIp: '198.51.100.4',
    });
  });
  test('a Spot Instance: its market, its Spot request and why it stopped', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            instance('i-0000000000000000a', 'stopped', '2026-01-01T00:00:00Z', {
              InstanceLifecycle: 'spot',
              SpotInstanceRequestId: 'sir-0123abcd',
              StateReason: { Code: 'Server.SpotInstanceShutdown' },
            }),
            instance('i-0000000000000000b', 'running', '2026-01-01T00:00:00Z'),
          ],
        },
      ],
    });
    const [spot, onDemand] = await findHubInstances(ec2, 'workshop');
    expect(spot).toMatchObject({
      market: 'spot',
      spotRequestId: 'sir-0123abcd',
      stateReason: 'Server.SpotInstanceShutdown',
    });
    expect(onDemand).toMatchObject({ market: 'on-demand', spotRequestId: undefined });
  });

  test('not found -> ActionError', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const err = await rejection(describeHubInstance(ec2, 'i-0000000000000000a'));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain('i-0000000000000000a was not found');
  });
});

const LAUNCH: LaunchRequest = {
  hubName: 'workshop',
  imageId: 'ami-0123456789abcdef0',
  rootDeviceName: '/dev/sda1',
  instanceType: 't3.small',
  rootVolumeSizeGiB: 30,
  iamInstanceProfile: 'tljh-ssm',
  securityGroupIds: ['sg-0123456789abcdef0'],
  extraTags: { project: 'cs101' },
  clientToken: 'tljh-abc',
};

describe('runInstancesInput hardening', () => {
  const input = runInstancesInput(LAUNCH);

  test('one instance, the given image and type, idempotent by ClientToken', () => {
    expect(input).toMatchObject({
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      ClientToken: 'tljh-abc',
    });
  });

  test('IMDSv2 required, hop limit 1', () => {
    expect(input.MetadataOptions).toEqual({
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: 1,
    });
  });

  test('encrypted gp3 root volume on the image root device, deleted with the instance', () => {
    expect(input.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true },
      },
    ]);
  });

  test('hub tags and extra tags on both the instance and its volume', () => {
    const expected = hubTagsFor('workshop', [{ Key: 'project', Value: 'cs101' }]);
    expect(input.TagSpecifications).toEqual([
      { ResourceType: 'instance', Tags: expected },
      { ResourceType: 'volume', Tags: expected },
    ]);
  });

  test('no key pair, no user data: SSM replaces SSH', () => {
    expect(input.KeyName).toBeUndefined();
    expect(input.UserData).toBeUndefined();
  });

  test('without a subnet: security groups at the top level, default VPC', () => {
    expect(input.SecurityGroupIds).toEqual(['sg-0123456789abcdef0']);
    expect(input.NetworkInterfaces).toBeUndefined();
    expect(input.SubnetId).toBeUndefined();
  });

  test('with a subnet: one network interface asking for a public address', () => {
    const withSubnet = runInstancesInput({ ...LAUNCH, subnetId: 'subnet-0123456789abcdef0' });
    expect(withSubnet.NetworkInterfaces).toEqual([
      {
        DeviceIndex: 0,
        SubnetId: 'subnet-0123456789abcdef0',
        AssociatePublicIpAddress: true,
        Groups: ['sg-0123456789abcdef0'],
      },
    ]);
    // EC2 rejects SecurityGroupIds or SubnetId next to NetworkInterfaces.
    expect(withSubnet.SecurityGroupIds).toBeUndefined();
    expect(withSubnet.SubnetId).toBeUndefined();
  });

  test("no group given (an image builder): none named, so EC2 takes the VPC's default group", () => {
    const none = runInstancesInput({ ...LAUNCH, securityGroupIds: [] });
    expect(none.SecurityGroupIds).toBeUndefined();
    const inSubnet = runInstancesInput({
      ...LAUNCH,
      securityGroupIds: [],
      subnetId: 'subnet-0123456789abcdef0',
    });
    expect(inSubnet.NetworkInterfaces?.[0]).not.toHaveProperty('Groups');
  });

  test('instance profile by name or by ARN; none when not given', () => {
    expect(input.IamInstanceProfile).toEqual({ Name: 'tljh-ssm' });
    const arn = 'arn:aws:iam::123456789012:instance-profile/tljh-ssm';
    expect(runInstancesInput({ ...LAUNCH, iamInstanceProfile: arn }).IamInstanceProfile).toEqual({
      Arn: arn,
    });
    expect(
      runInstancesInput({ ...LAUNCH, iamInstanceProfile: undefined }).IamInstanceProfile,
    ).toBeUndefined();
  });

  test('On-Demand: no market options, no Spot request tags', () => {
    expect(input.InstanceMarketOptions).toBeUndefined();
    expect(input.TagSpecifications!.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);
  });

  test('Spot: a persistent request stopping (not terminating) on interruption, tagged like the hub', () => {
    const spot = runInstancesInput({ ...LAUNCH, market: 'spot' });
    // EC2 accepts 'stop' only with a persistent request; no maximum price (On-Demand caps it).
    expect(spot.InstanceMarketOptions).toEqual({
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' },
    });
    const expected = hubTagsFor('workshop', [
      { Key: 'project', Value: 'cs101' },
      { Key: 'tljh:market', Value: 'spot' },
    ]);
    expect(spot.TagSpecifications).toEqual([
      { ResourceType: 'instance', Tags: expected },
      { ResourceType: 'volume', Tags: expected },
      { ResourceType: 'spot-instances-request', Tags: expected },
    ]);
    // The rest of the hardening is the same.
    const without = (i: typeof input) => ({
      ...i,
      InstanceMarketOptions: undefined,
      TagSpecifications: undefined,
    });
    expect(without(spot)).toEqual(without(input));
  });

  test('launchInstance sends exactly that input and returns the id', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .resolves({ Instances: [{ InstanceId: 'i-0000000000000000f' }] });
    expect(await launchInstance(ec2, LAUNCH)).toBe('i-0000000000000000f');
    expect(ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input).toEqual(input);
  });

  test('launchInstance without an instance in the answer -> ActionError', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [] });
    await expect(launchInstance(ec2, LAUNCH)).rejects.toBeInstanceOf(ActionError);
  });
});

describe('instanceTypeArchitecture', () => {
  test.each([
    [['arm64'], 'arm64'],
    [['x86_64'], 'amd64'],
    [['i386', 'x86_64'], 'amd64'],
  ])('%j -> %s', async (archs, expected) => {
    ec2Mock
      .on(DescribeInstanceTypesCommand, { InstanceTypes: ['t3.small'] })
      .resolves({ InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: archs as never } }] });
    expect(await instanceTypeArchitecture(ec2, 't3.small')).toBe(expected);
  });

  test.each(['InvalidInstanceType', 'InvalidParameterValue'])(
    '%s -> ActionError naming the instance-type input',
    async (code) => {
      ec2Mock.on(DescribeInstanceTypesCommand).rejects(awsError(code));
      const err = await rejection(instanceTypeArchitecture(ec2, 't9.huge'));
      expect(err).toBeInstanceOf(ActionError);
      expect(err.message).toContain("Input 'instance-type'");
      expect(err.message).toContain("'t9.huge'");
      expect(err.hint).toContain('t4g.small (arm64)');
    },
  );

  test('an empty answer or an unsupported architecture -> ActionError', async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({ InstanceTypes: [] });
    await expect(instanceTypeArchitecture(ec2, 't3.small')).rejects.toBeInstanceOf(ActionError);
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: ['x86_64_mac'] } }],
    });
    await expect(instanceTypeArchitecture(ec2, 'mac1.metal')).rejects.toBeInstanceOf(ActionError);
  });

  test('other errors are not disguised as a bad input', async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).rejects(awsError('UnauthorizedOperation'));
    const err = await rejection(instanceTypeArchitecture(ec2, 't3.small'));
    expect(err).not.toBeInstanceOf(ActionError);
    expect(err.name).toBe('UnauthorizedOperation');
  });
});

describe('describeImage', () => {
  test('root device and architecture', async () => {
    ec2Mock.on(DescribeImagesCommand, { ImageIds: ['ami-0123456789abcdef0'] }).resolves({
      Images: [{ RootDeviceName: '/dev/xvda', Architecture: 'arm64' }],
    });
    expect(await describeImage(ec2, 'ami-0123456789abcdef0')).toEqual({
      rootDeviceName: '/dev/xvda',
      architecture: 'arm64',
    });
  });
  test.each(['InvalidAMIID.NotFound', 'InvalidAMIID.Malformed'])(
    '%s -> ActionError about image-id',
    async (code) => {
      ec2Mock.on(DescribeImagesCommand).rejects(awsError(code));
      const err = await rejection(describeImage(ec2, 'ami-0123456789abcdef0'));
      expect(err).toBeInstanceOf(ActionError);
      expect(err.hint).toContain("'image-id'");
    },
  );
});

describe('resolveVpc', () => {
  test('the default VPC when no subnet is given', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-default' }] });
    expect(await resolveVpc(ec2, undefined)).toBe('vpc-default');
    expect(ec2Mock.commandCalls(DescribeVpcsCommand)[0]!.args[0].input).toEqual({
      Filters: [{ Name: 'is-default', Values: ['true'] }],
    });
  });
  test('no default VPC -> ActionError pointing at subnet-id', async () => {
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [] });
    const err = await rejection(resolveVpc(ec2, undefined));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.hint).toContain("'subnet-id'");
  });
  test("the subnet's VPC", async () => {
    ec2Mock
      .on(DescribeSubnetsCommand, { SubnetIds: ['subnet-0123456789abcdef0'] })
      .resolves({ Subnets: [{ VpcId: 'vpc-custom' }] });
    expect(await resolveVpc(ec2, 'subnet-0123456789abcdef0')).toBe('vpc-custom');
    expect(ec2Mock.commandCalls(DescribeVpcsCommand)).toHaveLength(0);
  });
  test('an unknown subnet -> ActionError naming subnet-id', async () => {
    ec2Mock.on(DescribeSubnetsCommand).rejects(awsError('InvalidSubnetID.NotFound'));
    const err = await rejection(resolveVpc(ec2, 'subnet-0123456789abcdef0'));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain("Input 'subnet-id'");
  });
});

describe('instance actions', () => {
  test('start, terminate and tagInstance send one id', async () => {
    ec2Mock.onAnyCommand().resolves({});
    await startInstance(ec2, 'i-1');
    await terminateInstance(ec2, 'i-1');
    await tagInstance(ec2, 'i-1', { [TAG_INSTALLED_VERSION]: '2.0.0' });
    expect(ec2Mock.commandCalls(StartInstancesCommand)[0]!.args[0].input).toEqual({
      InstanceIds: ['i-1'],
    });
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)[0]!.args[0].input).toEqual({
      InstanceIds: ['i-1'],
    });
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({
      Resources: ['i-1'],
      Tags: [{ Key: TAG_INSTALLED_VERSION, Value: '2.0.0' }],
    });
  });
});

describe('describeInstanceStates', () => {
  test('by the instance-id filter, 100 ids a call; an id EC2 does not list is not-found', async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `i-${String(i).padStart(4, '0')}`);
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => ({
      Reservations: (input.Filters?.[0]?.Values ?? [])
        .filter((id) => id !== 'i-0007')
        .map((InstanceId) => ({ Instances: [{ InstanceId, State: { Name: 'stopping' } }] })),
    }));
    const states = await describeInstanceStates(ec2, ids);
    expect(states.get('i-0000')).toBe('stopping');
    expect(states.get('i-0149')).toBe('stopping');
    expect(states.get('i-0007')).toBe('not-found');
    const calls = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls.map((i) => i.Filters)).toEqual([
      [{ Name: 'instance-id', Values: ids.slice(0, 100) }],
      [{ Name: 'instance-id', Values: ids.slice(100) }],
    ]);
    expect(calls.every((i) => i.InstanceIds === undefined)).toBe(true);
  });
});

describe('what an observed instance carries for the spec diff', () => {
  test('its type, architecture, root volume, groups and every tag', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            instance('i-0000000000000000a', 'running', '2026-01-01T00:00:00Z', {
              InstanceType: 't4g.small',
              Architecture: 'arm64',
              RootDeviceName: '/dev/sda1',
              BlockDeviceMappings: [
                { DeviceName: '/dev/sdf', Ebs: { VolumeId: 'vol-data' } },
                { DeviceName: '/dev/sda1', Ebs: { VolumeId: 'vol-root' } },
              ],
              SecurityGroups: [{ GroupId: 'sg-own' }, { GroupId: 'sg-user' }],
              Tags: hubTagsFor('workshop', [{ Key: 'course', Value: 'cs101' }]),
            }),
          ],
        },
      ],
    });
    const [found] = await findHubInstances(ec2, 'workshop');
    expect(found).toMatchObject({
      instanceType: 't4g.small',
      architecture: 'arm64',
      rootVolumeId: 'vol-root',
      securityGroupIds: ['sg-own', 'sg-user'],
      tags: { course: 'cs101', 'tljh:hub': 'workshop' },
    });
  });
});
