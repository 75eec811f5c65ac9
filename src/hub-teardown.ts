// Stop or terminate one hub (reconcile's path for state stopped and terminated): every live
// instance of it, duplicates included, on teardown.ts, the path bulk runs take too.
import type { Outcome, ReconcileContext } from './context.ts';
import { ActionError, explainAwsError } from './errors.ts';
import type { HubSpec } from './inputs.ts';
import { INSTANCE_WAIT_MS } from './instance-waits.ts';
import type { FinalState, ObservedHub, Plan } from './plan.ts';
import { TAG_DNS_ADDRESS, TAG_DNS_RECORD, TAG_ELASTIC_IP } from './tags.ts';
import { teardown } from './teardown.ts';

/** Stop or terminate: every live instance of the hub, on the path bulk runs take too. */
export async function tearDownHub(
  ctx: ReconcileContext,
  spec: HubSpec,
  observed: ObservedHub & { groups: Map<string, string[]> },
  plan: Plan,
): Promise<Outcome> {
  const desired = spec.state === 'stopped' ? 'stopped' : 'terminated';
  const instanceId = observed.instance?.instanceId;
  // No address and no URL: the hub is not running.
  const base = { plan, instanceId, publicIp: undefined, hubUrl: undefined, checks: [] };
  if (spec.dryRun) {
    const state = (observed.instance?.state as FinalState | undefined) ?? 'absent';
    return { ...base, state, changed: false, done: [] };
  }
  const title = `${desired === 'stopped' ? 'Stop' : 'Terminate'} hub '${spec.hubName}'`;
  const live = [observed.instance, ...(observed.duplicates ?? [])].filter((i) => i !== undefined);
  const out = await ctx.log.group(title, () =>
    teardown(ctx, {
      desired,
      instances: live.map(({ instanceId, state, spotRequestId, tags }) => ({
        hubName: spec.hubName,
        instanceId,
        state,
        spotRequestId,
        dnsRecord: tags?.[TAG_DNS_RECORD],
        withdrawRecord: Boolean(tags?.[TAG_DNS_ADDRESS] && !tags[TAG_ELASTIC_IP]),
      })),
      records: spec.dns ? [{ hubName: spec.hubName, ref: spec.dns }] : [],
      cleanUp: [spec.hubName],
      groups: observed.groups,
      timeoutMs: INSTANCE_WAIT_MS,
    }).catch((err: unknown) => {
      throw explainAwsError(err, title);
    }),
  );
  const failed = out.instances.filter((r) => !r.ok);
  if (failed.length) {
    throw new ActionError(
      `Hub '${spec.hubName}' is not ${desired}: ${failed.map((r) => `${r.instanceId} ${r.result}`).join('; ')}.`,
      'Someone else may have changed it meanwhile: check the instance in the EC2 console, then run again; the action converges from the state it finds.',
    );
  }
  const done = [
    ...out.instances
      .filter((r) => r.sent)
      .map((r) => `${desired} ${r.instanceId}${r.result === desired ? '' : ` (${r.result})`}`),
    ...out.deletedGroups.map((g) => `deleted security group ${g}`),
    ...out.releasedAddresses.map((a) => `released Elastic IP ${a}`),
    ...out.deletedRecords.map((r) => `deleted the record ${r}`),
    ...out.withdrawnRecords.map((r) => `removed the A record ${r} while stopped (no Elastic IP)`),
    ...(out.sweptParameters
      ? [`deleted ${out.sweptParameters} leftover settings parameter(s) of an interrupted install`]
      : []),
  ];
  // A stop that found every instance terminated (meanwhile) leaves no hub.
  const gone = out.instances.length > 0 && out.instances.every((r) => r.final === 'terminated');
  const state = desired === 'stopped' && gone ? 'absent' : plan.finalState;
  return { ...base, state, changed: out.changed, done };
}
