// Security groups: the hub's own group (found, created with its rules, deleted) and the check
// of user-given groups. The one lookup of a hub's groups, for one hub and for many.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  paginateDescribeSecurityGroups,
  type EC2Client,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { ActionError, isAwsError } from '../errors.ts';
import { MANAGED_BY, TAG_HUB, TAG_MANAGED_BY, hubTags, tagValue } from '../tags.ts';

/** EC2 takes at most 200 values in one filter. */
const FILTER_VALUES = 200;

/** Checks user-given security groups exist (read-only) so a typo fails before anything changes. */
export async function checkSecurityGroups(ec2: EC2Client, groupIds: string[]): Promise<void> {
  if (!groupIds.length) return;
  try {
    await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }));
  } catch (err) {
    if (isAwsError(err, 'InvalidGroup.NotFound', 'InvalidGroupId.Malformed')) {
      throw new ActionError(
        `Input 'security-group-ids': ${(err as Error).message}`,
        'Give security groups of this region.',
      );
    }
    throw err;
  }
}

/**
 * The groups the action created for these hubs (in one VPC, if given), by hub name: one
 * paginated call per 200 hubs. A hub may have several (one per VPC it was launched in). Only
 * exact names count: EC2's tag filter reads `*` and `?` as wildcards.
 */
export async function findOwnedSecurityGroups(
  ec2: EC2Client,
  hubNames: string[],
  vpcId?: string,
): Promise<Map<string, string[]>> {
  const wanted = new Set(hubNames);
  const found = new Map<string, string[]>();
  const names = [...wanted];
  for (let i = 0; i < names.length; i += FILTER_VALUES) {
    const pages = paginateDescribeSecurityGroups(
      { client: ec2 },
      {
        Filters: [
          { Name: `tag:${TAG_HUB}`, Values: names.slice(i, i + FILTER_VALUES) },
          { Name: `tag:${TAG_MANAGED_BY}`, Values: [MANAGED_BY] },
          ...(vpcId ? [{ Name: 'vpc-id', Values: [vpcId] }] : []),
        ],
      },
    );
    for await (const page of pages) {
      for (const g of page.SecurityGroups ?? []) {
        const hub = tagValue(g.Tags, TAG_HUB);
        if (!hub || !wanted.has(hub) || !g.GroupId) continue;
        found.set(hub, [...(found.get(hub) ?? []), g.GroupId]);
      }
    }
  }
  return found;
}

/** The hub's web ports: HTTP, and HTTPS (Let's Encrypt's HTTP-01 challenge needs 80 too). */
export const WEB_PORTS = [80, 443] as const;

/** The CIDR blocks allowed in, per web port. */
export type WebRules = Map<number, string[]>;

function permission(port: number, cidrs: string[]): IpPermission {
  return {
    IpProtocol: 'tcp',
    FromPort: port,
    ToPort: port,
    IpRanges: cidrs
      .filter((c) => !c.includes(':'))
      .map((CidrIp) => ({ CidrIp, Description: 'JupyterHub' })),
    Ipv6Ranges: cidrs
      .filter((c) => c.includes(':'))
      .map((CidrIpv6) => ({ CidrIpv6, Description: 'JupyterHub' })),
  };
}

/**
 * A revoke names a rule by protocol, ports and block only: EC2 matches a description too when one
 * is given, so a rule added in the console (another description, or none) would not match.
 */
function withoutDescriptions(p: IpPermission): IpPermission {
  return {
    ...p,
    IpRanges: p.IpRanges?.map(({ CidrIp }) => ({ CidrIp })),
    Ipv6Ranges: p.Ipv6Ranges?.map(({ CidrIpv6 }) => ({ CidrIpv6 })),
  };
}

function permissions(rules: WebRules): IpPermission[] {
  return [...rules]
    .filter(([, cidrs]) => cidrs.length)
    .map(([port, cidrs]) => permission(port, cidrs));
}

async function ownGroupIn(ec2: EC2Client, hubName: string, vpcId: string) {
  return (await findOwnedSecurityGroups(ec2, [hubName], vpcId)).get(hubName)?.[0];
}

function webRules(permissions: IpPermission[] | undefined): WebRules {
  const rules: WebRules = new Map(WEB_PORTS.map((p) => [p, []]));
  for (const p of permissions ?? []) {
    if (p.IpProtocol !== 'tcp' || p.FromPort !== p.ToPort || !rules.has(p.FromPort ?? -1)) continue;
    rules
      .get(p.FromPort!)!
      .push(
        ...(p.IpRanges ?? []).flatMap((r) => (r.CidrIp ? [r.CidrIp] : [])),
        ...(p.Ipv6Ranges ?? []).flatMap((r) => (r.CidrIpv6 ? [r.CidrIpv6] : [])),
      );
  }
  return rules;
}

/**
 * Of an instance's groups, the one the action created for the hub, with its web rules (tcp 80
 * and 443 only: anything else in it is not the action's). Undefined: the hub is in groups of
 * the user's own (security-group-ids).
 */
export async function findOwnWebRules(
  ec2: EC2Client,
  hubName: string,
  groupIds: string[],
): Promise<{ groupId: string; rules: WebRules } | undefined> {
  if (!groupIds.length) return undefined;
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      GroupIds: groupIds,
      Filters: [
        { Name: `tag:${TAG_HUB}`, Values: [hubName] },
        { Name: `tag:${TAG_MANAGED_BY}`, Values: [MANAGED_BY] },
      ],
    }),
  );
  const own = out.SecurityGroups?.find((g) => tagValue(g.Tags, TAG_HUB) === hubName);
  return own?.GroupId ? { groupId: own.GroupId, rules: webRules(own.IpPermissions) } : undefined;
}

/** The web rules of one group. */
export async function describeWebRules(ec2: EC2Client, groupId: string): Promise<WebRules> {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
  return webRules(out.SecurityGroups?.[0]?.IpPermissions);
}

/** Revokes, then authorizes: the group's web rules move from one set to the other exactly. */
export async function changeWebRules(
  ec2: EC2Client,
  groupId: string,
  change: { add: WebRules; remove: WebRules },
): Promise<void> {
  const revoke = permissions(change.remove).map(withoutDescriptions);
  if (revoke.length) {
    const out = await ec2.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: revoke }),
    );
    // In a default VPC EC2 answers a rule it did not find with success and lists it here.
    if (out.UnknownIpPermissions?.length) {
      throw new ActionError(
        `Could not revoke ${out.UnknownIpPermissions.length} rule(s) of ${groupId}: EC2 did not find them.`,
        'Someone changed the group meanwhile: run again, the rules are read afresh.',
      );
    }
  }
  const authorize = permissions(change.add);
  if (authorize.length) {
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: authorize }),
    );
  }
}

/**
 * The hub's own security group: HTTP and HTTPS from the allowed CIDRs, nothing else inbound
 * (no SSH: Systems Manager replaces it). Created with its tags, so it is never orphaned untagged.
 * Returns it, and whether it already existed (its rules are then the caller's to match).
 */
export async function ensureSecurityGroup(
  ec2: EC2Client,
  hubName: string,
  vpcId: string,
  cidrs: string[],
): Promise<{ groupId: string; existed: boolean }> {
  const found = await ownGroupIn(ec2, hubName, vpcId);
  if (found) return { groupId: found, existed: true };
  let groupId: string;
  try {
    const created = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `tljh-${hubName}`,
        Description: `JupyterHub ${hubName}: HTTP and HTTPS only (managed by tljh-ec2-action)`,
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: hubTags(hubName) }],
      }),
    );
    groupId = created.GroupId!;
  } catch (err) {
    // A concurrent run for the same hub created it a moment ago: use theirs.
    if (!isAwsError(err, 'InvalidGroup.Duplicate')) throw err;
    const theirs = await ownGroupIn(ec2, hubName, vpcId);
    if (!theirs) throw err;
    return { groupId: theirs, existed: true };
  }
  await changeWebRules(ec2, groupId, {
    add: new Map(WEB_PORTS.map((p) => [p, cidrs])),
    remove: new Map(),
  });
  return { groupId, existed: false };
}

/**
 * Deletes a group: true once it is gone (already gone too), false while a network interface
 * still holds it (`DependencyViolation`: right after a termination, until EC2 releases it).
 */
export async function deleteSecurityGroup(ec2: EC2Client, groupId: string): Promise<boolean> {
  try {
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    return true;
  } catch (err) {
    if (isAwsError(err, 'InvalidGroup.NotFound')) return true;
    if (isAwsError(err, 'DependencyViolation')) return false;
    throw err;
  }
}
