// Bulk operations over every hub matching a pattern: list once, plan, act in batches.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { deleteSecurityGroup } from './aws/ec2.ts';
import * as fleet from './aws/ec2-fleet.ts';
import type { Clock } from './clock.ts';
import { planFleet, type FleetDecision } from './fleet-plan.ts';
import type { Reporter } from './context.ts';
import { waitForInstances, type AwaitedState } from './instance-waits.ts';

export interface FleetRow {
  hubName: string;
  instanceId: string;
  before: string;
  result: string;
  ok: boolean;
}

export interface FleetOutcome {
  rows: FleetRow[];
  changed: boolean;
  failed: number;
}

export interface FleetRequest {
  pattern: string;
  desired: 'stopped' | 'terminated';
  expiredOnly: boolean;
  dryRun: boolean;
}

export async function reconcileFleet(
  ctx: { ec2: EC2Client; clock: Clock; pollMs: number; log: Reporter },
  req: FleetRequest,
): Promise<FleetOutcome> {
  const hubs = await ctx.log.group(`Find hubs matching '${req.pattern}'`, async () => {
    const found = await fleet.listHubs(ctx.ec2, req.pattern);
    ctx.log.info(`Found ${found.length} hub(s).`);
    return found;
  });
  const plan = planFleet(hubs, req.desired, {
    expiredOnly: req.expiredOnly,
    now: new Date(ctx.clock.now()),
  });
  const verb = req.desired === 'stopped' ? 'stop' : 'terminate';
  const acting = plan.decisions.filter((d) => d.action !== 'none');
  ctx.log.info(
    `Plan${req.dryRun ? ' (dry run, nothing will change)' : ''}: ${verb} ${plan[verb === 'stop' ? 'stop' : 'terminate'].length}, wait for ${acting.length - plan[verb === 'stop' ? 'stop' : 'terminate'].length}, leave ${plan.decisions.length - acting.length}.`,
  );
  for (const d of plan.decisions)
    ctx.log.info(
      `  ${d.hub.hubName} (${d.hub.instanceId}, ${d.hub.state}): ${d.action}, ${d.note}`,
    );

  const rows = new Map<string, FleetRow>(
    plan.decisions.map((d: FleetDecision) => [
      d.hub.instanceId,
      {
        hubName: d.hub.hubName,
        instanceId: d.hub.instanceId,
        before: d.hub.state,
        result: req.dryRun && d.action !== 'none' ? `would ${d.action}: ${d.note}` : d.note,
        ok: true,
      },
    ]),
  );
  if (req.dryRun || !acting.length) return { rows: [...rows.values()], changed: false, failed: 0 };

  const waitForMany = async (ids: string[], until: AwaitedState): Promise<fleet.BatchResult> => {
    const outcomes = await waitForInstances(ctx, ids, until, { timeoutMs: 15 * 60_000 });
    return {
      ok: outcomes.filter((o) => o.result === 'reached').map((o) => o.instanceId),
      failed: outcomes
        .filter((o) => o.result !== 'reached')
        .map((o) => ({ instanceId: o.instanceId, error: `${o.result} (${o.state})` })),
    };
  };
  const fail = (r: fleet.BatchResult) => {
    for (const f of r.failed)
      Object.assign(rows.get(f.instanceId)!, { ok: false, result: f.error });
    return r.ok;
  };

  let changed = false;
  await ctx.log.group(
    `${verb === 'stop' ? 'Stop' : 'Terminate'} ${acting.length} hub(s)`,
    async () => {
      if (req.desired === 'stopped') {
        if (plan.waitRunningFirst.length) fail(await waitForMany(plan.waitRunningFirst, 'running'));
        const sent = fail(await fleet.stopMany(ctx.ec2, plan.stop));
        changed = sent.length > 0;
        const waitIds = [
          ...sent,
          ...plan.decisions.filter((d) => d.action === 'wait-stopped').map((d) => d.hub.instanceId),
        ];
        ctx.log.info(`Waiting for ${waitIds.length} instance(s) to be stopped...`);
        for (const id of fail(await waitForMany(waitIds, 'stopped'))) {
          rows.get(id)!.result = plan.stop.includes(id)
            ? 'stopped'
            : 'stopped (was already stopping)';
        }
        return;
      }
      const sent = fail(await fleet.terminateMany(ctx.ec2, plan.terminate));
      changed = sent.length > 0;
      const waitIds = [
        ...sent,
        ...plan.decisions
          .filter((d) => d.action === 'wait-terminated')
          .map((d) => d.hub.instanceId),
      ];
      ctx.log.info(`Waiting for ${waitIds.length} instance(s) to be terminated...`);
      const gone = fail(await waitForMany(waitIds, 'terminated'));
      for (const id of gone)
        rows.get(id)!.result =
          `terminated (${plan.decisions.find((d) => d.hub.instanceId === id)!.note})`;
      // The hubs' own security groups can go once their instances are gone.
      const goneHubs = new Set(gone.map((id) => rows.get(id)!.hubName));
      const groups = await fleet.ownedSecurityGroups(ctx.ec2, goneHubs);
      for (const [hub, groupId] of groups) {
        if (!(await deleteSecurityGroup(ctx.ec2, groupId))) {
          ctx.log.warning(
            `Security group ${groupId} of ${hub} is still in use; the next run deletes it.`,
          );
        }
      }
    },
  );
  const all = [...rows.values()];
  return { rows: all, changed, failed: all.filter((r) => !r.ok).length };
}
