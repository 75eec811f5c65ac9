// The one way the action waits for something slow: an instance's state, the SSM agent, a Run
// Command, another run's install, the hub's public URL. Clock-driven (tests inject a virtual
// clock), with a deadline, an interval, a progress line about once a minute, errors that mean
// "look again", and a presence check that ends a pointless wait early.
//
// Written here rather than taken from the SDK: the SDK's waiters retry on every error (an
// expired session or AccessDenied then reads as a 10-minute time-out), judge states without
// knowing what the run did (a terminate sent to a `stopping` instance fails at once), and
// report their last answer as JSON. One loop of our own has none of these problems.
import { formatDuration, type Clock } from './clock.ts';
import { ActionError, isTransient } from './errors.ts';

/** One look at what is awaited: done with a value, or not yet, with a one-line detail. */
export type Look<T> = { done: true; value: T } | { done: false; detail: string };

export interface WaitOptions<T> {
  clock: Clock;
  intervalMs: number;
  /** Give up after this long (0: look once). */
  timeoutMs: number;
  /** What is awaited, for the progress and time-out lines: "the SSM agent on i-0abc". */
  what: string;
  look: () => Promise<Look<T>>;
  /** Errors that mean "look again" until the deadline (default: isTransient). */
  transient?: (err: unknown) => boolean;
  /**
   * Asked every `presenceEvery` looks; throws when waiting is pointless (the instance was
   * stopped or terminated meanwhile), so a long wait ends with a clear error at once.
   */
  stillThere?: () => Promise<void>;
  presenceEvery?: number;
  /** Told a "Still waiting for ..." line about once a minute. */
  progress?: (line: string) => void;
  /** The error at the deadline (default: an ActionError naming `what` and the last detail). */
  timedOut?: (waitedMs: number, lastDetail: string) => Error;
  /** Sleep before the first look (for a thing that cannot be ready at once). */
  sleepFirst?: boolean;
}

/** The cadence of progress lines: often enough to show life, rare enough to read the log. */
export const PROGRESS_EVERY_MS = 60_000;
/** Every this many looks (30 s at the default 5 s interval), ask whether the instance is there. */
export const PRESENCE_EVERY = 6;

export class WaitTimedOut extends ActionError {
  readonly lastDetail: string;
  constructor(what: string, waitedMs: number, lastDetail: string) {
    super(`Gave up waiting for ${what} after ${formatDuration(waitedMs)} (last: ${lastDetail}).`);
    this.name = 'WaitTimedOut';
    this.lastDetail = lastDetail;
  }
}

function describeError(err: unknown): string {
  const e = err as Error | undefined;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
}

export async function waitFor<T>(opts: WaitOptions<T>): Promise<T> {
  const { clock } = opts;
  const transient = opts.transient ?? isTransient;
  const presenceEvery = opts.presenceEvery ?? PRESENCE_EVERY;
  const start = clock.now();
  let lastReport = start;
  if (opts.sleepFirst) await clock.sleep(opts.intervalMs);
  for (let looks = 1; ; looks++) {
    let detail: string;
    try {
      const seen = await opts.look();
      if (seen.done) return seen.value;
      detail = seen.detail;
    } catch (err) {
      if (!transient(err)) throw err;
      detail = describeError(err);
    }
    const waited = clock.now() - start;
    if (waited >= opts.timeoutMs) {
      throw opts.timedOut?.(waited, detail) ?? new WaitTimedOut(opts.what, waited, detail);
    }
    if (clock.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = clock.now();
      opts.progress?.(`Still waiting for ${opts.what} (${formatDuration(waited)}, ${detail})`);
    }
    if (opts.stillThere && looks % presenceEvery === 0) await opts.stillThere();
    await clock.sleep(Math.min(opts.intervalMs, Math.max(opts.timeoutMs - waited, 1)));
  }
}
