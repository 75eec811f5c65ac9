// Puts many hubs into the emulator directly (not through the action), as if launched earlier.
import { EC2Client, RunInstancesCommand, DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { frontUrl } from '../e2e/harness/emulator.ts';

export async function seedHubs(
  count: number,
  opts: { prefix?: string; expiresAt?: (i: number) => string | undefined } = {},
): Promise<string[]> {
  const ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: frontUrl(),
    credentials: { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' },
  });
  const image = (
    await ec2.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'architecture', Values: ['x86_64'] }] }),
    )
  ).Images![0]!.ImageId!;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${opts.prefix ?? 'fleet'}-${String(i).padStart(3, '0')}`;
    const expires = opts.expiresAt?.(i);
    const tags = [
      { Key: 'tljh:hub', Value: name },
      { Key: 'tljh:managed-by', Value: 'tljh-ec2-action' },
      ...(expires ? [{ Key: 'tljh:expires-at', Value: expires }] : []),
    ];
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: image,
        InstanceType: 't3.small',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
      }),
    );
    ids.push(out.Instances![0]!.InstanceId!);
  }
  ec2.destroy();
  return ids;
}
