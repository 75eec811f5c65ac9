// Spot hubs (market-type: spot), what EC2 does differently for them:
// - A hub is a persistent Spot request whose instance EC2 stops when interrupted. A persistent
//   request launches a new instance when its instance is terminated, unless it was cancelled
//   first: every terminate of a Spot hub cancels its request before (cancelSpotRequestsOf).
// - Only EC2 can start an interrupted, stopped Spot Instance (StartInstances answers
//   IncorrectSpotRequestState), which it does once Spot capacity returns; after a stop of ours,
//   the request needs a moment before it accepts a start (same error). A start waits for
//   either (startSpotInstance).
// - An instance never changes market (nor, being Spot, type): the spec's market applies at
//   launch only (marketNote).
import * as ec2 from './aws/ec2.ts';
import { cancelSpotRequests } from './aws/ec2-fleet.ts';
import type { ReconcileContext, WaitContext } from './context.ts';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { ActionError, InstanceGoneError, isAwsError } from './errors.ts';
import type { HubSpec } from './inputs/spec.ts';
import type { ObservedInstance } from './model.ts';
import { formatDuration } from './clock.ts';
import { waitFor } from './wait.ts';

/** EC2's StateReason of a Spot Instance it stopped (interrupted). */
export const SPOT_INTERRUPTED = 'Server.SpotInstanceShutdown';

/** How long a start waits for EC2 to bring a stopped Spot hub back (or to accept our start). */
export const SPOT_RESTART_MS = 5 * 60_000;

/**
 * Cancels the Spot requests of these instances (those that have one), batched. Returns, by
 * instance id, the error of each request that could not be cancelled: that instance must not
 * be terminated (EC2 would launch it again). `strict`: throw instead.
 */
export async function cancelSpotRequestsOf(
  ctx: WaitContext & { ec2: EC2Client },
  instances: Pick<ObservedInstance, 'instanceId' | 'spotRequestId'>[],
  strict = false,
): Promise<Map<string, string>> {
  // One request may have had several instances (relaunched after a terminate without a cancel).
  const byRequest = new Map<string, string[]>();
  for (const i of instances) {
    if (i.spotRequestId)
      byRequest.set(i.spotRequestId, [...(byRequest.get(i.spotRequestId) ?? []), i.instanceId]);
  }
  const blocked = new Map<string, string>();
  if (!byRequest.size) return blocked;
  const out = await cancelSpotRequests(ctx.ec2, [...byRequest.keys()]);
  if (out.ok.length) ctx.log.info(`Cancelled Spot request(s) ${out.ok.join(', ')}.`);
  for (const f of out.failed) {
    const ids = byRequest.get(f.instanceId)!;
    const why = `could not cancel its Spot request ${f.instanceId} (${f.error}), and EC2 would launch it again if it were terminated`;
    if (strict) {
      throw new ActionError(
        `${ids.join(', ')}: ${why}.`,
        "Give the role ec2:CancelSpotInstanceRequests on the hubs' Spot requests (docs/iam/caller-policy.json), then run again.",
      );
    }
    for (const id of ids) blocked.set(id, why);
  }
  return blocked;
}

/**
 * Starts a stopped Spot hub, or waits while EC2 brings it back. Called once StartInstances
 * answered IncorrectSpotRequestState. Returns once it is pending or running.
 */
export async function startSpotInstance(
  ctx: ReconcileContext,
  hubName: string,
  instanceId: string,
): Promise<void> {
  let last: ObservedInstance | undefined;
  const interrupted = () => last?.stateReason === SPOT_INTERRUPTED;
  ctx.log.info(
    `${instanceId} is a Spot Instance EC2 does not let us start now: waiting up to ${SPOT_RESTART_MS / 60_000} min for EC2 to start it (an interrupted one comes back once Spot capacity returns).`,
  );
  await waitFor({
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs: SPOT_RESTART_MS,
    what: `EC2 to start Spot Instance ${instanceId}`,
    progress: (line) => ctx.log.info(line),
    timedOut: (waited) =>
      spotUnavailable(hubName, last, `It was still stopped after ${formatDuration(waited)}.`),
    look: async () => {
      last = await ec2.describeHubInstance(ctx.ec2, instanceId);
      if (last.state === 'pending' || last.state === 'running')
        return { done: true, value: undefined };
      if (last.state === 'shutting-down' || last.state === 'terminated')
        throw new InstanceGoneError(instanceId, last.state);
      if (last.state === 'stopped' && !interrupted()) {
        // Stopped by a user (or a run): the request accepts a start once it is disabled.
        try {
          await ec2.startInstance(ctx.ec2, instanceId);
          return { done: true, value: undefined };
        } catch (err) {
          if (!isAwsError(err, 'IncorrectSpotRequestState')) throw err;
        }
      }
      return {
        done: false,
        detail: interrupted() ? 'interrupted, waiting for Spot capacity' : last.state,
      };
    },
  });
}

/** A Spot hub EC2 does not start now: what that means, and what the user can do. */
export function spotUnavailable(
  hubName: string,
  instance: Pick<ObservedInstance, 'instanceId' | 'instanceType' | 'stateReason'> | undefined,
  detail: string,
): ActionError {
  const interrupted = instance?.stateReason === SPOT_INTERRUPTED;
  return new ActionError(
    `Spot capacity is not available now for hub '${hubName}' (${instance?.instanceId ?? '?'}${instance?.instanceType ? `, ${instance.instanceType}` : ''})${interrupted ? ': EC2 interrupted it and starts it again itself once Spot capacity returns' : ''}. ${detail}`,
    "Its disk is kept: run again later. A hub's market never changes: to have an On-Demand hub now, terminate this one (state: terminated; its disk goes with it) and create it again without 'market-type: spot'.",
  );
}

/** A note when the hub's market is not the one the spec asks for (it applies at launch only). */
export function marketNote(
  spec: Pick<HubSpec, 'hubName' | 'marketType' | 'spotFallback'>,
  instance: Pick<ObservedInstance, 'instanceId' | 'market'> | undefined,
): { level: 'info' | 'warning'; message: string } | undefined {
  const market = instance?.market;
  if (!instance || !market || market === spec.marketType) return undefined;
  const is = market === 'spot' ? 'a Spot Instance' : 'On-Demand';
  const message = `Hub '${spec.hubName}' (${instance.instanceId}) is ${is}: 'market-type: ${spec.marketType}' applies to a new launch only (a hub's market never changes; terminate it and create it again to change it).`;
  // With spot-fallback, an On-Demand hub is what a launch without Spot capacity gives.
  return { level: spec.spotFallback ? 'info' : 'warning', message };
}
