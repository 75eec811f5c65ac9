// Smoke test of the emulator itself (no dist/ needed): the AWS calls the action makes, sent
// straight through the SDK to the front, behave as the action expects from real AWS.
import {
  DescribeImagesCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  GetParameterCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { buildInstallScript } from '../src/bootstrap.ts';
import {
  frontUrl,
  getCalls,
  hubApiUrl,
  resetEmulator,
  setScenario,
  useLightInstances,
} from './harness/emulator.ts';

// This suite checks the light instances' model itself (e2e/emulator/light/).
useLightInstances();

const region = 'us-east-1';
const credentials = { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' };
let ec2: EC2Client;
let ssm: SSMClient;

const AMI_PARAMETER =
  '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';

beforeAll(() => {
  const config = { region, credentials, endpoint: frontUrl(), maxAttempts: 1 };
  ec2 = new EC2Client(config);
  ssm = new SSMClient(config);
});

afterAll(() => {
  ec2.destroy();
  ssm.destroy();
});

beforeEach(async () => {
  await resetEmulator({ aws: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function launch(): Promise<{ id: string; ip: string }> {
  const ami = (await ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter!.Value!;
  const out = await ec2.send(
    new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.small', MinCount: 1, MaxCount: 1 }),
  );
  const instance = out.Instances![0]!;
  return { id: instance.InstanceId!, ip: instance.PublicIpAddress! };
}

async function agentOnline(id: string): Promise<boolean> {
  const out = await ssm.send(
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
      out = await ssm.send(
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
  const sent = await ssm.send(
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
  const ami = (await ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter?.Value;
  expect(ami).toMatch(/^ami-/);
  const images = await ec2.send(new DescribeImagesCommand({ ImageIds: [ami!] }));
  expect(images.Images?.[0]?.Architecture).toBe('x86_64');

  const arm = '/aws/service/canonical/ubuntu/server/22.04/stable/current/arm64/hvm/ebs-gp2/ami-id';
  const armAmi = (await ssm.send(new GetParameterCommand({ Name: arm }))).Parameter?.Value;
  const armImages = await ec2.send(new DescribeImagesCommand({ ImageIds: [armAmi!] }));
  expect(armImages.Images?.[0]?.Architecture).toBe('arm64');

  for (const Name of [AMI_PARAMETER.replace('ebs-gp3', 'ebs-gp2'), '/aws/service/nope']) {
    await expect(ssm.send(new GetParameterCommand({ Name }))).rejects.toHaveProperty(
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
    ssm.send(
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
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
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
