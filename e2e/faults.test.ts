// The core scenarios again, with the front behaving like AWS on a bad day: bursts of
// throttling, 500s and dropped connections on every operation (e2e/emulator/faults.ts). Every
// scenario must still end in the right state. The schedule never faults one operation more
// than maxStreak times in a row, so a client making maxStreak + 1 attempts with backoff gets
// through: the action's SDK clients use the adaptive retry mode with 8 attempts.
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  frontUrl,
  getCalls,
  hubApiUrl,
  resetEmulator,
  setScenario,
  type Faults,
  type RecordedCall,
  useLightInstances,
} from './harness/emulator.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

// Many hubs at once: light instances (see useLightInstances).
useLightInstances();

const HUB = { 'hub-name': 'stormy', 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm' };

/**
 * Every operation's first call is throttled, then answered 500, then its connection dropped
 * (the 4th attempt gets through); after that each kind comes back every 8-10 calls.
 */
const STORM: Faults = { throttleEveryN: 8, serverErrorEveryN: 9, dropEveryN: 10, maxStreak: 3 };

const credentials = { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' };

/** An EC2 client straight to the front, without retries, to see each answer as it is. */
function directEc2(): EC2Client {
  return new EC2Client({ region: 'us-east-1', endpoint: frontUrl(), credentials, maxAttempts: 1 });
}

async function anyImage(ec2: EC2Client): Promise<string> {
  const filters = [{ Name: 'architecture', Values: ['x86_64'] }];
  const out = await ec2.send(new DescribeImagesCommand({ Filters: filters }));
  return out.Images![0]!.ImageId!;
}

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

async function hubAnswers(ip: string): Promise<unknown> {
  const res = await fetch(hubApiUrl(ip));
  return res.status === 200 ? res.json() : res.status;
}

/** Calls that really did something: answered, and not by an injected fault. */
function handled(calls: RecordedCall[], operation: string): RecordedCall[] {
  return calls.filter((c) => c.operation === operation && !c.injected && c.status !== undefined);
}

/** Runs the action under the storm and checks the storm did hit it. */
async function stormy(inputs: Record<string, string>): Promise<ActionResult> {
  await resetEmulator();
  await setScenario({ faults: STORM });
  const result = await runAction({ ...HUB, ...inputs }, { timeoutMs: 110_000 });
  expectSuccess(result);
  const calls = await getCalls();
  const kinds = new Set(calls.map((c) => c.injected).filter(Boolean));
  expect(kinds).toEqual(new Set(['throttle', 'server-error', 'drop']));
  // Every operation the action used met all three on its first call, retried by the SDK.
  for (const op of new Set(calls.map((c) => c.operation))) {
    const first = calls.filter((c) => c.operation === op).slice(0, 4);
    expect(first.map((c) => c.injected)).toEqual(['throttle', 'server-error', 'drop', undefined]);
  }
  expect(calls.some((c) => (c.attempt ?? 1) > 1)).toBe(true);
  return result;
}

// Leave the default scenario (no faults) to the suites that run next.
afterAll(() => resetEmulator());

describe('the core scenarios survive throttling, 500s and dropped connections', () => {
  beforeAll(() => resetEmulator({ aws: true }));
  let instanceId = '';

  test('create', async () => {
    const result = await stormy({ state: 'running' });
    expect(result.outputs).toMatchObject({ state: 'running', changed: 'true' });
    instanceId = result.outputs['instance-id']!;
    expect(await hubAnswers(result.outputs['public-ip']!)).toEqual({ version: '5.3.0' });
    expect(handled(await getCalls(), 'RunInstances')).toHaveLength(1);
  }, 150_000);

  test('re-run', async () => {
    const result = await stormy({ state: 'running' });
    expect(result.outputs).toMatchObject({
      state: 'running',
      changed: 'false',
      'instance-id': instanceId,
    });
    expect((await getCalls()).map((c) => c.operation)).not.toContain('RunInstances');
  }, 150_000);

  test('stop', async () => {
    const result = await stormy({ state: 'stopped' });
    expect(result.outputs).toMatchObject({ state: 'stopped', 'instance-id': instanceId });
  }, 150_000);

  test('start', async () => {
    const result = await stormy({ state: 'running' });
    expect(result.outputs).toMatchObject({ state: 'running', 'instance-id': instanceId });
    expect(await hubAnswers(result.outputs['public-ip']!)).toEqual({ version: '5.3.0' });
  }, 150_000);

  test('terminate', async () => {
    const result = await stormy({ state: 'terminated' });
    expect(result.outputs).toMatchObject({ state: 'terminated', 'instance-id': instanceId });
  }, 150_000);
});

describe('RunInstances is idempotent per ClientToken', () => {
  let ec2: EC2Client;
  beforeAll(() => {
    ec2 = directEc2();
  });
  afterAll(() => ec2.destroy());
  beforeEach(() => resetEmulator({ aws: true }));

  async function liveInstances(): Promise<string[]> {
    const out = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }],
      }),
    );
    return (out.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId!));
  }

  test('the same token twice gives the same instance; another token launches another', async () => {
    const input = {
      ImageId: await anyImage(ec2),
      InstanceType: 't3.small' as const,
      MinCount: 1,
      MaxCount: 1,
      ClientToken: 'token-1',
    };
    const first = await ec2.send(new RunInstancesCommand(input));
    const again = await ec2.send(new RunInstancesCommand(input));
    const id = first.Instances![0]!.InstanceId!;
    expect(again.Instances![0]!.InstanceId).toBe(id);
    expect(again.ReservationId).toBe(first.ReservationId);
    expect(await liveInstances()).toEqual([id]);

    await expect(
      ec2.send(new RunInstancesCommand({ ...input, InstanceType: 't3.medium' })),
    ).rejects.toHaveProperty('name', 'IdempotentParameterMismatch');

    const other = await ec2.send(new RunInstancesCommand({ ...input, ClientToken: 'token-2' }));
    expect(other.Instances![0]!.InstanceId).not.toBe(id);
    expect((await liveInstances()).sort()).toEqual([id, other.Instances![0]!.InstanceId].sort());
  });

  test("the action's own retry after a lost RunInstances answer launches nothing more", async () => {
    // The first RunInstances is handled, then its connection dropped: the SDK retries with
    // the same ClientToken, and must get the instance already launched.
    await setScenario({ faults: { dropResponseEveryN: 2, operations: ['RunInstances'] } });
    const result = await runAction({ ...HUB, 'hub-name': 'lost-answer', state: 'running' });
    expectSuccess(result);
    const runs = (await getCalls()).filter((c) => c.operation === 'RunInstances');
    expect(runs.map((c) => c.injected)).toEqual(['drop-response', undefined]);
    expect(runs[0]!.params.ClientToken).toBe(runs[1]!.params.ClientToken);
    expect(await liveInstances()).toEqual([result.outputs['instance-id']]);
  });
});

describe('capacity errors look like EC2', () => {
  beforeEach(() => resetEmulator({ aws: true }));

  test('InsufficientInstanceCapacity (HTTP 500) and Unsupported (HTTP 400) in EC2 XML', async () => {
    const ec2 = directEc2();
    const input = { ImageId: await anyImage(ec2), MinCount: 1, MaxCount: 1 };
    await resetEmulator();
    await setScenario({
      faults: { capacityFailTypes: ['t3.small'], unsupportedTypes: ['t3.medium'] },
    });
    const capacity = ec2.send(new RunInstancesCommand({ ...input, InstanceType: 't3.small' }));
    await expect(capacity).rejects.toMatchObject({
      name: 'InsufficientInstanceCapacity',
      $metadata: { httpStatusCode: 500 },
      message: expect.stringMatching(/do not have sufficient t3.small capacity/),
    });
    const unsupported = ec2.send(new RunInstancesCommand({ ...input, InstanceType: 't3.medium' }));
    await expect(unsupported).rejects.toMatchObject({
      name: 'Unsupported',
      $metadata: { httpStatusCode: 400 },
    });
    const ok = await ec2.send(new RunInstancesCommand({ ...input, InstanceType: 't3.large' }));
    expect(ok.Instances).toHaveLength(1);
    expect((await getCalls()).map((c) => c.injected)).toEqual([
      'capacity',
      'unsupported',
      undefined,
    ]);
    ec2.destroy();
  });
});

describe('capacity fallbacks through the action', () => {
  beforeEach(() => resetEmulator({ aws: true }));

  test('no t3.small capacity: the next choice, t3a.small, is launched and named', async () => {
    await setScenario({ faults: { capacityFailTypes: ['t3.small'] } });
    const result = await runAction({
      'hub-name': 'fallback',
      'admin-user': 'naomi',
      'iam-instance-profile': 'tljh-ssm',
      'instance-type': 't3.small, t3a.small',
    });
    if (result.exitCode !== 0) throw new Error(result.stdout);
    expect(result.stdout).toMatch(/No launch of t3.small \(InsufficientInstanceCapacity/);
    expect(result.stdout).toContain('Trying t3a.small');
    expect(result.summary).toContain('t3a.small');
    const launches = (await getCalls()).filter(
      (c) => c.operation === 'RunInstances' && !c.injected,
    );
    expect(launches.map((c) => c.params.InstanceType)).toEqual(['t3a.small']);
  });
});
