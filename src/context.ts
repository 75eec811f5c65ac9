// What every step of a run is given: the AWS clients, the clock, the log and the run's identity.
// Types only, so the modules that orchestrate a hub share them without importing each other.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from './clock.ts';
import type { Plan } from './plan.ts';

export interface Reporter {
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
  info(message: string): void;
  warning(message: string): void;
  /** Registers a secret so no later log line shows it. */
  mask(secret: string): void;
}

/** Enough to wait on something and say so: every wait takes this. */
export interface WaitContext {
  clock: Clock;
  pollMs: number;
  log: Reporter;
}

export interface ReconcileContext extends WaitContext {
  ec2: EC2Client;
  ssm: SSMClient;
  /** Identifies this run attempt (repository, run id, attempt) for the launch's ClientToken. */
  runKey?: string;
  /** Identifies this workflow run (all its attempts) in the install lease tag. */
  runOwner: string;
  /** Told the plan before it is applied (the PR comment says 'creating'). */
  onPlan?: (plan: Plan) => Promise<void>;
  /**
   * Told a generated admin password (already masked) as soon as it was sent to the hub, and
   * '' if it is withdrawn (it was set on an instance this run then terminated). Called before
   * anything that can still fail, so the password reaches the user even when the run fails.
   */
  onAdminPassword?: (password: string) => void;
}
