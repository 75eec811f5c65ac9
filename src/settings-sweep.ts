// Settings parameters (SecureStrings holding the admin password and settings) that a run left
// behind because it died mid-install: expired credentials, a cancelled job. The next install on
// the hub deletes them, except one that another run's install may still have to read.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import * as ec2 from './aws/ec2.ts';
import * as ssm from './aws/ssm.ts';
import * as settings from './settings-parameter.ts';
import { ActionError, isAwsError } from './errors.ts';
import type { ObservedInstance } from './model.ts';

/** Instances that can no longer read a parameter (nor be installed by anyone). */
const GONE = new Set(['shutting-down', 'terminated']);

async function describeUnlessGone(
  client: EC2Client,
  instanceId: string,
): Promise<ObservedInstance | undefined> {
  try {
    const instance = await ec2.describeHubInstance(client, instanceId);
    return GONE.has(instance.state) ? undefined : instance;
  } catch (err) {
    // Terminated long enough ago, EC2 no longer knows the instance at all.
    if (isAwsError(err, 'InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed')) {
      return undefined;
    }
    if (err instanceof ActionError && /was not found/.test(err.message)) return undefined;
    throw err;
  }
}

/**
 * Deletes the hub's settings parameters that no install needs any more: those of instances that
 * are gone, and those of live instances on which no other run's install is under way (`inUse`
 * reads the instance's install lease). Returns the names deleted.
 */
export async function sweepStaleSettings(
  clients: { ec2: EC2Client; ssm: SSMClient },
  hubName: string,
  inUse: (instance: ObservedInstance) => Promise<boolean>,
): Promise<string[]> {
  const stale: string[] = [];
  for (const name of await settings.listSettingsParameters(clients.ssm, [hubName])) {
    const instanceId = settings.settingsParameterInstance(name);
    const instance = instanceId ? await describeUnlessGone(clients.ec2, instanceId) : undefined;
    if (instance && (await inUse(instance))) continue;
    stale.push(name);
  }
  await ssm.deleteParameters(clients.ssm, stale);
  return stale;
}
