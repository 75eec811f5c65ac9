// Read-only checks of the inputs only AWS can judge (instance types, subnets, security groups,
// the image), run before anything is changed; they resolve where a launch goes.
import * as ec2 from './aws/ec2.ts';
import { checkSecurityGroups } from './aws/security-groups.ts';
import * as ssm from './aws/ssm.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError } from './errors.ts';
import { checkRecord } from './hub-dns.ts';
import type { HubSpec } from './inputs.ts';
import type { ObservedInstance } from './model.ts';
import type { Plan } from './plan.ts';

/** Where a launch goes: resolved (read-only) before anything is changed. */
export type LaunchTarget = ec2.ImageInfo & { imageId: string; vpcId: string };

/** The target of a plan without a launch. */
export const NO_LAUNCH: LaunchTarget = {
  imageId: '',
  rootDeviceName: '',
  architecture: 'amd64',
  vpcId: '',
};

/** Read-only checks of inputs that only AWS can judge; they run before anything is changed. */
export async function checkRemoteInputs(
  ctx: ReconcileContext,
  spec: HubSpec,
  plan: Plan,
  instance?: ObservedInstance,
): Promise<LaunchTarget> {
  const arch = await ec2.instanceTypeArchitecture(ctx.ec2, spec.instanceType);
  // A new type for an existing hub: its root volume holds an OS of one architecture.
  const changing = instance?.instanceType && !spec.instanceTypes.includes(instance.instanceType);
  if (changing && instance.architecture && instance.architecture !== arch) {
    throw new ActionError(
      `Input 'instance-type': ${spec.instanceType} is ${arch}, but hub '${spec.hubName}' runs on ${instance.instanceType} (${instance.architecture}); nothing was changed.`,
      `Accepted: an instance type of the hub's architecture (${instance.architecture}). To move the hub to ${arch}, terminate it and create it again.`,
    );
  }
  // The record's zone and owner, before anything changes (a name not the hub's fails here).
  if (spec.dns && plan.steps.some((s) => s.kind === 'point-record'))
    await checkRecord(ctx, spec.hubName, spec.dns, Boolean(spec.https));
  if (!plan.steps.some((s) => s.kind === 'launch')) return NO_LAUNCH;
  for (const other of spec.instanceTypes.slice(1)) {
    if ((await ec2.instanceTypeArchitecture(ctx.ec2, other)) !== arch) {
      throw new ActionError(
        `Input 'instance-type': ${other} is not ${arch} like ${spec.instanceType}.`,
        'Accepted: fallback instance types of one architecture (one image serves them all).',
      );
    }
  }
  const vpcId = await ec2.resolveVpc(ctx.ec2, spec.subnetId);
  for (const other of spec.subnetIds.slice(1)) {
    if ((await ec2.resolveVpc(ctx.ec2, other)) !== vpcId) {
      throw new ActionError(
        `Input 'subnet-id': ${other} is not in ${vpcId} like ${spec.subnetId}.`,
        "Accepted: fallback subnets of one VPC (the hub's security group belongs to one VPC).",
      );
    }
  }
  await checkSecurityGroups(ctx.ec2, spec.securityGroupIds);
  const imageId = spec.imageId ?? (await ssm.resolveUbuntuAmi(ctx.ssm, spec.ubuntuVersion, arch));
  const image = await ec2.describeImage(ctx.ec2, imageId);
  if (image.architecture !== arch) {
    throw new ActionError(
      `Image ${imageId} is ${image.architecture} but instance type ${spec.instanceType} is ${arch}.`,
      "Choose an image-id and instance-type of the same architecture (or leave image-id empty to use Canonical's).",
    );
  }
  return { imageId, vpcId, ...image };
}
