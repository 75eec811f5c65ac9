// The hub's Elastic IP: found by its tags (so an interrupted run's allocation is used, never
// doubled), allocated with its tags in one call when there is none, associated with the hub's
// instance; released with the hub by the one teardown path.
import type { EC2Client } from '@aws-sdk/client-ec2';
import * as eip from './aws/addresses.ts';
import type { Reporter } from './context.ts';
import { ActionError, isAwsError } from './errors.ts';

export interface AddressContext {
  ec2: EC2Client;
  log: Reporter;
}

const QUOTA_HINT =
  'The account has reached its Elastic IP quota in this region ("EC2-VPC Elastic IPs", 5 by default): release addresses no longer used, or request more in Service Quotas (code L-0263D0A3). Or run without elastic-ip.';

async function allocate(ctx: AddressContext, hubName: string): Promise<eip.HubAddress> {
  try {
    const address = await eip.allocateHubAddress(ctx.ec2, hubName);
    ctx.log.info(`Allocated Elastic IP ${address.publicIp} (${address.allocationId}).`);
    return address;
  } catch (err) {
    if (isAwsError(err, 'AddressLimitExceeded')) {
      throw new ActionError(
        `Input 'elastic-ip': no Elastic IP could be allocated for hub '${hubName}' (AddressLimitExceeded).`,
        QUOTA_HINT,
      );
    }
    throw err;
  }
}

/**
 * The hub's address, associated with `instanceId`. Two runs that allocate at once both keep
 * the lowest allocation id and release the other (tagged, unassociated) one.
 */
export async function ensureAddress(
  ctx: AddressContext,
  hubName: string,
  instanceId: string,
  again = true,
): Promise<{ address: eip.HubAddress; changed: boolean }> {
  let all = await eip.findHubAddresses(ctx.ec2, [hubName]);
  if (!all.length) {
    await allocate(ctx, hubName);
    all = await eip.findHubAddresses(ctx.ec2, [hubName]);
  }
  const attached = all.find((a) => a.instanceId === instanceId);
  const keep = attached ?? all[0];
  if (!keep) throw new ActionError(`The Elastic IP allocated for hub '${hubName}' is not listed.`);
  // Another run's simultaneous allocation (or one left by an interrupted run): one is enough.
  // Released only if still unassociated (InUse: another run associated it meanwhile: kept).
  for (const other of all.filter((a) => a !== keep && !a.associationId)) {
    if (await eip.releaseAddress(ctx.ec2, other)) {
      ctx.log.info(`Released ${other.publicIp} (${other.allocationId}): a second allocation.`);
    }
  }
  if (attached) return { address: attached, changed: false };
  try {
    await eip.associateAddress(ctx.ec2, keep.allocationId, instanceId);
  } catch (err) {
    // Another run released it as its own second allocation meanwhile: look once more.
    if (again && isAwsError(err, 'InvalidAllocationID.NotFound'))
      return ensureAddress(ctx, hubName, instanceId, false);
    throw err;
  }
  ctx.log.info(`Associated Elastic IP ${keep.publicIp} with ${instanceId}.`);
  return { address: { ...keep, instanceId }, changed: true };
}

/**
 * Releases the addresses of these hubs (their instances are terminated): unassociated ones,
 * and those still on an instance of `terminatedIds`; one on another instance (a concurrent
 * run's new launch) stays, said in the log.
 */
export async function releaseAddresses(
  ctx: AddressContext,
  hubNames: string[],
  terminatedIds: Set<string>,
): Promise<string[]> {
  const released: string[] = [];
  for (const a of await eip.findHubAddresses(ctx.ec2, hubNames)) {
    if (a.instanceId && !terminatedIds.has(a.instanceId)) {
      ctx.log.info(`Kept ${a.publicIp} (${a.allocationId}): it is on ${a.instanceId} now.`);
      continue;
    }
    if (await eip.releaseAddress(ctx.ec2, a)) released.push(`${a.publicIp} (${a.allocationId})`);
  }
  return released;
}

/**
 * The reaper's sweep: unassociated addresses of hubs matching `pattern` (EC2 filters take `*`)
 * that have no live instance at all, left by runs killed between the allocation and the
 * launch. A run allocating right now loses its address and allocates again (ensureAddress).
 */
export async function releaseOrphanAddresses(
  ctx: AddressContext,
  pattern: string,
  liveHubs: Set<string>,
  dryRun: boolean,
): Promise<string[]> {
  const orphans = (await eip.findHubAddresses(ctx.ec2, [pattern])).filter(
    (a) => !a.associationId && !liveHubs.has(a.hubName),
  );
  const released: string[] = [];
  for (const a of orphans) {
    const what = `${a.publicIp} (${a.allocationId}) of hub '${a.hubName}', which has no instance`;
    if (dryRun) ctx.log.info(`Would release ${what}.`);
    else if (await eip.releaseAddress(ctx.ec2, a)) released.push(what);
  }
  for (const r of released) ctx.log.info(`Released ${r}.`);
  return released;
}
