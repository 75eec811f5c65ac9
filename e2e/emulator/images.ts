// About 320 lines: EC2's rules for images baked from an instance, kept together.
// moto 5.2.1 keeps images, but not as EC2 makes them from an instance (EC2 API reference:
// CreateImage, DeregisterImage, DeleteSnapshot, RunInstances; EC2 User Guide: "Create an
// Amazon EBS-backed AMI", "Block device mappings"; EBS User Guide: "How Amazon EBS encryption
// works"). The front follows EC2 where moto does not:
// - CreateImage images an instance "that is either running or stopped"; moto images a
//   terminated one too (IncorrectInstanceState here; the message is the emulator's).
// - AMI names are unique per Region and account: a second CreateImage of a name answers
//   InvalidAMIName.Duplicate ("AMI name N is already in use by AMI ami-..."); moto makes a
//   second image. The check and the creation are one step, as two runs may race for a name.
// - TagSpecifications of ResourceType `snapshot` tag the snapshots of the instance's volumes;
//   moto fails the whole call (NotImplementedError, HTTP 500). The front tags the snapshot
//   itself once moto made the image.
// - The image's snapshot is one of the instance's root volume: its size, volume type,
//   DeleteOnTermination and encryption (snapshots of encrypted volumes are encrypted), the
//   root device name the instance's; moto's is a fresh unencrypted 15 GiB `standard` volume
//   on /dev/sda1, rootDeviceType `standard` (EC2: `ebs`). DescribeImages and
//   DescribeSnapshots answers are corrected for the images the front made.
// - By default (NoReboot false) EC2 shuts a running instance down and reboots it to image it:
//   its SSM agent registers again.
// - A launch from the image gets its block device mapping: a root volume from the snapshot, of
//   the snapshot's size unless asked larger (smaller: InvalidBlockDeviceMapping "Volume of
//   size NGB is smaller than snapshot 'snap-...', expect size >= MGB"), encrypted when the
//   snapshot is ("volumes created from encrypted snapshots are automatically encrypted");
//   moto gives any launch without a mapping an unencrypted 8 GiB gp2 volume.
// - An image can be shown `pending` for its first scenario.imagePendingAnswers DescribeImages
//   answers (EC2 keeps a new image pending while it snapshots); a launch from a pending image
//   is refused (InvalidAMIID.Unavailable, "AMI ami-... is pending, and cannot be run.").
// What moto already does as EC2: DeregisterImage leaves the snapshots; DeleteSnapshot of a
// snapshot a registered image uses answers InvalidSnapshot.InUse; Owners=self and tag filters.
// Beyond EC2's API, the front copies the instance's disk into a store at CreateImage and gives
// it to instances launched from the image (image-disk.ts); every launch's first boot writes the
// instance's identity (first-boot.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import type { Agents } from './agents.ts';
import { sendEc2Error } from './faults.ts';
import { bootLaunched } from './first-boot.ts';
import { ImageStore, leftovers, type Kind } from './image-disk.ts';
import {
  field,
  imageItem,
  mapItems,
  snapshotItem,
  takeTagSpecification,
  withRootMapping,
} from './images-xml.ts';
import type { InstanceDirs } from './instance-dirs.ts';
import type { Moto } from './moto.ts';
import { OneAtATime, type Ec2Refusal } from './state-rules.ts';
import type { Scenario } from './state.ts';

export interface ImageRecord {
  imageId: string;
  name: string;
  region: string;
  instanceId: string;
  kind: Kind;
  snapshotIds: string[];
  encrypted: boolean;
  /** What the disk copied holds that no image should (image-disk.ts leftovers). */
  leftovers: string[];
  rootDeviceName: string;
  volumeId: string;
  volumeSize: number;
  volumeType: string;
  deleteOnTermination: boolean;
  /** DescribeImages answers still to show it pending. */
  pendingAnswers: number;
}

/** The image's view for the tests (GET /__emu/images). */
export type ImageSummary = Pick<
  ImageRecord,
  'imageId' | 'name' | 'instanceId' | 'kind' | 'leftovers' | 'snapshotIds' | 'encrypted'
>;

export interface ImagesContext {
  moto: Moto;
  dirs: InstanceDirs;
  agents: Agents;
  scenario: () => Scenario;
  log: (line: string) => void;
}

export class Images {
  private readonly records = new Map<string, ImageRecord>();
  private readonly store: ImageStore;
  private readonly clients = new Map<string, EC2Client>();
  private readonly creating = new OneAtATime();
  private readonly booting = new Map<string, Promise<void>>();
  private readonly ctx: ImagesContext;

  constructor(ctx: ImagesContext) {
    this.ctx = ctx;
    this.store = new ImageStore(join(ctx.dirs.root, 'images'));
  }

  private ec2(region: string): EC2Client {
    let client = this.clients.get(region);
    if (!client) {
      client = new EC2Client({
        region,
        endpoint: this.ctx.moto.url.origin,
        credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
        maxAttempts: 1,
      });
      this.clients.set(region, client);
    }
    return client;
  }

  /** Forgets every image (moto forgot them; the instance directories' reset took the store). */
  reset(): void {
    this.records.clear();
    this.booting.clear();
  }

  list(): ImageSummary[] {
    return [...this.records.values()].map((r) => ({
      imageId: r.imageId,
      name: r.name,
      instanceId: r.instanceId,
      kind: r.kind,
      leftovers: r.leftovers,
      snapshotIds: r.snapshotIds,
      encrypted: r.encrypted,
    }));
  }

  /** Answers CreateImage itself (with moto's help); true when the call has been answered. */
  async intercept(
    operation: string,
    form: Record<string, string>,
    region: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean> {
    if (operation !== 'CreateImage') return false;
    const instanceId = form.InstanceId ?? '';
    const client = this.ec2(region);
    let instance;
    try {
      const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      instance = out.Reservations?.[0]?.Instances?.[0];
    } catch {
      instance = undefined; // moto answers for an unknown or malformed id
    }
    const state = instance?.State?.Name;
    if (instance && state !== 'running' && state !== 'stopped') {
      sendEc2Error(
        res,
        400,
        'IncorrectInstanceState',
        `The instance '${instanceId}' is not in a state from which it can be imaged (${state}).`,
      );
      return true;
    }
    const { tags: snapshotTags, rest } = takeTagSpecification(form, 'snapshot');
    // One image at a time: its name is free until the image is made, and nobody sees it
    // before it is described as EC2 would (a run that lost the race for the name looks it up).
    const made = await this.creating.run(async () => {
      if (form.Name) {
        const same = await client.send(
          new DescribeImagesCommand({
            Owners: ['self'],
            Filters: [{ Name: 'name', Values: [form.Name] }],
          }),
        );
        const taken = same.Images?.find((i) => i.ImageId)?.ImageId;
        if (taken) return { taken };
      }
      const body = new URLSearchParams(rest).toString();
      const answer = await this.ctx.moto.forward('POST', req.url ?? '/', req.headers, body);
      const imageId = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(answer.body.toString())?.[1];
      if (answer.status === 200 && imageId && instance) {
        await this.record(imageId, instance, form, region, snapshotTags);
        if (state === 'running' && form.NoReboot !== 'true') this.ctx.agents.forget(instanceId);
      }
      return { answer };
    });
    if ('taken' in made) {
      sendEc2Error(
        res,
        400,
        'InvalidAMIName.Duplicate',
        `AMI name ${form.Name} is already in use by AMI ${made.taken}`,
      );
      return true;
    }
    res.writeHead(made.answer.status, made.answer.headers);
    res.end(made.answer.body);
    return true;
  }

  /** Tags moto's new image's snapshot, copies the instance's disk, and records the image. */
  private async record(
    imageId: string,
    instance: Instance,
    form: Record<string, string>,
    region: string,
    snapshotTags: { Key: string; Value: string }[],
  ): Promise<void> {
    const client = this.ec2(region);
    const instanceId = instance.InstanceId!;
    const image = (await client.send(new DescribeImagesCommand({ ImageIds: [imageId] })))
      .Images?.[0];
    const snapshotIds = (image?.BlockDeviceMappings ?? []).flatMap((m) =>
      m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
    );
    if (snapshotTags.length && snapshotIds.length) {
      await client.send(new CreateTagsCommand({ Resources: snapshotIds, Tags: snapshotTags }));
    }
    const rootDeviceName = instance.RootDeviceName ?? '/dev/sda1';
    const mapping = instance.BlockDeviceMappings?.find((m) => m.DeviceName === rootDeviceName);
    const volumeId = mapping?.Ebs?.VolumeId ?? '';
    const volume = volumeId
      ? (await client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes?.[0]
      : undefined;
    const kind = this.kindOf(instanceId);
    const disk = await this.store.save(imageId, kind, this.ctx.dirs.dir(instanceId));
    const encrypted = volume?.Encrypted === true;
    const found = leftovers(disk);
    if (!encrypted) found.push(`snapshot not encrypted (${snapshotIds.join(', ')})`);
    this.records.set(imageId, {
      imageId,
      name: form.Name ?? '',
      region,
      instanceId,
      kind,
      snapshotIds,
      encrypted,
      leftovers: found,
      rootDeviceName,
      volumeId,
      volumeSize: volume?.Size ?? 8,
      volumeType: volume?.VolumeType ?? 'gp2',
      deleteOnTermination: mapping?.Ebs?.DeleteOnTermination ?? true,
      pendingAnswers: this.ctx.scenario().imagePendingAnswers,
    });
    this.ctx.log(`imaged ${instanceId} (${kind}) as ${imageId}: ${found.length} leftover(s)`);
  }

  /** The instance's kind: decided at its launch, else what its first command would make it. */
  private kindOf(instanceId: string): Kind {
    const real = this.ctx.dirs.chooseKind(instanceId, this.ctx.scenario().tljh === 'real');
    return real ? 'real' : 'light';
  }

  /**
   * A RunInstances from an image the front made gets the image's block device mapping (see
   * above), or EC2's refusal; other launches are left as they are.
   */
  launchForm(form: Record<string, string>): Record<string, string> | Ec2Refusal {
    const image = this.records.get(form.ImageId ?? '');
    if (!image) return form;
    if (image.pendingAnswers > 0) {
      return {
        code: 'InvalidAMIID.Unavailable',
        message: `AMI ${image.imageId} is pending, and cannot be run.`,
      };
    }
    return withRootMapping(form, image);
  }

  /** What a successful answer means for the images, and the answer as EC2 would give it. */
  async answered(
    operation: string,
    form: Record<string, string>,
    region: string,
    xml: string,
  ): Promise<string> {
    switch (operation) {
      case 'RunInstances':
        for (const m of xml.matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)) {
          // A repeated launch (same ClientToken) waits for the first one's boot.
          const image = this.records.get(form.ImageId ?? '');
          const boot =
            this.booting.get(m[1]!) ??
            bootLaunched(m[1]!, region, {
              dirs: this.ctx.dirs,
              kind: image?.kind ?? (this.ctx.scenario().tljh === 'real' ? 'real' : 'light'),
              image: image && { id: image.imageId, store: this.store },
              log: this.ctx.log,
            });
          this.booting.set(m[1]!, boot);
          await boot;
        }
        return xml;
      case 'DescribeImages':
        return mapItems(xml, 'imagesSet', (item) => {
          const r = this.records.get(field(item, 'imageId') ?? '');
          if (!r) return item;
          const pending = r.pendingAnswers > 0;
          if (pending) r.pendingAnswers--;
          return imageItem(item, { ...r, snapshotId: r.snapshotIds[0] ?? '', pending });
        });
      case 'DescribeSnapshots':
        return mapItems(xml, 'snapshotSet', (item) => {
          const id = field(item, 'snapshotId') ?? '';
          const r = [...this.records.values()].find((i) => i.snapshotIds.includes(id));
          return r ? snapshotItem(item, r) : item;
        });
      case 'DeregisterImage':
        if (form.ImageId && this.records.delete(form.ImageId)) this.store.remove(form.ImageId);
        return xml;
      default:
        return xml;
    }
  }
}
