// Waiting for instances to reach a state, for one hub or a whole fleet, on the one wait of
// wait.ts. What a state means while waiting is a pure table (judgeState): a terminate sent to
// a `stopping` or `pending` instance is progress, not failure, and a start that EC2 drops
// back to `stopped` ends the wait at once instead of after its whole deadline.
import * as ec2 from './aws/ec2.ts';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { WaitContext } from './context.ts';
import { ActionError, InstanceGoneError } from './errors.ts';
import type { AwaitedState, InstanceState } from './model.ts';
import { waitFor, WaitTimedOut } from './wait.ts';

export type SeenState = InstanceState | 'not-found';

/** How long a `stopped` instance may still read `stopped` after a start (EC2 is eventually consistent). */
export const START_VISIBLE_MS = 60_000;

/**
 * What one look at an instance means for a wait: reached, still on its way, or gone (the awaited
 * state will not come unless someone acts again). `movedSinceStart`: the instance was seen
 * pending (or running) during this wait; `waitedMs`: how long the wait has run.
 */
export function judgeState(
  until: AwaitedState,
  state: SeenState,
  movedSinceStart: boolean,
  waitedMs: number,
): 'reached' | 'progress' | 'gone' {
  switch (until) {
    case 'terminated':
      // Everything alive is on its way: TerminateInstances takes any live state.
      return state === 'terminated' || state === 'not-found' ? 'reached' : 'progress';
    case 'startable':
      if (state === 'stopped' || state === 'pending' || state === 'running') return 'reached';
      return state === 'stopping' ? 'progress' : 'gone';
    case 'stopped':
      if (state === 'stopped') return 'reached';
      return state === 'shutting-down' || state === 'terminated' || state === 'not-found'
        ? 'gone'
        : 'progress';
    case 'running':
      if (state === 'running') return 'reached';
      if (state === 'pending') return 'progress';
      if (state === 'stopped' || state === 'not-found') {
        // Right after StartInstances the old state may still show, and right after
        // RunInstances the instance may not be listed yet; once it was seen moving, or after
        // START_VISIBLE_MS, either means the start (or launch) did not hold.
        return movedSinceStart || waitedMs >= START_VISIBLE_MS ? 'gone' : 'progress';
      }
      return 'gone';
  }
}

export interface InstanceWaitOutcome {
  instanceId: string;
  /** The last state seen. */
  state: SeenState;
  result: 'reached' | 'gone' | 'timed-out';
}

export interface InstanceWaitOptions {
  timeoutMs: number;
  /** Ends the wait early (see waitFor's stillThere). */
  stillThere?: () => Promise<void>;
}

function summarise(states: Map<string, SeenState>): string {
  const counts = new Map<string, number>();
  for (const s of states.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
  if (states.size === 1) return [...states.entries()].map(([id, s]) => `${id} ${s}`).join('');
  return [...counts.entries()].map(([s, n]) => `${n} ${s}`).join(', ');
}

/**
 * Waits until each instance reached `until` or is gone, up to the deadline (those still on
 * their way then are 'timed-out'). Never throws for an instance's state: the caller decides
 * what 'gone' means for it. AWS errors other than transient ones (an expired session) do throw.
 */
export async function waitForInstances(
  ctx: WaitContext & { ec2: EC2Client },
  instanceIds: string[],
  until: AwaitedState,
  opts: InstanceWaitOptions,
): Promise<InstanceWaitOutcome[]> {
  const decided = new Map<string, InstanceWaitOutcome>();
  const pending = new Map<string, SeenState>(instanceIds.map((id) => [id, 'pending']));
  const moved = new Set<string>();
  const start = ctx.clock.now();
  const what =
    instanceIds.length === 1
      ? `${instanceIds[0]} to be ${until}`
      : `${instanceIds.length} instances to be ${until}`;
  try {
    await waitFor({
      clock: ctx.clock,
      intervalMs: ctx.pollMs,
      timeoutMs: opts.timeoutMs,
      what,
      stillThere: opts.stillThere,
      progress: (line) => ctx.log.info(line),
      look: async () => {
        const seen = await ec2.describeInstanceStates(ctx.ec2, [...pending.keys()]);
        const waited = ctx.clock.now() - start;
        for (const [id, state] of seen) {
          if (state === 'pending' || state === 'running') moved.add(id);
          const verdict = judgeState(until, state, moved.has(id), waited);
          if (verdict === 'progress') pending.set(id, state);
          else {
            pending.delete(id);
            decided.set(id, { instanceId: id, state, result: verdict });
          }
        }
        return pending.size
          ? { done: false, detail: summarise(pending) }
          : { done: true, value: undefined };
      },
    });
  } catch (err) {
    if (!(err instanceof WaitTimedOut)) throw err;
    for (const [id, state] of pending) {
      decided.set(id, { instanceId: id, state, result: 'timed-out' });
    }
  }
  return instanceIds.map((id) => decided.get(id)!);
}

/** The deadline of a hub's own state waits (a start, a stop, a termination). */
export const INSTANCE_WAIT_MS = 10 * 60_000;

/**
 * One hub's instance: returns once it is `until`; throws InstanceGoneError when it went where
 * `until` will not come from (someone stopped or terminated it meanwhile), and an ActionError
 * naming its last state at the deadline.
 */
export async function waitForInstance(
  ctx: WaitContext & { ec2: EC2Client },
  instanceId: string,
  until: AwaitedState,
  opts: InstanceWaitOptions = { timeoutMs: INSTANCE_WAIT_MS },
): Promise<void> {
  ctx.log.info(`Waiting for ${instanceId} to be ${until}...`);
  const [outcome] = await waitForInstances(ctx, [instanceId], until, opts);
  if (outcome!.result === 'reached') return;
  if (outcome!.result === 'gone') throw new InstanceGoneError(instanceId, outcome!.state);
  throw new ActionError(
    `Instance ${instanceId} did not become ${until} (still not after ${Math.round(opts.timeoutMs / 1000)} s; last seen: ${outcome!.state}).`,
    until === 'running'
      ? 'It may have failed to boot: check its console output in the EC2 console, then run again.'
      : 'Someone else may have changed it meanwhile: check the instance in the EC2 console, then run again; the action converges from the state it finds.',
  );
}
