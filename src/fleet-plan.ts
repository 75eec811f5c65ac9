// Plans a bulk operation over many hubs (nightly stop, expiry reaper). Pure: the hubs found
// and the clock come in, a list of batches and per-hub decisions come out.
import type { FleetHub } from './model.ts';
import { isExpired } from './ttl.ts';

export type { FleetHub };

export type FleetAction = 'stop' | 'terminate' | 'wait-stopped' | 'wait-terminated' | 'none';

export interface FleetDecision {
  hub: FleetHub;
  action: FleetAction;
  /** Why, for the summary table. */
  note: string;
}

export interface FleetPlan {
  decisions: FleetDecision[];
  /** Pending instances must reach running before they can be stopped. */
  waitRunningFirst: string[];
  stop: string[];
  terminate: string[];
}

export function planFleet(
  hubs: FleetHub[],
  desired: 'stopped' | 'terminated',
  opts: { expiredOnly: boolean; now: Date },
): FleetPlan {
  const plan: FleetPlan = { decisions: [], waitRunningFirst: [], stop: [], terminate: [] };
  const decide = (hub: FleetHub, action: FleetAction, note: string) =>
    plan.decisions.push({ hub, action, note });
  for (const hub of hubs) {
    if (opts.expiredOnly && !isExpired(hub.expiresAt, opts.now)) {
      decide(
        hub,
        'none',
        hub.expiresAt ? `not expired (expires ${hub.expiresAt})` : 'no expiry set',
      );
      continue;
    }
    if (desired === 'terminated') {
      if (hub.state === 'shutting-down') decide(hub, 'wait-terminated', 'already terminating');
      else if (hub.state === 'terminated') decide(hub, 'none', 'already terminated');
      else {
        decide(
          hub,
          'terminate',
          opts.expiredOnly ? `expired ${hub.expiresAt}` : `was ${hub.state}`,
        );
        plan.terminate.push(hub.instanceId);
      }
      continue;
    }
    switch (hub.state) {
      case 'pending':
        decide(hub, 'stop', 'was launching: stopped once running');
        plan.waitRunningFirst.push(hub.instanceId);
        plan.stop.push(hub.instanceId);
        break;
      case 'running':
        decide(hub, 'stop', 'was running');
        plan.stop.push(hub.instanceId);
        break;
      case 'stopping':
        decide(hub, 'wait-stopped', 'was already stopping');
        break;
      case 'stopped':
        decide(hub, 'none', 'already stopped');
        break;
      case 'shutting-down':
      case 'terminated':
        decide(hub, 'none', 'being terminated');
        break;
    }
  }
  return plan;
}
