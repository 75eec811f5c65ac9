// moto changes instance state instantly. A test can make the front show an instance in a
// transitional state (pending, stopping, shutting-down) for its next N DescribeInstances
// answers, as AWS would while it boots or shuts down; after that moto's real state shows.
// With scenario.bootDelayMs, a launched or started instance that moto says is running shows
// `pending` until that long after its launch or start was answered (the benchmark's boot time).

const CODES: Record<string, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export const TRANSITIONAL_STATES = ['pending', 'stopping', 'shutting-down'] as const;
export type TransitionalState = (typeof TRANSITIONAL_STATES)[number];

export interface Transition {
  state: TransitionalState;
  /** How many more DescribeInstances answers show it. */
  answers: number;
}

// An instance's id, then (before the next instance's id) its state. moto's XML keeps that order.
const INSTANCE_STATE =
  /(<instanceId>(i-[0-9a-f]+)<\/instanceId>(?:(?!<instanceId>)[\s\S])*?<instanceState>)<code>\d+<\/code><name>([a-z-]+)<\/name>/g;

export class Transitions {
  private readonly shown = new Map<string, Transition>();
  /** Until when (Date.now()) a booting instance shows `pending` (scenario.bootDelayMs). */
  private readonly booting = new Map<string, number>();

  /**
   * The instances a RunInstances or StartInstances answer named boot for `ms` from now. A
   * RunInstances answered again (the same ClientToken) does not boot its instance again.
   */
  boot(ids: string[], ms: number, start: boolean): void {
    if (ms <= 0) return;
    for (const id of ids) {
      if (start || !this.booting.has(id)) this.booting.set(id, Date.now() + ms);
    }
  }

  /** Validates `{ "i-...": { "state": "stopping", "answers": 3 } }` and remembers it. */
  set(patch: Record<string, unknown>): Record<string, Transition> {
    for (const [id, value] of Object.entries(patch)) {
      const t = value as Partial<Transition> | null;
      if (!/^i-[0-9a-f]+$/.test(id)) throw new Error(`not an instance id: ${id}`);
      if (!t || !(TRANSITIONAL_STATES as readonly string[]).includes(t.state ?? '')) {
        throw new Error(`${id}: state must be one of ${TRANSITIONAL_STATES.join(', ')}`);
      }
      if (!Number.isInteger(t.answers) || t.answers! < 1) {
        throw new Error(`${id}: answers must be a positive integer`);
      }
      this.shown.set(id, { state: t.state!, answers: t.answers! });
    }
    return Object.fromEntries(this.shown);
  }

  clear(): void {
    this.shown.clear();
    this.booting.clear();
  }

  /** Rewrites a DescribeInstances answer, using up one answer of each instance it shows. */
  rewrite(xml: string): string {
    if (!this.shown.size && !this.booting.size) return xml;
    const now = Date.now();
    return xml.replace(INSTANCE_STATE, (whole, head: string, id: string, name: string) => {
      const t = this.shown.get(id);
      if (!t) {
        const pending = name === 'running' && (this.booting.get(id) ?? 0) > now;
        return pending ? `${head}<code>${CODES.pending}</code><name>pending</name>` : whole;
      }
      if (--t.answers <= 0) this.shown.delete(id);
      return `${head}<code>${CODES[t.state]}</code><name>${t.state}</name>`;
    });
  }
}
