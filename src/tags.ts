// The tags that make an EC2 instance (and its volumes and security group) a hub. Identity lives
// here, never in job outputs: re-runs, cancelled jobs and schedules only have the tags.
import type { Tag } from '@aws-sdk/client-ec2';

export const TAG_HUB = 'tljh:hub';
export const TAG_MANAGED_BY = 'tljh:managed-by';
export const MANAGED_BY = 'tljh-ec2-action';
/** Set only after the install was verified: a hub without it (or at another version) is installed again. */
export const TAG_INSTALLED_VERSION = 'tljh:installed-version';

/**
 * Which run is installing the hub (`<owner>|<ISO time>[|<command id>]`): other runs wait for
 * that install instead of running a second one at the same time.
 */
export const TAG_INSTALL_LEASE = 'tljh:install-lease';

/** When an ephemeral hub may be terminated by the reaper (ISO 8601, UTC). */
export const TAG_EXPIRES_AT = 'tljh:expires-at';
export const TAG_REPOSITORY = 'tljh:repository';
/** `spot` on a hub launched as a Spot Instance (and on its volume and Spot request). */
export const TAG_MARKET = 'tljh:market';
export const TAG_PULL_REQUEST = 'tljh:pull-request';

/** On a cached image and its snapshots: the key of its install-time inputs. */
export const TAG_IMAGE_KEY = 'tljh:image-key';
/** On a cached image and its snapshots: its family (see above). */
export const TAG_IMAGE_FAMILY = 'tljh:image-family';
/** On a cached image: the base image it was baked from. */
export const TAG_BASE_IMAGE = 'tljh:base-image';
/** On a builder instance: the image it was imaged into (`ami-...`), once CreateImage answered. */
export const TAG_BAKED_IMAGE = 'tljh:baked-image';

/** On a cached image: when a hub last launched from it (ISO 8601, UTC; reaper runs prune). */
export const TAG_LAST_USED = 'tljh:last-used';
/** On a hub launched from a cached image (`cache`): its first boot makes its secrets. */
export const TAG_IMAGE_SOURCE = 'tljh:image-source';

/**
 * On a hub with an Elastic IP: `<allocation id> <address>`, set once it is associated (a hub
 * whose public IP is that address needs nothing more).
 */
export const TAG_ELASTIC_IP = 'tljh:elastic-ip';
/**
 * On a hub with a DNS record: `<zone id>/<name>`, set before the record is written (so a
 * terminate, the reaper's too, knows which record to delete even after an interrupted run).
 */
export const TAG_DNS_RECORD = 'tljh:dns-record';
/** The address the hub's record was last seen INSYNC with: a running hub there needs nothing. */
export const TAG_DNS_ADDRESS = 'tljh:dns-address';

export function hubTags(hubName: string, extra: Record<string, string> = {}): Tag[] {
  return [
    { Key: 'Name', Value: `tljh-${hubName}` },
    { Key: TAG_HUB, Value: hubName },
    { Key: TAG_MANAGED_BY, Value: MANAGED_BY },
    ...Object.entries(extra).map(([Key, Value]) => ({ Key, Value })),
  ];
}

export function hubFilters(hubName: string) {
  return [
    { Name: `tag:${TAG_HUB}`, Values: [hubName] },
    { Name: `tag:${TAG_MANAGED_BY}`, Values: [MANAGED_BY] },
  ];
}

export function tagValue(tags: Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}
