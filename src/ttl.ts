// Time to live of ephemeral hubs: parsed from the `ttl` input, stored as the tljh:expires-at tag.

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** '90m', '8h', '3d', '2w' -> milliseconds; undefined for an invalid value. */
export function parseTtl(raw: string): number | undefined {
  const m = /^(\d{1,4})([mhdw])$/.exec(raw.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms > 0 && ms <= 366 * UNITS.d! ? ms : undefined;
}

export function expiryTag(now: Date, ttlMs: number): string {
  return new Date(now.getTime() + ttlMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A hub is expired when its tag holds a valid time that has passed. No tag: never expires. */
export function isExpired(tag: string | undefined, now: Date): boolean {
  if (!tag) return false;
  const t = Date.parse(tag);
  return Number.isFinite(t) && t <= now.getTime();
}
