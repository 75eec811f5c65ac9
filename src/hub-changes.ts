// The changes a re-run makes to a hub that exists: its instance type, its root volume, the web
// rules of its own security group and its tags. Each is planned by spec-diff.ts; a stop goes
// through teardown.ts like every other stop.
import * as ec2 from './aws/ec2.ts';
import { changeWebRules, describeWebRules } from './aws/security-groups.ts';
import { growVolume, modificationState, volumeSizeGiB } from './aws/volumes.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError, isAwsError } from './errors.ts';
import type { HubSpec } from './inputs/spec.ts';
import { INSTANCE_WAIT_MS, waitForInstance } from './instance-waits.ts';
import type { ObservedInstance } from './model.ts';
import { webRuleChange } from './spec-diff.ts';
import { startSpotInstance, spotUnavailable } from './spot.ts';
import { teardown } from './teardown.ts';
import { waitFor } from './wait.ts';

/** How long EBS may take before a grown volume can be used (usually seconds). */
export const VOLUME_MODIFY_MS = 10 * 60_000;

/**
 * Stops a hub's instance so that its type can change, on teardown.ts (the one stop path).
 * Returns whether this run sent the stop.
 */
export async function stopForTypeChange(
  ctx: ReconcileContext,
  hubName: string,
  instance: ObservedInstance,
): Promise<boolean> {
  const current = await ec2.describeHubInstance(ctx.ec2, instance.instanceId);
  if (current.state === 'stopped') return false;
  const out = await teardown(ctx, {
    desired: 'stopped',
    instances: [{ hubName, instanceId: current.instanceId, state: current.state }],
    cleanUp: [],
    timeoutMs: INSTANCE_WAIT_MS,
  });
  const result = out.instances[0];
  if (!result?.ok || result.final !== 'stopped') {
    throw new ActionError(
      `Could not stop ${instance.instanceId} to change its type (${result?.result ?? 'not found'}).`,
      'Someone else may have changed it meanwhile: run again; the action converges from the state it finds.',
    );
  }
  return result.sent;
}

/**
 * Gives a hub's instance another type. EC2 changes it only on a stopped instance: one that is
 * not (started meanwhile by another run) is stopped first (the caller starts it again).
 */
export async function changeInstanceType(
  ctx: ReconcileContext,
  hubName: string,
  instance: ObservedInstance,
  to: string,
): Promise<void> {
  await stopForTypeChange(ctx, hubName, instance);
  await ec2.setInstanceType(ctx.ec2, instance.instanceId, to);
  ctx.log.info(`Instance ${instance.instanceId} is now ${to}.`);
}

/**
 * Grows the root EBS volume and waits until its new size can be used ('optimizing'). A
 * modification to this size already under way (a re-run) is waited for, not sent again; one to
 * another target fails the run (EBS takes one at a time: IncorrectModificationState).
 */
export async function growRootVolume(
  ctx: ReconcileContext,
  volumeId: string,
  sizeGiB: number,
): Promise<void> {
  const before = await modificationState(ctx.ec2, volumeId);
  const underWay = before?.state === 'modifying' || before?.state === 'optimizing';
  if (underWay && before.targetSize !== sizeGiB) {
    throw new ActionError(
      `EBS is still applying another change to ${volumeId} (to ${before.targetSize ?? '?'} GiB, ${before.state}).`,
      'Run again once it is done (EC2 console, Volumes > Modification).',
    );
  }
  if (!underWay) await growVolume(ctx.ec2, volumeId, sizeGiB);
  await waitFor({
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs: VOLUME_MODIFY_MS,
    what: `EBS to grow ${volumeId} to ${sizeGiB} GiB`,
    progress: (line) => ctx.log.info(line),
    look: async () => {
      const m = await modificationState(ctx.ec2, volumeId);
      // An older failed one may still be the latest listed right after this run's request.
      if (m?.state === 'failed' && m.targetSize === sizeGiB) {
        throw new ActionError(
          `EBS could not grow ${volumeId} to ${sizeGiB} GiB (modification failed).`,
          'See the volume in the EC2 console (Volumes > Modification); EBS allows one modification per volume every 6 hours.',
        );
      }
      // Only this size counts: EBS lists the latest modification, which may be another one;
      // none listed (EBS keeps them for a while only): the volume's own size says.
      const ready = m
        ? m.targetSize === sizeGiB && (m.state === 'optimizing' || m.state === 'completed')
        : ((await volumeSizeGiB(ctx.ec2, volumeId)) ?? 0) >= sizeGiB;
      return ready
        ? { done: true, value: undefined }
        : {
            done: false,
            detail: m ? `${m.state ?? '?'} to ${m.targetSize ?? '?'} GiB` : 'none listed',
          };
    },
  });
}

/** Makes the group allow exactly these blocks on the web ports. Returns what changed. */
export async function matchWebRules(
  ctx: ReconcileContext,
  groupId: string,
  cidrs: string[],
): Promise<{ added: string[]; removed: string[] }> {
  const change = webRuleChange(await describeWebRules(ctx.ec2, groupId), cidrs);
  await changeWebRules(ctx.ec2, groupId, change);
  const unique = (m: Map<number, string[]>) => [...new Set([...m.values()].flat())];
  return { added: unique(change.add), removed: unique(change.remove) };
}

/** Sets and removes tags on the instance and its root volume alike. */
export async function changeTags(
  ctx: ReconcileContext,
  instance: ObservedInstance,
  set: Record<string, string>,
  remove: string[],
): Promise<void> {
  const resources = [
    instance.instanceId,
    ...(instance.rootVolumeId ? [instance.rootVolumeId] : []),
  ];
  if (Object.keys(set).length) await ec2.tagResources(ctx.ec2, resources, set);
  if (remove.length) await ec2.untagResources(ctx.ec2, resources, remove);
}

/** What EC2 answers a start it has no room for, at that type in that zone. */
const NO_CAPACITY = [
  'InsufficientInstanceCapacity',
  'Unsupported',
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
];

/**
 * Starts the hub's instance. When EC2 cannot start it at the type this run just gave it (no
 * capacity, or not offered in its zone), it goes back to `typeChangedFrom` and starts there:
 * the hub is not left down, and the run fails saying so. A Spot hub EC2 does not let us start
 * (IncorrectSpotRequestState) is waited for (spot.ts); one it has no capacity for fails saying
 * what the user can do.
 */
export async function startInstance(
  ctx: ReconcileContext,
  spec: Pick<HubSpec, 'hubName' | 'instanceType'>,
  instanceId: string,
  typeChangedFrom?: string,
): Promise<void> {
  try {
    await ec2.startInstance(ctx.ec2, instanceId);
  } catch (err) {
    if (isAwsError(err, 'IncorrectSpotRequestState')) {
      return startSpotInstance(ctx, spec.hubName, instanceId);
    }
    if (!typeChangedFrom && isAwsError(err, 'InsufficientInstanceCapacity')) {
      const instance = await ec2.describeHubInstance(ctx.ec2, instanceId);
      if (instance.market === 'spot') {
        throw spotUnavailable(spec.hubName, instance, `StartInstances: ${(err as Error).message}`);
      }
    }
    if (!typeChangedFrom || !isAwsError(err, ...NO_CAPACITY)) throw err;
    ctx.log.warning(
      `EC2 cannot start ${instanceId} as ${spec.instanceType} (${(err as Error).name}): going back to ${typeChangedFrom}.`,
    );
    await ec2.setInstanceType(ctx.ec2, instanceId, typeChangedFrom);
    await ec2.startInstance(ctx.ec2, instanceId);
    await waitForInstance(ctx, instanceId, 'running');
    throw new ActionError(
      `EC2 could not start hub '${spec.hubName}' as ${spec.instanceType}: ${(err as Error).message} It was started again as ${typeChangedFrom}.`,
      "Run again later, or give 'instance-type' another type (or fallbacks, in order).",
    );
  }
}
