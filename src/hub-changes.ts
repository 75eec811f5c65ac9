// The changes a re-run makes to a hub that exists: its instance type, its root volume, the web
// rules of its own security group and its tags. Each is planned by spec-diff.ts; a stop goes
// through teardown.ts like every other stop.
import * as ec2 from './aws/ec2.ts';
import { changeWebRules, describeWebRules } from './aws/security-groups.ts';
import { growVolume, modificationState } from './aws/volumes.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError } from './errors.ts';
import { INSTANCE_WAIT_MS } from './instance-waits.ts';
import type { ObservedInstance } from './model.ts';
import { webRuleChange } from './spec-diff.ts';
import { teardown } from './teardown.ts';
import { waitFor } from './wait.ts';

/** How long EBS may take before a grown volume can be used (usually seconds). */
export const VOLUME_MODIFY_MS = 10 * 60_000;

/**
 * Gives a hub's instance another type. EC2 changes it only on a stopped instance: a running
 * one is stopped first, on teardown.ts (the caller starts it again).
 */
export async function changeInstanceType(
  ctx: ReconcileContext,
  hubName: string,
  instance: ObservedInstance,
  to: string,
): Promise<void> {
  const current = await ec2.describeHubInstance(ctx.ec2, instance.instanceId);
  if (current.state !== 'stopped') {
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
  }
  await ec2.setInstanceType(ctx.ec2, instance.instanceId, to);
  ctx.log.info(`Instance ${instance.instanceId} is now ${to}.`);
}

/** Grows the root EBS volume and waits until its new size can be used ('optimizing'). */
export async function growRootVolume(
  ctx: ReconcileContext,
  volumeId: string,
  sizeGiB: number,
): Promise<void> {
  await growVolume(ctx.ec2, volumeId, sizeGiB);
  await waitFor({
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs: VOLUME_MODIFY_MS,
    what: `EBS to grow ${volumeId} to ${sizeGiB} GiB`,
    progress: (line) => ctx.log.info(line),
    look: async () => {
      const m = await modificationState(ctx.ec2, volumeId);
      if (m?.state === 'failed') {
        throw new ActionError(
          `EBS could not grow ${volumeId} to ${sizeGiB} GiB (modification failed).`,
          'See the volume in the EC2 console (Volumes > Modification); EBS allows one modification per volume every 6 hours.',
        );
      }
      // No modification listed: EBS already finished and forgot it, or moto never keeps one.
      const ready = !m || m.state === 'optimizing' || m.state === 'completed';
      return ready ? { done: true, value: undefined } : { done: false, detail: m.state ?? '?' };
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
