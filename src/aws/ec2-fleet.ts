// EC2 calls for many instances at once: one paginated listing of hubs and batched state
// changes (and Spot request cancellations), so a nightly stop of hundreds of hubs costs a
// handful of calls rather than several per hub. Security groups: security-groups.ts.
import {
  CancelSpotInstanceRequestsCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstances,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { isAwsError, isSessionExpired } from '../errors.ts';
import { LIVE_STATES, type FleetHub, type InstanceState } from '../model.ts';
import {
  MANAGED_BY,
  TAG_DNS_ADDRESS,
  TAG_DNS_RECORD,
  TAG_EXPIRES_AT,
  TAG_ELASTIC_IP,
  TAG_HUB,
  TAG_MANAGED_BY,
  tagValue,
} from '../tags.ts';

/** EC2 accepts many ids per call; 100 keeps each request and its error small. */
export const BATCH = 100;

export function chunks<T>(items: T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Every live hub this action manages in the region whose name matches the EC2 tag-filter
 * pattern (`*` is EC2's own wildcard). One paginated DescribeInstances.
 */
export async function listHubs(ec2: EC2Client, pattern: string): Promise<FleetHub[]> {
  const hubs: FleetHub[] = [];
  const pages = paginateDescribeInstances(
    { client: ec2, pageSize: 1000 },
    {
      Filters: [
        { Name: `tag:${TAG_MANAGED_BY}`, Values: [MANAGED_BY] },
        { Name: `tag:${TAG_HUB}`, Values: [pattern] },
        { Name: 'instance-state-name', Values: [...LIVE_STATES] },
      ],
    },
  );
  for await (const page of pages) {
    for (const r of page.Reservations ?? []) {
      for (const i of r.Instances ?? []) {
        hubs.push({
          hubName: tagValue(i.Tags, TAG_HUB) ?? '',
          instanceId: i.InstanceId!,
          state: i.State?.Name as InstanceState,
          expiresAt: tagValue(i.Tags, TAG_EXPIRES_AT),
          ...(i.SpotInstanceRequestId ? { spotRequestId: i.SpotInstanceRequestId } : {}),
          ...(tagValue(i.Tags, TAG_DNS_RECORD)
            ? { dnsRecord: tagValue(i.Tags, TAG_DNS_RECORD) }
            : {}),
          ...(tagValue(i.Tags, TAG_DNS_ADDRESS) && !tagValue(i.Tags, TAG_ELASTIC_IP)
            ? { withdrawRecord: true }
            : {}),
        });
      }
    }
  }
  return hubs.sort((a, b) => a.hubName.localeCompare(b.hubName));
}

export interface BatchResult {
  ok: string[];
  failed: { instanceId: string; error: string }[];
}

/**
 * Sends one call per batch; if a batch fails (one instance changed state meanwhile), retries
 * its instances one by one so one bad hub does not fail the others. An expired session is no
 * hub's fault and fails every later call alike: it ends the run (main.ts says what to change)
 * instead of being filed against each hub in turn.
 */
export async function inBatches(
  ids: string[],
  send: (ids: string[]) => Promise<unknown>,
): Promise<BatchResult> {
  const result: BatchResult = { ok: [], failed: [] };
  for (const batch of chunks(ids)) {
    try {
      await send(batch);
      result.ok.push(...batch);
    } catch (batchErr) {
      if (isSessionExpired(batchErr)) throw batchErr;
      for (const id of batch) {
        try {
          await send([id]);
          result.ok.push(id);
        } catch (err) {
          if (isSessionExpired(err)) throw err;
          result.failed.push({
            instanceId: id,
            error: `${(err as Error).name}: ${(err as Error).message}`,
          });
        }
      }
    }
  }
  return result;
}

export function stopMany(ec2: EC2Client, ids: string[]): Promise<BatchResult> {
  return inBatches(ids, (InstanceIds) => ec2.send(new StopInstancesCommand({ InstanceIds })));
}

export function terminateMany(ec2: EC2Client, ids: string[]): Promise<BatchResult> {
  return inBatches(ids, (InstanceIds) => ec2.send(new TerminateInstancesCommand({ InstanceIds })));
}

/**
 * Cancels Spot requests, batched. A request EC2 no longer knows (InvalidSpotInstanceRequestID.
 * NotFound, found alone once its batch failed) is as good as cancelled: it launches nothing.
 */
export function cancelSpotRequests(ec2: EC2Client, requestIds: string[]): Promise<BatchResult> {
  return inBatches(requestIds, async (SpotInstanceRequestIds) => {
    try {
      await ec2.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds }));
    } catch (err) {
      const gone =
        SpotInstanceRequestIds.length === 1 &&
        isAwsError(err, 'InvalidSpotInstanceRequestID.NotFound');
      if (!gone) throw err;
    }
  });
}
