// The RunInstances request of a hub (pure, so its hardening is unit-tested field by field).
import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { hubTags } from '../tags.ts';

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
}

/** The RunInstances request (pure, so its hardening is unit-tested field by field). */
export function runInstancesInput(req: LaunchRequest): RunInstancesCommandInput {
  const tags = hubTags(req.hubName, req.extraTags);
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
              Groups: req.securityGroupIds,
            },
          ],
        }
      : { SecurityGroupIds: req.securityGroupIds }),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
}
