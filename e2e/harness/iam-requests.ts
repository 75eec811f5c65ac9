// About 390 lines: one mapping per AWS operation the action uses, side by side, so that none is missed.
// Maps one recorded AWS request (journal.ts: EC2's query form, the SSM JSON body, or Route 53's
// path and XML as the front parsed them) to the IAM authorizations AWS checks for it: action,
// resource ARN, request context. What is approximated:
//  - Ids the request does not carry get placeholders: the instance, volume and network interface
//    RunInstances creates, the group CreateSecurityGroup creates, the address AllocateAddress
//    creates (eipalloc-allocating), and the default subnet, VPC and security group when none
//    is named. The policies match these by pattern, as they would the real ids (RunInstances
//    is authorized before the ids exist). A DisassociateAddress names only the association:
//    its address is the one the front found for it (the entry's `address`), or else the
//    placeholder eipalloc-unknown. AssociateAddress and DisassociateAddress are authorized on
//    the network interface too (the service authorization reference lists it for both): the
//    one named, or the instance's primary interface the front looked up (the entry's
//    `networkInterfaceId`), or the one the address was associated with; else eni-unknown.
//  - Existing resources' tags are not in the journal (see AuditOptions.resourceTags in
//    iam-audit.ts), but for an Elastic IP a call named, whose tags the front recorded as moto
//    had them before the call; parameters are taken to carry no tags.
//  - Route 53's ChangeResourceRecordSets conditions are computed from the batch: the actions,
//    the record types, and the names normalized as Route 53 documents it (lower case, no
//    trailing dot), each key the set of distinct values.
//  - iam:PassRole is checked on a role named like the instance profile (the README's setup;
//    AWS checks the profile's role, which the journal does not show).
//  - Only the operations the action uses are mapped; any other one is reported as unmapped.
import { route53Requests } from './iam-route53.ts';
import type { AwsEntry } from './journal.ts';

export interface IamRequest {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

export interface MappingContext {
  account: string;
  region: string;
  resourceTags?: (arn: string) => Record<string, string>;
}

type Params = Record<string, unknown>;
type Tags = Record<string, string>;

const MANAGED: Tags = { 'tljh:managed-by': 'tljh-ec2-action' };
const SSM_WILDCARD_ONLY = new Set([
  'GetCommandInvocation',
  'DescribeInstanceInformation',
  'ListCommands',
  'ListCommandInvocations',
]);

function str(params: Params, key: string): string | undefined {
  const value = params[key];
  return typeof value === 'string' ? value : undefined;
}

function strings(params: Params, key: string): string[] {
  const value = params[key];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** `Prefix.1`, `Prefix.2`, ... of EC2's query form, in index order. */
function indexed(params: Params, prefix: string): string[] {
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`);
  return Object.entries(params)
    .flatMap(([key, value]) => {
      const match = pattern.exec(key);
      return match && typeof value === 'string' ? [[Number(match[1]), value] as const] : [];
    })
    .sort((a, b) => a[0] - b[0])
    .map(([, value]) => value);
}

/** `<prefix>Tag.N.Key` / `<prefix>Tag.N.Value` of EC2's query form. */
function queryTags(params: Params, prefix: string): Tags {
  const tags: Tags = {};
  for (const [key, value] of Object.entries(params)) {
    const match = new RegExp(`^${prefix.replace(/\./g, '\\.')}Tag\\.(\\d+)\\.Key$`).exec(key);
    if (match && typeof value === 'string') {
      tags[value] = str(params, `${prefix}Tag.${match[1]}.Value`) ?? '';
    }
  }
  return tags;
}

/** TagSpecification.N: resource type -> tags. */
function tagSpecifications(params: Params): Map<string, Tags> {
  const specs = new Map<string, Tags>();
  for (const [key, value] of Object.entries(params)) {
    const match = /^TagSpecification\.(\d+)\.ResourceType$/.exec(key);
    if (match && typeof value === 'string') {
      specs.set(value, queryTags(params, `TagSpecification.${match[1]}.`));
    }
  }
  return specs;
}

function requestTags(tags: Tags): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(tags)) context[`aws:RequestTag/${key}`] = value;
  if (Object.keys(tags).length) context['aws:TagKeys'] = Object.keys(tags);
  return context;
}

function resourceTags(tags: Tags): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
}

function ec2Requests(entry: AwsEntry, at: MappingContext): IamRequest[] | undefined {
  const { operation: op, params, address } = entry;
  const arn = (type: string, id: string) => `arn:aws:ec2:${at.region}:${at.account}:${type}/${id}`;
  // The interface an address is associated with or taken from (not tagged by the action).
  const networkInterface = (id: string | undefined): IamRequest => {
    const resource = arn('network-interface', id ?? 'eni-unknown');
    const tags = at.resourceTags?.(resource) ?? {};
    return {
      action: `ec2:${op}`,
      resource,
      ...(Object.keys(tags).length ? { context: resourceTags(tags) } : {}),
    };
  };
  const tagsOf = (resource: string) =>
    at.resourceTags?.(resource) ??
    (address && resource === arn('elastic-ip', address.allocationId) ? address.tags : MANAGED);
  const existing = (action: string, type: string, ids: string[]) =>
    ids.map((id) => ({
      action: `ec2:${action}`,
      resource: arn(type, id),
      context: resourceTags(tagsOf(arn(type, id))),
    }));
  if (op.startsWith('Describe')) return [{ action: `ec2:${op}`, resource: '*' }];
  switch (op) {
    case 'RunInstances': {
      const specs = tagSpecifications(params);
      const groups = [
        ...indexed(params, 'SecurityGroupId'),
        ...indexed(params, 'NetworkInterface.1.SecurityGroupId'),
      ];
      const subnet = str(params, 'SubnetId') ?? str(params, 'NetworkInterface.1.SubnetId');
      const created: [string, string][] = [
        ['instance', 'i-launching'],
        ['volume', 'vol-launching'],
        // A Spot launch creates its Spot request too.
        ...(str(params, 'InstanceMarketOptions.MarketType') === 'spot'
          ? [['spot-instances-request', 'sir-launching'] as [string, string]]
          : []),
      ];
      const requests: IamRequest[] = [
        ...created.map(([type, id]) => ({
          action: 'ec2:RunInstances',
          resource: arn(type, id),
          context: requestTags(specs.get(type) ?? {}),
        })),
        { action: 'ec2:RunInstances', resource: arn('network-interface', 'eni-launching') },
        { action: 'ec2:RunInstances', resource: arn('subnet', subnet ?? 'subnet-default') },
        ...(groups.length ? groups : ['sg-default']).map((id) => ({
          action: 'ec2:RunInstances',
          resource: arn('security-group', id),
        })),
        {
          action: 'ec2:RunInstances',
          resource: `arn:aws:ec2:${at.region}::image/${str(params, 'ImageId') ?? 'ami-unknown'}`,
        },
        // Tags given at launch are authorized as CreateTags with ec2:CreateAction.
        ...created
          .filter(([type]) => specs.has(type))
          .map(([type, id]) => ({
            action: 'ec2:CreateTags',
            resource: arn(type, id),
            context: { ...requestTags(specs.get(type)!), 'ec2:CreateAction': 'RunInstances' },
          })),
      ];
      const profile =
        str(params, 'IamInstanceProfile.Name') ?? str(params, 'IamInstanceProfile.Arn');
      if (profile) {
        requests.push({
          action: 'iam:PassRole',
          resource: `arn:aws:iam::${at.account}:role/${profile.split('/').pop()}`,
          context: { 'iam:PassedToService': 'ec2.amazonaws.com' },
        });
      }
      return requests;
    }
    case 'CreateSecurityGroup': {
      const tags = tagSpecifications(params).get('security-group');
      const group = arn('security-group', 'sg-creating');
      return [
        { action: 'ec2:CreateSecurityGroup', resource: group, context: requestTags(tags ?? {}) },
        {
          action: 'ec2:CreateSecurityGroup',
          resource: arn('vpc', str(params, 'VpcId') ?? 'vpc-default'),
        },
        ...(tags
          ? [
              {
                action: 'ec2:CreateTags',
                resource: group,
                context: { ...requestTags(tags), 'ec2:CreateAction': 'CreateSecurityGroup' },
              },
            ]
          : []),
      ];
    }
    case 'CreateTags':
    case 'DeleteTags': {
      const tags = queryTags(params, '');
      return indexed(params, 'ResourceId').map((id) => {
        const type = id.startsWith('sg-')
          ? 'security-group'
          : id.startsWith('vol-')
            ? 'volume'
            : 'instance';
        // An image's ARN has no account.
        const resource = id.startsWith('ami-')
          ? `arn:aws:ec2:${at.region}::image/${id}`
          : arn(type, id);
        return {
          action: `ec2:${op}`,
          resource,
          context: {
            ...resourceTags(tagsOf(resource)),
            ...(op === 'CreateTags' ? requestTags(tags) : { 'aws:TagKeys': Object.keys(tags) }),
          },
        };
      });
    }
    case 'ModifyInstanceAttribute':
      return existing(op, 'instance', [str(params, 'InstanceId') ?? '']);
    case 'ModifyVolume':
      return existing(op, 'volume', [str(params, 'VolumeId') ?? '']);
    case 'RevokeSecurityGroupIngress':
      return existing(op, 'security-group', [str(params, 'GroupId') ?? '']);
    case 'StartInstances':
    case 'StopInstances':
    case 'TerminateInstances':
      return existing(op, 'instance', indexed(params, 'InstanceId'));
    case 'GetConsoleOutput':
      return existing(op, 'instance', [str(params, 'InstanceId') ?? '']);
    case 'CancelSpotInstanceRequests':
      return existing(op, 'spot-instances-request', indexed(params, 'SpotInstanceRequestId'));
    case 'AuthorizeSecurityGroupIngress':
    case 'DeleteSecurityGroup':
      return existing(op, 'security-group', [str(params, 'GroupId') ?? '']);
    case 'CreateImage': {
      // The image and its snapshots (ARNs without an account), tagged at creation, and the
      // instance imaged.
      const specs = tagSpecifications(params);
      const made = (['image', 'snapshot'] as const).map((type) => ({
        type,
        resource: `arn:aws:ec2:${at.region}::${type}/${type === 'image' ? 'ami' : 'snap'}-creating`,
      }));
      return [
        ...made.map(({ type, resource }) => ({
          action: 'ec2:CreateImage',
          resource,
          context: requestTags(specs.get(type) ?? {}),
        })),
        ...existing(op, 'instance', [str(params, 'InstanceId') ?? '']),
        ...made
          .filter(({ type }) => specs.has(type))
          .map(({ type, resource }) => ({
            action: 'ec2:CreateTags',
            resource,
            context: { ...requestTags(specs.get(type)!), 'ec2:CreateAction': 'CreateImage' },
          })),
      ];
    }
    case 'AllocateAddress': {
      // Tags given at allocation are authorized as CreateTags with ec2:CreateAction.
      const tags = tagSpecifications(params).get('elastic-ip');
      const created = arn('elastic-ip', 'eipalloc-allocating');
      return [
        { action: 'ec2:AllocateAddress', resource: created, context: requestTags(tags ?? {}) },
        ...(tags
          ? [
              {
                action: 'ec2:CreateTags',
                resource: created,
                context: { ...requestTags(tags), 'ec2:CreateAction': 'AllocateAddress' },
              },
            ]
          : []),
      ];
    }
    case 'AssociateAddress':
      return [
        ...existing(op, 'elastic-ip', [
          str(params, 'AllocationId') ?? address?.allocationId ?? 'eipalloc-unknown',
        ]),
        ...existing(op, 'instance', str(params, 'InstanceId') ? [str(params, 'InstanceId')!] : []),
        networkInterface(str(params, 'NetworkInterfaceId') ?? entry.networkInterfaceId),
      ];
    case 'DisassociateAddress':
      return [
        ...existing(op, 'elastic-ip', [
          str(params, 'AllocationId') ?? address?.allocationId ?? 'eipalloc-unknown',
        ]),
        networkInterface(address?.networkInterfaceId),
      ];
    case 'ReleaseAddress':
      return existing(op, 'elastic-ip', [
        str(params, 'AllocationId') ?? address?.allocationId ?? 'eipalloc-unknown',
      ]);
    case 'DeregisterImage':
    case 'DeleteSnapshot': {
      const type = op === 'DeregisterImage' ? 'image' : 'snapshot';
      const id = str(params, op === 'DeregisterImage' ? 'ImageId' : 'SnapshotId') ?? '';
      const resource = `arn:aws:ec2:${at.region}::${type}/${id}`;
      return [{ action: `ec2:${op}`, resource, context: resourceTags(tagsOf(resource)) }];
    }
    default:
      return undefined;
  }
}

function ssmRequests(op: string, params: Params, at: MappingContext): IamRequest[] | undefined {
  const parameter = (name: string) => {
    // Public parameters (/aws/service/...) belong to AWS: their ARN has no account.
    const owner = name.startsWith('/aws/') ? '' : at.account;
    return `arn:aws:ssm:${at.region}:${owner}:parameter/${name.replace(/^\//, '')}`;
  };
  const onParameters = (names: string[], context?: IamRequest['context']) =>
    names.map((name) => ({
      action: `ssm:${op}`,
      resource: parameter(name),
      ...(context && { context }),
    }));
  if (SSM_WILDCARD_ONLY.has(op)) return [{ action: `ssm:${op}`, resource: '*' }];
  switch (op) {
    case 'GetParameter':
    case 'DeleteParameter':
      return onParameters(strings(params, 'Name'));
    case 'GetParameters':
    case 'DeleteParameters':
      return onParameters(strings(params, 'Names'));
    case 'GetParametersByPath':
      return onParameters(strings(params, 'Path'));
    case 'PutParameter': {
      const list = Array.isArray(params.Tags)
        ? (params.Tags as { Key?: string; Value?: string }[])
        : [];
      const tags: Tags = Object.fromEntries(list.map((t) => [t.Key ?? '', t.Value ?? '']));
      const names = strings(params, 'Name');
      if (!list.length) return onParameters(names);
      // Tags given with PutParameter also need ssm:AddTagsToResource.
      return [
        ...onParameters(names, requestTags(tags)),
        ...names.map((name) => ({
          action: 'ssm:AddTagsToResource',
          resource: parameter(name),
          context: requestTags(tags),
        })),
      ];
    }
    case 'AddTagsToResource': {
      if (str(params, 'ResourceType') !== 'Parameter') return undefined;
      const list = Array.isArray(params.Tags)
        ? (params.Tags as { Key?: string; Value?: string }[])
        : [];
      const tags: Tags = Object.fromEntries(list.map((t) => [t.Key ?? '', t.Value ?? '']));
      return onParameters(strings(params, 'ResourceId'), requestTags(tags));
    }
    case 'SendCommand': {
      const document = str(params, 'DocumentName') ?? '';
      // AWS-owned documents (AWS-RunShellScript) have no account in their ARN.
      const owner = document.startsWith('AWS-') ? '' : at.account;
      return [
        ...strings(params, 'InstanceIds').map((id) => {
          const resource = `arn:aws:ec2:${at.region}:${at.account}:instance/${id}`;
          return {
            action: 'ssm:SendCommand',
            resource,
            context: resourceTags(at.resourceTags?.(resource) ?? MANAGED),
          };
        }),
        {
          action: 'ssm:SendCommand',
          resource: `arn:aws:ssm:${at.region}:${owner}:document/${document}`,
        },
      ];
    }
    default:
      return undefined;
  }
}

/** The authorizations for one recorded request, or undefined for an operation not mapped. */
export function recordedRequests(entry: AwsEntry, at: MappingContext): IamRequest[] | undefined {
  if (entry.service === 'ec2') return ec2Requests(entry, at);
  if (entry.service === 'ssm') return ssmRequests(entry.operation, entry.params, at);
  if (entry.service === 'route53') return route53Requests(entry.operation, entry.params);
  return undefined;
}
