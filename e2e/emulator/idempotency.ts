// RunInstances idempotency per ClientToken, which moto lacks: EC2 answers a repeated
// RunInstances carrying the same ClientToken with the first call's reservation instead of
// launching again, and with IdempotentParameterMismatch if the other parameters differ.
import type { ForwardedResponse } from './moto.ts';

interface Launch {
  /** The request's parameters apart from the token, to spot a mismatch. */
  fingerprint: string;
  answer: Promise<ForwardedResponse>;
}

export type TokenOutcome =
  { kind: 'launched' | 'repeated'; answer: ForwardedResponse } | { kind: 'mismatch' };

function fingerprint(params: Record<string, string>): string {
  const kept = Object.entries(params).filter(([k]) => k !== 'ClientToken');
  return JSON.stringify(kept.sort(([a], [b]) => a.localeCompare(b)));
}

export class ClientTokens {
  private readonly launches = new Map<string, Launch>();

  /** Runs `launch` once per region and token; a repeat gets the first answer (a failure is not kept). */
  async runInstances(
    region: string,
    params: Record<string, string>,
    launch: () => Promise<ForwardedResponse>,
  ): Promise<TokenOutcome> {
    const token = params.ClientToken;
    if (!token) return { kind: 'launched', answer: await launch() };
    const key = `${region}/${token}`;
    const print = fingerprint(params);
    const earlier = this.launches.get(key);
    if (earlier) {
      if (earlier.fingerprint !== print) return { kind: 'mismatch' };
      const answer = await earlier.answer.catch(() => undefined);
      if (answer?.status === 200) return { kind: 'repeated', answer };
    }
    const answer = launch();
    this.launches.set(key, { fingerprint: print, answer });
    const result = await answer;
    if (result.status !== 200 && this.launches.get(key)?.answer === answer)
      this.launches.delete(key);
    return { kind: 'launched', answer: result };
  }

  clear(): void {
    this.launches.clear();
  }
}
