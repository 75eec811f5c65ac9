// Running a script on an instance over SSM Run Command, and waiting for its SSM agent first:
// the waits (deadlines, progress lines, presence check, errors that mean "look again") on the
// one wait of wait.ts; each call to SSM is a single call of aws/ssm.ts.
import type { SSMClient } from '@aws-sdk/client-ssm';
import * as ssm from './aws/ssm.ts';
import { formatDuration } from './clock.ts';
import type { WaitContext } from './context.ts';
import { ActionError, isAwsError } from './errors.ts';
import { waitFor } from './wait.ts';

export type SsmWaitContext = WaitContext & { ssm: SSMClient };

export interface InstanceWaitOptions {
  timeoutMs: number;
  /** Throws when waiting is pointless (the instance was stopped or terminated meanwhile). */
  stillThere?: () => Promise<void>;
}

/** How long the agent may take to come Online after a launch or a start. */
export const AGENT_TIMEOUT_MS = 10 * 60_000;

/** Right after the agent turns Online, SendCommand may still call the instance unknown this long. */
export const AGENT_UNKNOWN_MS = 120_000;

/** How much longer than the command's own timeout we poll it, so SSM reports TimedOut first. */
export const COMMAND_GRACE_MS = 120_000;

/** Waits until the instance's SSM agent reports Online. */
export async function waitForAgent(
  ctx: SsmWaitContext,
  instanceId: string,
  opts: InstanceWaitOptions = { timeoutMs: AGENT_TIMEOUT_MS },
): Promise<void> {
  ctx.log.info(
    `Waiting for the SSM agent on ${instanceId} to come Online (up to ${formatDuration(opts.timeoutMs)})...`,
  );
  let lastStatus = 'not registered';
  await waitFor({
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs: opts.timeoutMs,
    what: `the SSM agent on ${instanceId}`,
    stillThere: opts.stillThere,
    progress: (line) => ctx.log.info(line),
    look: async () => {
      const status = await ssm.agentPingStatus(ctx.ssm, instanceId);
      if (status === 'Online') return { done: true, value: undefined };
      lastStatus = status ?? 'not registered';
      return { done: false, detail: `agent ${lastStatus}` };
    },
    timedOut: () =>
      new ActionError(
        `The SSM agent on ${instanceId} did not come Online within ${formatDuration(opts.timeoutMs)} (last status: ${lastStatus}).`,
        "Most often the instance has no instance profile whose role has the policy docs/iam/instance-role-policy.json (input 'iam-instance-profile'), or no outbound HTTPS to the SSM endpoints (route to an internet gateway or NAT, or VPC endpoints). The instance is left tagged for diagnosis; the next run continues from it.",
      ),
  });
  ctx.log.info('SSM agent is Online.');
}

export interface CommandResult {
  commandId: string;
  status: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends InstanceWaitOptions {
  /** Told the command id as soon as SendCommand answered (before the command ends). */
  onSent?: (commandId: string) => Promise<void>;
}

/**
 * Sends the script, retrying while SSM does not know the instance yet (for up to
 * AGENT_UNKNOWN_MS; the last InvalidInstanceId is thrown then).
 */
async function send(
  ctx: SsmWaitContext,
  instanceId: string,
  script: string,
  comment: string,
  opts: RunOptions,
): Promise<string> {
  const executionTimeoutSeconds = Math.ceil(opts.timeoutMs / 1000);
  let unknown: unknown;
  return waitFor({
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs: AGENT_UNKNOWN_MS,
    what: `SSM to accept '${comment}' on ${instanceId}`,
    stillThere: opts.stillThere,
    progress: (line) => ctx.log.info(line),
    // Nothing else is sent again: a SendCommand that failed with a 5xx may still have run.
    transient: () => false,
    look: async () => {
      try {
        const commandId = await ssm.sendShellScript(
          ctx.ssm,
          instanceId,
          script,
          comment,
          executionTimeoutSeconds,
        );
        return { done: true, value: commandId };
      } catch (err) {
        if (!isAwsError(err, 'InvalidInstanceId')) throw err;
        unknown = err;
        return { done: false, detail: 'instance not known to SSM yet' };
      }
    },
    timedOut: () => unknown as Error,
  });
}

/**
 * Runs a shell script through AWS-RunShellScript and waits for its end, up to its own timeout
 * (`timeoutMs`, passed to the command as executionTimeout) plus COMMAND_GRACE_MS.
 */
export async function runScript(
  ctx: SsmWaitContext,
  instanceId: string,
  script: string,
  comment: string,
  opts: RunOptions,
): Promise<CommandResult> {
  const commandId = await send(ctx, instanceId, script, comment, opts);
  await opts.onSent?.(commandId);
  const deadlineMs = opts.timeoutMs + COMMAND_GRACE_MS;
  let status = 'Pending';
  const inv = await waitFor({
    clock: ctx.clock,
    intervalMs: ctx.pollMs,
    timeoutMs: deadlineMs,
    what: `'${comment}' on ${instanceId}`,
    stillThere: opts.stillThere,
    progress: (line) => ctx.log.info(line),
    // The invocation never exists at once.
    sleepFirst: true,
    look: async () => {
      const seen = await ssm.commandInvocation(ctx.ssm, commandId, instanceId);
      status = seen?.status ?? 'Pending';
      return seen?.final
        ? { done: true, value: seen }
        : { done: false, detail: `command ${status}` };
    },
    timedOut: () =>
      new ActionError(
        `Command ${commandId} on ${instanceId} did not finish within ${formatDuration(deadlineMs)} (status ${status}).`,
        "Raise 'install-timeout' if the instance is small or its network slow; the next run continues from the tagged instance.",
      ),
  });
  return {
    commandId,
    status: inv.status,
    exitCode: inv.exitCode,
    stdout: inv.stdout,
    stderr: inv.stderr,
  };
}
