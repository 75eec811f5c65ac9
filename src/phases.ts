// Where a run's time goes, phase by phase (launch, running, agent online, install or settings,
// verification, public probe), for the job summary: real users then see the figures on AWS.
// A phase timed inside another is taken out of the outer one, so the figures add up to the run.
import type { Clock } from './clock.ts';

export type Phase =
  | 'launch'
  | 'running'
  | 'start'
  | 'stop'
  | 'terminate'
  | 'agent online'
  | 'install'
  | 'settings'
  | 'volume grow'
  | 'type change'
  | 'rules and tags'
  | 'elastic ip'
  | 'dns record'
  | 'verification'
  | 'public probe'
  | 'waiting for another run'
  | 'image bake';

export class PhaseLog {
  private readonly clock: Clock;
  private readonly totals = new Map<Phase, number>();
  /** Time taken out of each open phase by the phases inside it. */
  private readonly open: { inner: number }[] = [];

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Runs `fn` as `phase`; its own time (not that of phases inside it) is added, even on failure. */
  async time<T>(phase: Phase, fn: () => Promise<T>): Promise<T> {
    const started = this.clock.now();
    const frame = { inner: 0 };
    this.open.push(frame);
    try {
      return await fn();
    } finally {
      this.open.pop();
      const ms = this.clock.now() - started;
      this.add(phase, ms - frame.inner);
      const outer = this.open.at(-1);
      if (outer) outer.inner += ms;
    }
  }

  /**
   * Adds a duration measured elsewhere (the instance's own clock) that belongs inside the open
   * phase: it is taken out of that phase.
   */
  addWithin(phase: Phase, ms: number): void {
    const outer = this.open.at(-1);
    const taken = outer ? Math.max(0, ms) : ms;
    this.add(phase, taken);
    if (outer) outer.inner += taken;
  }

  private add(phase: Phase, ms: number): void {
    this.totals.set(phase, (this.totals.get(phase) ?? 0) + Math.max(0, ms));
  }

  /** Each phase and its time, in the order they first ended. */
  entries(): [Phase, number][] {
    return [...this.totals];
  }
}

/** Seconds with one decimal: "42.5 s". */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Times `fn` as `phase` when the run keeps a phase log (tests and bulk runs may not). */
export function timed<T>(
  phases: PhaseLog | undefined,
  phase: Phase,
  fn: () => Promise<T>,
): Promise<T> {
  return phases ? phases.time(phase, fn) : fn();
}
