// The generic field checks every input parser uses: each throws an InputError that names the
// input, says what it accepts, and echoes the rejected value only in a printable, bounded form.
import { InputError } from '../errors.ts';

/** A list input: values separated by commas, spaces or new lines. */
export function list(raw: string): string[] {
  return raw
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Shows a rejected value safely in a log line: no control characters, bounded length. */
export function printable(raw: string): string {
  const cleaned = raw.replace(/[^\x20-\x7e]/g, '?');
  return cleaned.length > 60 ? `${cleaned.slice(0, 57)}...` : cleaned;
}

export function match(name: string, raw: string, pattern: RegExp, accepted: string): string {
  if (!pattern.test(raw)) {
    throw new InputError(name, `'${printable(raw)}' is not valid`, accepted);
  }
  return raw;
}

/** An ordered list of 1 to 8 distinct values, each matching the pattern. */
export function choices(name: string, raw: string, pattern: RegExp, accepted: string): string[] {
  const values = list(raw).map((v) => match(name, v, pattern, accepted));
  if (!values.length || values.length > 8 || new Set(values).size !== values.length) {
    throw new InputError(
      name,
      `'${printable(raw)}' is not valid`,
      `${accepted}; 1 to 8 distinct values`,
    );
  }
  return values;
}

export function pick<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new InputError(name, `'${printable(raw)}' is not allowed`, allowed.join(', '));
}

export function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InputError(
      name,
      `'${printable(raw)}' is not valid`,
      `a whole number from ${min} to ${max}`,
    );
  }
  return Number(raw);
}

export function boolean(name: string, raw: string): boolean {
  if (/^(true|yes|1)$/i.test(raw)) return true;
  if (/^(false|no|0|)$/i.test(raw)) return false;
  throw new InputError(name, `'${printable(raw)}' is not valid`, 'true or false');
}

/**
 * The `key=value` lines of an input (tags, tljh-config): blank lines and lines starting with #
 * are skipped; each other line is split at its first `=`, both sides trimmed, so a value may hold
 * `=`. A line without a key, or that `valid` refuses, throws an InputError naming the input;
 * `shown` says how the line appears in that error (by default the trimmed line, printable). Lazy:
 * a caller's own check of one pair runs before the next line is read.
 */
export function* keyValueLines(
  name: string,
  raw: string,
  accepted: string,
  valid: (key: string, value: string) => boolean,
  shown: (line: string, key: string) => string = (line) => `line '${printable(line.trim())}'`,
): Generator<[key: string, value: string]> {
  for (const line of raw.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    const key = eq > 0 ? trimmed.slice(0, eq).trim() : '';
    const value = eq > 0 ? trimmed.slice(eq + 1).trim() : '';
    if (!key || !valid(key, value)) {
      throw new InputError(name, `${shown(line, key)} is not valid`, accepted);
    }
    yield [key, value];
  }
}
