// An image builder's life, apart from the bake's steps (image-cache.ts): its launch (one per
// key: concurrent runs get the same instance or settle the launch race), the wait for its
// image, and its termination through teardown.ts, the one stop/terminate path.
import { imageState } from './aws/images.ts';
import { ensureSecurityGroup } from './aws/security-groups.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError } from './errors.ts';
import { builderHubName } from './image-key.ts';
import type { HubSpec } from './inputs.ts';
import { INSTANCE_WAIT_MS } from './instance-waits.ts';
import { launchChoices, launchFirstAvailable, settleLaunchRace } from './launch.ts';
import type { InstanceState } from './model.ts';
import type { LaunchTarget } from './remote-checks.ts';
import { launchClientToken } from './run-identity.ts';
import { TAG_EXPIRES_AT, TAG_IMAGE_KEY } from './tags.ts';
import { teardown } from './teardown.ts';
import { expiryTag } from './ttl.ts';
import { waitFor, WaitTimedOut } from './wait.ts';

/** A builder expires this long after its install could have ended at the latest. */
const BUILDER_GRACE_MS = 60 * 60_000;
/** How long the baking run waits for its image to be available before leaving it to others. */
export const IMAGE_AVAILABLE_MS = 2 * 60_000;

/** Launches the key's builder (or finds the one a concurrent run launched first). */
export async function launchBuilder(
  ctx: ReconcileContext,
  spec: HubSpec,
  target: LaunchTarget,
  key: string,
): Promise<string | undefined> {
  const name = builderHubName(key);
  // Its own group, with no inbound rule: the builder's hub (an admin without a password until
  // it is generalised) answers nobody. Deleted with the builder.
  const { groupId } = await ensureSecurityGroup(ctx.ec2, name, target.vpcId, []);
  const { instanceId } = await launchFirstAvailable(
    ctx,
    {
      hubName: name,
      imageId: target.imageId,
      rootDeviceName: target.rootDeviceName,
      rootVolumeSizeGiB: spec.rootVolumeSizeGiB,
      iamInstanceProfile: spec.iamInstanceProfile,
      securityGroupIds: [groupId],
      extraTags: {
        [TAG_IMAGE_KEY]: key,
        // Longer than any bake can take: the reaper's expired-only run ends a builder left.
        [TAG_EXPIRES_AT]: expiryTag(
          new Date(ctx.clock.now()),
          spec.installTimeoutMinutes * 60_000 + BUILDER_GRACE_MS,
        ),
      },
      // This run's own token (each run may launch one builder; EC2 refuses a token reused
      // with other parameters, and answers one reused after a termination with the terminated
      // instance for 24 hours). Runs that launched at once keep the oldest (the launch race).
      clientToken: launchClientToken(name, spec.region, ctx.runKey),
    },
    launchChoices({ ...spec, marketType: 'on-demand', spotFallback: false }),
  );
  ctx.log.info(`launched the builder ${instanceId}.`);
  const done: string[] = [];
  const winner = await settleLaunchRace(
    ctx,
    name,
    { instanceId, state: 'pending' },
    instanceId,
    done,
  );
  return winner.instanceId === instanceId ? instanceId : undefined;
}

/**
 * Waits (a little) for the image; once it is available the builder is terminated. Returns
 * whether it was: a pending image is left to the next run of its key, or the reaper.
 */
export async function finishBuilder(
  ctx: ReconcileContext,
  hubName: string,
  builderId: string,
  imageId: string,
): Promise<boolean> {
  let state: string;
  try {
    state = await waitFor({
      clock: ctx.clock,
      intervalMs: ctx.pollMs,
      timeoutMs: IMAGE_AVAILABLE_MS,
      what: `${imageId} to be available`,
      progress: (line) => ctx.log.info(line),
      look: async () => {
        const now = await imageState(ctx.ec2, imageId);
        return now === 'pending' ? { done: false, detail: now } : { done: true, value: now };
      },
    });
  } catch (err) {
    if (!(err instanceof WaitTimedOut)) throw err;
    ctx.log.info(
      `${imageId} is still pending: the next run of this key terminates ${builderId} once it is available.`,
    );
    return false;
  }
  await terminateBuilder(ctx, hubName, builderId, 'stopped');
  if (state !== 'available') {
    throw new ActionError(`${imageId} ended ${state}; the builder ${builderId} is terminated`);
  }
  ctx.log.info(`${imageId} is available; terminated the builder ${builderId}.`);
  return true;
}

/** The one way a builder goes (teardown.ts, as for any hub). */
export async function terminateBuilder(
  ctx: ReconcileContext,
  hubName: string,
  instanceId: string,
  state: InstanceState,
): Promise<void> {
  const out = await teardown(ctx, {
    desired: 'terminated',
    instances: [{ hubName, instanceId, state }],
    cleanUp: [hubName], // its own group
    timeoutMs: INSTANCE_WAIT_MS,
  });
  if (!out.instances[0]?.ok) throw new ActionError(`the builder ${instanceId} was not terminated`);
}
