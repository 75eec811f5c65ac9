// Smoke test of the emulator itself (no dist/ needed): the AWS calls the action makes, sent
// straight through the SDK to the front, behave as the action expects from real AWS.
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  GetParameterCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { buildInstallScript } from '../src/bootstrap.ts';
import {
  getCalls,
  hubApiUrl,
  resetEmulator,
  setScenario,
  useLightInstances,
} from './harness/emulator.ts';
import { useFrontClients } from './harness/ec2.ts';
import { growCalls } from './harness/instance.ts';

// This suite checks the light instances' model itself (e2e/emulator/light/).
useLightInstances();

const AMI_PARAMETER =
  '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';

const aws = useFrontClients();

beforeEach(async () => {
  await resetEmulator({ aws: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function launch(): Promise<{ id: string; ip: string }> {
  const ami = (await aws.ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter!
    .Value!;
  const out = await aws.ec2.send(
    new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }),
  );
  const instance = out.Instances![0]!;
  return { id: instance.InstanceId!, ip: instance.PublicIpAddress! };
}

async function agentOnline(id: string): Promise<boolean> {
  const out = await aws.ssm.send(
    new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
  );
  return out.InstanceInformationList?.some((i) => i.PingStatus === 'Online') ?? false;
}

/** Polls GetCommandInvocation to a final status; returns the answers, error names included. */
async function pollCommand(commandId: string, instanceId: string) {
  const seen: string[] = [];
  for (let i = 0; i < 600; i++) {
    let out: GetCommandInvocationCommandOutput;
    try {
      out = await aws.ssm.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
      );
    } catch (err) {
      seen.push((err as Error).name);
      await sleep(20);
      continue;
    }
    seen.push(out.Status!);
    if (out.Status !== 'InProgress' && out.Status !== 'Pending') return { seen, out };
    await sleep(20);
  }
  throw new Error(`command ${commandId} did not finish; statuses: ${seen.join(', ')}`);
}

/** Sends the action's install script to the instance; returns the command id. */
async function sendInstall(instanceId: string): Promise<string> {
  const script = buildInstallScript({
    tljhVersion: '2.0.0',
    adminUser: 'naomi',
    region: 'us-east-1',
  });
  const sent = await aws.ssm.send(
    new SendCommandCommand({
      InstanceIds: [instanceId],
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: [script] },
    }),
  );
  expect(sent.Command?.Status).toBe('Pending');
  return sent.Command!.CommandId!;
}

async function install(instanceId: string) {
  return pollCommand(await sendInstall(instanceId), instanceId);
}

test('Canonical AMI parameters name an image moto knows; others are ParameterNotFound', async () => {
  const ami = (await aws.ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter
    ?.Value;
  expect(ami).toMatch(/^ami-/);
  const images = await aws.ec2.send(new DescribeImagesCommand({ ImageIds: [ami!] }));
  expect(images.Images?.[0]?.Architecture).toBe('x86_64');

  const arm = '/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id';
  const armAmi = (await aws.ssm.send(new GetParameterCommand({ Name: arm }))).Parameter?.Value;
  const armImages = await aws.ec2.send(new DescribeImagesCommand({ ImageIds: [armAmi!] }));
  expect(armImages.Images?.[0]?.Architecture).toBe('arm64');

  for (const Name of [AMI_PARAMETER.replace('ebs-gp3', 'ebs-gp2'), '/aws/service/nope']) {
    await expect(aws.ssm.send(new GetParameterCommand({ Name }))).rejects.toHaveProperty(
      'name',
      'ParameterNotFound',
    );
  }
});

test('instances get loopback public IPs, and their agents come Online after agentDelayPolls', async () => {
  await setScenario({ agentDelayPolls: 2 });
  const { id, ip } = await launch();
  expect(ip).toMatch(/^127\.(\d+)\.(\d+)\.(\d+)$/);
  expect(ip.startsWith('127.0.')).toBe(false);

  expect(await agentOnline(id)).toBe(false);
  await expect(
    aws.ssm.send(
      new SendCommandCommand({
        InstanceIds: [id],
        DocumentName: 'AWS-RunShellScript',
        Parameters: { commands: ['true'] },
      }),
    ),
  ).rejects.toHaveProperty('name', 'InvalidInstanceId');
  expect(await agentOnline(id)).toBe(false);
  expect(await agentOnline(id)).toBe(true);

  // A stop/start makes the agent register again (and gives a new public IP).
  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  expect(await agentOnline(id)).toBe(false);

  const calls = await getCalls();
  expect(calls.map((c) => `${c.service}:${c.operation}`)).toEqual(
    expect.arrayContaining(['ssm:GetParameter', 'ec2:RunInstances', 'ssm:SendCommand']),
  );
  expect(calls.find((c) => c.operation === 'StopInstances')?.params).toMatchObject({
    'InstanceId.1': id,
  });
});

test('an install runs the script, passes verification and brings the hub up', async () => {
  const { id, ip } = await launch();
  const before = await fetch(hubApiUrl(ip));
  expect(before.status).toBe(503);

  const { seen, out } = await install(id);
  expect(seen[0]).toBe('InvocationDoesNotExist');
  expect(out.Status).toBe('Success');
  expect(out.ResponseCode).toBe(0);
  expect(out.StandardOutputContent).toContain('::tljh:: installer-log=done');
  expect(out.StandardOutputContent).toContain('::tljh:: service-jupyterhub=active');
  expect(out.StandardOutputContent).toContain('::tljh:: api-status=200');

  const res = await fetch(hubApiUrl(ip));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toEqual({ version: '5.3.0' });
});

test('the hub answers 403 (progress page) while the install runs', async () => {
  await setScenario({ installDelayMs: 1500, invocationMissingPolls: 0 });
  const { id, ip } = await launch();
  const commandId = await sendInstall(id);
  let status = 0;
  for (let i = 0; i < 100 && status !== 403; i++) {
    status = (await fetch(hubApiUrl(ip))).status;
    if (status !== 403) await sleep(20);
  }
  expect(status).toBe(403);
  const { seen, out } = await pollCommand(commandId, id);
  expect(seen).toContain('InProgress');
  expect(out.Status).toBe('Success');
});

test('failNextInstalls makes the next install fail like a failed pip step', async () => {
  await setScenario({ failNextInstalls: 1 });
  const { id, ip } = await launch();
  const { out } = await install(id);
  expect(out.Status).toBe('Failed');
  expect(out.ResponseCode).toBe(20); // the install script names the failed step (bootstrap.ts EXIT_CODES)
  expect(out.StandardOutputContent).toMatch(
    /Ran \['\/opt\/tljh\/hub\/bin\/python3'.* with exit code 1/,
  );
  expect(out.StandardOutputContent).toContain('::tljh:: installer-log=incomplete');
  expect(out.StandardOutputContent).toContain('Traceback (most recent call last):');
  expect((await fetch(hubApiUrl(ip))).status).toBe(503);

  // Only the next one: a re-run succeeds (the installer is safe to re-run).
  const again = await install(id);
  expect(again.out.Status).toBe('Success');
});

async function instanceType(id: string): Promise<string | undefined> {
  const out = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0]?.InstanceType;
}

test('the instance type changes only while the instance is stopped, as EC2 has it', async () => {
  const { id } = await launch();
  const change = (Value: string) =>
    aws.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value } }));
  await expect(change('t3.medium')).rejects.toMatchObject({
    name: 'IncorrectInstanceState',
    message: `The instance '${id}' is not in the 'stopped' state.`,
  });
  expect(await instanceType(id)).toBe('t3.small');

  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await change('t3.medium');
  expect(await instanceType(id)).toBe('t3.medium');
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  expect(await instanceType(id)).toBe('t3.medium');
  await expect(change('t3.large')).rejects.toHaveProperty('name', 'IncorrectInstanceState');
});

test('a stop and a terminate sent at once end terminated, as EC2 judges each call whole', async () => {
  // EC2 decides a state change against the state it is in when it handles the call, so a
  // stop that meets a terminate either stops first or is refused. The front checks the state
  // and then forwards: without one state change at a time, the terminate slipped in between
  // and moto "stopped" the terminated instance (found by e2e/fleet.test.ts, the nightly jobs).
  const ids = await Promise.all(Array.from({ length: 12 }, async () => (await launch()).id));
  await Promise.all(
    ids.map((id) =>
      Promise.all([
        aws.ec2
          .send(new StopInstancesCommand({ InstanceIds: [id] }))
          .catch((err: Error) => err.name),
        aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })),
      ]),
    ),
  );
  const out = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  const states = (out.Reservations ?? []).flatMap((r) =>
    (r.Instances ?? []).map((i) => `${i.InstanceId} ${i.State?.Name}`),
  );
  expect(states.filter((s) => !/ (shutting-down|terminated)$/.test(s))).toEqual([]);
  expect(states).toHaveLength(ids.length);
});

/** What the action's grow step runs on the instance (the commands of src/scripts/grow-root.ts). */
const GROW_SCRIPT = `set -u
src=$(findmnt -n -o SOURCE /)
fstype=$(findmnt -n -o FSTYPE /)
disk=$(lsblk -n -o PKNAME "$src")
part=$(lsblk -n -o PARTN "$src")
echo "root=$src fstype=$fstype disk=$disk partition=$part"
out=$(growpart "/dev/$disk" "$part")
echo "growpart=$? $out"
resize2fs "$src" >/dev/null 2>&1
echo "resize2fs=$?"
echo "root-bytes=$(df -B1 --output=size / | tail -n 1 | tr -d ' ')"
`;

async function runGrowScript(id: string): Promise<string> {
  const sent = await aws.ssm.send(
    new SendCommandCommand({
      InstanceIds: [id],
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: [GROW_SCRIPT] },
    }),
  );
  const { out } = await pollCommand(sent.Command!.CommandId!, id);
  expect(out.StandardErrorContent).toBe('');
  expect(out.Status).toBe('Success');
  return out.StandardOutputContent!;
}

test.each(['light', 'real'] as const)(
  "ModifyVolume grows the root volume, never shrinks it; a %s instance's growpart and resize2fs then grow into it",
  async (kind) => {
    await setScenario({ tljh: kind });
    const ami = (await aws.ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter!
      .Value!;
    const image = (await aws.ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0]!;
    const run = await aws.ec2.send(
      new RunInstancesCommand({
        ImageId: ami,
        InstanceType: 't3.small',
        MinCount: 1,
        MaxCount: 1,
        BlockDeviceMappings: [
          { DeviceName: image.RootDeviceName, Ebs: { VolumeSize: 20, VolumeType: 'gp3' } },
        ],
      }),
    );
    const id = run.Instances![0]!.InstanceId!;
    const volumeSize = async () => {
      const out = await aws.ec2.send(
        new DescribeVolumesCommand({
          Filters: [{ Name: 'attachment.instance-id', Values: [id] }],
        }),
      );
      expect(out.Volumes).toHaveLength(1);
      return { id: out.Volumes![0]!.VolumeId!, size: out.Volumes![0]!.Size };
    };
    const { id: volumeId, size } = await volumeSize();
    expect(size).toBe(20);

    // Before any modification the partition already fills the disk.
    expect(await runGrowScript(id)).toContain('growpart=1 NOCHANGE: partition 1 is size');

    await expect(
      aws.ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: 10 })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'New size cannot be smaller than existing size',
    });
    expect((await volumeSize()).size).toBe(20);

    const modified = await aws.ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: 30 }));
    expect(modified.VolumeModification).toMatchObject({ VolumeId: volumeId, TargetSize: 30 });
    const latest = async () =>
      (await aws.ec2.send(new DescribeVolumesModificationsCommand({ VolumeIds: [volumeId] })))
        .VolumesModifications;
    const mods = await latest();
    expect(mods).toHaveLength(1);
    expect(['optimizing', 'completed']).toContain(mods![0]!.ModificationState);
    expect(mods![0]).toMatchObject({ TargetSize: 30, OriginalSize: 20 });
    expect((await volumeSize()).size).toBe(30);

    const first = await runGrowScript(id);
    expect(first).toContain('root=/dev/nvme0n1p1 fstype=ext4 disk=nvme0n1 partition=1');
    expect(first).toContain('growpart=0 CHANGED: partition=1 start=227328');
    expect(first).toContain('resize2fs=0');
    const bytes = Number(/root-bytes=(\d+)/.exec(first)?.[1]);
    expect(bytes).toBeGreaterThan(29 * 2 ** 30);
    expect(bytes).toBeLessThan(30 * 2 ** 30);

    // A re-run: nothing left to grow.
    const again = await runGrowScript(id);
    expect(again).toContain('growpart=1 NOCHANGE: partition 1 is size 62687199.');
    expect(again).toContain(`root-bytes=${bytes}`);

    // EC2 describes only the most recent modification of a volume (moto lists them all).
    await aws.ec2.send(new ModifyVolumeCommand({ VolumeId: volumeId, Size: 40 }));
    expect(await latest()).toEqual([
      expect.objectContaining({ VolumeId: volumeId, TargetSize: 40, OriginalSize: 30 }),
    ]);

    const grow = ['growpart', '/dev/nvme0n1', '1'];
    const resize = ['resize2fs', '/dev/nvme0n1p1'];
    expect(growCalls(id)).toEqual([grow, resize, grow, resize, grow, resize]);
  },
);
