// What the action says to Route 53: a hosted zone's name, the record sets of one name, a batch
// of changes and its status. The decisions (ownership, what to change) are hub-dns.ts's.
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type RRType,
  type Route53Client,
} from '@aws-sdk/client-route-53';

export interface HostedZone {
  /** Lower case, without the trailing dot. */
  name: string;
  privateZone: boolean;
}

export interface RecordSet {
  name: string;
  type: string;
  ttl?: number;
  values: string[];
}

/** Route 53 names end with a dot and may escape characters; the action's names never need it. */
export function plainName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

export async function getHostedZone(r53: Route53Client, zoneId: string): Promise<HostedZone> {
  const out = await r53.send(new GetHostedZoneCommand({ Id: zoneId }));
  return {
    name: plainName(out.HostedZone?.Name ?? ''),
    privateZone: out.HostedZone?.Config?.PrivateZone ?? false,
  };
}

/** The record set of exactly this name and type, if the zone has one (one read call). */
export async function getRecordSet(
  r53: Route53Client,
  zoneId: string,
  name: string,
  type: RRType,
): Promise<RecordSet | undefined> {
  const out = await r53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: name,
      StartRecordType: type,
      MaxItems: 1,
    }),
  );
  const set = out.ResourceRecordSets?.[0];
  if (!set || plainName(set.Name ?? '') !== plainName(name) || set.Type !== type) return undefined;
  return {
    name: plainName(set.Name!),
    type,
    ttl: set.TTL,
    // An alias record has no values: it is never the action's.
    values: (set.ResourceRecords ?? []).map((r) => r.Value ?? ''),
  };
}

/**
 * Every record set of exactly this name (A, AAAA, CNAME...): Route 53 lists a name's sets
 * together, before the names below it, so one page from the name holds them all.
 */
export async function getNameRecordSets(
  r53: Route53Client,
  zoneId: string,
  name: string,
): Promise<RecordSet[]> {
  const out = await r53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: name,
      MaxItems: 20,
    }),
  );
  return (out.ResourceRecordSets ?? [])
    .filter((set) => plainName(set.Name ?? '') === plainName(name))
    .map((set) => ({
      name: plainName(set.Name!),
      type: set.Type ?? '',
      ttl: set.TTL,
      values: (set.ResourceRecords ?? []).map((r) => r.Value ?? ''),
    }));
}

/** One batch, applied by Route 53 all or nothing; returns the change's id for getChangeStatus. */
export async function changeRecordSets(
  r53: Route53Client,
  zoneId: string,
  changes: RecordChange[],
  comment: string,
): Promise<string> {
  const Changes: Change[] = changes.map((c) => ({
    Action: c.action,
    ResourceRecordSet: {
      Name: c.set.name,
      Type: c.set.type as RRType,
      TTL: c.set.ttl,
      ResourceRecords: c.set.values.map((Value) => ({ Value })),
    },
  }));
  const out = await r53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Comment: comment, Changes },
    }),
  );
  return out.ChangeInfo?.Id ?? '';
}

export interface RecordChange {
  action: 'CREATE' | 'UPSERT' | 'DELETE';
  set: RecordSet;
}

/** PENDING until every Route 53 name server has the change, then INSYNC. */
export async function getChangeStatus(r53: Route53Client, changeId: string): Promise<string> {
  const out = await r53.send(new GetChangeCommand({ Id: changeId }));
  return out.ChangeInfo?.Status ?? 'PENDING';
}
