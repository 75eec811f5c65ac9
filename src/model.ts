// The shared vocabulary of the action: what an instance and a hub look like once observed.
// Types only (and their constant lists); every layer may import it, and it imports nothing.

export type InstanceState =
  'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export const INSTANCE_STATES: readonly InstanceState[] = [
  'pending',
  'running',
  'stopping',
  'stopped',
  'shutting-down',
  'terminated',
];

/** The states EC2 still lists an instance in as alive (it can still be started or stopped). */
export const LIVE_STATES: readonly InstanceState[] = INSTANCE_STATES.filter(
  (s) => s !== 'terminated',
);

/**
 * What a wait for an instance waits for. 'startable': stopped, or already started again by
 * someone else (a start then changes nothing): what a start must wait for after `stopping`.
 */
export type AwaitedState = 'running' | 'stopped' | 'terminated' | 'startable';

export type Architecture = 'amd64' | 'arm64';
export type UbuntuVersion = '24.04' | '22.04';

export interface ObservedInstance {
  instanceId: string;
  state: InstanceState;
  /** The TLJH version the action last verified on this instance (a tag), if any. */
  installedVersion?: string;
  /** The install lease tag (see tags.ts), while a run installs the hub. */
  installLease?: string;
  publicIp?: string;
  launchTime?: Date;
  instanceType?: string;
  architecture?: Architecture;
  /** The root EBS volume (the one the action sizes). */
  rootVolumeId?: string;
  securityGroupIds?: string[];
  /** Every tag of the instance, by key. */
  tags?: Record<string, string>;
  /** 'spot' for a Spot Instance (EC2's InstanceLifecycle), else 'on-demand'. */
  market?: Market;
  /** The Spot request of a Spot Instance (a persistent one relaunches it unless cancelled). */
  spotRequestId?: string;
  /** Why it last changed state (EC2's StateReason code), e.g. Server.SpotInstanceShutdown. */
  stateReason?: string;
}

export type Market = 'on-demand' | 'spot';

/** One live instance of a hub, as a bulk listing finds it. */
export interface FleetHub {
  hubName: string;
  instanceId: string;
  state: InstanceState;
  expiresAt?: string;
  /** A Spot Instance's request: cancelled before the instance is terminated. */
  spotRequestId?: string;
  /** Its DNS record (tljh:dns-record, `<zone id>/<name>`): deleted with the hub. */
  dnsRecord?: string;
  /**
   * Its A record points at an address a stop gives back (tljh:dns-address set, and no
   * tljh:elastic-ip): a stop removes it.
   */
  withdrawRecord?: boolean;
}

/** An image the cache baked (image-key.ts), as DescribeImages lists it. */
export interface CachedImage {
  name?: string;
  /** GiB of the root snapshot: a hub's root volume cannot be smaller. */
  rootSizeGiB?: number;
  imageId: string;
  state: string;
  creationDate: string;
  key?: string;
  family?: string;
  /** When a hub last launched from it (tljh:last-used), if ever. */
  lastUsed?: string;
  snapshotIds: string[];
}
