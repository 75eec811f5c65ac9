// Everything the action says to Systems Manager, one call per function: the Ubuntu AMI
// parameter, the agent's ping status, Run Command (send, read), and parameters. No waiting and
// no policy here: the waits and their deadlines are in run-command.ts (on wait.ts), the
// settings parameter's naming in settings-parameter.ts. The only file that speaks SSM.
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
import { ActionError, isAwsError } from '../errors.ts';
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

/** The instance's SSM agent as Systems Manager sees it: 'Online', 'ConnectionLost', ... or undefined (not registered). */
export async function agentPingStatus(
  ssm: SSMClient,
  instanceId: string,
): Promise<string | undefined> {
  const out = await ssm.send(
    new DescribeInstanceInformationCommand({
      Filters: [{ Key: 'InstanceIds', Values: [instanceId] }],
    }),
  );
  return out.InstanceInformationList?.find((i) => i.InstanceId === instanceId)?.PingStatus;
}

/**
 * Sends a shell script through AWS-RunShellScript (one SendCommand) and returns the command id.
 * Only the script and its execution timeout travel: no output bucket, no notification.
 */
export async function sendShellScript(
  ssm: SSMClient,
  instanceId: string,
  script: string,
  comment: string,
  executionTimeoutSeconds: number,
): Promise<string> {
  const out = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [instanceId],
      DocumentName: 'AWS-RunShellScript',
      // SSM allows 100 characters.
      Comment: comment.slice(0, 100),
      // How long the command may wait for delivery (the agent may still be settling).
      TimeoutSeconds: 600,
      Parameters: { commands: [script], executionTimeout: [String(executionTimeoutSeconds)] },
    }),
  );
  return out.Command!.CommandId!;
}

/**
 * The statuses after which a command invocation does nothing more. GetCommandInvocation's
 * Status is one of Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed and
 * Cancelling (the SDK's CommandInvocationStatus); DeliveryTimedOut, Undeliverable and the like
 * are StatusDetails under Failed or TimedOut. Cancelling is not over yet: the script may still
 * run until the agent ends it.
 */
export const FINAL_STATUSES: ReadonlySet<string> = new Set([
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
]);

export interface CommandInvocation {
  commandId: string;
  status: string;
  /** Whether the status is one of FINAL_STATUSES. */
  final: boolean;
  /** The script's exit code, -1 when there is none (the command timed out or was cancelled). */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * One GetCommandInvocation. Undefined while SSM does not know the invocation yet (right after
 * SendCommand it answers InvocationDoesNotExist until the invocation is registered).
 */
export async function commandInvocation(
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
): Promise<CommandInvocation | undefined> {
  try {
    const inv = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
    );
    const status = inv.Status ?? 'Pending';
    return {
      commandId,
      status,
      final: FINAL_STATUSES.has(status),
      exitCode: inv.ResponseCode ?? -1,
      stdout: inv.StandardOutputContent ?? '',
      stderr: inv.StandardErrorContent ?? '',
    };
  } catch (err) {
    if (isAwsError(err, 'InvocationDoesNotExist')) return undefined;
    throw err;
  }
}

/**
 * Whether a command has ended (any final status). A command SSM does not know yet
 * (InvocationDoesNotExist) is pending, not ended (the lease's own expiry bounds a command that
 * never registers). A malformed or unknown command id (InvalidCommandId) names nothing that
 * can still run: ended.
 */
export async function commandEnded(
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
): Promise<boolean> {
  try {
    return (await commandInvocation(ssm, commandId, instanceId))?.final ?? false;
  } catch (err) {
    if (isAwsError(err, 'InvalidCommandId')) return true;
    throw err;
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

/** Deletes one parameter; one already gone is fine. */
export async function deleteParameter(ssm: SSMClient, name: string): Promise<void> {
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
  } catch (err) {
    if (!isAwsError(err, 'ParameterNotFound')) throw err;
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
