// What makes two hubs share a baked image (pure). The key holds every install-time input: the
// TLJH version, the base image (Canonical's current AMI id, so a new Ubuntu image starts a new
// key), the architecture, and the plugins with the requirements URL. The family drops only the
// base image: it groups an image with the ones a newer Ubuntu image supersedes, so that pruning
// keeps the newest few and never touches the images of another TLJH version or plugin set.
import { createHash } from 'node:crypto';
import type { CachedImage } from './model.ts';

export interface ImageInputs {
  tljhVersion: string;
  baseImageId: string;
  architecture: string;
  plugins: string[];
  userRequirementsUrl?: string;
}

function digest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** 16 hex digits (64 bits): the same inputs give the same key, in any run, on any runner. */
export function imageKey(i: ImageInputs): string {
  return digest([
    'key/1',
    i.tljhVersion,
    i.baseImageId,
    i.architecture,
    i.plugins,
    i.userRequirementsUrl ?? '',
  ]);
}

/** The key without the base image (see above). */
export function imageFamily(i: ImageInputs): string {
  return digest([
    'family/2',
    i.tljhVersion,
    i.architecture,
    i.plugins,
    i.userRequirementsUrl ?? '',
  ]);
}

/**
 * A TLJH release (2.0.0, 2.0.0b1): the same code whenever it is installed. A branch or another
 * ref moves, so an image of it would go stale: such hubs are never cached.
 */
export function isCacheableVersion(tljhVersion: string): boolean {
  return /^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?$/.test(tljhVersion);
}

/** The builder is a hub of its own name (a reaper of `*` finds it), one per key. */
export function builderHubName(key: string): string {
  return `image-builder-${key}`;
}

/** AMI names are unique per account and region: one builder makes one image. */
export function cachedImageName(key: string, builderId: string): string {
  return `tljh-cache-${key}-${builderId}`;
}

/** The newest available image of the key, if any. */
export function newestAvailable(images: CachedImage[], key: string): CachedImage | undefined {
  return images
    .filter((i) => i.key === key && i.state === 'available')
    .sort((a, b) => b.creationDate.localeCompare(a.creationDate))[0];
}

/**
 * The images of a family to prune: all but the newest `keep` (pending ones count as newest and
 * are never pruned; failed ones always are).
 */
export function imagesToPrune(images: CachedImage[], family: string, keep: number): CachedImage[] {
  const own = images.filter((i) => i.family === family);
  const failed = own.filter((i) => i.state === 'failed' || i.state === 'error');
  const kept = own
    .filter((i) => !failed.includes(i))
    .sort((a, b) => {
      const pa = a.state === 'pending' ? 1 : 0;
      const pb = b.state === 'pending' ? 1 : 0;
      return pb - pa || b.creationDate.localeCompare(a.creationDate);
    });
  return [...kept.slice(keep).filter((i) => i.state === 'available'), ...failed];
}

/** Images no hub launched from since `before` (never used: counted from their creation). */
export function unusedSince(images: CachedImage[], before: Date): CachedImage[] {
  return images.filter((i) => {
    const last = Date.parse(i.lastUsed ?? i.creationDate);
    return i.state !== 'pending' && Number.isFinite(last) && last < before.getTime();
  });
}
