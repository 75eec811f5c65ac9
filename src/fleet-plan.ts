// Plans a stop or terminate (pure): what each instance needs (teardownAction, shared by the
// one-hub plan and teardown.ts), and the per-hub decisions of a bulk run (nightly stop, expiry
// reaper) with their notes for the summary table.
import type { FleetHub, InstanceState } from './model.ts';
import { isExpired } from './ttl.ts';

export type TeardownState = 'stopped' | 'terminated';
export type FleetAction = 'stop' | 'terminate' | 'wait-stopped' | 'wait-terminated' | 'none';

/**
 * What an instance in `state` needs to end `desired`. A pending instance is stopped once it is
 * running (EC2 refuses to stop it before); one already stopping or shutting down is only
 * awaited; one being terminated needs no stop.
 */
export function teardownAction(state: InstanceState, desired: TeardownState): FleetAction {
  if (desired === 'terminated') {
    if (state === 'terminated') return 'none';
    return state === 'shutting-down' ? 'wait-terminated' : 'terminate';
  }
  switch (state) {
    case 'pending':
    case 'running':
      return 'stop';
    case 'stopping':
      return 'wait-stopped';
    default:
      return 'none';
  }
}

const NOTES: Record<TeardownState, Partial<Record<InstanceState, string>>> = {
  stopped: {
    pending: 'was launching: stopped once running',
    running: 'was running',
    stopping: 'was already stopping',
    stopped: 'already stopped',
    'shutting-down': 'being terminated',
    terminated: 'being terminated',
  },
  terminated: { 'shutting-down': 'already terminating', terminated: 'already terminated' },
};

export interface FleetDecision {
  hub: FleetHub;
  action: FleetAction;
  /** Why, for the summary table. */
  note: string;
}

export function planFleet(
  hubs: FleetHub[],
  desired: TeardownState,
  opts: { expiredOnly: boolean; now: Date },
): FleetDecision[] {
  return hubs.map((hub) => {
    if (opts.expiredOnly && !isExpired(hub.expiresAt, opts.now)) {
      const note = hub.expiresAt ? `not expired (expires ${hub.expiresAt})` : 'no expiry set';
      return { hub, action: 'none', note };
    }
    const action = teardownAction(hub.state, desired);
    const note =
      NOTES[desired][hub.state] ??
      (opts.expiredOnly ? `expired ${hub.expiresAt}` : `was ${hub.state}`);
    return { hub, action, note };
  });
}
