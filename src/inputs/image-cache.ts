// `image-cache`, `image-cache-keep` and `image-cache-max-unused`: whether a new hub launches
// from an image baked for its install-time inputs (and bakes one when there is none), how many
// to keep, and when a reaper run deregisters one no hub used.
import { InputError } from '../errors.ts';
import { parseTtl } from '../ttl.ts';
import { boolean, integer, printable } from './fields.ts';

export interface ImageCacheSpec {
  imageCache: boolean;
  /** The newest images kept per cache family (see image-key.ts); older ones are pruned. */
  imageCacheKeep: number;
  /** A reaper run (bulk terminate) deregisters cached images no hub launched from for this long. */
  imageCacheMaxUnusedMs: number;
}

/** `get` returns an input's trimmed value, or its default; `imageId` is the `image-id` input. */
export function parseImageCache(
  get: (name: string) => string,
  imageId: string | undefined,
): ImageCacheSpec {
  const imageCache = boolean('image-cache', get('image-cache'));
  const imageCacheKeep = integer('image-cache-keep', get('image-cache-keep'), 1, 20);
  if (imageCache && imageId) {
    throw new InputError(
      'image-cache',
      "'image-cache: true' bakes images from Canonical's Ubuntu image, and 'image-id' names another",
      "either 'image-id' (your own image, used as it is) or 'image-cache: true', not both",
    );
  }
  const unusedRaw = get('image-cache-max-unused');
  const imageCacheMaxUnusedMs = parseTtl(unusedRaw);
  if (imageCacheMaxUnusedMs === undefined) {
    throw new InputError(
      'image-cache-max-unused',
      `'${printable(unusedRaw)}' is not valid`,
      'a duration such as 14d or 2w (m, h, d or w; at most 366 days)',
    );
  }
  return { imageCache, imageCacheKeep, imageCacheMaxUnusedMs };
}
