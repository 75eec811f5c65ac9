// Everything the action says to Systems Manager: the Ubuntu AMI parameter, agent readiness,
// and Run Command. The only file that speaks SSM.
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  paginateGetParametersByPath,
  DescribeInstanceInformationCommand,
  PutParameterCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { formatDuration, type Clock } from '../clock.ts';
import { ActionError, isAwsError, isTransient } from '../errors.ts';
import type { Architecture, UbuntuVersion } from '../model.ts';

export function ubuntuAmiParameter(version: UbuntuVersion, arch: Architecture): string {
  // Canonical publishes 24.04 on gp3 and 22.04 on gp2 (the root volume is gp3 either way).
  const volume = version === '22.04' ? 'ebs-gp2' : 'ebs-gp3';
  return `/aws/service/canonical/ubuntu/server/${version}/stable/current/${arch}/hvm/${volume}/ami-id`;
}

export async function resolveUbuntuAmi(
  ssm: SSMClient,
  version: UbuntuVersion,
  arch: Architecture,
): Promise<string> {
  const name = ubuntuAmiParameter(version, arch);
  try {
    const value = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    if (value) return value;
  } catch (err) {
    if (!isAwsError(err, 'ParameterNotFound')) throw err;
  }
  throw new ActionError(
    `Canonical's AMI parameter ${name} was not found in this region.`,
    "Set the 'image-id' input to an Ubuntu 22.04 or 24.04 AMI of this region.",
  );
}

export interface PollOptions {
  clock: Clock;
  intervalMs: number;
  timeoutMs: number;
  /** Called about once a minute while waiting, with the time waited so far. */
  onProgress?: (waitedMs: number, detail: string) => void;
  /** Told the command id as soon as SendCommand answered (before the command ends). */
  onSent?: (commandId: string) => Promise<void>;
  /**
   * Called every few polls; throws when waiting is pointless (the instance was stopped or
   * terminated meanwhile), so a long wait ends with a clear error instead of a time-out.
   */
  stillThere?: () => Promise<void>;
}

/** Every this many polls (30 s at the default 5 s), the wait asks whether the instance is still there. */
const POLLS_PER_PRESENCE_CHECK = 6;

async function pollTick(opts: PollOptions, polls: number): Promise<void> {
  if (opts.stillThere && polls > 0 && polls % POLLS_PER_PRESENCE_CHECK === 0)
    await opts.stillThere();
  await opts.clock.sleep(opts.intervalMs);
}

const PROGRESS_EVERY_MS = 60_000;

/** Waits until the instance's SSM agent reports Online. */
export async function waitForAgent(
  ssm: SSMClient,
  instanceId: string,
  opts: PollOptions,
): Promise<void> {
  const start = opts.clock.now();
  let lastReport = start;
  for (let polls = 1; ; polls++) {
    let out;
    try {
      out = await ssm.send(
        new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'InstanceIds', Values: [instanceId] }],
        }),
      );
    } catch (err) {
      // Throttled or a 5xx past the SDK's retries: poll again, until the deadline below.
      if (!isTransient(err) || opts.clock.now() - start >= opts.timeoutMs) throw err;
    }
    const info = out?.InstanceInformationList?.find((i) => i.InstanceId === instanceId);
    if (info?.PingStatus === 'Online') return;
    const status = info?.PingStatus ?? 'not registered';
    const waited = opts.clock.now() - start;
    if (waited >= opts.timeoutMs) {
      throw new ActionError(
        `The SSM agent on ${instanceId} did not come Online within ${formatDuration(opts.timeoutMs)} (last status: ${status}).`,
        "Most often the instance has no instance profile whose role has the policy docs/iam/instance-role-policy.json (input 'iam-instance-profile'), or no outbound HTTPS to the SSM endpoints (route to an internet gateway or NAT, or VPC endpoints). The instance is left tagged for diagnosis; the next run continues from it.",
      );
    }
    if (opts.clock.now() - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = opts.clock.now();
      opts.onProgress?.(waited, `agent ${status}`);
    }
    await pollTick(opts, polls);
  }
}

export interface CommandResult {
  commandId: string;
  status: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

const TERMINAL = new Set([
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
  'Cancelling',
  'DeliveryTimedOut',
  'ExecutionTimedOut',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
]);

async function sendScript(
  ssm: SSMClient,
  instanceId: string,
  script: string,
  comment: string,
  executionTimeoutSeconds: number,
  opts: PollOptions,
): Promise<string> {
  const start = opts.clock.now();
  for (let polls = 1; ; polls++) {
    try {
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [instanceId],
          DocumentName: 'AWS-RunShellScript',
          Comment: comment.slice(0, 100),
          TimeoutSeconds: 600,
          Parameters: { commands: [script], executionTimeout: [String(executionTimeoutSeconds)] },
        }),
      );
      return out.Command!.CommandId!;
    } catch (err) {
      // Right after the agent turns Online, SendCommand can still say the instance is unknown.
      if (!isAwsError(err, 'InvalidInstanceId') || opts.clock.now() - start > 120_000) throw err;
      await pollTick(opts, polls);
    }
  }
}

/**
 * Runs a shell script through AWS-RunShellScript and polls it to the end with a loop of our
 * own: the SDK's CommandExecuted waiter retries on every error, AccessDenied included.
 */
export async function runScript(
  ssm: SSMClient,
  instanceId: string,
  script: string,
  comment: string,
  opts: PollOptions,
): Promise<CommandResult> {
  const executionTimeout = Math.ceil(opts.timeoutMs / 1000);
  const commandId = await sendScript(ssm, instanceId, script, comment, executionTimeout, opts);
  await opts.onSent?.(commandId);
  const start = opts.clock.now();
  let lastReport = start;
  // A little longer than the command's own timeout, so SSM reports TimedOut before we give up.
  const deadline = start + opts.timeoutMs + 120_000;
  for (let polls = 0; ; polls++) {
    await pollTick(opts, polls);
    let status = 'Pending';
    try {
      const inv = await ssm.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
      );
      status = inv.Status ?? 'Pending';
      if (TERMINAL.has(status)) {
        return {
          commandId,
          status,
          exitCode: inv.ResponseCode ?? -1,
          stdout: inv.StandardOutputContent ?? '',
          stderr: inv.StandardErrorContent ?? '',
        };
      }
    } catch (err) {
      // Right after SendCommand the invocation may not exist yet: that is "pending". Throttling
      // or a 5xx past the SDK's retries: poll again, until the deadline below.
      if (!isAwsError(err, 'InvocationDoesNotExist') && !isTransient(err)) throw err;
    }
    const now = opts.clock.now();
    if (now > deadline) {
      throw new ActionError(
        `Command ${commandId} on ${instanceId} did not finish within ${formatDuration(deadline - start)} (status ${status}).`,
        "Raise 'install-timeout' if the instance is small or its network slow; the next run continues from the tagged instance.",
      );
    }
    if (now - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = now;
      opts.onProgress?.(now - start, `command ${status}`);
    }
  }
}

/**
 * A SecureString (encrypted with the account's aws/ssm key) that the instance reads once, tagged
 * `tags`. docs/iam/instance-role-policy.json lets an instance read a settings parameter only
 * while its `tljh:instance-id` tag names that instance, so the tag is what opens it.
 *
 * PutParameter rejects Tags together with Overwrite, so: overwrite, then AddTagsToResource.
 * Creating with Tags and no Overwrite would be atomic, but fails with ParameterAlreadyExists on
 * the leftover of a run killed mid-install (the sweep that deletes those is best effort). These
 * two calls converge from any leftover: the value is replaced, the tags (kept by an overwrite)
 * are set again. A run killed between them leaves an untagged parameter that no instance can
 * read and that the next install on the hub deletes.
 */
export async function putSecureParameter(
  ssm: SSMClient,
  name: string,
  value: string,
  description: string,
  tags: Record<string, string>,
): Promise<void> {
  await ssm.send(
    new PutParameterCommand({
      Name: name,
      Value: value,
      Type: 'SecureString',
      Overwrite: true,
      Description: description,
    }),
  );
  try {
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'Parameter',
        ResourceId: name,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  } catch (err) {
    // Untagged, it is of no use to the instance, but it holds the secrets: do not leave it.
    await deleteParameter(ssm, name).catch(() => undefined);
    throw err;
  }
}

export async function deleteParameter(ssm: SSMClient, name: string): Promise<void> {
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
  } catch (err) {
    if (!isAwsError(err, 'ParameterNotFound')) throw err;
  }
}

/**
 * Whether a command has ended (any final status). Right after SendCommand, SSM answers
 * InvocationDoesNotExist until the invocation is registered: that is pending, not ended (the
 * lease's own expiry bounds a command that never registers). A malformed or unknown command id
 * (InvalidCommandId) names nothing that can still run: ended.
 */
export async function commandEnded(
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
): Promise<boolean> {
  try {
    const inv = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
    );
    return TERMINAL.has(inv.Status ?? 'Pending');
  } catch (err) {
    if (isAwsError(err, 'InvocationDoesNotExist')) return false;
    if (isAwsError(err, 'InvalidCommandId')) return true;
    throw err;
  }
}

/** Every parameter name under a path, recursively (one paginated call). */
export async function listParameterNames(ssm: SSMClient, path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateGetParametersByPath(
    { client: ssm },
    { Path: path, Recursive: true },
  )) {
    names.push(...(page.Parameters ?? []).map((p) => p.Name!).filter(Boolean));
  }
  return names;
}

/** Deletes parameters, ten per call (DeleteParameters' limit); unknown names are ignored. */
export async function deleteParameters(ssm: SSMClient, names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 10) {
    await ssm.send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) }));
  }
}
