// Maps a recorded Route 53 request (the front journals its path and XML body parsed:
// e2e/emulator/route53.ts) to the IAM authorizations AWS checks for it (see iam-requests.ts).
// Route 53's resources are global: their ARNs have no region and no account. A
// ChangeResourceRecordSets carries the condition keys Route 53 documents for it, each the set of
// distinct values in the batch: the actions, the record types, and the record names normalized
// (lower case, without the trailing dot).
import type { IamRequest } from './iam-requests.ts';

type Params = Record<string, unknown>;

function str(params: Params, key: string): string | undefined {
  const value = params[key];
  return typeof value === 'string' ? value : undefined;
}

/** The changes of a ChangeResourceRecordSets, as the front journals them. */
interface RecordChange {
  Action?: string;
  Name?: string;
  Type?: string;
}

/** A DNS name as Route 53's condition keys see it: lower case, without the trailing dot. */
function normalizedRecordName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export function route53Requests(op: string, params: Params): IamRequest[] | undefined {
  const zone = `arn:aws:route53:::hostedzone/${(str(params, 'HostedZoneId') ?? '').replace(/^\/?hostedzone\//, '')}`;
  switch (op) {
    case 'ListHostedZones':
    case 'ListHostedZonesByName':
    case 'CreateHostedZone':
      return [{ action: `route53:${op}`, resource: '*' }];
    case 'GetHostedZone':
    case 'ListResourceRecordSets':
    case 'DeleteHostedZone':
      return [{ action: `route53:${op}`, resource: zone }];
    case 'GetChange': {
      const id = (str(params, 'Id') ?? '').replace(/^\/?change\//, '');
      return [{ action: 'route53:GetChange', resource: `arn:aws:route53:::change/${id}` }];
    }
    case 'ChangeResourceRecordSets': {
      const changes = Array.isArray(params.Changes) ? (params.Changes as RecordChange[]) : [];
      const distinct = (values: (string | undefined)[]) => [
        ...new Set(values.filter((v): v is string => typeof v === 'string')),
      ];
      return [
        {
          action: 'route53:ChangeResourceRecordSets',
          resource: zone,
          context: {
            'route53:ChangeResourceRecordSetsActions': distinct(changes.map((c) => c.Action)),
            'route53:ChangeResourceRecordSetsRecordTypes': distinct(changes.map((c) => c.Type)),
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': distinct(
              changes.map((c) => (c.Name === undefined ? undefined : normalizedRecordName(c.Name))),
            ),
          },
        },
      ];
    }
    default:
      return undefined;
  }
}
