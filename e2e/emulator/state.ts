// What the front remembers between requests: the scenario tests set, and every call it saw.
export interface Scenario {
  /** DescribeInstanceInformation calls per instance (since it last started) before it is Online. */
  agentDelayPolls: number;
  /** GetCommandInvocation polls per command that answer InvocationDoesNotExist first. */
  invocationMissingPolls: number;
  /** How many of the next install runs (scripts that run bootstrap.py) fail. */
  failNextInstalls: number;
  /** The version the simulated hub reports at /hub/api. */
  hubVersion: string;
  /** How long the fake installer runs, so tests can see InProgress and the 403 progress page. */
  installDelayMs: number;
}

export interface RecordedCall {
  service: 'ec2' | 'ssm' | 'other';
  operation: string;
  params: unknown;
  /** HTTP status of the answer the caller got. */
  status?: number;
  at: string;
}

export const DEFAULT_SCENARIO: Readonly<Scenario> = Object.freeze({
  agentDelayPolls: 0,
  invocationMissingPolls: 1,
  failNextInstalls: 0,
  hubVersion: '5.3.0',
  installDelayMs: 200,
});

const NUMBER_KEYS = [
  'agentDelayPolls',
  'invocationMissingPolls',
  'failNextInstalls',
  'installDelayMs',
] as const;

export class EmulatorState {
  scenario: Scenario = { ...DEFAULT_SCENARIO };
  readonly calls: RecordedCall[] = [];

  record(call: Omit<RecordedCall, 'at'>): RecordedCall {
    const entry = { ...call, at: new Date().toISOString() };
    this.calls.push(entry);
    return entry;
  }

  reset(): void {
    this.scenario = { ...DEFAULT_SCENARIO };
    this.calls.length = 0;
  }

  /** Merges a partial scenario; throws with a readable message on unknown keys or bad types. */
  merge(patch: Record<string, unknown>): Scenario {
    const next: Scenario = { ...this.scenario };
    for (const [key, value] of Object.entries(patch)) {
      if ((NUMBER_KEYS as readonly string[]).includes(key)) {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          throw new Error(`scenario.${key} must be a non-negative integer, got ${String(value)}`);
        }
        next[key as (typeof NUMBER_KEYS)[number]] = value;
      } else if (key === 'hubVersion') {
        if (typeof value !== 'string' || value === '') {
          throw new Error(`scenario.hubVersion must be a non-empty string`);
        }
        next.hubVersion = value;
      } else {
        throw new Error(
          `unknown scenario key '${key}' (known: ${Object.keys(DEFAULT_SCENARIO).join(', ')})`,
        );
      }
    }
    this.scenario = next;
    return next;
  }
}
