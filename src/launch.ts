// Launching a hub: its security group, capacity fallbacks over instance types and subnets (and,
// for a Spot hub allowed to, over to On-Demand), and settling the race when several runs launch
// the same hub at once (the oldest wins).
import * as ec2 from './aws/ec2.ts';
import type { LaunchRequest } from './aws/launch-request.ts';
import { ensureSecurityGroup } from './aws/security-groups.ts';
import { matchWebRules } from './hub-changes.ts';
import { ActionError, isAwsError } from './errors.ts';
import type { HubSpec } from './inputs.ts';
import type { ReconcileContext } from './context.ts';
import type { Market, ObservedInstance } from './model.ts';
import type { LaunchTarget } from './remote-checks.ts';
import { launchClientToken } from './run-identity.ts';
import { cancelSpotRequestsOf } from './spot.ts';

/** Errors that mean "not this type here, now": try the next choice. */
const NEXT_CHOICE = ['InsufficientInstanceCapacity', 'Unsupported'];
/**
 * What a Spot launch also answers when the Spot market has no room for it (EC2 API reference,
 * error codes; AWS ParallelCluster fails over on the same codes): try the next choice.
 */
export const SPOT_CAPACITY = [
  'InsufficientInstanceCapacity',
  'SpotMaxPriceTooLow',
  'MaxSpotInstanceCountExceeded',
  'UnfulfillableCapacity',
];

export interface LaunchChoice {
  instanceType: string;
  subnetId?: string;
  /** On-Demand unless 'spot'. */
  market?: Market;
}

/**
 * Every (type, subnet) pair in order of preference: each type in each subnet, then the next
 * type. A Spot hub tries them all as Spot first; with spot-fallback, then all as On-Demand.
 */
export function launchChoices(spec: HubSpec): LaunchChoice[] {
  const subnets = spec.subnetIds.length ? spec.subnetIds : [undefined];
  const pairs = spec.instanceTypes.flatMap((instanceType) =>
    subnets.map((subnetId) => ({ instanceType, subnetId })),
  );
  if (spec.marketType !== 'spot') return pairs;
  const spot = pairs.map((p) => ({ ...p, market: 'spot' as const }));
  return spec.spotFallback ? [...spot, ...pairs] : spot;
}

export function describeChoice(c: LaunchChoice): string {
  const where = c.subnetId ? `${c.instanceType} in ${c.subnetId}` : c.instanceType;
  return c.market === 'spot' ? `${where} (Spot)` : where;
}

/**
 * Launches the first choice EC2 has capacity for. Each choice has its own ClientToken (the
 * base token plus its index): a retried call of one choice returns its own instance, and
 * EC2 would refuse one token for different parameters. The Spot and the On-Demand attempt of
 * one (type, subnet) are two choices, so two tokens.
 */
export async function launchFirstAvailable(
  ctx: ReconcileContext,
  request: Omit<LaunchRequest, 'instanceType' | 'subnetId' | 'market'>,
  choices: LaunchChoice[],
): Promise<{ instanceId: string; choice: LaunchChoice }> {
  const failures: string[] = [];
  for (const [index, choice] of choices.entries()) {
    const next = choices[index + 1];
    if (choice.market !== 'spot' && index > 0 && choices[index - 1]!.market === 'spot') {
      ctx.log.warning(
        'No Spot capacity for any instance type and subnet: launching On-Demand instead (spot-fallback: true). The hub stays On-Demand.',
      );
    }
    try {
      const instanceId = await ec2.launchInstance(ctx.ec2, {
        ...request,
        ...choice,
        clientToken:
          index === 0 ? request.clientToken : `${request.clientToken.slice(0, 60)}-${index}`,
      });
      return { instanceId, choice };
    } catch (err) {
      const moveOn = choice.market === 'spot' ? SPOT_CAPACITY.concat(NEXT_CHOICE) : NEXT_CHOICE;
      if (!isAwsError(err, ...moveOn)) throw err;
      const why = `${(err as Error).name}: ${(err as Error).message}`;
      failures.push(`${describeChoice(choice)}: ${why}`);
      ctx.log.warning(
        `No launch of ${describeChoice(choice)} (${why}).${next ? ` Trying ${describeChoice(next)}.` : ''}`,
      );
    }
  }
  const spotOnly = choices.every((c) => c.market === 'spot');
  throw new ActionError(
    spotOnly
      ? `No instance type and subnet had Spot capacity (market-type: spot):\n${failures.map((f) => `  - ${f}`).join('\n')}`
      : `No instance type and subnet had capacity:\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    spotOnly
      ? "Set 'spot-fallback: true' to launch On-Demand when Spot has no capacity, or 'market-type: on-demand'; add fallbacks to 'instance-type' or 'subnet-id' (other Availability Zones); or run again later."
      : "Add fallbacks to 'instance-type' (e.g. t3.small, t3a.small, t2.small) or 'subnet-id' (subnets in other Availability Zones), or run again later.",
  );
}

/** The hub's own group, allowing exactly the allowed-cidrs (an existing one is matched). */
async function ownSecurityGroup(
  ctx: ReconcileContext,
  spec: HubSpec,
  vpcId: string,
): Promise<string> {
  const { groupId, existed } = await ensureSecurityGroup(
    ctx.ec2,
    spec.hubName,
    vpcId,
    spec.allowedCidrs,
  );
  if (existed) await matchWebRules(ctx, groupId, spec.allowedCidrs);
  return groupId;
}

/**
 * Launches a hub in its own security group (created if needed) or the user's, at the first
 * (type, subnet) with capacity. `tags`: extra tags on top of the spec's (the expiry).
 */
export async function launchHub(
  ctx: ReconcileContext,
  spec: HubSpec,
  target: LaunchTarget,
  tags: Record<string, string>,
): Promise<{ instanceId: string; choice: LaunchChoice; groups: string[] }> {
  const groups = spec.securityGroupIds.length
    ? spec.securityGroupIds
    : [await ownSecurityGroup(ctx, spec, target.vpcId)];
  const { instanceId, choice } = await launchFirstAvailable(
    ctx,
    {
      hubName: spec.hubName,
      imageId: target.imageId,
      rootDeviceName: target.rootDeviceName,
      rootVolumeSizeGiB: spec.rootVolumeSizeGiB,
      iamInstanceProfile: spec.iamInstanceProfile,
      securityGroupIds: groups,
      extraTags: { ...spec.extraTags, ...tags },
      clientToken: launchClientToken(spec.hubName, spec.region, ctx.runKey),
    },
    launchChoices(spec),
  );
  return { instanceId, choice, groups };
}

/**
 * After a launch, the hub's live instances decide who won: the oldest (then the lowest id).
 * A run continues with the winner; if the instance it was working on is its own launch, it
 * terminates it (one it adopted belongs to another run, which does the same). However many
 * runs raced, one instance is left. Returns the instance to continue with.
 */
export async function settleLaunchRace(
  ctx: ReconcileContext,
  hubName: string,
  current: ObservedInstance,
  ownLaunchId: string,
  done: string[],
  currentGone = false,
): Promise<ObservedInstance> {
  const live = (await ec2.findHubInstances(ctx.ec2, hubName)).filter(
    (i) => i.state !== 'shutting-down',
  );
  // Not listed: just launched and not visible yet (it stands), or gone (the oldest live wins).
  if (!live.some((i) => i.instanceId === current.instanceId) && (!currentGone || !live.length)) {
    return current;
  }
  const winner = live[0]!;
  if (winner.instanceId === current.instanceId) return current;
  if (current.instanceId === ownLaunchId) {
    // A persistent Spot request would launch our instance again: cancelled first.
    const own = live.find((i) => i.instanceId === ownLaunchId);
    if (own) await cancelSpotRequestsOf(ctx, [own], true);
    await ec2.terminateInstance(ctx.ec2, ownLaunchId);
    ctx.log.warning(
      `Another run launched ${winner.instanceId} for hub '${hubName}' first; terminated ${ownLaunchId}, the newer launch (the older instance wins).`,
    );
    done.push(`terminated ${ownLaunchId} (a concurrent run's ${winner.instanceId} was older)`);
  } else {
    ctx.log.info(`${winner.instanceId} is older than ${current.instanceId}: continuing with it.`);
  }
  return winner;
}
