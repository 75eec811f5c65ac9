// The hub's root EBS volume: its size, growing it (ModifyVolume), and how far EBS got.
import {
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  ModifyVolumeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';

export async function volumeSizeGiB(ec2: EC2Client, volumeId: string): Promise<number | undefined> {
  const out = await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
  return out.Volumes?.[0]?.Size;
}

/** Asks EBS for a larger volume (the caller checked no other modification is under way). */
export async function growVolume(ec2: EC2Client, volumeId: string, sizeGiB: number): Promise<void> {
  await ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: sizeGiB }));
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
