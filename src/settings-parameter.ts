// The SecureString parameter that carries a hub's admin password and settings to one of its
// instances: what it holds, its name, its tags (which open it to that instance's role), its
// round trip around an install, and the sweep of those a run left behind.
import type { SSMClient } from '@aws-sdk/client-ssm';
import * as ssm from './aws/ssm.ts';
import type { Reporter } from './context.ts';
import type { HubSpec } from './inputs/spec.ts';
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

/** What travels to the instance in the SecureString parameter (never in command parameters). */
export interface HubSettings {
  adminPassword?: string;
  settings: [string, string][];
  items: [string, string][];
}

export function hubSettings(spec: HubSpec, adminPassword: string | undefined): HubSettings {
  const https = spec.https;
  return {
    adminPassword,
    settings: [
      ...spec.tljhSettings,
      ...(https
        ? ([
            ['https.enabled', 'true'],
            ['https.letsencrypt.email', https.email],
            // TLJH's traefik.toml then names Let's Encrypt's staging directory as caServer.
            ...(https.staging ? [['https.letsencrypt.staging', 'true']] : []),
          ] as [string, string][])
        : []),
    ],
    items: https ? [['https.letsencrypt.domains', https.domain]] : [],
  };
}

/**
 * Puts the settings in the instance's SecureString parameter, runs `fn` with its name, and
 * deletes it whatever `fn` did (a failed delete is a warning: the next install on the hub, or
 * terminating it, deletes it). With nothing to carry, runs `fn` without a parameter.
 */
export async function withSettingsParameter<T>(
  ctx: { ssm: SSMClient; log: Reporter },
  hubName: string,
  instanceId: string,
  settings: HubSettings,
  fn: (name?: string) => Promise<T>,
): Promise<T> {
  if (!settings.adminPassword && !settings.settings.length && !settings.items.length) return fn();
  const name = settingsParameterName(hubName, instanceId);
  await ssm.putSecureParameter(
    ctx.ssm,
    name,
    JSON.stringify(settings),
    `Install settings for hub ${hubName} (deleted after the install)`,
    // The instance role reads only a parameter tagged with its own instance id (see
    // docs/iam/instance-role-policy.json); the hub tags say whose it is.
    settingsParameterTags(hubName, instanceId),
  );
  ctx.log.info(
    `Admin password and settings travel in the SecureString parameter ${name} (deleted after the install).`,
  );
  try {
    return await fn(name);
  } finally {
    await ssm.deleteParameter(ctx.ssm, name).catch((err: unknown) => {
      ctx.log.warning(
        `Could not delete ${name} (${(err as Error).message}): the next install on hub '${hubName}' (or terminating it) deletes it.`,
      );
    });
  }
}
