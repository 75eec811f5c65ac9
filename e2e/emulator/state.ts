// What the front remembers between requests: the scenario tests set, and every call it saw.
import { appendFileSync } from 'node:fs';
import { parseFaults, type Faults, type FaultKind } from './faults.ts';
import { parsePauseOn, type PauseOn } from './holds.ts';
import type { AddressView } from './moto.ts';

export interface Scenario {
  /** DescribeInstanceInformation calls per instance (since it last started) before it is Online. */
  agentDelayPolls: number;
  /**
   * Milliseconds an agent takes to come Online, counted from the first DescribeInstanceInformation
   * that finds its instance running (since it last started); with agentDelayPolls, both must pass.
   */
  agentDelayMs: number;
  /** Milliseconds a launched or started instance shows `pending` before its `running` shows. */
  bootDelayMs: number;
  /** GetCommandInvocation polls per command that answer InvocationDoesNotExist first. */
  invocationMissingPolls: number;
  /** How many of the next install runs (scripts that run bootstrap.py) fail. */
  failNextInstalls: number;
  /** The version a light instance's hub reports at /hub/api (a real one reports pip's). */
  hubVersion: string;
  /**
   * What a new instance runs: 'real' is TLJH's own bootstrap.py and installer (the default);
   * 'light' is the stubs' model of them, for suites that launch many hubs at once.
   */
  tljh: 'real' | 'light';
  /** Whether a real HTTPS hub's certificate is issued (its DNS points at it); else traefik's default. */
  certificateIssued: boolean;
  /** How long the fake installer runs, so tests can see InProgress and the 403 progress page. */
  installDelayMs: number;
  /** Injected throttling, server errors, dropped connections, capacity errors (faults.ts). */
  faults: Faults;
  /** Hold one call until released, so a test can kill the action there (holds.ts). */
  pauseOn: PauseOn | null;
  /** DescribeImages answers that show a new image pending before it is available (images.ts). */
  imagePendingAnswers: number;
}

export interface RecordedCall {
  service: 'ec2' | 'ssm' | 'route53' | 'other';
  operation: string;
  params: unknown;
  /** HTTP status of the answer the caller got. */
  status?: number;
  at: string;
  /** The SDK's attempt number for this call (its amz-sdk-request header), when it sent one. */
  attempt?: number;
  /** Who signed it: the action under test, the instance role, or a test's own client. */
  accessKey?: string;
  /** Set when the front injected a fault instead of (or after) answering normally. */
  injected?: FaultKind;
  /** Set when the call was held by scenario.pauseOn. */
  held?: boolean;
  /**
   * The Elastic IP an AssociateAddress, DisassociateAddress or ReleaseAddress named, as moto
   * described it just before the call (addresses.ts): its tags, for the IAM audit.
   */
  address?: AddressView;
  /**
   * The primary network interface of the instance an AssociateAddress names (moto's), for the
   * IAM audit: EC2 authorizes the call on it too.
   */
  networkInterfaceId?: string;
}

export const DEFAULT_SCENARIO: Readonly<Scenario> = Object.freeze({
  agentDelayPolls: 0,
  agentDelayMs: 0,
  bootDelayMs: 0,
  invocationMissingPolls: 1,
  failNextInstalls: 0,
  hubVersion: '5.3.0',
  tljh: 'real',
  certificateIssued: true,
  installDelayMs: 200,
  faults: {},
  pauseOn: null,
  imagePendingAnswers: 0,
});

const NUMBER_KEYS = [
  'agentDelayPolls',
  'agentDelayMs',
  'bootDelayMs',
  'invocationMissingPolls',
  'failNextInstalls',
  'installDelayMs',
  'imagePendingAnswers',
] as const;

export class EmulatorState {
  scenario: Scenario = { ...DEFAULT_SCENARIO };
  readonly calls: RecordedCall[] = [];

  /** Every call is also appended to this file, which per-test resets leave alone (the audit). */
  private readonly journal?: string;

  constructor(journal?: string) {
    this.journal = journal;
  }

  record(call: Omit<RecordedCall, 'at'>): RecordedCall {
    const entry = { ...call, at: new Date().toISOString() };
    this.calls.push(entry);
    if (this.journal) appendFileSync(this.journal, JSON.stringify(entry) + '\n');
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
      } else if (key === 'tljh') {
        if (value !== 'real' && value !== 'light') {
          throw new Error(`scenario.tljh must be 'real' or 'light', got ${String(value)}`);
        }
        next.tljh = value;
      } else if (key === 'certificateIssued') {
        if (typeof value !== 'boolean')
          throw new Error('scenario.certificateIssued must be a boolean');
        next.certificateIssued = value;
      } else if (key === 'faults') {
        next.faults = parseFaults(value);
      } else if (key === 'pauseOn') {
        next.pauseOn = parsePauseOn(value);
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
