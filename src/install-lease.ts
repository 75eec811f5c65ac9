// The install lease at work: one run installs a hub's instance while other runs wait for it,
// so a hub in a race is installed exactly once. The tag's format and expiry rule are in
// lease.ts (pure); this part reads and writes the tag and asks SSM about the holder's command.
import * as ec2 from './aws/ec2.ts';
import * as ssm from './aws/ssm.ts';
import type { ReconcileContext } from './context.ts';
import { formatDuration } from './clock.ts';
import { ActionError, InstanceGoneError } from './errors.ts';
import {
  COMMAND_END_GRACE_MS,
  formatLease,
  LEASE_WITHOUT_COMMAND_MS,
  leaseLapsed,
  parseLease,
  RELEASED,
} from './lease.ts';
import { TAG_INSTALL_LEASE } from './tags.ts';
import { waitFor } from './wait.ts';

/** How long the lease's writers wait before reading it back (see take). */
const LEASE_SETTLE_MS = 1000;

/**
 * What another run's lease on an instance says: 'installing' (its command runs, or is about to
 * be sent), 'ended' (its command ended, and the run has not yet marked the hub installed or
 * released the lease), or 'free' (none, ours, released or lapsed).
 */
export type OtherRunsLease = 'free' | 'installing' | 'ended';

/** After waiting on another run: check the hub it installed, or install it here. */
export type AfterWait = 'check' | 'install' | 'take-over';

export class InstallLease {
  private readonly ctx: ReconcileContext;
  private readonly installTimeoutMs: number;
  private readonly instanceId: () => string;

  constructor(ctx: ReconcileContext, installTimeoutMs: number, instanceId: () => string) {
    this.ctx = ctx;
    this.installTimeoutMs = installTimeoutMs;
    this.instanceId = instanceId;
  }

  /** This run's lease tag value, with its command id or RELEASED. */
  value(commandId?: string): string {
    return formatLease({ owner: this.ctx.runOwner, at: this.ctx.clock.now(), commandId });
  }

  write(commandId?: string): Promise<void> {
    return ec2.tagInstance(this.ctx.ec2, this.instanceId(), {
      [TAG_INSTALL_LEASE]: this.value(commandId),
    });
  }

  async otherRuns(
    tag: string | undefined,
    instanceId = this.instanceId(),
  ): Promise<OtherRunsLease> {
    const lease = parseLease(tag);
    if (!lease || lease.owner === this.ctx.runOwner || lease.commandId === RELEASED) return 'free';
    if (leaseLapsed(lease, this.ctx.clock.now(), this.installTimeoutMs)) return 'free';
    if (!lease.commandId) return 'installing';
    const ended = await ssm.commandEnded(this.ctx.ssm, lease.commandId, instanceId);
    return ended ? 'ended' : 'installing';
  }

  /**
   * Takes the lease unless another run holds one (`takeOver`: unless that run died). EC2 tags
   * are last-writer-wins, not compare-and-swap: tag, wait longer than two runs' read-then-tag
   * can be apart (plus tag propagation), then read back. Runs that raced all read the same last
   * tag: one installs, the others wait for it. `installedVersion` is the tag as read back.
   */
  async take(takeOver: boolean): Promise<{ won: boolean; installedVersion?: string }> {
    const { ctx } = this;
    const current = await ec2.describeHubInstance(ctx.ec2, this.instanceId());
    if (!takeOver && (await this.otherRuns(current.installLease)) !== 'free') return { won: false };
    await this.write();
    await ctx.clock.sleep(Math.max(2 * ctx.pollMs, LEASE_SETTLE_MS));
    const after = await ec2.describeHubInstance(ctx.ec2, this.instanceId());
    // Not seeing our tag yet is not losing (tags are eventually consistent); seeing another's is.
    const holder = parseLease(after.installLease)?.owner;
    return {
      won: !holder || holder === ctx.runOwner,
      installedVersion: after.installedVersion,
    };
  }

  /**
   * The longest this run waits for another one. Under the lease rules the wait always ends
   * sooner (a lease lapses after install-timeout plus LEASE_WITHOUT_COMMAND_MS); this bounds a
   * chain of runs that each took the lease over and died.
   */
  awaitOtherTimeoutMs(): number {
    return this.installTimeoutMs + 2 * LEASE_WITHOUT_COMMAND_MS + COMMAND_END_GRACE_MS;
  }

  /**
   * Another run is installing this hub (or launched it and will): waits until it marks the hub
   * installed at `version` ('check'), or is over without the mark: it released its lease (its
   * install failed) or the lease lapsed ('install'), or its command ended COMMAND_END_GRACE_MS
   * ago and it did neither, so it died ('take-over'). A command that has just ended is not
   * enough: its run still has to mark the hub, and a second install would double the time and
   * set a second generated password. Throws InstanceGoneError when the instance is stopped or
   * terminated meanwhile.
   */
  async awaitOther(version: string): Promise<AfterWait> {
    const { ctx } = this;
    const id = this.instanceId();
    const start = ctx.clock.now();
    /** When this run first saw the other run's command ended (its lease not yet concluded). */
    let endSeen: number | undefined;
    ctx.log.info(`Waiting for the run that is installing TLJH on ${id}...`);
    return waitFor<AfterWait>({
      clock: ctx.clock,
      intervalMs: ctx.pollMs,
      timeoutMs: this.awaitOtherTimeoutMs(),
      what: `the run that is installing TLJH on ${id}`,
      progress: (line) => ctx.log.info(line),
      look: async () => {
        // Each look reads the instance itself: that is the presence check too.
        const current = await ec2.describeHubInstance(ctx.ec2, id);
        if (current.state !== 'running' && current.state !== 'pending') {
          throw new InstanceGoneError(id, current.state);
        }
        const lease = await this.otherRuns(current.installLease);
        if (current.installedVersion === version && lease !== 'installing') {
          return { done: true, value: 'check' };
        }
        const now = ctx.clock.now();
        endSeen = lease === 'ended' ? (endSeen ?? now) : undefined;
        if (endSeen !== undefined && now - endSeen >= COMMAND_END_GRACE_MS) {
          ctx.log.info(
            `The run installing ${id} ended its command ${formatDuration(now - endSeen)} ago without marking the hub: installing it here.`,
          );
          return { done: true, value: 'take-over' };
        }
        const noLeaseYet = !current.installLease && now - start < LEASE_WITHOUT_COMMAND_MS;
        if (lease === 'free' && !noLeaseYet) {
          ctx.log.info(`No other run is installing ${id} any more: installing it here.`);
          return { done: true, value: 'install' };
        }
        return {
          done: false,
          detail:
            lease === 'ended'
              ? 'its command ended, the hub not marked yet'
              : lease === 'installing'
                ? 'its install is under way'
                : 'no lease on the instance yet',
        };
      },
      timedOut: (waited, last) =>
        new ActionError(
          `Gave up waiting for the run that is installing TLJH on ${id} after ${formatDuration(waited)} (last: ${last}).`,
          'Runs kept taking over its install without finishing it: check the workflow runs of this hub, then run again.',
        ),
    });
  }
}
