// The emulator's images (e2e/emulator/images.ts), straight through the SDK: CreateImage as EC2
// makes it from an instance (its root volume's snapshot, encrypted, tagged; a unique name),
// DescribeImages and DescribeSnapshots, DeleteSnapshot and DeregisterImage, and launches from
// the image. The front copies the instance's disk into the image and reports what it holds that
// no image should; an instance launched from the image starts with that disk and its own identity.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  type BlockDeviceMapping,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import {
  getImages,
  imageStoreDir,
  resetEmulator,
  setScenario,
  useLightInstances,
} from './harness/emulator.ts';
import { runCommand, useFrontClients } from './harness/ec2.ts';
import { TMP_DIR } from './harness/paths.ts';

useLightInstances();

const AMI_PARAMETER =
  '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';
const TAGS = [
  { Key: 'tljh:image-key', Value: 'k1' },
  { Key: 'tljh:managed', Value: 'true' },
];

const aws = useFrontClients();

beforeEach(async () => {
  await resetEmulator({ aws: true });
});

const instanceDir = (id: string) => join(TMP_DIR, 'instances', id);

async function launch(opts: { imageId?: string; mappings?: BlockDeviceMapping[] } = {}) {
  const ImageId =
    opts.imageId ??
    (await aws.ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter!.Value!;
  const out = await aws.ec2.send(
    new RunInstancesCommand({
      ImageId,
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      BlockDeviceMappings: opts.mappings,
    }),
  );
  return out.Instances![0]!;
}

/** A builder as the action launches it: an encrypted 20 GiB gp3 root volume. */
async function launchBuilder() {
  const ami = (await aws.ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter!
    .Value!;
  const image = (await aws.ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0]!;
  const Ebs = { VolumeSize: 20, VolumeType: 'gp3' as const, Encrypted: true };
  return launch({ mappings: [{ DeviceName: image.RootDeviceName, Ebs }] });
}

/** Runs a shell script on the instance through SSM; returns its standard output. */
async function runScript(instanceId: string, script: string): Promise<string> {
  const out = await runCommand(aws.ssm, instanceId, script);
  expect({ status: out.status, stderr: out.stderr }).toEqual({ status: 'Success', stderr: '' });
  return out.stdout;
}

/** A hub's data, secrets and users on a light instance (its /opt is the instance's own). */
const USE_AS_HUB = `set -e
mkdir -p /opt/tljh/state /opt/tljh/config
echo secret >/opt/tljh/state/jupyterhub_cookie_secret
echo db >/opt/tljh/state/jupyterhub.sqlite
printf 'users:\\n  admin: [naomi]\\n' >/opt/tljh/config/config.yaml
echo baked >/opt/tljh/baked.txt
useradd --create-home --shell /bin/bash jupyter-alice
`;

/**
 * The generalisation, on a light instance: its /opt is its own; what a first boot wrote is in
 * its directory ($EMU_INSTANCE_DIR/etc, var), at the same relative paths.
 */
const GENERALISE_LIGHT = `set -e
rm -rf /opt/tljh/state/*
: >/opt/tljh/config/config.yaml
userdel -r jupyter-alice
cd "$EMU_INSTANCE_DIR"
: >etc/machine-id
rm -rf etc/ssh/ssh_host_* var/lib/cloud/instances var/lib/cloud/instance var/lib/amazon/ssm/* var/log/journal/*
`;

function createImage(InstanceId: string, Name: string) {
  return aws.ec2.send(
    new CreateImageCommand({
      InstanceId,
      Name,
      TagSpecifications: [
        { ResourceType: 'image', Tags: TAGS },
        { ResourceType: 'snapshot', Tags: TAGS },
      ],
    }),
  );
}

const machineId = (id: string) => readFileSync(join(instanceDir(id), 'etc', 'machine-id'), 'utf8');

test("an image of a hub's instance lists what it kept; one of the generalised instance lists nothing", async () => {
  const builder = await launchBuilder();
  const id = builder.InstanceId!;
  // The first boot wrote the instance's identity on its disk.
  expect(machineId(id)).toMatch(/^[0-9a-f]{32}\n$/);
  expect(readlinkSync(join(instanceDir(id), 'var/lib/cloud/instance'))).toBe(
    `/var/lib/cloud/instances/${id}`,
  );
  await runScript(id, USE_AS_HUB);

  const first = (await createImage(id, 'tljh-cache-k1-first')).ImageId!;
  const [image] = await getImages();
  expect(image).toMatchObject({ imageId: first, instanceId: id, kind: 'light', encrypted: true });
  expect(image!.snapshotIds).toHaveLength(1);
  expect(image!.leftovers).toEqual(
    expect.arrayContaining([
      '/opt/tljh/state/jupyterhub.sqlite',
      '/opt/tljh/state/jupyterhub_cookie_secret',
      '/opt/tljh/config/config.yaml',
      '/home/jupyter-alice',
      'light accounts: jupyter-alice',
      '/etc/machine-id',
      '/etc/ssh/ssh_host_ed25519_key',
      `/var/lib/cloud/instances/${id}`,
      '/var/lib/cloud/instance',
      '/var/lib/amazon/ssm/Vault/Store/RegistrationKey',
      `/var/log/journal/${machineId(id).trim()}/system.journal`,
    ]),
  );

  // AMI names are unique per Region: the same name again is refused (moto made a second one).
  await expect(createImage(id, 'tljh-cache-k1-first')).rejects.toHaveProperty(
    'name',
    'InvalidAMIName.Duplicate',
  );

  await runScript(id, GENERALISE_LIGHT);
  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  const second = (await createImage(id, 'tljh-cache-k1-second')).ImageId!;
  const images = await getImages();
  expect(images.map((i) => i.imageId)).toEqual([first, second]);
  expect(images[1]).toMatchObject({ kind: 'light', encrypted: true, leftovers: [] });
  expect(existsSync(join(imageStoreDir(second), 'disk', 'opt', 'tljh', 'baked.txt'))).toBe(true);
});

test('images are described as EC2 describes an image of the instance: its encrypted, tagged root snapshot', async () => {
  await setScenario({ imagePendingAnswers: 2 });
  const builder = await launchBuilder();
  const imageId = (await createImage(builder.InstanceId!, 'tljh-cache-k1-described')).ImageId!;
  const describe = async () =>
    (
      await aws.ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          Filters: [
            { Name: 'tag:tljh:managed', Values: ['true'] },
            { Name: 'tag-key', Values: ['tljh:image-key'] },
          ],
        }),
      )
    ).Images!;
  const [pending] = await describe();
  expect(pending).toMatchObject({ ImageId: imageId, State: 'pending' });
  // A pending image cannot be launched.
  await expect(launch({ imageId })).rejects.toHaveProperty('name', 'InvalidAMIID.Unavailable');
  expect((await describe())[0]!.State).toBe('pending');

  const [image] = await describe();
  const snapshotId = (await getImages())[0]!.snapshotIds[0]!;
  expect(image).toMatchObject({
    State: 'available',
    RootDeviceName: builder.RootDeviceName,
    RootDeviceType: 'ebs',
    BlockDeviceMappings: [
      {
        DeviceName: builder.RootDeviceName,
        Ebs: expect.objectContaining({
          SnapshotId: snapshotId,
          VolumeSize: 20,
          VolumeType: 'gp3',
          Encrypted: true,
        }),
      },
    ],
  });
  expect(image!.Tags).toEqual(expect.arrayContaining(TAGS));

  const snapshots = await aws.ec2.send(
    new DescribeSnapshotsCommand({ Filters: [{ Name: 'tag:tljh:image-key', Values: ['k1'] }] }),
  );
  expect(snapshots.Snapshots).toEqual([
    expect.objectContaining({ SnapshotId: snapshotId, Encrypted: true, VolumeSize: 20 }),
  ]);
  expect(snapshots.Snapshots![0]!.Tags).toEqual(expect.arrayContaining(TAGS));
});

test('an instance launched from an image has its disk, an encrypted volume of its snapshot, and an identity of its own', async () => {
  const builder = await launchBuilder();
  const id = builder.InstanceId!;
  const key = (i: string) =>
    readFileSync(join(instanceDir(i), 'etc/ssh/ssh_host_ed25519_key.pub'), 'utf8');
  const builderIdentity = { machineId: machineId(id), key: key(id) };
  await runScript(id, USE_AS_HUB);
  await runScript(id, GENERALISE_LIGHT);
  const imageId = (await createImage(id, 'tljh-cache-k1-launch')).ImageId!;
  const snapshotId = (await getImages())[0]!.snapshotIds[0]!;

  // Smaller than the snapshot: refused, as EC2 does.
  const root = builder.RootDeviceName!;
  await expect(
    launch({ imageId, mappings: [{ DeviceName: root, Ebs: { VolumeSize: 10 } }] }),
  ).rejects.toHaveProperty('name', 'InvalidBlockDeviceMapping');

  const hub = await launch({ imageId });
  const hubId = hub.InstanceId!;
  expect(hub).toMatchObject({ ImageId: imageId, RootDeviceName: root });
  const volumes = await aws.ec2.send(
    new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [hubId] }] }),
  );
  expect(volumes.Volumes).toEqual([
    expect.objectContaining({
      Size: 20,
      Encrypted: true,
      SnapshotId: snapshotId,
      VolumeType: 'gp3',
    }),
  ]);

  // The image's files, and a machine id, SSH host keys and cloud-init state of its own.
  expect(await runScript(hubId, 'cat /opt/tljh/baked.txt')).toBe('baked\n');
  expect(machineId(hubId)).toMatch(/^[0-9a-f]{32}\n$/);
  expect(machineId(hubId)).not.toBe(builderIdentity.machineId);
  expect(key(hubId)).toMatch(/^ssh-ed25519 /);
  expect(key(hubId)).not.toBe(builderIdentity.key);
  expect(readlinkSync(join(instanceDir(hubId), 'var/lib/cloud/instance'))).toBe(
    `/var/lib/cloud/instances/${hubId}`,
  );
  expect(existsSync(join(instanceDir(hubId), 'var/lib/cloud/instances', id))).toBe(false);
});

test('a snapshot an image uses cannot be deleted; deregistered, its image is gone and the snapshot can go', async () => {
  const builder = await launchBuilder();
  const imageId = (await createImage(builder.InstanceId!, 'tljh-cache-k1-pruned')).ImageId!;
  const snapshotId = (await getImages())[0]!.snapshotIds[0]!;
  expect(existsSync(imageStoreDir(imageId))).toBe(true);

  await expect(
    aws.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })),
  ).rejects.toHaveProperty('name', 'InvalidSnapshot.InUse');

  await aws.ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
  await aws.ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
  expect(await getImages()).toEqual([]);
  expect(existsSync(imageStoreDir(imageId))).toBe(false);
  const left = await aws.ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  expect(left.Images).toEqual([]);
});

test('a real instance is imaged with its own disk; an instance launched from it is real, and keeps the machine id the image kept', async () => {
  await setScenario({ tljh: 'real' });
  const builder = await launchBuilder();
  const id = builder.InstanceId!;
  await runScript(id, 'set -e; echo baked >/opt/baked.txt; useradd -m jupyter-bob');
  const imageId = (await createImage(id, 'tljh-cache-k1-real')).ImageId!;
  const [image] = await getImages();
  expect(image).toMatchObject({ imageId, kind: 'real', encrypted: true });
  expect(image!.leftovers).toEqual(
    expect.arrayContaining(['/etc/passwd: jupyter-bob', '/home/jupyter-bob', '/etc/machine-id']),
  );

  await setScenario({ tljh: 'light' }); // the image decides the kind, not the scenario
  const hub = (await launch({ imageId })).InstanceId!;
  const show = 'cat /opt/baked.txt /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub';
  const [baked, hubMachineId, hubKey] = (await runScript(hub, show)).split('\n');
  expect(baked).toBe('baked');
  expect(existsSync(join(instanceDir(hub), 'real'))).toBe(true);
  // systemd keeps a machine id the image has (the clones share it: why images are
  // generalised); cloud-init makes new SSH host keys for every new instance.
  const [builderMachineId, builderKey] = (
    await runScript(id, 'cat /etc/machine-id /etc/ssh/ssh_host_ed25519_key.pub')
  ).split('\n');
  expect(hubMachineId).toMatch(/^[0-9a-f]{32}$/);
  expect(hubMachineId).toBe(builderMachineId);
  expect(hubKey).toMatch(/^ssh-ed25519 /);
  expect(hubKey).not.toBe(builderKey);
});
