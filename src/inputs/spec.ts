// The typed result of parsing the inputs, and the defaults of the inputs that have one (generated
// from action.yml into src/inputs/defaults.ts, re-exported here).
import type { MarketType } from './market.ts';

export type DesiredState = 'running' | 'stopped' | 'terminated';
export const DESIRED_STATES: readonly DesiredState[] = ['running', 'stopped', 'terminated'];
export type UbuntuVersion = '24.04' | '22.04';

export interface HubSpec {
  hubName: string;
  state: DesiredState;
  adminUser?: string;
  /** The first choice of instanceTypes. */
  instanceType: string;
  /** Ordered choices: the next is tried when EC2 has no capacity for one. */
  instanceTypes: string[];
  region: string;
  iamInstanceProfile?: string;
  /** The first choice of subnetIds. */
  subnetId?: string;
  subnetIds: string[];
  /** The market a new hub is launched in (an existing hub keeps its own). */
  marketType: MarketType;
  /** Spot only: launch On-Demand when no (type, subnet) has Spot capacity. */
  spotFallback: boolean;
  securityGroupIds: string[];
  allowedCidrs: string[];
  rootVolumeSizeGiB: number;
  ubuntuVersion: UbuntuVersion;
  imageId?: string;
  /** Launch from (and bake) an image of the hub's install-time inputs (image-key.ts). */
  imageCache: boolean;
  /** The newest cached images kept per family; older ones are pruned with their snapshots. */
  imageCacheKeep: number;
  /** A reaper run (bulk terminate with image-cache) deregisters images unused this long. */
  imageCacheMaxUnusedMs: number;
  tljhVersion: string;
  extraTags: Record<string, string>;
  installTimeoutMinutes: number;
  dryRun: boolean;
  /** hub-name is a pattern (`*`, `pr-*`): act on every matching hub (stopped or terminated only). */
  bulk: boolean;
  /** Bulk terminate/stop only hubs whose tljh:expires-at has passed. */
  expiredOnly: boolean;
  /** Time to live: the hub is tagged to expire this long after the run. */
  ttlMs?: number;
  githubToken: string;
  prComment: 'auto' | 'true' | 'false';
  /** Given by the user (a secret); when absent and no authenticator is configured, one is generated. */
  adminPassword?: string;
  generatePassword: boolean;
  /** tljh-config settings, applied one at a time with `tljh-config set` (argument lists, no shell). */
  tljhSettings: [string, string][];
  /** pip requirements, one per plugin, all passed after one `--plugin` flag. */
  plugins: string[];
  userRequirementsUrl?: string;
  /**
   * HTTPS by Let's Encrypt, and how long a run waits for the certificate (0: not at all);
   * `staging`: Let's Encrypt's staging CA (untrusted certificates, for test runs).
   */
  https?: { domain: string; email: string; waitMinutes: number; staging?: boolean };
  /** An Elastic IP of the hub's own: allocated and tagged, kept across stop and start. */
  elasticIp: boolean;
  /** A Route 53 A record the action keeps pointing at the hub (marked as its own by a TXT). */
  dns?: { zoneId: string; name: string };
}

export type InputGetter = (name: string) => string;

/** The inputs' defaults, generated from action.yml (src/inputs/defaults.ts). */
export { DEFAULTS } from './defaults.ts';
