// The hub's DNS record, decided without AWS (hub-dns.ts applies it): the A record, the
// companion TXT record that marks it as the action's own, and who owns what is found. The
// marker lives at its own name (_tljh-ec2-action.<name>) so that a TXT record the zone already
// has at <name> (SPF, site verification) is never replaced, the way external-dns keeps its
// registry under a prefix.
import type { RecordChange, RecordSet } from './aws/route53.ts';
import { MANAGED_BY } from './tags.ts';

export interface DnsRef {
  zoneId: string;
  name: string;
}

/** The A record's TTL: short, so a new address (after a start) reaches resolvers quickly. */
export const A_TTL = 60;
const MARKER_TTL = 300;

export function markerName(name: string): string {
  return `_${MANAGED_BY}.${name}`;
}

/** The TXT value (quoted, as Route 53 wants it) naming the hub that owns the record. */
export function markerValue(hubName: string): string {
  return `"heritage=${MANAGED_BY},hub=${hubName}"`;
}

/** `<zone id>/<name>` (TAG_DNS_RECORD), and back. */
export function refTag(ref: DnsRef): string {
  return `${ref.zoneId}/${ref.name}`;
}
export function parseRefTag(value: string | undefined): DnsRef | undefined {
  const m = /^([A-Z0-9]+)\/([a-z0-9.-]+)$/.exec(value ?? '');
  return m ? { zoneId: m[1]!, name: m[2]! } : undefined;
}

export type Ownership = { owner: 'hub' } | { owner: 'nobody' } | { owner: 'other'; why: string };

/** The types that say where a name goes: any of them not the hub's makes the name someone else's. */
const ADDRESS_TYPES = ['A', 'AAAA', 'CNAME'];

/**
 * Whose the name is: this hub's (its marker, and no AAAA or CNAME beside its A record: Let's
 * Encrypt validates over IPv6 first), nobody's (no address record, no marker), or someone
 * else's: an address record without this hub's marker, or a marker of another hub.
 */
export function ownership(
  hubName: string,
  name: string,
  atName: RecordSet[],
  marker: RecordSet | undefined,
): Ownership {
  const ours = markerValue(hubName);
  const addresses = atName.filter((r) => ADDRESS_TYPES.includes(r.type));
  const foreign = addresses.filter((r) => r.type !== 'A');
  if (marker?.values.includes(ours)) {
    return foreign.length
      ? {
          owner: 'other',
          why: `it also has ${foreign.map((r) => `a ${r.type} record`).join(' and ')} that this action did not create`,
        }
      : { owner: 'hub' };
  }
  if (marker) {
    const other = /hub=([a-z0-9-]+)/.exec(marker.values.join(' '))?.[1];
    return {
      owner: 'other',
      why: other
        ? `it belongs to hub '${other}' (TXT ${markerName(name)})`
        : `TXT ${markerName(name)} exists and does not name hub '${hubName}'`,
    };
  }
  if (addresses.length) {
    const what = addresses.map((r) => `${r.type} ${r.values.join(', ') || '(alias)'}`).join('; ');
    return {
      owner: 'other',
      why: `it has records (${what}) that this action did not create (no TXT ${markerName(name)})`,
    };
  }
  return { owner: 'nobody' };
}

/**
 * The A record at `ip` and the marker, in one batch (Route 53 applies it all or nothing).
 * `claim`: the name is nobody's yet, so CREATE, which Route 53 refuses if a set exists: of two
 * hubs claiming one name at once, one fails instead of both "succeeding".
 */
export function pointChanges(
  hubName: string,
  name: string,
  ip: string,
  claim: boolean,
): RecordChange[] {
  const action = claim ? 'CREATE' : 'UPSERT';
  return [
    { action, set: { name, type: 'A', ttl: A_TTL, values: [ip] } },
    {
      action,
      set: { name: markerName(name), type: 'TXT', ttl: MARKER_TTL, values: [markerValue(hubName)] },
    },
  ];
}

/** Deletes the A record and the marker as they are now (Route 53 deletes only exact matches). */
export function deleteChanges(a: RecordSet | undefined, marker: RecordSet): RecordChange[] {
  return [
    ...(a && a.values.length ? [{ action: 'DELETE' as const, set: a }] : []),
    { action: 'DELETE', set: marker },
  ];
}
