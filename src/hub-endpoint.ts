// Where a hub is reached, applied: its Elastic IP attached (hub-address.ts) and its DNS record
// pointed at it (hub-dns.ts), each remembered in a tag of the instance so that a later run
// knows there is nothing to do without asking AWS, and a terminate (the reaper's too) knows what
// to remove. Cleaned up with the hub by teardown.ts.
import * as ec2 from './aws/ec2.ts';
import type { ReconcileContext } from './context.ts';
import { parseRefTag, refTag, type DnsRef } from './dns-record.ts';
import { ActionError, isSessionExpired } from './errors.ts';
import { ensureAddress, releaseAddresses } from './hub-address.ts';
import { deleteRecord, pointRecord, withdrawRecord, type DnsContext } from './hub-dns.ts';
import type { HubSpec } from './inputs.ts';
import type { ObservedInstance } from './model.ts';
import { TAG_DNS_ADDRESS, TAG_DNS_RECORD, TAG_ELASTIC_IP } from './tags.ts';

type Tagged = Pick<ObservedInstance, 'instanceId' | 'publicIp' | 'tags'>;

async function tagIfNew(ctx: ReconcileContext, i: Tagged, key: string, value: string) {
  if (i.tags?.[key] === value) return;
  await ec2.tagInstance(ctx.ec2, i.instanceId, { [key]: value });
  i.tags = { ...i.tags, [key]: value };
}

/** Attaches the hub's Elastic IP; returns its address, and a line for the summary if it changed. */
export async function attachAddress(
  ctx: ReconcileContext,
  hubName: string,
  instance: Tagged,
): Promise<{ ip: string; done?: string }> {
  const { address, changed } = await ensureAddress(ctx, hubName, instance.instanceId);
  await tagIfNew(ctx, instance, TAG_ELASTIC_IP, `${address.allocationId} ${address.publicIp}`);
  const done = changed
    ? `associated Elastic IP ${address.publicIp} (${address.allocationId})`
    : undefined;
  return { ip: address.publicIp, done };
}

/**
 * Points the hub's record at its public IP. The tag naming the record is set first, so that a
 * run interrupted in between still leaves a record its terminate finds. A record this hub made
 * under another name before (dns-name changed) is deleted before that.
 */
export async function pointHubRecord(
  ctx: ReconcileContext,
  spec: HubSpec,
  instance: Tagged,
): Promise<string | undefined> {
  const ref = spec.dns!;
  const ip = instance.publicIp;
  if (!ip) {
    throw new ActionError(
      `${instance.instanceId} has no public IP address: ${ref.name} cannot point at it.`,
      "Use 'elastic-ip: true', or a subnet that assigns public IPv4 addresses.",
    );
  }
  // A former name (dns-name changed) goes first, while the tag still names it: a run cancelled
  // in between leaves no record that no tag names.
  const before = parseRefTag(instance.tags?.[TAG_DNS_RECORD]);
  const lines: string[] = [];
  if (before && refTag(before) !== refTag(ref)) {
    const deleted = await deleteRecord(ctx, spec.hubName, before);
    if (deleted) lines.push(`deleted the hub's former record ${deleted}`);
  }
  await tagIfNew(ctx, instance, TAG_DNS_RECORD, refTag(ref));
  if (await pointRecord(ctx, spec.hubName, ref, ip)) lines.push(`pointed ${ref.name} at ${ip}`);
  await tagIfNew(ctx, instance, TAG_DNS_ADDRESS, ip);
  return lines.join('; ') || undefined;
}

/** dns-name no longer given: the hub's record (if it owns it) and the tags naming it go. */
export async function forgetRecord(
  ctx: ReconcileContext,
  hubName: string,
  instance: Tagged,
): Promise<string | undefined> {
  const ref = parseRefTag(instance.tags?.[TAG_DNS_RECORD]);
  if (!ref) return undefined;
  const deleted = await deleteRecord(ctx, hubName, ref);
  await ec2.untagResources(ctx.ec2, [instance.instanceId], [TAG_DNS_RECORD, TAG_DNS_ADDRESS]);
  return deleted ? `deleted the record ${deleted} (dns-name no longer given)` : undefined;
}

export interface EndpointCleanUp {
  released: string[];
  deletedRecords: string[];
}

/**
 * After their instances are terminated: every address tagged as these hubs', and their records
 * (named by the instances' tags, or by the inputs). A failure is a warning naming the run that
 * finishes the job; an expired session fails the run.
 */
export async function cleanUpEndpoints(
  ctx: DnsContext & Pick<ReconcileContext, 'ec2'>,
  hubNames: string[],
  records: { hubName: string; ref: DnsRef }[],
  /** The instances just terminated: an address on any other (a concurrent run's) stays. */
  terminatedIds: Set<string>,
): Promise<EndpointCleanUp> {
  const out: EndpointCleanUp = { released: [], deletedRecords: [] };
  const warn = (what: string, hint: string) => (err: unknown) => {
    if (isSessionExpired(err)) throw err;
    ctx.log.warning(`Could not ${what}: ${(err as Error).message}. ${hint}`);
  };
  if (!hubNames.length) return out;
  const again = `A run with state terminated for ${hubNames.length > 1 ? 'these hubs' : `hub '${hubNames[0]}'`} (with its dns-zone-id and dns-name, for the record) does it.`;
  await releaseAddresses(ctx, hubNames, terminatedIds)
    .then((released) => out.released.push(...released))
    .catch(warn('release the Elastic IPs', again));
  const seen = new Set<string>();
  for (const { hubName, ref } of records.filter((r) => hubNames.includes(r.hubName))) {
    if (seen.has(refTag(ref))) continue;
    seen.add(refTag(ref));
    await deleteRecord(ctx, hubName, ref)
      .then((deleted) => deleted && out.deletedRecords.push(deleted))
      .catch(warn(`delete the record ${ref.name}`, again));
  }
  return out;
}

/**
 * After a stop: the A records of stopped hubs that have no Elastic IP (their address is gone),
 * each instance's record tag kept and its address tag removed (the next start writes it
 * again; a stop of a hub whose record is already withdrawn asks nothing). A failure is a
 * warning: the next start repairs the record anyway.
 */
export async function withdrawRecords(
  ctx: DnsContext & Pick<ReconcileContext, 'ec2'>,
  stopped: { hubName: string; instanceId: string; dnsRecord?: string; withdrawRecord?: boolean }[],
): Promise<string[]> {
  const withdrawn: string[] = [];
  for (const i of stopped) {
    const ref = parseRefTag(i.dnsRecord);
    if (!ref || !i.withdrawRecord) continue;
    try {
      if (await withdrawRecord(ctx, i.hubName, ref)) withdrawn.push(ref.name);
      await ec2.untagResources(ctx.ec2, [i.instanceId], [TAG_DNS_ADDRESS]);
    } catch (err) {
      if (isSessionExpired(err)) throw err;
      ctx.log.warning(
        `Could not remove the A record ${ref.name} of stopped hub '${i.hubName}': ${(err as Error).message}. The next start points it at the hub again.`,
      );
    }
  }
  return withdrawn;
}
