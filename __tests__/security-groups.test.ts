// The hub's own security group (one lookup for one hub and for many; created with its tags
// and only ports 80 and 443; deleted, or not yet while an interface holds it) and the check of
// user-given groups.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  RevokeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import {
  checkSecurityGroups,
  deleteSecurityGroup,
  changeWebRules,
  describeWebRules,
  ensureSecurityGroup,
  findOwnWebRules,
  findOwnedSecurityGroups,
} from '../src/aws/security-groups.ts';
import { ActionError } from '../src/errors.ts';
import { TAG_HUB, TAG_MANAGED_BY } from '../src/tags.ts';
import { awsError, rejection } from './helpers/fakes.ts';
import { useMockedEc2 } from './helpers/mocked-clients.ts';

const { ec2Mock, ec2 } = useMockedEc2();

const hubTagsFor = (hub: string): Tag[] => [
  { Key: 'Name', Value: `tljh-${hub}` },
  { Key: TAG_HUB, Value: hub },
  { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
];

describe('security groups', () => {
  test('checkSecurityGroups: nothing to check sends nothing; a missing group names the input', async () => {
    await checkSecurityGroups(ec2, []);
    expect(ec2Mock.calls()).toHaveLength(0);
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .rejects(
        awsError(
          'InvalidGroup.NotFound',
          "The security group 'sg-0123456789abcdef0' does not exist",
        ),
      );
    const err = await rejection(checkSecurityGroups(ec2, ['sg-0123456789abcdef0']));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain("Input 'security-group-ids'");
    expect(err.message).toContain('sg-0123456789abcdef0');
  });

  test('findOwnedSecurityGroups: the hub and managed-by tag filters, exact hub names only', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: 'sg-1', Tags: hubTagsFor('workshop') },
        { GroupId: 'sg-2', Tags: hubTagsFor('workshop') }, // another VPC
        { GroupId: 'sg-3', Tags: hubTagsFor('workshop-2') }, // a wildcard's match
        { GroupId: 'sg-4' }, // untagged
      ],
    });
    const found = await findOwnedSecurityGroups(ec2, ['workshop', 'pr-1']);
    expect([...found]).toEqual([['workshop', ['sg-1', 'sg-2']]]);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: `tag:${TAG_HUB}`, Values: ['workshop', 'pr-1'] },
      { Name: `tag:${TAG_MANAGED_BY}`, Values: ['tljh-ec2-action'] },
    ]);
  });

  test('findOwnedSecurityGroups: 200 hub names a call, follows NextToken, in one VPC if given', async () => {
    const hubs = Array.from({ length: 250 }, (_, i) => `pr-${i}`);
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: 'sg-a', Tags: hubTagsFor('pr-0') }], NextToken: 't' })
      .on(DescribeSecurityGroupsCommand, { NextToken: 't' })
      .resolves({ SecurityGroups: [{ GroupId: 'sg-b', Tags: hubTagsFor('pr-249') }] });
    const found = await findOwnedSecurityGroups(ec2, hubs, 'vpc-1');
    expect(found.get('pr-0')).toEqual(['sg-a', 'sg-a']);
    expect(found.get('pr-249')).toEqual(['sg-b', 'sg-b']);
    const inputs = ec2Mock.commandCalls(DescribeSecurityGroupsCommand).map((c) => c.args[0].input);
    // Each batch of names is a listing of its own, and each listing has two pages.
    expect(inputs.map((i) => i.Filters![0]!.Values!.length)).toEqual([200, 200, 50, 50]);
    expect(inputs[0]!.Filters![2]).toEqual({ Name: 'vpc-id', Values: ['vpc-1'] });
  });

  test("ensureSecurityGroup looks for the hub's group in the VPC given", async () => {
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: 'sg-old', Tags: hubTagsFor('workshop') }] });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    await ensureSecurityGroup(ec2, 'workshop', 'vpc-1', ['0.0.0.0/0']);
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: `tag:${TAG_HUB}`, Values: ['workshop'] },
      { Name: `tag:${TAG_MANAGED_BY}`, Values: ['tljh-ec2-action'] },
      { Name: 'vpc-id', Values: ['vpc-1'] },
    ]);
  });

  test('ensureSecurityGroup: a concurrent run created it a moment ago -> theirs is used', async () => {
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .resolvesOnce({ SecurityGroups: [] })
      .resolves({ SecurityGroups: [{ GroupId: 'sg-theirs', Tags: hubTagsFor('workshop') }] });
    ec2Mock.on(CreateSecurityGroupCommand).rejects(awsError('InvalidGroup.Duplicate'));
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    expect(await ensureSecurityGroup(ec2, 'workshop', 'vpc-1', ['0.0.0.0/0'])).toEqual({
      groupId: 'sg-theirs',
      existed: true,
    });
    // Their group's rules are the caller's to match (matchWebRules), never added blindly.
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  test('ensureSecurityGroup creates a tagged group that opens only 80 and 443', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-0000000000000000e' });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    const id = await ensureSecurityGroup(ec2, 'workshop', 'vpc-1', [
      '203.0.113.0/24',
      '2001:db8::/32',
      '198.51.100.0/24',
    ]);
    expect(id).toEqual({ groupId: 'sg-0000000000000000e', existed: false });
    const create = ec2Mock.commandCalls(CreateSecurityGroupCommand)[0]!.args[0].input;
    expect(create).toMatchObject({ GroupName: 'tljh-workshop', VpcId: 'vpc-1' });
    expect(create.Description).toMatch(/HTTP and HTTPS only/);
    expect(create.TagSpecifications).toEqual([
      { ResourceType: 'security-group', Tags: hubTagsFor('workshop') },
    ]);
    const auth = ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand);
    expect(auth).toHaveLength(1);
    const perms = auth[0]!.args[0].input.IpPermissions!;
    expect(auth[0]!.args[0].input.GroupId).toBe('sg-0000000000000000e');
    expect(perms.map((p) => [p.IpProtocol, p.FromPort, p.ToPort])).toEqual([
      ['tcp', 80, 80],
      ['tcp', 443, 443],
    ]);
    for (const p of perms) {
      expect(p.IpRanges!.map((r) => r.CidrIp)).toEqual(['203.0.113.0/24', '198.51.100.0/24']);
      expect(p.Ipv6Ranges!.map((r) => r.CidrIpv6)).toEqual(['2001:db8::/32']);
      expect(p.UserIdGroupPairs).toBeUndefined();
      expect(p.PrefixListIds).toBeUndefined();
    }
  });

  test('ensureSecurityGroup reuses the existing group and leaves its rules to the caller', async () => {
    ec2Mock
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: 'sg-old', Tags: hubTagsFor('workshop') }] });
    expect(await ensureSecurityGroup(ec2, 'workshop', 'vpc-1', ['0.0.0.0/0', '::/0'])).toEqual({
      groupId: 'sg-old',
      existed: true,
    });
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0);
    // Adding rules blindly to an existing group failed the whole request on one duplicate.
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  test('describeWebRules reads the CIDRs of tcp 80 and 443 only, per port', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        {
          GroupId: 'sg-1',
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
            {
              IpProtocol: 'tcp',
              FromPort: 443,
              ToPort: 443,
              IpRanges: [{ CidrIp: '0.0.0.0/0' }],
              Ipv6Ranges: [{ CidrIpv6: '::/0' }],
            },
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
            { IpProtocol: 'tcp', FromPort: 0, ToPort: 1000, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
          ],
        },
      ],
    });
    expect(await describeWebRules(ec2, 'sg-1')).toEqual(
      new Map([
        [80, ['0.0.0.0/0']],
        [443, ['0.0.0.0/0', '::/0']],
      ]),
    );
  });

  test('changeWebRules revokes first, then authorizes; ports with nothing to do are left out', async () => {
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
    await changeWebRules(ec2, 'sg-1', {
      add: new Map([
        [80, ['203.0.113.0/24']],
        [443, ['203.0.113.0/24']],
      ]),
      remove: new Map([
        [80, ['0.0.0.0/0', '::/0']],
        [443, []],
      ]),
    });
    const calls = ec2Mock.calls().map((c) => c.args[0].constructor.name);
    expect(calls).toEqual([
      'RevokeSecurityGroupIngressCommand',
      'AuthorizeSecurityGroupIngressCommand',
    ]);
    const revoke = ec2Mock.commandCalls(RevokeSecurityGroupIngressCommand)[0]!.args[0].input;
    expect(revoke.IpPermissions).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 80,
        ToPort: 80,
        // No description: EC2 would then match it too, and miss a rule added in the console.
        IpRanges: [{ CidrIp: '0.0.0.0/0' }],
        Ipv6Ranges: [{ CidrIpv6: '::/0' }],
      },
    ]);
    const auth = ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)[0]!.args[0].input;
    expect(auth.IpPermissions!.map((p) => p.FromPort)).toEqual([80, 443]);
  });

  test('a revoke EC2 answers with UnknownIpPermissions (a default VPC) fails the run', async () => {
    ec2Mock.on(RevokeSecurityGroupIngressCommand).resolves({
      Return: true,
      UnknownIpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80 }],
    });
    await expect(
      changeWebRules(ec2, 'sg-1', { add: new Map(), remove: new Map([[80, ['0.0.0.0/0']]]) }),
    ).rejects.toThrow(/Could not revoke 1 rule\(s\) of sg-1/);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
  });

  test('findOwnWebRules asks only among the instance groups, for the hub own group', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [{ GroupId: 'sg-own', Tags: hubTagsFor('workshop'), IpPermissions: [] }],
    });
    const own = await findOwnWebRules(ec2, 'workshop', ['sg-own', 'sg-user']);
    expect(own?.groupId).toBe('sg-own');
    const input = ec2Mock.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input;
    expect(input.GroupIds).toEqual(['sg-own', 'sg-user']);
    expect(input.Filters).toContainEqual({ Name: 'tag:tljh:hub', Values: ['workshop'] });
    expect(await findOwnWebRules(ec2, 'workshop', [])).toBeUndefined();
  });

  test('ensureSecurityGroup does not swallow other errors', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-new' });
    ec2Mock
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(awsError('RulesPerSecurityGroupLimitExceeded'));
    await expect(
      ensureSecurityGroup(ec2, 'workshop', 'vpc-1', ['0.0.0.0/0']),
    ).rejects.toMatchObject({
      name: 'RulesPerSecurityGroupLimitExceeded',
    });
  });

  test.each<[string | undefined, boolean]>([
    [undefined, true],
    ['InvalidGroup.NotFound', true],
    ['DependencyViolation', false],
  ])('deleteSecurityGroup, AWS says %s -> %s', async (code, expected) => {
    if (code) ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError(code));
    else ec2Mock.on(DeleteSecurityGroupCommand).resolves({});
    expect(await deleteSecurityGroup(ec2, 'sg-1')).toBe(expected);
    expect(ec2Mock.commandCalls(DeleteSecurityGroupCommand)[0]!.args[0].input).toEqual({
      GroupId: 'sg-1',
    });
  });

  test('deleteSecurityGroup rethrows anything else', async () => {
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('UnauthorizedOperation'));
    await expect(deleteSecurityGroup(ec2, 'sg-1')).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
  });
});
