// What the action says to EC2 about one hub's instances: find, launch, start, terminate, tag,
// read states and the console. Security groups: security-groups.ts; many hubs: ec2-fleet.ts.
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DeleteTagsCommand,
  GetConsoleOutputCommand,
  ModifyInstanceAttributeCommand,
  DescribeInstanceTypesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstances,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { ActionError, isAwsError } from '../errors.ts';
import {
  LIVE_STATES,
  type Architecture,
  type InstanceState,
  type ObservedInstance,
} from '../model.ts';
import {
  TAG_HUB,
  TAG_INSTALL_LEASE,
  TAG_INSTALLED_VERSION,
  hubFilters,
  tagValue,
} from '../tags.ts';
import { runInstancesInput, type LaunchRequest } from './launch-request.ts';

// The request is built in launch-request.ts; re-exported for the tests of its hardening.

function toObserved(instance: Instance): ObservedInstance {
  const state = instance.State?.Name as InstanceState;
  const root = instance.BlockDeviceMappings?.find((m) => m.DeviceName === instance.RootDeviceName);
  return {
    instanceId: instance.InstanceId!,
    state,
    installedVersion: tagValue(instance.Tags, TAG_INSTALLED_VERSION),
    installLease: tagValue(instance.Tags, TAG_INSTALL_LEASE),
    publicIp: instance.PublicIpAddress,
    launchTime: instance.LaunchTime,
    instanceType: instance.InstanceType,
    architecture: instance.Architecture === 'arm64' ? 'arm64' : 'amd64',
    rootVolumeId: root?.Ebs?.VolumeId,
    securityGroupIds: (instance.SecurityGroups ?? []).flatMap((g) =>
      g.GroupId ? [g.GroupId] : [],
    ),
    tags: Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    market: instance.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
    spotRequestId: instance.SpotInstanceRequestId,
    stateReason: instance.StateReason?.Code,
  };
}

/** Live instances carrying the hub's tags, oldest first (the oldest is the hub; see findHub). */
export async function findHubInstances(
  ec2: EC2Client,
  hubName: string,
): Promise<ObservedInstance[]> {
  const found: ObservedInstance[] = [];
  const pages = paginateDescribeInstances(
    { client: ec2 },
    {
      Filters: [...hubFilters(hubName), { Name: 'instance-state-name', Values: [...LIVE_STATES] }],
    },
  );
  for await (const page of pages) {
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (tagValue(instance.Tags, TAG_HUB) === hubName) found.push(toObserved(instance));
      }
    }
  }
  return found.sort(
    (a, b) =>
      (a.launchTime?.getTime() ?? 0) - (b.launchTime?.getTime() ?? 0) ||
      a.instanceId.localeCompare(b.instanceId),
  );
}

export async function describeHubInstance(
  ec2: EC2Client,
  instanceId: string,
): Promise<ObservedInstance> {
  const pages = paginateDescribeInstances({ client: ec2 }, { InstanceIds: [instanceId] });
  for await (const page of pages) {
    const instance = page.Reservations?.[0]?.Instances?.[0];
    if (instance) return toObserved(instance);
  }
  throw new ActionError(
    `Instance ${instanceId} was not found.`,
    'Someone may have terminated it: run again to converge.',
  );
}

/** Checks the instance type exists in the region (a read-only call) and returns its architecture. */
export async function instanceTypeArchitecture(
  ec2: EC2Client,
  instanceType: string,
): Promise<Architecture> {
  try {
    const out = await ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as never] }),
    );
    const archs = out.InstanceTypes?.[0]?.ProcessorInfo?.SupportedArchitectures ?? [];
    if (archs.includes('arm64')) return 'arm64';
    if (archs.includes('x86_64')) return 'amd64';
  } catch (err) {
    if (!isAwsError(err, 'InvalidInstanceType', 'InvalidParameterValue')) throw err;
  }
  throw new ActionError(
    `Input 'instance-type': '${instanceType}' is not an instance type offered in this region.`,
    'Accepted: an EC2 instance type such as t3.small (x86_64) or t4g.small (arm64); `aws ec2 describe-instance-types` lists them.',
  );
}

export interface ImageInfo {
  rootDeviceName: string;
  architecture: Architecture;
}

export async function describeImage(ec2: EC2Client, imageId: string): Promise<ImageInfo> {
  let image;
  try {
    image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  } catch (err) {
    if (!isAwsError(err, 'InvalidAMIID.NotFound', 'InvalidAMIID.Malformed')) throw err;
  }
  if (!image) {
    throw new ActionError(
      `Image ${imageId} was not found in this region.`,
      "Check the 'image-id' input (AMIs are regional).",
    );
  }
  return {
    rootDeviceName: image.RootDeviceName ?? '/dev/sda1',
    architecture: image.Architecture === 'arm64' ? 'arm64' : 'amd64',
  };
}

/** The VPC to launch in: the subnet's, or the region's default VPC. Read-only. */
export async function resolveVpc(ec2: EC2Client, subnetId: string | undefined): Promise<string> {
  if (subnetId) {
    try {
      const subnet = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })))
        .Subnets?.[0];
      if (subnet?.VpcId) return subnet.VpcId;
    } catch (err) {
      if (!isAwsError(err, 'InvalidSubnetID.NotFound')) throw err;
    }
    throw new ActionError(
      `Input 'subnet-id': subnet ${subnetId} was not found in this region.`,
      'Give a subnet of this region.',
    );
  }
  const vpcs = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }),
  );
  const vpcId = vpcs.Vpcs?.[0]?.VpcId;
  if (!vpcId) {
    throw new ActionError(
      'This region has no default VPC.',
      "Set the 'subnet-id' input to a public subnet of your VPC.",
    );
  }
  return vpcId;
}

export async function launchInstance(ec2: EC2Client, req: LaunchRequest): Promise<string> {
  const out = await ec2.send(new RunInstancesCommand(runInstancesInput(req)));
  const id = out.Instances?.[0]?.InstanceId;
  if (!id) throw new ActionError('RunInstances returned no instance.');
  return id;
}

export async function startInstance(ec2: EC2Client, instanceId: string): Promise<void> {
  await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
}

export async function terminateInstance(ec2: EC2Client, instanceId: string): Promise<void> {
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
}

export async function tagInstance(
  ec2: EC2Client,
  instanceId: string,
  tags: Record<string, string>,
): Promise<void> {
  await tagResources(ec2, [instanceId], tags);
}

/** Sets tags on the instance and its volumes alike (one call). */
export async function tagResources(
  ec2: EC2Client,
  resources: string[],
  tags: Record<string, string>,
): Promise<void> {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  await ec2.send(new CreateTagsCommand({ Resources: resources, Tags }));
}

export async function untagResources(
  ec2: EC2Client,
  resources: string[],
  keys: string[],
): Promise<void> {
  await ec2.send(
    new DeleteTagsCommand({ Resources: resources, Tags: keys.map((Key) => ({ Key })) }),
  );
}

/** EC2 changes the type of a stopped instance only (IncorrectInstanceState otherwise). */
export async function setInstanceType(
  ec2: EC2Client,
  instanceId: string,
  instanceType: string,
): Promise<void> {
  await ec2.send(
    new ModifyInstanceAttributeCommand({
      InstanceId: instanceId,
      InstanceType: { Value: instanceType },
    }),
  );
}

/**
 * The current state of each instance, by id (one paginated call per 100 ids). An instance EC2
 * no longer lists (terminated long ago, or never existed) is 'not-found': the `instance-id`
 * filter, unlike InstanceIds, does not fail the whole call for one unknown id.
 */
export async function describeInstanceStates(
  ec2: EC2Client,
  instanceIds: string[],
): Promise<Map<string, InstanceState | 'not-found'>> {
  const states = new Map<string, InstanceState | 'not-found'>(
    instanceIds.map((id) => [id, 'not-found']),
  );
  for (let i = 0; i < instanceIds.length; i += 100) {
    const pages = paginateDescribeInstances(
      { client: ec2 },
      { Filters: [{ Name: 'instance-id', Values: instanceIds.slice(i, i + 100) }] },
    );
    for await (const page of pages) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          if (instance.InstanceId && states.has(instance.InstanceId)) {
            states.set(instance.InstanceId, instance.State?.Name as InstanceState);
          }
        }
      }
    }
  }
  return states;
}

/**
 * The last lines of the instance's serial console (boot, cloud-init, the SSM agent's start),
 * for diagnosis. Never fails the run: a missing permission or an empty console says so.
 */
export async function consoleOutputTail(
  ec2: EC2Client,
  instanceId: string,
  lines = 25,
): Promise<string[]> {
  try {
    const out = await ec2.send(
      new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }),
    );
    const text = out.Output ? Buffer.from(out.Output, 'base64').toString('utf8') : '';
    const all = text.split(/\r?\n/).filter((l) => l.trim());
    return all.length
      ? all.slice(-lines).map((l) => l.slice(0, 300))
      : ['(the console output is empty so far)'];
  } catch (err) {
    return [`(console output unavailable: ${(err as Error).name}: ${(err as Error).message})`];
  }
}
