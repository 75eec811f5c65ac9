// Time and polling, injectable so tests of every wait run instantly.

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * How long to wait between polls of something slow (agent registration, a command).
 * TLJH_POLL_INTERVAL_MS exists for emulators and the end-to-end suite, where nothing is slow.
 */
export function pollIntervalMs(env: Record<string, string | undefined> = process.env): number {
  const raw = Number(env.TLJH_POLL_INTERVAL_MS);
  return Number.isFinite(raw) && raw > 0 ? raw : 5000;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
