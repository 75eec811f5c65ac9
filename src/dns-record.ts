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

/**
 * Whose the name is: this hub's (its marker), nobody's (neither an A record nor a marker), or
 * someone else's: an A record without this hub's marker, or a marker of another hub.
 */
export function ownership(
  hubName: string,
  name: string,
  a: RecordSet | undefined,
  marker: RecordSet | undefined,
): Ownership {
  const ours = markerValue(hubName);
  if (marker?.values.includes(ours)) return { owner: 'hub' };
  if (marker) {
    const other = /hub=([a-z0-9-]+)/.exec(marker.values.join(' '))?.[1];
    return {
      owner: 'other',
      why: other
        ? `it belongs to hub '${other}' (TXT ${markerName(name)})`
        : `TXT ${markerName(name)} exists and does not name hub '${hubName}'`,
    };
  }
  if (a) {
    return {
      owner: 'other',
      why: `it has an A record (${a.values.join(', ') || 'an alias'}) that this action did not create (no TXT ${markerName(name)})`,
    };
  }
  return { owner: 'nobody' };
}

/** The A record at `ip` and the marker, in one batch (Route 53 applies it all or nothing). */
export function pointChanges(hubName: string, name: string, ip: string): RecordChange[] {
  return [
    { action: 'UPSERT', set: { name, type: 'A', ttl: A_TTL, values: [ip] } },
    {
      action: 'UPSERT',
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
