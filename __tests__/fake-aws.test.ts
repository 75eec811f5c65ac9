// The shared fake AWS (helpers/fake-aws.ts) answers like EC2 for what the tests rely on (if it
// drifted from AWS, every test built on it would prove less), and records every call. SSM's
// half: fake-ssm.test.ts.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
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
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80 }],
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
