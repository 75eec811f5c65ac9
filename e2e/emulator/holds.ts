// Holding one AWS call (scenario key `pauseOn`), so a test can kill the action at an exact
// point: 'before' holds the request unhandled (as if it never reached AWS), 'after' handles it
// and holds the answer (AWS acted, the caller has not heard). A hold lasts until
// POST /__emu/release (or a reset); a 'before' hold whose caller has gone by then is dropped.
import { isRecord } from './http-util.ts';
import type { RecordedCall } from './state.ts';

export interface PauseOn {
  operation: string;
  when: 'before' | 'after';
  /** Only a call whose request body (also URL-decoded) contains this. */
  requestIncludes?: string;
  /** Only a call whose answer contains this ('after' only). */
  responseIncludes?: string;
  /** Hold the nth matching call (default 1); one hold per pauseOn. */
  nth: number;
}

export function parsePauseOn(value: unknown): PauseOn | null {
  if (value === null) return null;
  if (!isRecord(value) || typeof value.operation !== 'string' || value.operation === '') {
    throw new Error('scenario.pauseOn must be null or { operation, when?, nth?, ... }');
  }
  const when = value.when ?? 'after';
  if (when !== 'before' && when !== 'after') {
    throw new Error(`scenario.pauseOn.when must be 'before' or 'after'`);
  }
  const nth = value.nth ?? 1;
  if (typeof nth !== 'number' || !Number.isInteger(nth) || nth < 1) {
    throw new Error('scenario.pauseOn.nth must be a positive integer');
  }
  for (const key of ['requestIncludes', 'responseIncludes'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'string') {
      throw new Error(`scenario.pauseOn.${key} must be a string`);
    }
  }
  return {
    operation: value.operation,
    when,
    nth,
    requestIncludes: value.requestIncludes as string | undefined,
    responseIncludes: value.responseIncludes as string | undefined,
  };
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export class Holds {
  private matched = 0;
  private fired = false;
  private readonly held: { call: RecordedCall; release: () => void }[] = [];

  /** A new pauseOn was set: count matches from zero again. */
  arm(): void {
    this.matched = 0;
    this.fired = false;
  }

  /** Whether this call is the one to hold (counts it if it matches). */
  shouldHold(
    pause: PauseOn | null,
    operation: string,
    when: PauseOn['when'],
    text: string,
  ): boolean {
    if (!pause || this.fired || pause.operation !== operation || pause.when !== when) return false;
    const needle = when === 'before' ? pause.requestIncludes : pause.responseIncludes;
    if (needle !== undefined && !text.includes(needle) && !decoded(text).includes(needle)) {
      return false;
    }
    this.matched += 1;
    if (this.matched < pause.nth) return false;
    this.fired = true;
    return true;
  }

  /** Resolves when the call is released. */
  hold(call: RecordedCall): Promise<void> {
    call.held = true;
    return new Promise((resolve) => this.held.push({ call, release: resolve }));
  }

  list(): RecordedCall[] {
    return this.held.map((h) => h.call);
  }

  releaseAll(): number {
    const all = this.held.splice(0);
    for (const h of all) h.release();
    return all.length;
  }
}
