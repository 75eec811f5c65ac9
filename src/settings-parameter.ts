// The SecureString parameter that carries a hub's admin password and settings to one of its
// instances: its name, its tags (which open it to that instance's role), and the sweep of
// those a run left behind.
import type { SSMClient } from '@aws-sdk/client-ssm';
import * as ssm from './aws/ssm.ts';
import { MANAGED_BY, TAG_HUB, TAG_MANAGED_BY } from './tags.ts';

/**
 * The tag naming the one instance whose role may read a settings parameter: the condition of
 * docs/iam/instance-role-policy.json (OwnSettingsParameterOnly) compares it with the instance
 * that signed the request.
 */
export const TAG_SETTINGS_INSTANCE = 'tljh:instance-id';

/** The tags of an instance's settings parameter: the instance that may read it, and its hub. */
export function settingsParameterTags(hubName: string, instanceId: string): Record<string, string> {
  return { [TAG_SETTINGS_INSTANCE]: instanceId, [TAG_HUB]: hubName, [TAG_MANAGED_BY]: MANAGED_BY };
}

/** Where the install settings of a hub's instances live (one parameter per instance). */
export function settingsPath(hubName: string): string {
  return `/tljh-ec2-action/${hubName}/`;
}

/** The settings parameter of one instance of a hub. */
export function settingsParameterName(hubName: string, instanceId: string): string {
  return `${settingsPath(hubName)}${instanceId}/settings`;
}

/** The instance a settings parameter belongs to (undefined for a name of another shape). */
export function settingsParameterInstance(name: string): string | undefined {
  return /\/(i-[0-9a-f]+)\/settings$/.exec(name)?.[1];
}

/** Every settings parameter under these hubs (a run killed mid-install leaves one behind). */
export async function listSettingsParameters(
  client: SSMClient,
  hubNames: string[],
): Promise<string[]> {
  const names: string[] = [];
  for (const hub of hubNames)
    names.push(...(await ssm.listParameterNames(client, settingsPath(hub))));
  return names;
}

/**
 * Deletes every settings parameter left under these hubs (a run killed between writing one and
 * deleting it leaves it behind, password included). Returns how many were deleted.
 */
export async function deleteSettingsLeftovers(
  client: SSMClient,
  hubNames: string[],
): Promise<number> {
  const names = await listSettingsParameters(client, hubNames);
  await ssm.deleteParameters(client, names);
  return names.length;
}
