// Pruning the image cache: a family to its newest images after each bake, and (in a reaper
// run) the images no hub launched from for a while. An image goes before its snapshots.
import { deleteImage, findCachedImages } from './aws/images.ts';
import type { ReconcileContext } from './context.ts';
import { imagesToPrune, unusedSince } from './image-key.ts';

/**
 * Keeps the family's newest images; deregisters the others and deletes their snapshots. The
 * image just made is pending or the newest: never pruned.
 */
export async function pruneFamily(
  ctx: ReconcileContext,
  family: string,
  keep: number,
): Promise<void> {
  const images = await findCachedImages(ctx.ec2, family);
  for (const image of imagesToPrune(images, family, keep)) {
    await deleteImage(ctx.ec2, image);
    ctx.log.info(
      `pruned ${image.imageId} and its snapshots ${image.snapshotIds.join(', ') || '(none)'} (image-cache-keep: ${keep}).`,
    );
  }
}

/**
 * A reaper run's share (bulk terminate with image-cache): deregisters the cached images no hub
 * launched from for `maxUnusedMs`, and deletes their snapshots. A hub launched from one keeps
 * running: its volume no longer needs the image.
 */
export async function pruneUnusedImages(
  ctx: Pick<ReconcileContext, 'ec2' | 'clock' | 'log'>,
  maxUnusedMs: number,
  dryRun: boolean,
): Promise<string[]> {
  const before = new Date(ctx.clock.now() - maxUnusedMs);
  const unused = unusedSince(await findCachedImages(ctx.ec2), before);
  ctx.log.info(
    `Image cache: ${unused.length} image(s) unused since ${before.toISOString()}${unused.length && dryRun ? ' (dry run: kept)' : ''}.`,
  );
  for (const image of unused) {
    ctx.log.info(
      `  ${image.imageId} (last used ${image.lastUsed ?? `never; baked ${image.creationDate}`})`,
    );
    if (!dryRun) await deleteImage(ctx.ec2, image);
  }
  return dryRun ? [] : unused.map((i) => i.imageId);
}
