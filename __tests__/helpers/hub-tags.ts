// The tags of the test hub 'workshop' on EC2: its identity, its verified version, its install
// lease. Not a test file.
import type { Tag } from '@aws-sdk/client-ec2';
import {
  TAG_HUB,
  TAG_INSTALL_LEASE,
  TAG_INSTALLED_VERSION,
  TAG_MANAGED_BY,
} from '../../src/tags.ts';
import { TAG_APPLIED, desiredRecord, formatRecord } from '../../src/spec-record.ts';
import { spec } from './hub-spec.ts';

/** The hub's identity tags, then `extra`. */
export const hubTagsWith = (...extra: Tag[]): Tag[] => [
  { Key: TAG_HUB, Value: 'workshop' },
  { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
  ...extra,
];

/** The record of what a run with these inputs applied (tljh:applied), with a fixed salt. */
export const appliedTag = (inputs: Record<string, string> = {}): Tag => ({
  Key: TAG_APPLIED,
  Value: formatRecord(desiredRecord(spec(inputs), 'test-salt-0001')),
});

/** The tags of a hub verified at TLJH `v` by a run of the test spec's inputs. */
export const installedTag = (v = '2.0.0'): Tag[] =>
  hubTagsWith({ Key: TAG_INSTALLED_VERSION, Value: v }, appliedTag());

export const leaseTag = (value: string) => ({ Key: TAG_INSTALL_LEASE, Value: value });
