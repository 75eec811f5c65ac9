// The tags of the test hub 'workshop' on EC2: its identity, its verified version, its install
// lease. Not a test file.
import type { Tag } from '@aws-sdk/client-ec2';
import {
  TAG_HUB,
  TAG_INSTALL_LEASE,
  TAG_INSTALLED_VERSION,
  TAG_MANAGED_BY,
} from '../../src/tags.ts';

/** The hub's identity tags, then `extra`. */
export const hubTagsWith = (...extra: Tag[]): Tag[] => [
  { Key: TAG_HUB, Value: 'workshop' },
  { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
  ...extra,
];

/** The tags of a hub verified at TLJH `v`. */
export const installedTag = (v = '2.0.0'): Tag[] =>
  hubTagsWith({ Key: TAG_INSTALLED_VERSION, Value: v });

export const leaseTag = (value: string) => ({ Key: TAG_INSTALL_LEASE, Value: value });
