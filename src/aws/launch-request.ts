// The RunInstances request of a hub (pure, so its hardening is unit-tested field by field).
import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { Market } from '../model.ts';
import { TAG_MARKET, hubTags } from '../tags.ts';

export interface LaunchRequest {
  hubName: string;
  imageId: string;
  rootDeviceName: string;
  instanceType: string;
  rootVolumeSizeGiB: number;
  iamInstanceProfile?: string;
  subnetId?: string;
  securityGroupIds: string[];
  extraTags: Record<string, string>;
  /** Makes RunInstances idempotent: a retried call returns the same instance. */
  clientToken: string;
  /** On-Demand unless 'spot'. */
  market?: Market;
}

/**
 * A Spot hub: a persistent request whose instance EC2 stops, not terminates, on interruption
 * (its disk survives). EC2 accepts 'stop' only with a persistent request, and RunInstances a
 * persistent request only with 'stop' or 'hibernate' (EC2 API reference, SpotMarketOptions).
 * No maximum price: the On-Demand price caps it.
 */
const SPOT = {
  MarketType: 'spot',
  SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' },
} as const;

/** The RunInstances request (pure, so its hardening is unit-tested field by field). */
export function runInstancesInput(req: LaunchRequest): RunInstancesCommandInput {
  const spot = req.market === 'spot';
  const tags = hubTags(req.hubName, {
    ...req.extraTags,
    ...(spot ? { [TAG_MARKET]: 'spot' } : {}),
  });
  const profile = req.iamInstanceProfile;
  return {
    ImageId: req.imageId,
    InstanceType: req.instanceType as never,
    MinCount: 1,
    MaxCount: 1,
    ClientToken: req.clientToken,
    IamInstanceProfile: profile
      ? profile.startsWith('arn:')
        ? { Arn: profile }
        : { Name: profile }
      : undefined,
    MetadataOptions: {
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: 1,
    },
    BlockDeviceMappings: [
      {
        DeviceName: req.rootDeviceName,
        Ebs: {
          VolumeSize: req.rootVolumeSizeGiB,
          VolumeType: 'gp3',
          Encrypted: true,
          DeleteOnTermination: true,
        },
      },
    ],
    // With a subnet, ask for a public address explicitly: custom subnets often do not assign one.
    ...(req.subnetId
      ? {
          NetworkInterfaces: [
            {
              DeviceIndex: 0,
              SubnetId: req.subnetId,
              AssociatePublicIpAddress: true,
              // None given: the VPC's default group (EC2 takes it when the list is left out).
              ...(req.securityGroupIds.length ? { Groups: req.securityGroupIds } : {}),
            },
          ],
        }
      : req.securityGroupIds.length
        ? { SecurityGroupIds: req.securityGroupIds }
        : {}),
    ...(spot ? { InstanceMarketOptions: SPOT } : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
      // The request carries the hub's tags too: the caller policy cancels only tagged ones.
      ...(spot ? [{ ResourceType: 'spot-instances-request' as const, Tags: tags }] : []),
    ],
  };
}
