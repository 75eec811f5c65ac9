// The one stop/terminate path, for one hub and for many: every live instance of each hub
// (duplicates included) in batched calls, one wait for all of them, and after a termination the
// hubs' own security groups (deleted once EC2 releases them) and leftover settings parameters.
// What someone else did meanwhile (a stop turned into a termination, a terminate met an
// instance already stopping) is progress, not failure. A Spot hub's request is cancelled before
// its instance is terminated (a persistent one would launch it again). Per-instance results
// come back. About 300 lines: the one path, kept in one place so every teardown takes all of it.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SSMClient } from '@aws-sdk/client-ssm';
import * as ec2 from './aws/ec2.ts';
import * as batch from './aws/ec2-fleet.ts';
import * as groups from './aws/security-groups.ts';
import type { WaitContext } from './context.ts';
import { explainAwsError, isSessionExpired, isTransient } from './errors.ts';
import { teardownAction, type TeardownState } from './fleet-plan.ts';
import { waitForInstances, type SeenState } from './instance-waits.ts';
import type { FleetHub } from './model.ts';
import { parseRefTag, type DnsRef } from './dns-record.ts';
import { cleanUpEndpoints, withdrawRecords } from './hub-endpoint.ts';
import { deleteSettingsLeftovers } from './settings-parameter.ts';
import { cancelSpotRequestsOf } from './spot.ts';
import { WaitTimedOut, waitFor } from './wait.ts';

export type TeardownContext = WaitContext & {
  ec2: EC2Client;
  ssm: SSMClient;
  route53: Route53Client;
};
export type TeardownTarget = Pick<
  FleetHub,
  'hubName' | 'instanceId' | 'state' | 'spotRequestId' | 'dnsRecord' | 'withdrawRecord'
>;

export interface TeardownRequest {
  desired: TeardownState;
  instances: TeardownTarget[];
  /**
   * Hubs whose own security groups and settings parameters go once every instance of theirs in
   * `instances` is terminated (desired 'terminated' only; a hub without instances qualifies).
   */
  cleanUp: string[];
  /** The hubs' own groups, if already looked up (a teardown creates none). */
  groups?: Map<string, string[]>;
  /** The deadline of each wait for instances. */
  timeoutMs: number;
  /** Records to delete with their hubs besides those the instances' tags name (the inputs'). */
  records?: { hubName: string; ref: DnsRef }[];
}

export interface InstanceResult extends TeardownTarget {
  ok: boolean;
  /** What happened, for the log and the summary: 'stopped', 'terminated meanwhile', an error. */
  result: string;
  /** This run sent it StopInstances or TerminateInstances. */
  sent: boolean;
  /** Where it ended: stopped, or terminated (or on its way there); undefined if it failed. */
  final?: TeardownState;
}

export interface TeardownOutcome {
  instances: InstanceResult[];
  deletedGroups: string[];
  /** Groups still in use at the deadline, or that could not be deleted (a warning said why). */
  groupsLeft: string[];
  sweptParameters: number;
  /** Elastic IPs released and DNS records deleted with their hubs (withdrawn: A records of stopped hubs). */
  releasedAddresses: string[];
  deletedRecords: string[];
  withdrawnRecords: string[];
  changed: boolean;
}

/** How long a terminated hub's network interfaces may hold its security group. */
export const SECURITY_GROUP_RELEASE_MS = 3 * 60_000;

class Results {
  readonly byId = new Map<string, InstanceResult>();
  constructor(targets: TeardownTarget[]) {
    for (const t of targets)
      this.byId.set(t.instanceId, { ...t, ok: false, result: '', sent: false });
  }
  end(id: string, final: TeardownState | undefined, result: string): void {
    Object.assign(this.byId.get(id)!, { ok: final !== undefined, final, result });
  }
}

/**
 * Where an instance found in an unexpected state goes: done (stopped or terminated by someone
 * else), awaited (on its way there), or nowhere (undefined: it failed).
 */
function reroute(
  desired: TeardownState,
  state: SeenState,
): { done: TeardownState; result: string } | 'await' | undefined {
  if (state === 'terminated' || state === 'not-found')
    return {
      done: 'terminated',
      result: desired === 'terminated' ? 'terminated' : 'terminated meanwhile',
    };
  if (state === 'shutting-down')
    return desired === 'terminated'
      ? 'await'
      : { done: 'terminated', result: 'terminated meanwhile' };
  if (desired === 'stopped' && state === 'stopped')
    return { done: 'stopped', result: 'stopped meanwhile' };
  if (desired === 'stopped' && state === 'stopping') return 'await';
  return undefined;
}

export async function teardown(
  ctx: TeardownContext,
  req: TeardownRequest,
): Promise<TeardownOutcome> {
  const { desired } = req;
  const results = new Results(req.instances);
  const toSend: string[] = [];
  const toAwait = new Set<string>();
  const pending: string[] = [];
  for (const i of req.instances) {
    const action = teardownAction(i.state, desired);
    if (action === 'none') {
      const note = i.state === desired ? `already ${desired}` : 'being terminated';
      results.end(i.instanceId, i.state === 'stopped' ? 'stopped' : 'terminated', note);
    } else if (action.startsWith('wait-')) toAwait.add(i.instanceId);
    else if (i.state === 'pending' && desired === 'stopped') pending.push(i.instanceId);
    else toSend.push(i.instanceId);
  }
  /** Settles an instance found elsewhere than expected; `awaiting`: the last wait is over. */
  const route = (id: string, state: SeenState, failure: string, awaiting = true) => {
    const where = reroute(desired, state);
    if (where === 'await' && awaiting) toAwait.add(id);
    else if (where && where !== 'await') results.end(id, where.done, where.result);
    else results.end(id, undefined, failure);
  };

  const send = async (all: string[]) => {
    // A stop needs nothing more; a terminate, every Spot request cancelled first.
    const blocked =
      desired === 'terminated'
        ? await cancelSpotRequestsOf(
            ctx,
            all.map((id) => results.byId.get(id)!),
          )
        : new Map<string, string>();
    for (const [id, why] of blocked) results.end(id, undefined, `not terminated: ${why}`);
    const ids = all.filter((id) => !blocked.has(id));
    if (!ids.length) return;
    const sent = await (desired === 'stopped' ? batch.stopMany : batch.terminateMany)(ctx.ec2, ids);
    for (const id of sent.ok) {
      results.byId.get(id)!.sent = true;
      toAwait.add(id);
    }
    // Refused (IncorrectInstanceState): someone else changed it meanwhile; see where it is.
    const states = sent.failed.length
      ? await ec2.describeInstanceStates(
          ctx.ec2,
          sent.failed.map((f) => f.instanceId),
        )
      : new Map<string, SeenState>();
    for (const f of sent.failed) route(f.instanceId, states.get(f.instanceId)!, f.error);
  };

  // The others first: one instance slow to boot must not hold up stopping the rest.
  await send(toSend);
  if (pending.length) {
    // EC2 refuses to stop an instance that is still pending.
    ctx.log.info(`Waiting for ${pending.length} launching instance(s) to be running first...`);
    const running: string[] = [];
    for (const o of await waitForInstances(ctx, pending, 'running', { timeoutMs: req.timeoutMs })) {
      const failure = `did not become running (last seen: ${o.state})`;
      if (o.result === 'reached') running.push(o.instanceId);
      else if (o.result === 'gone') route(o.instanceId, o.state, failure);
      else results.end(o.instanceId, undefined, failure);
    }
    await send(running);
  }

  if (toAwait.size) {
    ctx.log.info(`Waiting for ${toAwait.size} instance(s) to be ${desired}...`);
    const outcomes = await waitForInstances(ctx, [...toAwait], desired, {
      timeoutMs: req.timeoutMs,
    });
    for (const o of outcomes) {
      const r = results.byId.get(o.instanceId)!;
      if (o.result === 'reached') {
        const was =
          r.state === 'stopping' && desired === 'stopped' ? ' (was already stopping)' : '';
        results.end(o.instanceId, desired, `${desired}${was}`);
      } else if (o.result === 'gone') {
        route(o.instanceId, o.state, `gone (last seen: ${o.state})`, false);
      } else {
        results.end(o.instanceId, undefined, `timed out (last seen: ${o.state})`);
      }
    }
  }

  const all = [...results.byId.values()];
  for (const r of all) if (!r.ok) ctx.log.warning(`${r.hubName} (${r.instanceId}): ${r.result}`);
  const outcome: TeardownOutcome = {
    instances: all,
    deletedGroups: [],
    groupsLeft: [],
    sweptParameters: 0,
    releasedAddresses: [],
    deletedRecords: [],
    withdrawnRecords: [],
    changed: all.some((r) => r.sent),
  };
  if (desired !== 'terminated') {
    outcome.withdrawnRecords = await withdrawRecords(
      ctx,
      all.filter((r) => r.final === 'stopped'),
    );
    for (const name of outcome.withdrawnRecords)
      ctx.log.info(`Removed the A record ${name} while the hub is stopped (no Elastic IP).`);
    outcome.changed ||= outcome.withdrawnRecords.length > 0;
    return outcome;
  }

  const terminated = req.cleanUp.filter((hub) =>
    all.every((r) => r.hubName !== hub || r.final === 'terminated'),
  );
  if (!terminated.length) return outcome;
  const owned = req.groups ?? (await groups.findOwnedSecurityGroups(ctx.ec2, terminated));
  const hubOf = new Map(
    terminated.flatMap((hub) => (owned.get(hub) ?? []).map((id) => [id, hub] as const)),
  );
  Object.assign(outcome, await deleteOnceReleased(ctx, hubOf));
  if (outcome.deletedGroups.length)
    ctx.log.info(`Deleted security group(s) ${outcome.deletedGroups.join(', ')}.`);
  outcome.sweptParameters = await sweepSettings(ctx, terminated);
  if (outcome.sweptParameters)
    ctx.log.info(`Deleted ${outcome.sweptParameters} leftover settings parameter(s).`);
  // The addresses by their tags; the records named by the instances' tags or by the inputs.
  const records = [
    ...req.instances.flatMap((i) => {
      const ref = parseRefTag(i.dnsRecord);
      return ref ? [{ hubName: i.hubName, ref }] : [];
    }),
    ...(req.records ?? []),
  ];
  const endpoints = await cleanUpEndpoints(
    ctx,
    terminated,
    records,
    new Set(all.filter((r) => r.final === 'terminated').map((r) => r.instanceId)),
  );
  outcome.releasedAddresses = endpoints.released;
  outcome.deletedRecords = endpoints.deletedRecords;
  for (const a of endpoints.released) ctx.log.info(`Released Elastic IP ${a}.`);
  for (const r of endpoints.deletedRecords) ctx.log.info(`Deleted the record ${r}.`);
  outcome.changed ||=
    outcome.deletedGroups.length > 0 ||
    outcome.sweptParameters > 0 ||
    endpoints.released.length > 0 ||
    endpoints.deletedRecords.length > 0;
  return outcome;
}

/**
 * Deletes the groups, retrying those a network interface still holds (DependencyViolation: EC2
 * releases a terminated instance's interfaces a little later) until SECURITY_GROUP_RELEASE_MS.
 * One wait for all of them. A group left is a warning, not a failure: nothing runs any more.
 */
async function deleteOnceReleased(
  ctx: TeardownContext,
  hubOf: Map<string, string>,
): Promise<Pick<TeardownOutcome, 'deletedGroups' | 'groupsLeft'>> {
  const left = new Set(hubOf.keys());
  const deletedGroups: string[] = [];
  const groupsLeft: string[] = [];
  if (!left.size) return { deletedGroups, groupsLeft };
  try {
    await waitFor({
      clock: ctx.clock,
      intervalMs: ctx.pollMs,
      timeoutMs: SECURITY_GROUP_RELEASE_MS,
      what: `${left.size} security group(s) to be released by their network interfaces`,
      progress: (line) => ctx.log.info(line),
      look: async () => {
        for (const id of [...left]) {
          try {
            if (!(await groups.deleteSecurityGroup(ctx.ec2, id))) continue;
            deletedGroups.push(id);
          } catch (err) {
            if (isSessionExpired(err)) throw err;
            // Throttling or a 5xx that outlasted the SDK's retries: try again on the next look.
            if (isTransient(err)) continue;
            ctx.log.warning(`Could not delete security group ${id}: ${(err as Error).message}`);
            groupsLeft.push(id);
          }
          left.delete(id);
        }
        return left.size
          ? { done: false, detail: `${[...left].join(', ')} still in use` }
          : { done: true, value: undefined };
      },
    });
  } catch (err) {
    if (!(err instanceof WaitTimedOut)) throw err;
    for (const id of left) {
      ctx.log.warning(
        `Security group ${id} is still in use; a run with hub-name '${hubOf.get(id)}' and state terminated deletes it.`,
      );
      groupsLeft.push(id);
    }
  }
  return { deletedGroups, groupsLeft };
}

/** Settings parameters of interrupted installs (passwords among them) go with their hubs. */
async function sweepSettings(ctx: TeardownContext, hubNames: string[]): Promise<number> {
  try {
    return await deleteSettingsLeftovers(ctx.ssm, hubNames);
  } catch (err) {
    if (isSessionExpired(err)) throw explainAwsError(err, 'Looking for leftover settings');
    ctx.log.warning(`Could not look for leftover settings parameters: ${(err as Error).message}`);
    return 0;
  }
}
