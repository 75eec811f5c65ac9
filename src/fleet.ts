// Bulk operations over every hub matching a pattern: list once, plan, then the one
// stop/terminate path of teardown.ts for all of them, one summary row per instance.
import * as fleet from './aws/ec2-fleet.ts';
import { planFleet, type FleetDecision, type TeardownState } from './fleet-plan.ts';
import { releaseOrphanAddresses } from './hub-address.ts';
import { teardown, type TeardownContext } from './teardown.ts';

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
  desired: TeardownState;
  expiredOnly: boolean;
  dryRun: boolean;
}

/** The deadline of each wait for many instances (a start-up or a shutdown of hundreds). */
export const FLEET_WAIT_MS = 15 * 60_000;

export async function reconcileFleet(
  ctx: TeardownContext,
  req: FleetRequest,
): Promise<FleetOutcome> {
  const hubs = await ctx.log.group(`Find hubs matching '${req.pattern}'`, async () => {
    const found = await fleet.listHubs(ctx.ec2, req.pattern);
    ctx.log.info(`Found ${found.length} hub(s).`);
    return found;
  });
  const decisions = planFleet(hubs, req.desired, {
    expiredOnly: req.expiredOnly,
    now: new Date(ctx.clock.now()),
  });
  const verb = req.desired === 'stopped' ? 'stop' : 'terminate';
  const acting = decisions.filter((d) => d.action !== 'none');
  const sending = acting.filter((d) => d.action === verb).length;
  ctx.log.info(
    `Plan${req.dryRun ? ' (dry run, nothing will change)' : ''}: ${verb} ${sending}, wait for ${acting.length - sending}, leave ${decisions.length - acting.length}.`,
  );
  for (const d of decisions)
    ctx.log.info(
      `  ${d.hub.hubName} (${d.hub.instanceId}, ${d.hub.state}): ${d.action}, ${d.note}`,
    );

  const rows = new Map<string, FleetRow>(
    decisions.map((d: FleetDecision) => [
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
  // Addresses of matching hubs with no instance at all (a run killed before its launch).
  const orphans =
    req.desired === 'terminated'
      ? await releaseOrphanAddresses(
          ctx,
          req.pattern,
          new Set(hubs.map((h) => h.hubName)),
          req.dryRun,
        )
      : [];
  if (req.dryRun || !acting.length)
    return { rows: [...rows.values()], changed: orphans.length > 0, failed: 0 };

  // A hub's own group and settings go only when none of its instances is left alone.
  const leftAlone = new Set(decisions.filter((d) => d.action === 'none').map((d) => d.hub.hubName));
  const outcome = await ctx.log.group(
    `${verb === 'stop' ? 'Stop' : 'Terminate'} ${acting.length} hub(s)`,
    () =>
      teardown(ctx, {
        desired: req.desired,
        instances: acting.map((d) => d.hub),
        cleanUp: [...new Set(acting.map((d) => d.hub.hubName))].filter((h) => !leftAlone.has(h)),
        timeoutMs: FLEET_WAIT_MS,
      }),
  );
  for (const r of outcome.instances) {
    const note = decisions.find((d) => d.hub.instanceId === r.instanceId)!.note;
    Object.assign(rows.get(r.instanceId)!, {
      ok: r.ok,
      result: r.ok && r.result === 'terminated' ? `terminated (${note})` : r.result,
    });
  }
  const all = [...rows.values()];
  return {
    rows: all,
    changed: outcome.changed || orphans.length > 0,
    failed: all.filter((r) => !r.ok).length,
  };
}
