// What every step of a run is given: the AWS clients, the clock, the log and the run's identity.
// Types only, so the modules that orchestrate a hub share them without importing each other.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clock } from './clock.ts';
import type { FinalState, Plan } from './plan.ts';
import type { Phase, PhaseLog } from './phases.ts';
import type { GroupDiff } from './spec-diff.ts';

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
  route53: Route53Client;
  /**
   * Identifies this step of this run attempt (repository, run id, attempt, job, step) for the
   * launch's ClientToken; see run-identity.ts.
   */
  runKey?: string;
  /** Identifies this job of this workflow run (all its attempts) in the install lease tag. */
  runOwner: string;
  /** Told the plan before it is applied (the PR comment says 'creating'). */
  onPlan?: (plan: Plan) => Promise<void>;
  /** Told the URL of TLJH's progress page when a cold install starts (the PR comment links it). */
  onInstallStarting?: (progressUrl: string) => Promise<void>;
  /**
   * Told a generated admin password (already masked) as soon as it was sent to the hub, and
   * '' if it is withdrawn (it was set on an instance this run then terminated). Called before
   * anything that can still fail, so the password reaches the user even when the run fails.
   */
  onAdminPassword?: (password: string) => void;
  /** Where the run's time goes, phase by phase (the job summary's table). */
  phases?: PhaseLog;
}

/** What a run did to one hub, for the outputs, the summary and the PR comment. */
export interface Outcome {
  plan: Plan;
  state: FinalState;
  changed: boolean;
  done: string[];
  instanceId?: string;
  publicIp?: string;
  hubUrl?: string;
  hubVersion?: string;
  /** When the hub expires (tljh:expires-at), if it has a time to live. */
  expiresAt?: string;
  /** The admin password this run generated and sent to the hub (masked; see onAdminPassword). */
  generatedPassword?: string;
  /** The instance type (and subnet) used, when this run launched the hub. */
  launchedType?: string;
  /** The image this run launched the hub from, and where it came from (image-cache.ts). */
  image?: { id: string; source: 'cache' | 'ubuntu' | 'given' };
  /** The image this run's bake made (image-cache on a miss), if it finished. */
  bakedImage?: string;
  /** Each check this run made of the hub and its answer (the job summary lists them). */
  checks: string[];
  /** An HTTPS hub that is up but has no valid certificate yet: what is missing. */
  httpsPending?: string;
  /** The spec's diff, group by group, for a hub that existed (undefined: none, or a terminate). */
  changes?: GroupDiff[];
  /** Groups a stop left for the next run with state running. */
  pending?: string[];
  /** Each phase the run waited on and its time (ms), in order. */
  phases?: [Phase, number][];
}
