// The shared fake AWS (helpers/fake-aws.ts) answers like EC2 for what the tests rely on (if it
// drifted from AWS, every test built on it would prove less), and records every call. SSM's
// half: fake-ssm.test.ts.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  DescribeVpcsCommand,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstances,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { ubuntuAmiParameter } from '../src/aws/ssm.ts';
import { CANONICAL_AMIS, FakeAws } from './helpers/fake-aws.ts';
import { FakeClock, awsError, errorName } from './helpers/fakes.ts';

let clock: FakeClock;
let aws: FakeAws;
beforeEach(() => {
  clock = new FakeClock();
  aws = new FakeAws({ clock });
});

const ec2 = () => aws.clients.ec2;
const describe1 = async (id: string) =>
  (await ec2().send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!
    .Instances![0]!;
const ssm = () => aws.clients.ssm;
const stateOf = async (id: string) =>
  (await ec2().send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!
    .Instances![0]!.State!.Name;
const launch = (extra: Partial<RunInstancesCommandInput> = {}) =>
  ec2().send(
    new RunInstancesCommand({
      ImageId: CANONICAL_AMIS['24.04/amd64'],
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'tljh:hub', Value: 'pr-1' }] }],
      ...extra,
    }),
  );

describe('DescribeInstances', () => {
  test('by InstanceIds: one unknown id fails the whole call with InvalidInstanceID.NotFound', async () => {
    aws.ec2.addInstance('i-1', 'running');
    const call = new DescribeInstancesCommand({ InstanceIds: ['i-1', 'i-2'] });
    expect(await errorName(ec2().send(call))).toBe('InvalidInstanceID.NotFound');
  });

  test('by filters: an unknown instance-id is no error, just not listed', async () => {
    aws.ec2.addInstance('i-1', 'running');
    const out = await ec2().send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ['i-1', 'i-2'] }] }),
    );
    expect(out.Reservations!.map((r) => r.Instances![0]!.InstanceId)).toEqual(['i-1']);
  });

  test('tag filters take EC2 wildcards; state filters combine with them', async () => {
    const tags = (hub: string) => [{ Key: 'tljh:hub', Value: hub }];
    aws.ec2.addInstance('i-1', 'running', { Tags: tags('pr-1') });
    aws.ec2.addInstance('i-2', 'terminated', { Tags: tags('pr-2') });
    aws.ec2.addInstance('i-3', 'running', { Tags: tags('main') });
    const find = async (filters: { Name: string; Values: string[] }[]) =>
      (await ec2().send(new DescribeInstancesCommand({ Filters: filters }))).Reservations!.map(
        (r) => r.Instances![0]!.InstanceId,
      );
    expect(await find([{ Name: 'tag:tljh:hub', Values: ['pr-*'] }])).toEqual(['i-1', 'i-2']);
    expect(
      await find([
        { Name: 'tag:tljh:hub', Values: ['pr-?'] },
        { Name: 'instance-state-name', Values: ['running'] },
      ]),
    ).toEqual(['i-1']);
    expect(await errorName(find([{ Name: 'no-such-filter', Values: ['x'] }]))).toBe(
      'InvalidParameterValue',
    );
  });

  test('pages with MaxResults and NextToken, as the SDK paginator reads them', async () => {
    for (let i = 0; i < 7; i++) aws.ec2.addInstance(`i-${i}`, 'running');
    const pages = [];
    for await (const page of paginateDescribeInstances({ client: ec2(), pageSize: 5 }, {})) {
      pages.push(page.Reservations!.length);
    }
    expect(pages).toEqual([5, 2]);
  });

  test('a launch hidden from tag filters (eventual consistency) is still found by id', async () => {
    const { Instances } = await launch();
    const id = Instances![0]!.InstanceId!;
    aws.ec2.setListed(id, false);
    const byTag = await ec2().send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:tljh:hub', Values: ['pr-1'] }] }),
    );
    expect(byTag.Reservations).toEqual([]);
    expect(await stateOf(id)).toBe('running');
  });
});

describe('RunInstances', () => {
  test('the same ClientToken gives the same instance, once', async () => {
    const a = await launch({ ClientToken: 'token-1' });
    const b = await launch({ ClientToken: 'token-1' });
    expect(b.Instances![0]!.InstanceId).toBe(a.Instances![0]!.InstanceId);
    expect(aws.ec2.instances.size).toBe(1);
    await launch({ ClientToken: 'token-2' });
    expect(aws.ec2.instances.size).toBe(2);
  });

  test('the same ClientToken with other parameters is IdempotentParameterMismatch', async () => {
    await launch({ ClientToken: 'token-1' });
    expect(await errorName(launch({ ClientToken: 'token-1', InstanceType: 't3a.small' }))).toBe(
      'IdempotentParameterMismatch',
    );
  });

  test('a launch is pending, then running with a public IP and its tags', async () => {
    aws.ec2.publicIpFor = () => '127.0.0.5';
    const out = await launch();
    expect(out.Instances![0]!.State!.Name).toBe('pending');
    const id = out.Instances![0]!.InstanceId!;
    expect(await stateOf(id)).toBe('running');
    expect(aws.ec2.instance(id)).toMatchObject({
      PublicIpAddress: '127.0.0.5',
      Tags: [{ Key: 'tljh:hub', Value: 'pr-1' }],
      InstanceType: 't3.small',
    });
  });

  test('an unknown security group is refused', async () => {
    expect(await errorName(launch({ SecurityGroupIds: ['sg-404'] }))).toBe('InvalidGroup.NotFound');
  });
});

describe('state transitions', () => {
  test('settle after N describes: the Nth look still sees the transition', async () => {
    aws.ec2.settle = { describes: 2 };
    aws.ec2.addInstance('i-1', 'running');
    await ec2().send(new StopInstancesCommand({ InstanceIds: ['i-1'] }));
    expect([await stateOf('i-1'), await stateOf('i-1'), await stateOf('i-1')]).toEqual([
      'stopping',
      'stopping',
      'stopped',
    ]);
  });

  test('settle by clock time', async () => {
    aws.ec2.settle = { ms: 30_000 };
    aws.ec2.addInstance('i-1', 'running');
    await ec2().send(new TerminateInstancesCommand({ InstanceIds: ['i-1'] }));
    expect(await stateOf('i-1')).toBe('shutting-down');
    await clock.sleep(30_000);
    expect(await stateOf('i-1')).toBe('terminated');
  });

  test("settle 'manual': only step() completes a transition", async () => {
    aws.ec2.settle = 'manual';
    aws.ec2.addInstance('i-1', 'stopped');
    await ec2().send(new StartInstancesCommand({ InstanceIds: ['i-1'] }));
    expect(await stateOf('i-1')).toBe('pending');
    expect(await stateOf('i-1')).toBe('pending');
    aws.ec2.step();
    expect(await stateOf('i-1')).toBe('running');
  });

  test('a stop releases the public IP; a start gets a new one', async () => {
    let n = 0;
    aws.ec2.publicIpFor = () => `127.0.0.${++n}`;
    aws.ec2.addInstance('i-1', 'running', { PublicIpAddress: '127.0.0.99' });
    await ec2().send(new StopInstancesCommand({ InstanceIds: ['i-1'] }));
    await stateOf('i-1');
    expect(aws.ec2.instance('i-1').PublicIpAddress).toBeUndefined();
    await ec2().send(new StartInstancesCommand({ InstanceIds: ['i-1'] }));
    await stateOf('i-1');
    expect(aws.ec2.instance('i-1').PublicIpAddress).toBe('127.0.0.1');
  });

  test('IncorrectInstanceState: start while stopping, stop when terminated', async () => {
    aws.ec2.addInstance('i-1', 'stopping');
    aws.ec2.addInstance('i-2', 'terminated');
    expect(await errorName(ec2().send(new StartInstancesCommand({ InstanceIds: ['i-1'] })))).toBe(
      'IncorrectInstanceState',
    );
    expect(await errorName(ec2().send(new StopInstancesCommand({ InstanceIds: ['i-2'] })))).toBe(
      'IncorrectInstanceState',
    );
  });

  test('the answer names the previous and current state; a stopped instance stays stopped', async () => {
    aws.ec2.addInstance('i-1', 'running');
    aws.ec2.addInstance('i-2', 'stopped');
    const out = await ec2().send(new StopInstancesCommand({ InstanceIds: ['i-1', 'i-2'] }));
    expect(out.StoppingInstances).toEqual([
      { InstanceId: 'i-1', PreviousState: { Name: 'running' }, CurrentState: { Name: 'stopping' } },
      { InstanceId: 'i-2', PreviousState: { Name: 'stopped' }, CurrentState: { Name: 'stopped' } },
    ]);
  });

  test('a terminated instance is listed until EC2 forgets it', async () => {
    aws.ec2.addInstance('i-1', 'terminated');
    expect(await stateOf('i-1')).toBe('terminated');
    aws.ec2.forget('i-1');
    expect(await errorName(stateOf('i-1'))).toBe('InvalidInstanceID.NotFound');
  });
});

describe('tags and security groups', () => {
  test('CreateTags replaces a key and keeps the others; an unknown resource fails', async () => {
    aws.ec2.addInstance('i-1', 'running', { Tags: [{ Key: 'a', Value: '1' }] });
    await ec2().send(
      new CreateTagsCommand({
        Resources: ['i-1'],
        Tags: [
          { Key: 'a', Value: '2' },
          { Key: 'b', Value: '3' },
        ],
      }),
    );
    expect(aws.ec2.instance('i-1').Tags).toEqual([
      { Key: 'a', Value: '2' },
      { Key: 'b', Value: '3' },
    ]);
    const call = new CreateTagsCommand({ Resources: ['i-404'], Tags: [] });
    expect(await errorName(ec2().send(call))).toBe('InvalidInstanceID.NotFound');
  });

  test('groups: one name per VPC, a rule once, no delete while an instance uses it', async () => {
    const create = () =>
      ec2().send(new CreateSecurityGroupCommand({ GroupName: 'tljh-x', Description: 'x' }));
    const { GroupId } = await create();
    expect(GroupId).toBe('sg-0000000000000000e');
    expect(await errorName(create())).toBe('InvalidGroup.Duplicate');
    const rule = new AuthorizeSecurityGroupIngressCommand({
      GroupId,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      ],
    });
    await ec2().send(rule);
    expect(await errorName(ec2().send(rule))).toBe('InvalidPermission.Duplicate');

    const { Instances } = await launch({ SecurityGroupIds: [GroupId!] });
    const id = Instances![0]!.InstanceId!;
    const del = new DeleteSecurityGroupCommand({ GroupId });
    expect(await errorName(ec2().send(del))).toBe('DependencyViolation');
    await ec2().send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(await errorName(ec2().send(del))).toBe('DependencyViolation'); // shutting-down
    await stateOf(id);
    expect(await errorName(ec2().send(del))).toBe('');
    expect(await errorName(ec2().send(del))).toBe('InvalidGroup.NotFound');
  });
});

test('instance types, images, VPCs and subnets answer with their NotFound errors', async () => {
  const types = await ec2().send(
    new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.small', 't4g.small'] }),
  );
  expect(types.InstanceTypes!.map((t) => t.ProcessorInfo!.SupportedArchitectures)).toEqual([
    ['x86_64'],
    ['arm64'],
  ]);
  const bad = new DescribeInstanceTypesCommand({ InstanceTypes: ['t9.huge' as never] });
  expect(await errorName(ec2().send(bad))).toBe('InvalidInstanceType');
  const image = await ec2().send(
    new DescribeImagesCommand({ ImageIds: [CANONICAL_AMIS['24.04/arm64']] }),
  );
  expect(image.Images![0]!.Architecture).toBe('arm64');
  expect(await errorName(ec2().send(new DescribeImagesCommand({ ImageIds: ['ami-404'] })))).toBe(
    'InvalidAMIID.NotFound',
  );
  const vpcs = await ec2().send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }),
  );
  expect(vpcs.Vpcs).toEqual([{ VpcId: 'vpc-default', IsDefault: true }]);
  expect(
    await errorName(ec2().send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-404'] }))),
  ).toBe('InvalidSubnetID.NotFound');
});

describe('the call log and layered behaviour', () => {
  test('every call is recorded in order with its input; mutating() keeps the changes', async () => {
    aws.ec2.addInstance('i-1', 'running');
    await stateOf('i-1');
    await ec2().send(new StopInstancesCommand({ InstanceIds: ['i-1'] }));
    await ssm().send(new GetParameterCommand({ Name: ubuntuAmiParameter('22.04', 'arm64') }));
    expect(aws.names()).toEqual([
      'DescribeInstancesCommand',
      'StopInstancesCommand',
      'GetParameterCommand',
    ]);
    expect(aws.mutating()).toEqual(['StopInstancesCommand']);
    expect(aws.inputs(StopInstancesCommand)).toEqual([{ InstanceIds: ['i-1'] }]);
    expect(aws.calls.map((c) => c.service)).toEqual(['ec2', 'ec2', 'ssm']);
  });

  test('fail() fails a number of calls, then the model answers again; on() wraps it', async () => {
    aws.ec2.addInstance('i-1', 'running');
    aws.fail(DescribeInstancesCommand, awsError('RequestLimitExceeded'), 1);
    expect(await errorName(stateOf('i-1'))).toBe('RequestLimitExceeded');
    expect(await stateOf('i-1')).toBe('running');
    const seen: string[] = [];
    aws.on(DescribeInstancesCommand, async (input, next) => {
      seen.push(input.InstanceIds!.join());
      return next();
    });
    expect(await stateOf('i-1')).toBe('running');
    expect(seen).toEqual(['i-1']);
    expect(aws.names()).toHaveLength(3); // failed calls are recorded too
  });

  test('meanwhile runs before each DescribeInstances, beforeCall before every call', async () => {
    aws.ec2.addInstance('i-1', 'running');
    aws.ec2.meanwhile = () => aws.ec2.setState('i-1', 'stopped');
    const before: string[] = [];
    aws.beforeCall = (call) => before.push(call.name);
    expect(await stateOf('i-1')).toBe('stopped');
    expect(before).toEqual(['DescribeInstancesCommand']);
  });
});

describe('instance type, architecture and root volume', () => {
  test("a launch has its type, its image's architecture and root device, and its root volume", async () => {
    const group = aws.ec2.addSecurityGroup({ GroupId: 'sg-1' }).GroupId!;
    const { Instances } = await launch({
      ImageId: CANONICAL_AMIS['24.04/arm64'],
      InstanceType: 't4g.small',
      SecurityGroupIds: [group],
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/sda1',
          Ebs: { VolumeSize: 20, VolumeType: 'gp3', DeleteOnTermination: true },
        },
      ],
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'tljh:hub', Value: 'pr-1' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'tljh:hub', Value: 'pr-1' }] },
      ],
    });
    const i = await describe1(Instances![0]!.InstanceId!);
    expect(i).toMatchObject({
      InstanceType: 't4g.small',
      Architecture: 'arm64',
      RootDeviceName: '/dev/sda1',
      SecurityGroups: [{ GroupId: 'sg-1' }],
    });
    const volumeId = i.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    expect(i.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { VolumeId: volumeId, Status: 'attached', DeleteOnTermination: true },
      },
    ]);
    const { Volumes } = await ec2().send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    expect(Volumes![0]).toMatchObject({
      Size: 20,
      VolumeType: 'gp3',
      Tags: [{ Key: 'tljh:hub', Value: 'pr-1' }],
      Attachments: [{ InstanceId: i.InstanceId, Device: '/dev/sda1', State: 'attached' }],
    });
  });

  test("a launch that asks no size gets the image's 8 GiB; terminated, its volume is gone", async () => {
    const { Instances } = await launch();
    const id = Instances![0]!.InstanceId!;
    const volumeId = aws.ec2.rootVolume(id).VolumeId!;
    expect(aws.ec2.rootVolume(id).Size).toBe(8);
    expect((await describe1(id)).Architecture).toBe('x86_64');
    await ec2().send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    await stateOf(id);
    expect(await errorName(ec2().send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })))).toBe(
      'InvalidVolume.NotFound',
    );
  });

  test('an instance a test adds is t3.small x86_64 on /dev/sda1, with a root volume once given', async () => {
    aws.ec2.addInstance('i-1', 'running');
    expect(await describe1('i-1')).toMatchObject({
      InstanceType: 't3.small',
      Architecture: 'x86_64',
      RootDeviceName: '/dev/sda1',
    });
    expect((await describe1('i-1')).BlockDeviceMappings).toBeUndefined();
    const volume = aws.ec2.addRootVolume('i-1');
    expect((await describe1('i-1')).BlockDeviceMappings![0]!.Ebs!.VolumeId).toBe(volume.VolumeId);
    expect(volume.Size).toBe(20);
  });
});

describe('ModifyInstanceAttribute', () => {
  const setType = (id: string, type: string) =>
    ec2().send(
      new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: type } }),
    );

  test.each(['pending', 'running', 'stopping'] as const)(
    'on a %s instance: IncorrectInstanceState, the type unchanged',
    async (state) => {
      aws.ec2.settle = 'manual';
      aws.ec2.addInstance('i-1', state);
      const err = await setType('i-1', 't3.medium').catch((e: Error) => e);
      expect(err).toMatchObject({
        name: 'IncorrectInstanceState',
        message: "The instance 'i-1' is not in the 'stopped' state.",
      });
      expect((await describe1('i-1')).InstanceType).toBe('t3.small');
    },
  );

  test('on a stopped instance: DescribeInstances shows the new type', async () => {
    aws.ec2.addInstance('i-1', 'stopped');
    await setType('i-1', 't3.medium');
    expect((await describe1('i-1')).InstanceType).toBe('t3.medium');
  });

  test('a type not offered, of another architecture, or an unknown instance is refused', async () => {
    aws.ec2.addInstance('i-1', 'stopped');
    expect(await errorName(setType('i-1', 't9.huge'))).toBe('InvalidInstanceAttributeValue');
    expect(await errorName(setType('i-1', 't4g.small'))).toBe('InvalidInstanceAttributeValue');
    expect(await errorName(setType('i-404', 't3.medium'))).toBe('InvalidInstanceID.NotFound');
    expect((await describe1('i-1')).InstanceType).toBe('t3.small');
  });
});

describe('EBS volumes', () => {
  const grow = (VolumeId: string, Size: number) =>
    ec2().send(new ModifyVolumeCommand({ VolumeId, Size }));
  const latest = async (VolumeId: string) =>
    (await ec2().send(new DescribeVolumesModificationsCommand({ VolumeIds: [VolumeId] })))
      .VolumesModifications;
  const sizeOf = async (VolumeId: string) =>
    (await ec2().send(new DescribeVolumesCommand({ VolumeIds: [VolumeId] }))).Volumes![0]!.Size;
  let vol: string;
  beforeEach(() => {
    aws.ec2.addInstance('i-1', 'running');
    vol = aws.ec2.addRootVolume('i-1', 20).VolumeId!;
  });

  test('DescribeVolumes: the size; an unknown volume fails the whole call', async () => {
    expect(await sizeOf(vol)).toBe(20);
    const call = new DescribeVolumesCommand({ VolumeIds: [vol, 'vol-404'] });
    expect(await errorName(ec2().send(call))).toBe('InvalidVolume.NotFound');
    const byInstance = await ec2().send(
      new DescribeVolumesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: ['i-1'] }],
      }),
    );
    expect(byInstance.Volumes!.map((v) => v.VolumeId)).toEqual([vol]);
  });

  test('ModifyVolume never shrinks a volume (InvalidParameterValue), nor an unknown one', async () => {
    const err = await grow(vol, 10).catch((e: Error) => e);
    expect(err).toMatchObject({
      name: 'InvalidParameterValue',
      message: 'New size cannot be smaller than existing size',
    });
    expect(await errorName(grow('vol-404', 30))).toBe('InvalidVolume.NotFound');
    expect(await latest(vol)).toEqual([]); // never modified: none listed
    expect(await sizeOf(vol)).toBe(20);
  });

  test('a modification: modifying, then optimizing (the new size) and completed, one per describe', async () => {
    const out = await grow(vol, 30);
    expect(out.VolumeModification).toMatchObject({
      ModificationState: 'modifying',
      OriginalSize: 20,
      TargetSize: 30,
    });
    expect(aws.ec2.volume(vol).Size).toBe(20);
    // Another one while this one is under way is refused.
    expect(await errorName(grow(vol, 40))).toBe('IncorrectModificationState');
    expect(await latest(vol)).toMatchObject([{ ModificationState: 'optimizing', TargetSize: 30 }]);
    expect(await sizeOf(vol)).toBe(30); // a describe too: completed meanwhile
    expect(await latest(vol)).toMatchObject([{ ModificationState: 'completed' }]);
    await grow(vol, 40);
    expect(await latest(vol)).toMatchObject([{ OriginalSize: 30, TargetSize: 40 }]); // the latest only
  });

  test('by clock time, or only by stepVolumes()', async () => {
    aws.ec2.volumeSettle = { ms: 5_000 };
    await grow(vol, 30);
    expect(await latest(vol)).toMatchObject([{ ModificationState: 'modifying' }]);
    await clock.sleep(5_000);
    expect(await latest(vol)).toMatchObject([{ ModificationState: 'optimizing' }]);
    aws.ec2.volumeSettle = 'manual';
    await clock.sleep(60_000);
    expect(await latest(vol)).toMatchObject([{ ModificationState: 'optimizing' }]);
    aws.ec2.stepVolumes();
    expect(await latest(vol)).toMatchObject([{ ModificationState: 'completed', Progress: 100 }]);
  });
});

describe('rules, revoked exactly', () => {
  const perm = (port: number, v4: string[], v6: string[] = []) => ({
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    IpRanges: v4.map((CidrIp) => ({ CidrIp, Description: 'JupyterHub' })),
    Ipv6Ranges: v6.map((CidrIpv6) => ({ CidrIpv6, Description: 'JupyterHub' })),
  });
  const authorize = (GroupId: string, ...IpPermissions: ReturnType<typeof perm>[]) =>
    ec2().send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions }));
  const revoke = (GroupId: string, ...IpPermissions: ReturnType<typeof perm>[]) =>
    ec2().send(new RevokeSecurityGroupIngressCommand({ GroupId, IpPermissions }));
  const rules = (GroupId: string) => aws.ec2.groups.get(GroupId)!.IpPermissions;

  beforeEach(() => {
    aws.ec2.vpcs.push({ VpcId: 'vpc-own', IsDefault: false });
    aws.ec2.addSecurityGroup({ GroupId: 'sg-default' });
    aws.ec2.addSecurityGroup({ GroupId: 'sg-own', VpcId: 'vpc-own' });
  });

  test('rules are kept one per block and listed per port; a revoke needs no description', async () => {
    await authorize('sg-own', perm(80, ['0.0.0.0/0'], ['::/0']));
    await authorize('sg-own', perm(80, ['10.0.0.0/8']));
    expect(rules('sg-own')).toEqual([perm(80, ['0.0.0.0/0', '10.0.0.0/8'], ['::/0'])]);
    await ec2().send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: 'sg-own',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    );
    expect(rules('sg-own')).toEqual([perm(80, ['10.0.0.0/8'], ['::/0'])]);
  });

  test('authorize: one block already there (or named twice) fails the request, nothing added', async () => {
    await authorize('sg-own', perm(80, ['0.0.0.0/0']));
    expect(await errorName(authorize('sg-own', perm(80, ['10.0.0.0/8', '0.0.0.0/0'])))).toBe(
      'InvalidPermission.Duplicate',
    );
    expect(await errorName(authorize('sg-own', perm(443, ['1.2.3.0/24', '1.2.3.0/24'])))).toBe(
      'InvalidPermission.Duplicate',
    );
    expect(rules('sg-own')).toEqual([perm(80, ['0.0.0.0/0'])]);
    await authorize('sg-own', perm(443, ['0.0.0.0/0'])); // another port: another rule
  });

  test('revoke of a rule not there: NotFound outside the default VPC, nothing revoked', async () => {
    await authorize('sg-own', perm(80, ['0.0.0.0/0']));
    const err = await revoke('sg-own', perm(80, ['0.0.0.0/0', '10.0.0.0/8'])).catch(
      (e: Error) => e,
    );
    expect(err).toMatchObject({
      name: 'InvalidPermission.NotFound',
      message: 'The specified rule does not exist in this security group.',
    });
    expect(rules('sg-own')).toEqual([perm(80, ['0.0.0.0/0'])]);
    expect(await errorName(revoke('sg-404', perm(80, ['0.0.0.0/0'])))).toBe(
      'InvalidGroup.NotFound',
    );
  });

  test('revoke of a rule not there in the default VPC: no error, it comes back unknown', async () => {
    await authorize('sg-default', perm(80, ['0.0.0.0/0']));
    const out = await revoke('sg-default', perm(80, ['0.0.0.0/0', '10.0.0.0/8']));
    expect(out.UnknownIpPermissions).toEqual([perm(80, ['10.0.0.0/8'])]);
    expect(rules('sg-default')).toEqual([]);
  });

  test('DescribeSecurityGroups: GroupIds narrowed by tag filters; an unknown id fails', async () => {
    aws.ec2.addSecurityGroup({ GroupId: 'sg-hub', Tags: [{ Key: 'tljh:hub', Value: 'pr-1' }] });
    const find = async (GroupIds: string[]) =>
      (
        await ec2().send(
          new DescribeSecurityGroupsCommand({
            GroupIds,
            Filters: [{ Name: 'tag:tljh:hub', Values: ['pr-1'] }],
          }),
        )
      ).SecurityGroups!.map((g) => g.GroupId);
    expect(await find(['sg-own', 'sg-hub'])).toEqual(['sg-hub']);
    expect(await find(['sg-own'])).toEqual([]);
    expect(await errorName(find(['sg-own', 'sg-404']))).toBe('InvalidGroup.NotFound');
  });
});

describe('tags on instances and volumes', () => {
  const tagsOf = (id: string) =>
    (id.startsWith('vol-') ? aws.ec2.volume(id) : aws.ec2.instance(id)).Tags;
  let vol: string;
  beforeEach(() => {
    aws.ec2.addInstance('i-1', 'running', { Tags: [{ Key: 'a', Value: '1' }] });
    vol = aws.ec2.addRootVolume('i-1', 20, [{ Key: 'a', Value: '1' }]).VolumeId!;
  });

  test('CreateTags tags volumes too; an unknown volume fails the call', async () => {
    await ec2().send(
      new CreateTagsCommand({ Resources: ['i-1', vol], Tags: [{ Key: 'b', Value: '2' }] }),
    );
    expect(tagsOf(vol)).toEqual([
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ]);
    expect(tagsOf('i-1')).toEqual(tagsOf(vol));
    const call = new CreateTagsCommand({ Resources: ['vol-404'], Tags: [] });
    expect(await errorName(ec2().send(call))).toBe('InvalidVolume.NotFound');
  });

  test('DeleteTags: by key, or by key and value when it matches; a missing key is no error', async () => {
    const del = (Tags: { Key: string; Value?: string }[]) =>
      ec2().send(new DeleteTagsCommand({ Resources: ['i-1', vol], Tags }));
    await del([{ Key: 'a', Value: '2' }]);
    expect(tagsOf('i-1')).toEqual([{ Key: 'a', Value: '1' }]);
    await del([{ Key: 'a', Value: '1' }, { Key: 'missing' }]);
    expect(tagsOf('i-1')).toEqual([]);
    expect(tagsOf(vol)).toEqual([]);
    expect(
      await errorName(ec2().send(new DeleteTagsCommand({ Resources: ['i-404'], Tags: [] }))),
    ).toBe('InvalidInstanceID.NotFound');
  });

  test('DeleteTags without Tags deletes every tag of the resources', async () => {
    await ec2().send(new DeleteTagsCommand({ Resources: [vol] }));
    expect(tagsOf(vol)).toEqual([]);
    expect(tagsOf('i-1')).toEqual([{ Key: 'a', Value: '1' }]);
  });
});
