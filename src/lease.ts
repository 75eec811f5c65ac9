// The install lease: a tag naming the run that installs a hub, so two runs never install the
// same instance at once. Pure: formatting, parsing and the expiry rule.

export interface Lease {
  owner: string;
  at: number;
  commandId?: string;
}

/**
 * In place of a command id: the run's install is over, marked installed with it or given up
 * (it failed). Either way others may act at once: the installed-version tag says which.
 */
export const RELEASED = 'released';

/** A run with no SendCommand yet holds the lease this long (agent wait, settings upload). */
export const LEASE_WITHOUT_COMMAND_MS = 15 * 60_000;

/**
 * After its command ended, a live run marks the hub installed or releases the lease within a
 * poll or two. One that has done neither this long after another run saw the end died (a
 * cancelled job, expired credentials): the waiting run installs instead.
 */
export const COMMAND_END_GRACE_MS = 5 * 60_000;

export function formatLease(lease: Lease): string {
  const at = new Date(lease.at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [lease.owner, at, lease.commandId].filter(Boolean).join('|');
}

export function parseLease(tag: string | undefined): Lease | undefined {
  const [owner, at, commandId] = (tag ?? '').split('|');
  const time = Date.parse(at ?? '');
  if (!owner || !Number.isFinite(time)) return undefined;
  return { owner, at: time, commandId: commandId || undefined };
}

/**
 * Whether a lease no longer protects an install: past the install's whole time budget, or,
 * before its command was sent, past the time such a run needs to send it. (A lease with a
 * command is also over once that command has ended: the caller asks SSM.)
 */
export function leaseLapsed(lease: Lease, now: number, installTimeoutMs: number): boolean {
  if (now - lease.at > installTimeoutMs + LEASE_WITHOUT_COMMAND_MS) return true;
  return !lease.commandId && now - lease.at > LEASE_WITHOUT_COMMAND_MS;
}
