// A small client for the emulator's control API (/__emu/ on the front), for tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EMULATOR_FILE, TMP_DIR, type EmulatorInfo } from './paths.ts';

// The emulator's own types: one definition for the front and its tests.
export type { Scenario } from '../emulator/state.ts';
export type { Faults, FaultKind } from '../emulator/faults.ts';
export type { ImageSummary } from '../emulator/images.ts';
import type { ImageSummary } from '../emulator/images.ts';
import type { RecordedCall as FrontCall, Scenario } from '../emulator/state.ts';

/** What a test asks to hold (e2e/emulator/holds.ts fills in the defaults). */
export interface PauseOn {
  operation: string;
  when?: 'before' | 'after';
  requestIncludes?: string;
  responseIncludes?: string;
  nth?: number;
}

/** A call as the tests read it: params decoded (EC2: flat form keys such as `InstanceId.1`). */
export type RecordedCall = Omit<FrontCall, 'params'> & { params: Record<string, unknown> };

/** Operations that change something in AWS (everything else only reads). */
export const MUTATING_OPERATIONS: ReadonlySet<string> = new Set([
  // EC2
  'RunInstances',
  'StartInstances',
  'StopInstances',
  'RebootInstances',
  'TerminateInstances',
  'ModifyInstanceAttribute',
  'ModifyInstanceMetadataOptions',
  'AssociateIamInstanceProfile',
  'ReplaceIamInstanceProfileAssociation',
  'CreateTags',
  'DeleteTags',
  'CreateSecurityGroup',
  'DeleteSecurityGroup',
  'AuthorizeSecurityGroupIngress',
  'AuthorizeSecurityGroupEgress',
  'RevokeSecurityGroupIngress',
  'RevokeSecurityGroupEgress',
  'AllocateAddress',
  'AssociateAddress',
  'DisassociateAddress',
  'ReleaseAddress',
  'CreateVolume',
  'AttachVolume',
  'DetachVolume',
  'DeleteVolume',
  'ModifyVolume',
  'CreateKeyPair',
  'ImportKeyPair',
  'DeleteKeyPair',
  'CreateLaunchTemplate',
  'DeleteLaunchTemplate',
  'CancelSpotInstanceRequests',
  'CreateImage',
  'DeregisterImage',
  'CreateSnapshot',
  'DeleteSnapshot',
  // SSM
  'SendCommand',
  'CancelCommand',
  'PutParameter',
  'DeleteParameter',
  'DeleteParameters',
  'AddTagsToResource',
  'RemoveTagsFromResource',
  'StartSession',
  'TerminateSession',
  // Route 53
  'CreateHostedZone',
  'DeleteHostedZone',
  'ChangeResourceRecordSets',
]);

let cached: EmulatorInfo | undefined;

/** Where the emulator is (written by global-setup). */
export function emulatorInfo(): EmulatorInfo {
  if (!cached) {
    try {
      cached = JSON.parse(readFileSync(EMULATOR_FILE, 'utf8')) as EmulatorInfo;
    } catch (err) {
      throw new Error(
        `No running emulator (${EMULATOR_FILE}: ${String(err)}). ` +
          `Run the e2e jest project, whose global setup starts it.`,
        { cause: err },
      );
    }
  }
  return cached;
}

export function frontUrl(): string {
  return emulatorInfo().frontUrl;
}

async function control<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${frontUrl()}/__emu/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`emulator ${method} /__emu/${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Clears the recorded calls and restores the default scenario. With `{ aws: true }` it also
 * forgets every AWS resource (moto's reset, agents, command history, instance disks).
 */
export async function resetEmulator(opts: { aws?: boolean } = {}): Promise<void> {
  await control('POST', 'reset', { aws: opts.aws === true });
  if (lightSuite) await setScenario({ tljh: 'light' });
}

let lightSuite = false;

/**
 * For suites that launch many hubs at once (fleets, races, faults, kills): new instances run
 * the stubs' light model of TLJH instead of TLJH's own installer, after every reset. Such a
 * suite still sends at least one hub through the real install (setScenario({ tljh: 'real' })).
 */
export function useLightInstances(): void {
  lightSuite = true;
}

/** What a test may set: any scenario key, with a pause given in its short form. */
export type ScenarioPatch = Partial<Omit<Scenario, 'pauseOn'>> & { pauseOn?: PauseOn | null };

export function setScenario(partial: ScenarioPatch): Promise<Scenario> {
  return control<Scenario>('POST', 'scenario', partial);
}

export function getScenario(): Promise<Scenario> {
  return control<Scenario>('GET', 'scenario');
}

/**
 * Shows instances in a transitional state (moto has none) for their next `answers`
 * DescribeInstances answers; then their real state shows. Cleared by resetEmulator.
 */
export function showTransitional(
  shown: Record<string, { state: 'pending' | 'stopping' | 'shutting-down'; answers: number }>,
): Promise<unknown> {
  return control('POST', 'transitions', shown);
}

/** EC2 interrupts a Spot hub (interruption behaviour stop): it stops it, Spot capacity gone. */
export function interruptSpot(instanceId: string): Promise<unknown> {
  return control('POST', 'spot/interrupt', { instanceId });
}

/**
 * Spot capacity comes (now, or after `afterMs`) or goes. Without it a Spot launch answers
 * InsufficientInstanceCapacity; when it comes back, EC2 starts every interrupted Spot hub.
 */
export function setSpotCapacity(available: boolean, afterMs = 0): Promise<unknown> {
  return control('POST', 'spot/capacity', { available, afterMs });
}

/**
 * The images the front made (CreateImage) and not yet deregistered, each with what the disk
 * it copied holds that no image should (`leftovers`: a hub's data and secrets, jupyter-*
 * users, a machine's identity, an unencrypted snapshot). Cleared by resetEmulator({ aws: true }).
 */
export function getImages(): Promise<ImageSummary[]> {
  return control<ImageSummary[]>('GET', 'images');
}

/** Where the front keeps an image's copy of its instance's disk (gone once deregistered). */
export function imageStoreDir(imageId: string): string {
  return join(TMP_DIR, 'instances', 'images', imageId);
}

/** The calls held right now by scenario.pauseOn. */
export function getHeld(): Promise<RecordedCall[]> {
  return control<RecordedCall[]>('GET', 'held');
}

/** Lets every held call go on (a 'before' hold whose caller has gone is dropped). */
export async function releaseHeld(): Promise<number> {
  return (await control<{ released: number }>('POST', 'release')).released;
}

export function getCalls(): Promise<RecordedCall[]> {
  return control<RecordedCall[]>('GET', 'calls');
}

/** The calls that changed something (see MUTATING_OPERATIONS). */
export async function getMutatingCalls(): Promise<RecordedCall[]> {
  return (await getCalls()).filter((c) => MUTATING_OPERATIONS.has(c.operation));
}

/** The hub's API URL at an instance's (127.x) public IP, as a browser would reach it. */
export function hubApiUrl(publicIp: string): string {
  const port = emulatorInfo().hubPort;
  return `http://${publicIp}${port === 80 ? '' : `:${port}`}/hub/api`;
}
