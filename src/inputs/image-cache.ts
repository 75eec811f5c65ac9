// `image-cache` and `image-cache-keep`: whether a new hub launches from an image baked for its
// install-time inputs (and bakes one when there is none), and how many to keep.
import { InputError } from '../errors.ts';
import { boolean, integer } from './fields.ts';

export interface ImageCacheSpec {
  imageCache: boolean;
  /** The newest images kept per cache family (see image-key.ts); older ones are pruned. */
  imageCacheKeep: number;
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
  return { imageCache, imageCacheKeep };
}
