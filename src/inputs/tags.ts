// tags: extra EC2 tags, one key=value per line. Keys the action (tljh:), AWS (aws:) or the
// console (Name) own are refused, so no user tag can replace the action's own.
import { InputError } from '../errors.ts';
import { keyValueLines, printable } from './fields.ts';

const TAG_KEY = /^[\w .:/=+@-]{1,128}$/;
const TAG_VALUE = /^[\w .:/=+@-]{0,256}$/;

/** Tag keys the action owns: users may not set them through `tags`. */
export const RESERVED_TAG_PREFIX = 'tljh:';

export function parseTags(raw: string): Record<string, string> {
  const tags: Record<string, string> = {};
  const lines = keyValueLines(
    'tags',
    raw,
    "one 'key=value' per line; keys up to 128 and values up to 256 of letters, digits, spaces and _ . : / = + - @",
    (key, value) => TAG_KEY.test(key) && TAG_VALUE.test(value),
  );
  for (const [key, value] of lines) {
    if (
      key.toLowerCase().startsWith('aws:') ||
      key.startsWith(RESERVED_TAG_PREFIX) ||
      key === 'Name'
    ) {
      throw new InputError(
        'tags',
        `key '${printable(key)}' is reserved`,
        `any key not starting with 'aws:' or '${RESERVED_TAG_PREFIX}', and not 'Name'`,
      );
    }
    tags[key] = value;
  }
  // The keys are recorded in one tag (tljh:tag-keys), so a later run removes only its own.
  const keys = Object.keys(tags).sort().join(',');
  if (keys.length > 256) {
    throw new InputError(
      'tags',
      `the keys take ${keys.length} characters`,
      'keys of at most 256 characters in all (joined by commas): the action records them in one tag to remove them later',
    );
  }
  if (Object.keys(tags).length > 40) {
    throw new InputError(
      'tags',
      'too many tags',
      'at most 40 (EC2 allows 50 and the action sets a few)',
    );
  }
  return tags;
}
