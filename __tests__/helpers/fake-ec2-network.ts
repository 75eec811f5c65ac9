// The network and catalog half of the fake EC2 (fake-ec2.ts): security groups, VPCs, subnets,
// instance types and images. Not a test file.
//
// Modelled EC2 behaviour:
// - Security groups: InvalidGroup.Duplicate for a second group of one name in a VPC,
//   InvalidGroup.NotFound for an unknown id, DependencyViolation on delete while an instance that
//   is not terminated uses the group (usersOf, answered by the instances' side).
//   DescribeSecurityGroups takes GroupIds and Filters together (tag:K, tag-key, vpc-id,
//   group-name): the ids must all exist, the filters then narrow them (no error for one they drop).
// - Ingress rules are one per (protocol, ports, CIDR block), as EC2 keeps them;
//   DescribeSecurityGroups groups them by protocol and ports. AuthorizeSecurityGroupIngress:
//   InvalidPermission.Duplicate when any block of the request is already allowed (or named twice
//   in it), and then nothing is added. RevokeSecurityGroupIngress matches protocol, ports and
//   block exactly (never the description). A rule that is not there: in a non-default VPC,
//   InvalidPermission.NotFound and nothing revoked; in the default VPC no error, the others
//   revoked and the unknown ones listed in UnknownIpPermissions (EC2's documented split). Only
//   CIDR rules are modelled.
// - DescribeInstanceTypes: InvalidInstanceType for a type not offered; DescribeImages:
//   InvalidAMIID.NotFound; DescribeSubnets: InvalidSubnetID.NotFound; DescribeVpcs is-default.
import type { Filter, IpPermission, SecurityGroup, Tag } from '@aws-sdk/client-ec2';
import { awsError } from './fakes.ts';

/** EC2's tag-filter wildcards: `*` any run of characters, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

export function tagsMatch(tags: Tag[] | undefined, filter: Filter): boolean | undefined {
  const values = filter.Values ?? [];
  if (filter.Name === 'tag-key') return (tags ?? []).some((t) => values.includes(t.Key ?? ''));
  if (!filter.Name?.startsWith('tag:')) return undefined;
  const key = filter.Name.slice(4);
  const value = tags?.find((t) => t.Key === key)?.Value;
  return value !== undefined && values.some((v) => globMatch(v, value));
}

export const clone = <T>(value: T): T => structuredClone(value);

/** One ingress rule as EC2 keeps it: one protocol, one port range, one CIDR block. */
interface CidrRule {
  protocol: string;
  from?: number;
  to?: number;
  cidr: string;
  v6: boolean;
  description?: string;
}

function cidrRules(permissions: IpPermission[] = []): CidrRule[] {
  return permissions.flatMap((p) => {
    const base = { protocol: p.IpProtocol ?? '', from: p.FromPort, to: p.ToPort };
    return [
      ...(p.IpRanges ?? []).map((r) => ({
        ...base,
        cidr: r.CidrIp ?? '',
        v6: false,
        description: r.Description,
      })),
      ...(p.Ipv6Ranges ?? []).map((r) => ({
        ...base,
        cidr: r.CidrIpv6 ?? '',
        v6: true,
        description: r.Description,
      })),
    ];
  });
}

/** What identifies a rule (a revoke need not name its description). */
const ruleKey = (r: CidrRule): string => JSON.stringify([r.protocol, r.from, r.to, r.cidr]);

/** Rules as DescribeSecurityGroups lists them: one permission per protocol and port range. */
function toPermissions(rules: CidrRule[]): IpPermission[] {
  const byPorts = new Map<string, IpPermission>();
  for (const r of rules) {
    const key = JSON.stringify([r.protocol, r.from, r.to]);
    let p = byPorts.get(key);
    if (!p) {
      p = { IpProtocol: r.protocol, FromPort: r.from, ToPort: r.to, IpRanges: [], Ipv6Ranges: [] };
      byPorts.set(key, p);
    }
    const described = r.description === undefined ? {} : { Description: r.description };
    if (r.v6) p.Ipv6Ranges!.push({ CidrIpv6: r.cidr, ...described });
    else p.IpRanges!.push({ CidrIp: r.cidr, ...described });
  }
  return [...byPorts.values()];
}

export abstract class Ec2Network {
  readonly groups = new Map<string, SecurityGroup>();
  vpcs: { VpcId: string; IsDefault: boolean }[] = [{ VpcId: 'vpc-default', IsDefault: true }];
  subnets: { SubnetId: string; VpcId: string }[] = [];
  /** Instance types offered in the region, with their architectures. */
  instanceTypes: Record<string, ('x86_64' | 'arm64')[]> = {
    't3.micro': ['x86_64'],
    't3.small': ['x86_64'],
    't3.medium': ['x86_64'],
    't3a.small': ['x86_64'],
    'm5.large': ['x86_64'],
    't4g.small': ['arm64'],
    't4g.medium': ['arm64'],
  };
  readonly images = new Map<string, { Architecture: 'x86_64' | 'arm64'; RootDeviceName: string }>();
  private groupCounter = 14;

  /** Instances that are not terminated and use the group (they block its deletion). */
  abstract usersOf(groupId: string): string[];

  addSecurityGroup(group: SecurityGroup & { GroupId: string }): SecurityGroup {
    const g = { VpcId: 'vpc-default', Tags: [], IpPermissions: [], ...group };
    this.groups.set(group.GroupId, g);
    return g;
  }

  createSecurityGroup(input: {
    GroupName?: string;
    VpcId?: string;
    TagSpecifications?: { Tags?: Tag[] }[];
  }): { GroupId: string } {
    const vpcId = input.VpcId ?? this.vpcs.find((v) => v.IsDefault)?.VpcId;
    const taken = [...this.groups.values()].some(
      (g) => g.GroupName === input.GroupName && g.VpcId === vpcId,
    );
    if (taken)
      throw awsError(
        'InvalidGroup.Duplicate',
        `The security group '${input.GroupName}' already exists`,
      );
    const GroupId = `sg-${(this.groupCounter++).toString(16).padStart(17, '0')}`;
    this.addSecurityGroup({
      GroupId,
      GroupName: input.GroupName,
      VpcId: vpcId,
      Tags: clone(input.TagSpecifications?.[0]?.Tags ?? []),
    });
    return { GroupId };
  }

  describeSecurityGroups(input: { GroupIds?: string[]; Filters?: Filter[] }): {
    SecurityGroups: SecurityGroup[];
  } {
    const unknown = (input.GroupIds ?? []).filter((id) => !this.groups.has(id));
    if (unknown.length) {
      throw awsError(
        'InvalidGroup.NotFound',
        `The security group '${unknown.join(', ')}' does not exist`,
      );
    }
    const groups = [...this.groups.values()].filter(
      (g) =>
        (!input.GroupIds?.length || input.GroupIds.includes(g.GroupId!)) &&
        (input.Filters ?? []).every((f) => {
          const byTag = tagsMatch(g.Tags, f);
          if (byTag !== undefined) return byTag;
          if (f.Name === 'vpc-id') return (f.Values ?? []).includes(g.VpcId ?? '');
          if (f.Name === 'group-name') return (f.Values ?? []).includes(g.GroupName ?? '');
          throw awsError('InvalidParameterValue', `The filter '${f.Name}' is invalid (fake EC2)`);
        }),
    );
    return { SecurityGroups: clone(groups) };
  }

  authorizeIngress(
    groupId: string | undefined,
    permissions: IpPermission[] = [],
  ): { Return: true } {
    const group = this.group(groupId);
    const have = new Set(cidrRules(group.IpPermissions).map(ruleKey));
    const adding = cidrRules(permissions);
    const keys = adding.map(ruleKey);
    if (keys.some((k, i) => have.has(k) || keys.indexOf(k) !== i)) {
      throw awsError('InvalidPermission.Duplicate', 'the specified rule already exists');
    }
    group.IpPermissions = toPermissions([...cidrRules(group.IpPermissions), ...adding]);
    return { Return: true };
  }

  revokeIngress(
    groupId: string | undefined,
    permissions: IpPermission[] = [],
  ): { Return: true; UnknownIpPermissions?: IpPermission[] } {
    const group = this.group(groupId);
    const rules = cidrRules(group.IpPermissions);
    const have = new Set(rules.map(ruleKey));
    const named = cidrRules(permissions);
    const unknown = named.filter((r) => !have.has(ruleKey(r)));
    const inDefaultVpc = this.vpcs.some((v) => v.IsDefault && v.VpcId === group.VpcId);
    if (unknown.length && !inDefaultVpc) {
      throw awsError(
        'InvalidPermission.NotFound',
        'The specified rule does not exist in this security group.',
      );
    }
    const revoked = new Set(named.map(ruleKey));
    group.IpPermissions = toPermissions(rules.filter((r) => !revoked.has(ruleKey(r))));
    return {
      Return: true,
      ...(unknown.length ? { UnknownIpPermissions: toPermissions(unknown) } : {}),
    };
  }

  /** A group by id (InvalidGroup.NotFound for an unknown one). */
  private group(groupId: string | undefined): SecurityGroup {
    const group = this.groups.get(groupId ?? '');
    if (!group)
      throw awsError('InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
    return group;
  }

  deleteSecurityGroup(groupId: string | undefined): Record<string, never> {
    if (!groupId || !this.groups.has(groupId)) {
      throw awsError('InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
    }
    if (this.usersOf(groupId).length) {
      throw awsError('DependencyViolation', `resource ${groupId} has a dependent object`);
    }
    this.groups.delete(groupId);
    return {};
  }

  describeVpcs(filters: Filter[] = []) {
    const wantDefault = filters.find((f) => f.Name === 'is-default')?.Values?.[0];
    const vpcs = this.vpcs.filter(
      (v) => wantDefault === undefined || String(v.IsDefault) === wantDefault,
    );
    return { Vpcs: clone(vpcs) };
  }

  describeSubnets(ids: string[] = []) {
    const unknown = ids.filter((id) => !this.subnets.some((s) => s.SubnetId === id));
    if (unknown.length)
      throw awsError('InvalidSubnetID.NotFound', `The subnet ID '${unknown[0]}' does not exist`);
    return { Subnets: clone(this.subnets.filter((s) => !ids.length || ids.includes(s.SubnetId))) };
  }

  describeInstanceTypes(types: string[] = []) {
    const unknown = types.filter((t) => !this.instanceTypes[t]);
    if (unknown.length) {
      throw awsError(
        'InvalidInstanceType',
        `The following supplied instance types do not exist: [${unknown.join(', ')}]`,
      );
    }
    return {
      InstanceTypes: types.map((InstanceType) => ({
        InstanceType,
        ProcessorInfo: { SupportedArchitectures: [...this.instanceTypes[InstanceType]!] },
      })),
    };
  }

  describeImages(ids: string[] = []) {
    const unknown = ids.filter((id) => !this.images.has(id));
    if (unknown.length)
      throw awsError('InvalidAMIID.NotFound', `The image id '[${unknown[0]}]' does not exist`);
    return { Images: ids.map((ImageId) => ({ ImageId, ...this.images.get(ImageId)! })) };
  }
}
