// The image cache (image-cache: true): which image a new hub launches from, and baking one when
// its key has none. A bake never costs a hub anything: a throwaway builder instance, launched
// alongside the hub in a security group with no public inbound rule, installs TLJH with the
// hub's install-time inputs, is generalised (scripts/generalize.ts), stopped and imaged, then
// terminated. Every resource it makes is tagged from its creation, and each step is found again
// by its tags, so a later run (or the reaper, which terminates the builder when its expiry
// passes) finishes or cleans what a cancelled run left:
//  - a builder with an image already made: terminated once the image is available;
//  - a builder another run is baking with (its install lease): left to that run;
//  - two runs that miss the same key at once: each may launch a builder, the launch race of
//    launch.ts keeps the oldest, and one run holds its lease: one image.
// Pruning is image-prune.ts's; the builder's launch, wait and end, image-builder.ts's.
import * as ec2 from './aws/ec2.ts';
import { createImage, findCachedImages } from './aws/images.ts';
import { buildInstallScript } from './bootstrap.ts';
import type { ReconcileContext, Reporter } from './context.ts';
import { ActionError, InstanceGoneError } from './errors.ts';
import {
  builderHubName,
  cachedImageName,
  imageFamily,
  imageKey,
  isCacheableVersion,
  newestAvailable,
  type ImageInputs,
} from './image-key.ts';
import type { HubSpec } from './inputs.ts';
import { InstallLease } from './install-lease.ts';
import { settleLaunchRace } from './launch.ts';
import { finishBuilder, launchBuilder, terminateBuilder } from './image-builder.ts';
import { pruneFamily } from './image-prune.ts';
import { INSTANCE_WAIT_MS, waitForInstance } from './instance-waits.ts';
import type { LaunchTarget } from './remote-checks.ts';
import { AGENT_TIMEOUT_MS, runScript, waitForAgent } from './run-command.ts';
import { buildGeneralizeScript } from './scripts/generalize.ts';
import {
  MANAGED_BY,
  TAG_BAKED_IMAGE,
  TAG_BASE_IMAGE,
  TAG_IMAGE_FAMILY,
  TAG_IMAGE_KEY,
  TAG_INSTALLED_VERSION,
  TAG_MANAGED_BY,
} from './tags.ts';
import { teardown } from './teardown.ts';
import { evaluateReport, parseReport } from './verify.ts';

export type ImageSource = 'cache' | 'ubuntu' | 'given';

/** The builder's admin: TLJH wants one; the image keeps none (its config.yaml is removed). */
const BUILDER_ADMIN = 'image-builder';

export interface ImageChoice {
  source: ImageSource;
  /** The cache's key and family (image-cache only). */
  key?: string;
  family?: string;
  inputs?: ImageInputs;
  /** image-cache, and no image of the key: a bake goes alongside the launch. */
  miss?: boolean;
}

/**
 * Which image a new hub launches from. A hit replaces the target's image (and its root device)
 * with the newest available image of the key that fits the hub's root volume.
 */
export async function chooseImage(
  ctx: ReconcileContext,
  spec: HubSpec,
  target: LaunchTarget,
): Promise<{ choice: ImageChoice; target: LaunchTarget }> {
  if (spec.imageId) return { choice: { source: 'given' }, target };
  if (!spec.imageCache) return { choice: { source: 'ubuntu' }, target };
  if (!isCacheableVersion(spec.tljhVersion)) {
    ctx.log.warning(
      `Image cache: tljh-version '${spec.tljhVersion}' is not a release (it moves): installing it as usual, with no image.`,
    );
    return { choice: { source: 'ubuntu' }, target };
  }
  const inputs: ImageInputs = {
    tljhVersion: spec.tljhVersion,
    baseImageId: target.imageId,
    architecture: target.architecture,
    plugins: spec.plugins ?? [],
    userRequirementsUrl: spec.userRequirementsUrl,
  };
  const key = imageKey(inputs);
  const family = imageFamily(inputs);
  const images = await findCachedImages(ctx.ec2, family);
  const fits = images.filter((i) => (i.rootSizeGiB ?? 0) <= spec.rootVolumeSizeGiB);
  const hit = newestAvailable(fits, key);
  if (hit) {
    const image = await ec2.describeImage(ctx.ec2, hit.imageId);
    ctx.log.info(
      `Image cache: ${hit.imageId} (baked ${hit.creationDate}) has TLJH ${spec.tljhVersion} for key ${key}: no installer run.`,
    );
    return {
      choice: { source: 'cache', key, family, inputs },
      target: { ...target, ...image, imageId: hit.imageId },
    };
  }
  ctx.log.info(
    `Image cache: no image for key ${key} (TLJH ${spec.tljhVersion}, ${target.imageId}, ${target.architecture}): this hub installs as usual, and a builder bakes the image alongside.`,
  );
  return { choice: { source: 'ubuntu', key, family, inputs, miss: true }, target };
}

/** The bake's log lines, told apart from the hub's (they run side by side). */
function bakeLog(log: Reporter): Reporter {
  const say = (m: string) => `Image cache: ${m}`;
  return {
    group: (_name, fn) => fn(),
    info: (m) => log.info(say(m)),
    warning: (m) => log.warning(say(m)),
    mask: (s) => log.mask(s),
  };
}

/**
 * Bakes the image of a missed key. Never throws: a failed bake is a warning (the hub has what
 * it needs), and whatever it left is tagged for the next run or the reaper. Returns the image.
 */
export async function bakeImage(
  parent: ReconcileContext,
  spec: HubSpec,
  target: LaunchTarget,
  choice: ImageChoice,
): Promise<string | undefined> {
  const ctx: ReconcileContext = { ...parent, log: bakeLog(parent.log), phases: undefined };
  try {
    return await bake(ctx, spec, target, choice);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.log.warning(
      `the image for key ${choice.key} was not baked (${message}). The hub is not affected; the next hub of this key tries again, and the builder (tagged, expiring) is terminated by it or by the reaper.`,
    );
    return undefined;
  }
}

async function bake(
  ctx: ReconcileContext,
  spec: HubSpec,
  target: LaunchTarget,
  choice: ImageChoice,
): Promise<string | undefined> {
  const key = choice.key!;
  const name = builderHubName(key);
  const lease = (id: string) =>
    new InstallLease(ctx, spec.installTimeoutMinutes * 60_000, () => id);
  const [found] = await ec2.findHubInstances(ctx.ec2, name);
  if (found?.tags?.[TAG_BAKED_IMAGE]) {
    // A run imaged this builder and ended before the image was available.
    await finishBuilder(ctx, name, found.instanceId, found.tags[TAG_BAKED_IMAGE]);
    await pruneFamily(ctx, choice.family!, spec.imageCacheKeep);
    return undefined;
  }
  if (found && (await lease(found.instanceId).otherRuns(found.installLease)) !== 'free') {
    ctx.log.info(`another run bakes the image for key ${key} on ${found.instanceId}.`);
    return undefined;
  }
  if (found && found.state !== 'pending' && found.state !== 'running') {
    // Stopped before it was imaged, and nobody's (a nightly stop of every hub): it starts over.
    ctx.log.info(
      `the builder ${found.instanceId} is ${found.state} without an image: replacing it.`,
    );
    await terminateBuilder(ctx, name, found.instanceId, found.state);
  }
  const running = found && (found.state === 'pending' || found.state === 'running');
  const own = running ? undefined : await launchBuilder(ctx, spec, target, key);
  const builderId = running ? found.instanceId : own;
  if (!builderId) return undefined;
  // Listed by id only once visible: the lease is taken on a running builder.
  await waitForInstance(ctx, builderId, 'running');
  if (own) {
    // A builder another run launched at the same moment may be visible only now: the oldest
    // stays (its run bakes), a newer own one is terminated (launch.ts, as for hubs).
    const winner = await settleLaunchRace(
      ctx,
      name,
      { instanceId: own, state: 'running' },
      own,
      [],
    );
    if (winner.instanceId !== own) {
      ctx.log.info(`another run launched the builder ${winner.instanceId} first: it bakes there.`);
      return undefined;
    }
  }
  const held = lease(builderId);
  if (!(await held.take(false)).won) {
    ctx.log.info(`another run bakes the image for key ${key} on ${builderId}.`);
    return undefined;
  }
  try {
    const imageId = await bakeOn(ctx, spec, target, choice, builderId, held);
    await finishBuilder(ctx, name, builderId, imageId);
    await pruneFamily(ctx, choice.family!, spec.imageCacheKeep);
    return imageId;
  } catch (err) {
    // This run holds the builder: it goes now rather than at its expiry.
    const [now] = await ec2.findHubInstances(ctx.ec2, name);
    if (now?.instanceId === builderId && !now.tags?.[TAG_BAKED_IMAGE]) {
      await terminateBuilder(ctx, name, builderId, now.state).catch(() => undefined);
    }
    throw err;
  }
}

/** Install, generalise, stop, image: the builder's steps, under this run's lease. */
async function bakeOn(
  ctx: ReconcileContext,
  spec: HubSpec,
  target: LaunchTarget,
  choice: ImageChoice,
  builderId: string,
  lease: InstallLease,
): Promise<string> {
  const key = choice.key!;
  const name = builderHubName(key);
  ctx.log.info(`baking on ${builderId}: install, generalise, stop, image.`);
  // A builder someone stopped or terminated meanwhile ends the bake at once.
  const stillThere = async () => {
    const now = await ec2.describeHubInstance(ctx.ec2, builderId);
    if (now.state !== 'running') throw new InstanceGoneError(builderId, now.state);
  };
  await waitForAgent(ctx, builderId, { timeoutMs: AGENT_TIMEOUT_MS, stillThere });
  const install = await runScript(
    ctx,
    builderId,
    buildInstallScript({
      tljhVersion: spec.tljhVersion,
      adminUser: BUILDER_ADMIN,
      region: spec.region,
      plugins: spec.plugins,
      userRequirementsUrl: spec.userRequirementsUrl,
      lockWaitSeconds: spec.installTimeoutMinutes * 60,
    }),
    `tljh-ec2-action: bake TLJH ${spec.tljhVersion}`,
    { timeoutMs: spec.installTimeoutMinutes * 60_000, stillThere, onSent: (c) => lease.write(c) },
  );
  const health = evaluateReport(parseReport(install.stdout));
  if (install.status !== 'Success' || !health.healthy) {
    throw new ActionError(
      `the install on the builder failed (${install.status}, exit ${install.exitCode}${health.problems.length ? `: ${health.problems.join('; ')}` : ''})`,
    );
  }
  const generalized = await runScript(
    ctx,
    builderId,
    buildGeneralizeScript(builderId),
    'tljh-ec2-action: generalise the image builder',
    { timeoutMs: 5 * 60_000, stillThere },
  );
  if (generalized.status !== 'Success') {
    const error = parseReport(generalized.stdout).fields.error ?? generalized.stderr.trim();
    throw new ActionError(`generalising the builder failed (${error || generalized.status})`);
  }
  // Lease written again: its time runs from here, so no run replaces the stopped builder.
  await lease.write();
  const stop = await teardown(ctx, {
    desired: 'stopped',
    instances: [{ hubName: name, instanceId: builderId, state: 'running' }],
    cleanUp: [],
    timeoutMs: INSTANCE_WAIT_MS,
  });
  if (!stop.instances[0]?.ok) throw new ActionError(`the builder ${builderId} did not stop`);
  const imageId = await createImage(ctx.ec2, builderId, cachedImageName(key, builderId), {
    Name: `tljh-cache-${key}`,
    [TAG_MANAGED_BY]: MANAGED_BY,
    [TAG_IMAGE_KEY]: key,
    [TAG_IMAGE_FAMILY]: choice.family!,
    [TAG_BASE_IMAGE]: target.imageId,
    [TAG_INSTALLED_VERSION]: spec.tljhVersion,
  });
  await ec2.tagInstance(ctx.ec2, builderId, { [TAG_BAKED_IMAGE]: imageId });
  ctx.log.info(`imaging ${builderId} into ${imageId} (snapshots encrypted, tagged).`);
  return imageId;
}

/**
 * After a hit: a builder of the key whose image is now available (its run ended while the image
 * was pending) is terminated. One DescribeInstances when there is none.
 */
export async function tidyAfterHit(parent: ReconcileContext, choice: ImageChoice): Promise<void> {
  const ctx: ReconcileContext = { ...parent, log: bakeLog(parent.log), phases: undefined };
  const name = builderHubName(choice.key!);
  for (const builder of await ec2.findHubInstances(ctx.ec2, name)) {
    const imageId = builder.tags?.[TAG_BAKED_IMAGE];
    if (imageId) await finishBuilder(ctx, name, builder.instanceId, imageId);
  }
}
