// What the action says to EC2 about the images it bakes: list them, create one from a builder
// instance (tagged at creation, image and snapshots alike), and deregister one with its
// snapshots. Which image to use or prune is image-key.ts's; when to bake, image-cache.ts's.
import {
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  type EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../errors.ts';
import type { CachedImage } from '../model.ts';
import {
  MANAGED_BY,
  TAG_IMAGE_FAMILY,
  TAG_IMAGE_KEY,
  TAG_LAST_USED,
  TAG_MANAGED_BY,
  tagValue,
} from '../tags.ts';

function toCached(image: Image): CachedImage {
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName);
  return {
    imageId: image.ImageId!,
    name: image.Name,
    state: image.State ?? 'pending',
    creationDate: image.CreationDate ?? '',
    key: tagValue(image.Tags, TAG_IMAGE_KEY),
    family: tagValue(image.Tags, TAG_IMAGE_FAMILY),
    lastUsed: tagValue(image.Tags, TAG_LAST_USED),
    rootSizeGiB: root?.Ebs?.VolumeSize,
    snapshotIds: (image.BlockDeviceMappings ?? []).flatMap((m) =>
      m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
    ),
  };
}

/** The account's own images the action baked, of one family (or every family). */
export async function findCachedImages(ec2: EC2Client, family?: string): Promise<CachedImage[]> {
  const out = await ec2.send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [
        { Name: `tag:${TAG_MANAGED_BY}`, Values: [MANAGED_BY] },
        { Name: family ? `tag:${TAG_IMAGE_FAMILY}` : 'tag-key', Values: [family ?? TAG_IMAGE_KEY] },
      ],
    }),
  );
  return (out.Images ?? []).filter((i) => i.ImageId).map(toCached);
}

/**
 * Images a stopped builder. The image and its snapshots carry `tags` from the start (EC2
 * tags them in the same call, so nothing exists untagged). A second call for the same name (a
 * concurrent run, a retry) finds the first one's image: AMI names are unique per region.
 */
export async function createImage(
  ec2: EC2Client,
  instanceId: string,
  name: string,
  tags: Record<string, string>,
): Promise<string> {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  try {
    const out = await ec2.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: name,
        Description: 'TLJH image baked by tljh-ec2-action (generalised: no hub data or secrets)',
        TagSpecifications: [
          { ResourceType: 'image', Tags },
          { ResourceType: 'snapshot', Tags },
        ],
      }),
    );
    if (out.ImageId) return out.ImageId;
  } catch (err) {
    if (!isAwsError(err, 'InvalidAMIName.Duplicate')) throw err;
  }
  const found = await ec2.send(
    new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
  );
  const id = found.Images?.[0]?.ImageId;
  if (!id) throw new Error(`CreateImage ${name}: no image id, and none of that name found`);
  return id;
}

/** The image's current state (pending, available, failed, ...); 'gone' once deregistered. */
export async function imageState(ec2: EC2Client, imageId: string): Promise<string> {
  try {
    const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
    return out.Images?.[0]?.State ?? 'gone';
  } catch (err) {
    if (isAwsError(err, 'InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable')) return 'gone';
    throw err;
  }
}

/**
 * Deregisters the image, then deletes its snapshots (EC2 refuses to delete a snapshot an image
 * still uses, so never the other way round). Snapshots already gone are not an error.
 */
export async function deleteImage(ec2: EC2Client, image: CachedImage): Promise<void> {
  try {
    await ec2.send(new DeregisterImageCommand({ ImageId: image.imageId }));
  } catch (err) {
    if (!isAwsError(err, 'InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable')) throw err;
  }
  for (const snapshotId of image.snapshotIds) {
    try {
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    } catch (err) {
      if (!isAwsError(err, 'InvalidSnapshot.NotFound')) throw err;
    }
  }
}
