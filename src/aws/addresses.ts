// What the action says to EC2 about Elastic IPs: the hub's own address, found by its tags (an
// interrupted run's allocation too), allocated with its tags in the same call, associated,
// released. The decisions are hub-address.ts's.
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  DescribeAddressesCommand,
  DisassociateAddressCommand,
  ReleaseAddressCommand,
  type Address,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../errors.ts';
import { MANAGED_BY, TAG_HUB, TAG_MANAGED_BY, hubTags, tagValue } from '../tags.ts';

export interface HubAddress {
  allocationId: string;
  publicIp: string;
  hubName: string;
  /** The instance it is associated with, if any. */
  instanceId?: string;
  associationId?: string;
}

function toHubAddress(a: Address): HubAddress {
  return {
    allocationId: a.AllocationId!,
    publicIp: a.PublicIp!,
    hubName: tagValue(a.Tags, TAG_HUB) ?? '',
    instanceId: a.InstanceId || undefined,
    associationId: a.AssociationId || undefined,
  };
}

/** The addresses tagged as these hubs' own (DescribeAddresses has no pagination). */
export async function findHubAddresses(ec2: EC2Client, hubNames: string[]): Promise<HubAddress[]> {
  if (!hubNames.length) return [];
  const out = await ec2.send(
    new DescribeAddressesCommand({
      Filters: [
        { Name: `tag:${TAG_HUB}`, Values: hubNames },
        { Name: `tag:${TAG_MANAGED_BY}`, Values: [MANAGED_BY] },
      ],
    }),
  );
  return (out.Addresses ?? [])
    .filter((a) => a.AllocationId && a.PublicIp)
    .map(toHubAddress)
    .sort((a, b) => a.allocationId.localeCompare(b.allocationId));
}

/** A new VPC address, tagged as the hub's in the same call (never an untagged one). */
export async function allocateHubAddress(ec2: EC2Client, hubName: string): Promise<HubAddress> {
  const out = await ec2.send(
    new AllocateAddressCommand({
      Domain: 'vpc',
      TagSpecifications: [{ ResourceType: 'elastic-ip', Tags: hubTags(hubName) }],
    }),
  );
  return { allocationId: out.AllocationId!, publicIp: out.PublicIp!, hubName };
}

export async function associateAddress(
  ec2: EC2Client,
  allocationId: string,
  instanceId: string,
): Promise<void> {
  // AllowReassociation: the address is the hub's own; the caller has settled any launch race
  // first, so it moves only from a newer duplicate of the hub to the hub itself.
  await ec2.send(
    new AssociateAddressCommand({
      AllocationId: allocationId,
      InstanceId: instanceId,
      AllowReassociation: true,
    }),
  );
}

/**
 * Disassociates (if needed) and releases; false if it was already gone, or is in use (another
 * run associated it meanwhile: InvalidIPAddress.InUse).
 */
export async function releaseAddress(ec2: EC2Client, address: HubAddress): Promise<boolean> {
  try {
    if (address.associationId) {
      await ec2
        .send(new DisassociateAddressCommand({ AssociationId: address.associationId }))
        .catch((err: unknown) => {
          // Terminating the instance disassociated it meanwhile.
          if (!isAwsError(err, 'InvalidAssociationID.NotFound')) throw err;
        });
    }
    await ec2.send(new ReleaseAddressCommand({ AllocationId: address.allocationId }));
    return true;
  } catch (err) {
    if (isAwsError(err, 'InvalidAllocationID.NotFound', 'InvalidIPAddress.InUse')) return false;
    throw err;
  }
}
