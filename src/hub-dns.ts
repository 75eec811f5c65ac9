// The hub's Route 53 record: checked against the zone before anything changes, pointed at the
// hub (A record and marker in one batch, then a wait until Route 53 says INSYNC), and deleted
// with the hub. A name this hub does not own is never changed (dns-record.ts decides).
import type { Route53Client } from '@aws-sdk/client-route-53';
import * as r53 from './aws/route53.ts';
import type { WaitContext } from './context.ts';
import {
  deleteChanges,
  markerName,
  markerValue,
  ownership,
  pointChanges,
  type DnsRef,
  type Ownership,
} from './dns-record.ts';
import { ActionError } from './errors.ts';
import { waitFor } from './wait.ts';

export type DnsContext = WaitContext & { route53: Route53Client };

/** Route 53 propagates a change to all its name servers within 60 s (its documentation). */
export const INSYNC_WAIT_MS = 5 * 60_000;

interface Found {
  a?: r53.RecordSet;
  marker?: r53.RecordSet;
  own: Ownership;
}

async function look(ctx: DnsContext, hubName: string, ref: DnsRef): Promise<Found> {
  const [atName, marker] = await Promise.all([
    r53.getNameRecordSets(ctx.route53, ref.zoneId, ref.name),
    r53.getRecordSet(ctx.route53, ref.zoneId, markerName(ref.name), 'TXT'),
  ]);
  const a = atName.find((r) => r.type === 'A');
  return { a, marker, own: ownership(hubName, ref.name, atName, marker) };
}

function notOurs(ref: DnsRef, why: string): ActionError {
  return new ActionError(
    `Input 'dns-name': ${ref.name} cannot be the hub's: ${why}. Nothing was changed.`,
    'Accepted: a name with no record yet, or one this hub created. Choose another dns-name, or delete that record in Route 53 if it is no longer used.',
  );
}

/**
 * Read-only, before anything changes: the zone exists, holds the name, and the name is free or
 * this hub's. A private zone is refused with HTTPS (Let's Encrypt cannot resolve it).
 */
export async function checkRecord(
  ctx: DnsContext,
  hubName: string,
  ref: DnsRef,
  https: boolean,
): Promise<void> {
  const zone = await r53.getHostedZone(ctx.route53, ref.zoneId);
  if (ref.name !== zone.name && !ref.name.endsWith(`.${zone.name}`)) {
    throw new ActionError(
      `Input 'dns-name': ${ref.name} is not in the hosted zone ${ref.zoneId} (${zone.name}). Nothing was changed.`,
      `Accepted: a name ending in .${zone.name}, or the dns-zone-id of the zone that holds ${ref.name}.`,
    );
  }
  if (zone.privateZone && https) {
    throw new ActionError(
      `Input 'dns-zone-id': ${ref.zoneId} is a private hosted zone, which Let's Encrypt cannot resolve: HTTPS could never be issued. Nothing was changed.`,
      'Accepted: a public hosted zone, or no https-email with a private one.',
    );
  }
  const found = await look(ctx, hubName, ref);
  if (found.own.owner === 'other') throw notOurs(ref, found.own.why);
}

/**
 * Points the record at `ip` (no change if it already does) and waits until Route 53 serves
 * it. Returns whether it changed anything.
 */
export async function pointRecord(
  ctx: DnsContext,
  hubName: string,
  ref: DnsRef,
  ip: string,
): Promise<boolean> {
  const found = await look(ctx, hubName, ref);
  if (found.own.owner === 'other') throw notOurs(ref, found.own.why);
  if (found.own.owner === 'hub' && found.a?.values.join() === ip) {
    ctx.log.info(`${ref.name} already points at ${ip}.`);
    return false;
  }
  const changeId = await r53.changeRecordSets(
    ctx.route53,
    ref.zoneId,
    pointChanges(hubName, ref.name, ip, found.own.owner === 'nobody'),
    `tljh-ec2-action: hub ${hubName}`,
  );
  ctx.log.info(
    `${ref.name} → ${ip} (A record and TXT ${markerName(ref.name)}); change ${changeId}.`,
  );
  await waitFor({
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs: INSYNC_WAIT_MS,
    what: `Route 53 to serve ${ref.name} → ${ip} on all its name servers (change ${changeId})`,
    progress: (line) => ctx.log.info(line),
    look: async () =>
      (await r53.getChangeStatus(ctx.route53, changeId)) === 'INSYNC'
        ? { done: true, value: undefined }
        : { done: false, detail: 'PENDING' },
  });
  ctx.log.info(`Route 53 serves ${ref.name} → ${ip} (INSYNC).`);
  return true;
}

/**
 * Deletes the hub's record and its marker; a record the hub does not own is left alone (said
 * in the log; a marker of this hub beside a foreign AAAA or CNAME goes, the foreign record
 * stays). Returns what was deleted, if anything.
 */
export async function deleteRecord(
  ctx: DnsContext,
  hubName: string,
  ref: DnsRef,
): Promise<string | undefined> {
  const found = await look(ctx, hubName, ref);
  const ours = found.marker?.values.includes(markerValue(hubName));
  if (!ours || !found.marker) {
    if (found.own.owner === 'other') ctx.log.info(`Left ${ref.name} alone: ${found.own.why}.`);
    return undefined;
  }
  await r53.changeRecordSets(
    ctx.route53,
    ref.zoneId,
    deleteChanges(found.a, found.marker),
    `tljh-ec2-action: hub ${hubName} terminated`,
  );
  return `${ref.name}${found.a ? ` (A ${found.a.values.join(', ')})` : ''}`;
}

/**
 * While a hub without an Elastic IP is stopped its address goes back to AWS, which may give it
 * to anyone: the A record is removed (the marker stays, so the name stays the hub's) and
 * written again at the next start. Returns whether an A record was deleted.
 */
export async function withdrawRecord(
  ctx: DnsContext,
  hubName: string,
  ref: DnsRef,
): Promise<boolean> {
  const found = await look(ctx, hubName, ref);
  if (!found.marker?.values.includes(markerValue(hubName)) || !found.a?.values.length) return false;
  await r53.changeRecordSets(
    ctx.route53,
    ref.zoneId,
    [{ action: 'DELETE', set: found.a }],
    `tljh-ec2-action: hub ${hubName} stopped`,
  );
  return true;
}
