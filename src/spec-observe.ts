// Reads what a hub has of its spec (the record tag, its type, its tags; its volume's size and
// its rules only when the record says they may differ) and diffs it with what the inputs ask
// for; and the tags that record what a run applied.
import { findOwnWebRules } from './aws/security-groups.ts';
import { volumeSizeGiB } from './aws/volumes.ts';
import type { ReconcileContext } from './context.ts';
import type { HubSpec } from './inputs/spec.ts';
import type { ObservedInstance } from './model.ts';
import {
  allowedOnEveryPort,
  desiredSpec,
  diffSpec,
  type DesiredSpec,
  type ObservedSpec,
  type SpecDiff,
} from './spec-diff.ts';
import {
  TAG_APPLIED,
  TAG_TAG_KEYS,
  formatRecord,
  newSalt,
  parseRecord,
  parseTagKeys,
  type RecordedGroup,
  type SpecRecord,
} from './spec-record.ts';
import { TAG_EXPIRES_AT } from './tags.ts';

export interface SpecView {
  desired: DesiredSpec;
  observed?: ObservedSpec;
  diff: SpecDiff;
  /** The hub's own security group, when its rules were read. */
  ownGroupId?: string;
}

/** The spec's diff against the hub's live instance (none: everything is set at launch). */
export async function observeSpec(
  ctx: ReconcileContext,
  spec: HubSpec,
  instance: ObservedInstance | undefined,
): Promise<SpecView> {
  if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down') {
    const desired = desiredSpec(spec, newSalt());
    return { desired, diff: diffSpec(desired, undefined) };
  }
  const tags = instance.tags ?? {};
  const record = parseRecord(tags[TAG_APPLIED]);
  const desired = desiredSpec(spec, record?.salt ?? newSalt());
  const observed: ObservedSpec = {
    record,
    instanceType: instance.instanceType,
    market: instance.market,
    tags,
    ownedTagKeys: parseTagKeys(tags[TAG_TAG_KEYS]),
    expiresAt: tags[TAG_EXPIRES_AT],
  };
  const differs = (group: RecordedGroup): boolean =>
    desired.record.values[group] !== undefined &&
    desired.record.values[group] !== record?.values[group];
  // Only a running run grows the volume (a stopped hub's is pending): only it needs the size.
  if (spec.state === 'running' && differs('root-volume') && instance.rootVolumeId) {
    observed.rootVolumeGiB = await volumeSizeGiB(ctx.ec2, instance.rootVolumeId);
  }
  let ownGroupId: string | undefined;
  if (differs('allowed-cidrs')) {
    const own = await findOwnWebRules(ctx.ec2, spec.hubName, instance.securityGroupIds ?? []);
    ownGroupId = own?.groupId;
    // No own group among the instance's (groups of the user's own): no rules to match.
    observed.allowedCidrs = own ? allowedOnEveryPort(own.rules) : spec.allowedCidrs;
  }
  return { desired, observed, diff: diffSpec(desired, observed), ownGroupId };
}

/**
 * The tags that record what the hub now has: `applied` groups take the spec's value, the others
 * keep the recorded one (left for a later start). Only tags whose value changes.
 */
export function recordTags(
  view: SpecView,
  applied: readonly RecordedGroup[],
  instanceTags: Record<string, string> = {},
): Record<string, string> {
  const old = view.observed?.record;
  const values: SpecRecord['values'] = { ...old?.values };
  for (const group of applied) {
    const value = view.desired.record.values[group];
    if (value !== undefined) values[group] = value;
  }
  const record = formatRecord({ salt: view.desired.record.salt, values });
  const keys = Object.keys(view.desired.tags).sort().join(',');
  const tags: Record<string, string> = {};
  if (instanceTags[TAG_APPLIED] !== record) tags[TAG_APPLIED] = record;
  if ((instanceTags[TAG_TAG_KEYS] ?? '') !== keys || (keys && !(TAG_TAG_KEYS in instanceTags)))
    tags[TAG_TAG_KEYS] = keys;
  return tags;
}
