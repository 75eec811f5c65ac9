// The hub's root EBS volume: its size, growing it (ModifyVolume), and how far EBS got.
import {
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  ModifyVolumeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../errors.ts';

export async function volumeSizeGiB(ec2: EC2Client, volumeId: string): Promise<number | undefined> {
  const out = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
  return out.Volumes?.[0]?.Size;
}

/** Asks EBS for a larger volume. Already that size (a re-run): nothing to do. */
export async function growVolume(ec2: EC2Client, volumeId: string, sizeGiB: number): Promise<void> {
  try {
    await ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: sizeGiB }));
  } catch (err) {
    // The same size again, or a modification of this size still under way (a re-run).
    if (isAwsError(err, 'IncorrectModificationState')) return;
    if (isAwsError(err, 'InvalidParameterValue') && /same|no change/i.test((err as Error).message))
      return;
    throw err;
  }
}

/**
 * How far the latest modification of the volume got: the file system may grow once it is
 * 'optimizing' (EBS: "you can extend the file system as soon as the volume enters the
 * optimizing state"); undefined when EBS lists none.
 */
export async function modificationState(
  ec2: EC2Client,
  volumeId: string,
): Promise<{ state?: string; targetSize?: number } | undefined> {
  const out = await ec2.send(new DescribeVolumesModificationsCommand({ VolumeIds: [volumeId] }));
  const latest = (out.VolumesModifications ?? [])
    .slice()
    .sort((a, b) => (a.StartTime?.getTime() ?? 0) - (b.StartTime?.getTime() ?? 0))
    .at(-1);
  return latest && { state: latest.ModificationState, targetSize: latest.TargetSize };
}
