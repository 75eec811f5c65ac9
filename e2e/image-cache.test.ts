// The image cache on real TLJH (image-cache: true): the first hub of a key installs as usual
// while a builder bakes the image alongside; the next hub of the key boots from it with no
// installer run and its own secrets; a changed input misses; concurrent misses bake one image;
// older images of the family are pruned with their snapshots. The emulator copies the
// builder's disk at CreateImage and reports what is left on it that no image may hold
// (e2e/emulator/images.ts), and every hub from the image starts from that copy.
import {
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  RunInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { imageFamily, imageKey } from '../src/image-key.ts';
import { frontUrl, getCalls, getImages, resetEmulator, setScenario } from './harness/emulator.ts';
import { hubAdmins, hubPasswordMatches, readOnInstance } from './harness/instance.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

const HUB = {
  'admin-user': 'naomi',
  'iam-instance-profile': 'tljh-ssm',
  'image-cache': 'true',
  'tljh-plugins': 'tljh-emu-plugin-a',
};
const credentials = { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' };
let ec2: EC2Client;

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

/** SendCommands that ran TLJH's installer (bootstrap.py) on the instance. */
async function installerRuns(instanceId: string): Promise<number> {
  return (await getCalls()).filter(
    (c) =>
      c.operation === 'SendCommand' &&
      JSON.stringify(c.params).includes(instanceId) &&
      JSON.stringify(c.params).includes('bootstrap.py'),
  ).length;
}

async function instancesOf(hub: string): Promise<Instance[]> {
  const out = await ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: 'tag:tljh:hub', Values: [hub] }] }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

async function imagesOfKey(key: string) {
  const out = await ec2.send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [{ Name: 'tag:tljh:image-key', Values: [key] }],
    }),
  );
  return out.Images ?? [];
}

beforeAll(async () => {
  await resetEmulator({ aws: true });
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: frontUrl(), credentials, maxAttempts: 1 });
});
afterAll(() => ec2.destroy());
beforeEach(async () => {
  await resetEmulator();
  await setScenario({ tljh: 'real' });
});

let baked: string;
let hubA: string;

test('hub A (cold) installs as usual; a builder bakes a generalised, encrypted image of its key', async () => {
  const a = await runAction({ ...HUB, 'hub-name': 'cache-a', 'admin-password': 'Apple-Pie-42' });
  expectSuccess(a);
  hubA = a.outputs['instance-id']!;
  expect(a.outputs['image-source']).toBe('ubuntu');
  expect(await installerRuns(hubA)).toBe(1);
  expect(a.stdout).toMatch(/Image cache: no image for key [0-9a-f]{16}/);

  // One image, tagged at creation, its snapshot encrypted, nothing of a hub or a machine on it.
  const images = await getImages();
  expect(images).toHaveLength(1);
  const [image] = images;
  expect(image!.leftovers).toEqual([]);
  expect(image!.encrypted).toBe(true);
  baked = image!.imageId;
  const described = (await ec2.send(new DescribeImagesCommand({ ImageIds: [baked] }))).Images![0]!;
  expect(described.State).toBe('available');
  const tags = Object.fromEntries((described.Tags ?? []).map((t) => [t.Key, t.Value]));
  expect(tags).toMatchObject({
    'tljh:managed-by': 'tljh-ec2-action',
    'tljh:image-key': expect.stringMatching(/^[0-9a-f]{16}$/),
    'tljh:installed-version': '2.0.0',
  });
  const snapshots = await ec2.send(
    new DescribeSnapshotsCommand({ SnapshotIds: image!.snapshotIds }),
  );
  for (const s of snapshots.Snapshots ?? []) {
    expect(s.Encrypted).toBe(true);
    expect(s.Tags?.find((t) => t.Key === 'tljh:image-key')?.Value).toBe(tags['tljh:image-key']);
  }
  // The builder is gone; hub A was never touched by the bake.
  const builders = await instancesOf(`image-builder-${tags['tljh:image-key']}`);
  expect(builders.map((b) => b.State?.Name)).toEqual(['terminated']);
  expect((await instancesOf('cache-a')).map((i) => i.State?.Name)).toEqual(['running']);
  expect(a.stdout).toMatch(/Image cache: imaging i-[0-9a-f]+ into ami-[0-9a-f]+/);
  // The builder's own group (no inbound rule) went with it.
  const groups = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [{ Name: 'group-name', Values: [`tljh-image-builder-${tags['tljh:image-key']}`] }],
    }),
  );
  expect(groups.SecurityGroups).toEqual([]);
});

test('hub B of the same key launches from the image: no installer run, its own secrets, verified', async () => {
  const b = await runAction({ ...HUB, 'hub-name': 'cache-b', 'admin-password': 'Banana-Split-7' });
  expectSuccess(b);
  const id = b.outputs['instance-id']!;
  expect(b.outputs['image-source']).toBe('cache');
  expect(b.outputs['image-id']).toBe(baked);
  expect(await installerRuns(id)).toBe(0);
  // The full verification ran, the user-server check included.
  expect(b.summary).toContain("a user's server started as an unprivileged user: ok");
  const api = await fetch(`${b.outputs['hub-url']}hub/api`);
  expect(api.status).toBe(200);
  // Its own admin and password; the plugin baked into the image is there.
  expect(hubAdmins(id)).toEqual(['naomi']);
  expect(hubPasswordMatches(id, 'naomi', 'Banana-Split-7')).toBe(true);
  expect(hubPasswordMatches(id, 'naomi', 'Apple-Pie-42')).toBe(false);
  expect(readOnInstance(id, 'opt/tljh/state/emu-plugin-a.installed')).toBeDefined();
  // Secrets and identity of its own: none shared with hub A.
  for (const path of [
    'opt/tljh/state/traefik-api.secret',
    'opt/tljh/state/jupyterhub_cookie_secret',
    'etc/machine-id',
  ]) {
    const mine = readOnInstance(id, path);
    expect([path, mine?.trim().length ?? 0]).not.toEqual([path, 0]);
    expect([path, mine]).not.toEqual([path, readOnInstance(hubA, path)]);
  }
  // No new image: the key had one.
  expect(await getImages()).toHaveLength(1);
});

test('a changed TLJH version misses the cache (dry run: nothing is launched or baked)', async () => {
  const inputs = { ...HUB, 'hub-name': 'cache-c', 'tljh-version': '2.0.1', 'dry-run': 'true' };
  const c = await runAction(inputs);
  expectSuccess(c);
  expect(c.stdout).toMatch(/Image cache: no image for key [0-9a-f]{16} \(TLJH 2\.0\.1/);
  expect(c.outputs['image-source'] ?? '').toBe('');
  expect(await getImages()).toHaveLength(1);
});

test('two runs that miss the same key at once bake one image; the family keeps image-cache-keep', async () => {
  const plugins = ['tljh-emu-plugin-b'];
  const ami = (await ec2.send(new DescribeImagesCommand({ ImageIds: [baked] }))).Images![0]!;
  const base = ami.Tags?.find((t) => t.Key === 'tljh:base-image')?.Value ?? '';
  const inputs = { tljhVersion: '2.0.0', baseImageId: base, architecture: 'amd64', plugins };
  const family = imageFamily(inputs);
  // An older image of the same family (another key), as an earlier TLJH release would have left.
  const old = await ec2.send(
    new RunInstancesCommand({ ImageId: base, InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }),
  );
  const tags = [
    { Key: 'tljh:managed-by', Value: 'tljh-ec2-action' },
    { Key: 'tljh:image-key', Value: 'older0000000000' },
    { Key: 'tljh:image-family', Value: family },
  ];
  const older = await ec2.send(
    new CreateImageCommand({
      InstanceId: old.Instances![0]!.InstanceId!,
      Name: 'tljh-cache-older',
      TagSpecifications: [
        { ResourceType: 'image', Tags: tags },
        { ResourceType: 'snapshot', Tags: tags },
      ],
    }),
  );
  const olderImage = (await ec2.send(new DescribeImagesCommand({ ImageIds: [older.ImageId!] })))
    .Images![0]!;
  const olderSnapshots = (olderImage.BlockDeviceMappings ?? []).flatMap((m) =>
    m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
  );
  expect(olderSnapshots.length).toBeGreaterThan(0);

  // Two pull requests' workflow runs: different run ids, so different lease owners.
  const both = await Promise.all(
    ['cache-d', 'cache-e'].map((hub, n) =>
      runAction(
        {
          ...HUB,
          'hub-name': hub,
          'tljh-plugins': plugins.join('\n'),
          'image-cache-keep': '1',
        },
        { env: { GITHUB_RUN_ID: String(7000 + n) } },
      ),
    ),
  );
  both.forEach(expectSuccess);
  const key = imageKey(inputs);
  const made = await imagesOfKey(key);
  expect(made.map((i) => i.State)).toEqual(['available']);
  // One bake: one CreateImage of the key's builder (the other is the test's own older image).
  const creates = (await getCalls()).filter(
    (c) => c.operation === 'CreateImage' && JSON.stringify(c.params).includes(`tljh-cache-${key}`),
  );
  expect(creates).toHaveLength(1);
  // Each run may have launched a builder; the launch race left one, and none is left running.
  const builders = await instancesOf(`image-builder-${key}`);
  expect(builders.filter((b) => b.State?.Name !== 'terminated')).toEqual([]);
  // image-cache-keep 1: the older image of the family is deregistered, its snapshots deleted.
  expect(
    (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.map((i) => i.ImageId),
  ).not.toContain(older.ImageId);
  const left = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
  for (const id of olderSnapshots) {
    expect(left.Snapshots!.map((s) => s.SnapshotId)).not.toContain(id);
  }
  // The first family's image (another family) is kept.
  expect(
    await imagesOfKey(made[0]!.Tags!.find((t) => t.Key === 'tljh:image-key')!.Value!),
  ).toHaveLength(1);
  expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [baked] }))).Images).toHaveLength(1);
});
