// The action's core, end to end: dist/index.js under Node 24 as the runner starts it, against
// the emulator. One hub goes through its whole life, then the failure paths.
import {
  getCalls,
  getMutatingCalls,
  hubApiUrl,
  resetEmulator,
  setScenario,
} from './harness/emulator.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

const HUB = { 'hub-name': 'workshop', 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm' };

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

async function operations(): Promise<string[]> {
  return (await getCalls()).map((c) => c.operation);
}

async function hubAnswers(ip: string): Promise<unknown> {
  const res = await fetch(hubApiUrl(ip));
  return res.status === 200 ? res.json() : res.status;
}

describe('one hub through its life', () => {
  beforeAll(() => resetEmulator({ aws: true }));
  let instanceId = '';
  let firstIp = '';

  test('create: launches, installs over SSM, verifies, outputs the URL', async () => {
    await resetEmulator();
    const result = await runAction({ ...HUB, state: 'running' });
    expectSuccess(result);
    const { outputs } = result;
    expect(outputs.state).toBe('running');
    expect(outputs.changed).toBe('true');
    expect(outputs['instance-id']).toMatch(/^i-[0-9a-f]+$/);
    expect(outputs['public-ip']).toMatch(/^127\./);
    expect(outputs['hub-url']).toBe(`http://${outputs['public-ip']}/`);
    expect(outputs['tljh-version']).toBe('2.0.0');
    instanceId = outputs['instance-id']!;
    firstIp = outputs['public-ip']!;
    expect(await hubAnswers(firstIp)).toEqual({ version: expect.stringMatching(/^5\.\d+\.\d+$/) });

    const ops = await operations();
    expect(ops.filter((o) => o === 'RunInstances')).toHaveLength(1);
    expect(ops).toEqual(
      expect.arrayContaining([
        'DescribeInstanceInformation',
        'SendCommand',
        'GetCommandInvocation',
      ]),
    );
    const run = (await getCalls()).find((c) => c.operation === 'RunInstances')!.params;
    expect(run['MetadataOptions.HttpTokens']).toBe('required');
    expect(run['BlockDeviceMapping.1.Ebs.Encrypted']).toBe('true');
    expect(run['BlockDeviceMapping.1.Ebs.VolumeType']).toBe('gp3');
    expect(run['ClientToken']).toMatch(/^tljh-/);
    expect(run['IamInstanceProfile.Name']).toBe('tljh-ssm');
    expect(Object.values(run)).toEqual(expect.arrayContaining(['instance', 'volume']));
    const ingress = (await getCalls()).filter(
      (c) => c.operation === 'AuthorizeSecurityGroupIngress',
    );
    const ports = ingress.flatMap((c) =>
      Object.entries(c.params)
        .filter(([k]) => k.endsWith('FromPort'))
        .map(([, v]) => v),
    );
    expect(ports.sort()).toEqual(['443', '80']);

    expect(result.summary).toContain('workshop');
    expect(result.summary).toContain(outputs['hub-url']);
    expect(result.stdout).toContain('::group::');
    // Where the time went, phase by phase; the checks timed by the instance's own clock.
    expect(result.summary).toContain('Where the time goes');
    for (const phase of ['launch', 'running', 'install', 'verification', 'all phases']) {
      expect(result.summary).toMatch(new RegExp(`<td>${phase}</td><td>\\d+\\.\\d s</td>`));
    }
  });

  test('re-run: a verified hub is only probed, nothing changes', async () => {
    await resetEmulator();
    const result = await runAction({ ...HUB, state: 'running' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      state: 'running',
      changed: 'false',
      'instance-id': instanceId,
    });
    expect(await getMutatingCalls()).toEqual([]);
    expect(await operations()).not.toContain('SendCommand');
  });

  test('stop: stops it and empties the URL; stopping again changes nothing', async () => {
    await resetEmulator();
    const result = await runAction({ ...HUB, state: 'stopped' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      state: 'stopped',
      changed: 'true',
      'instance-id': instanceId,
      'hub-url': '',
    });
    expect((await getMutatingCalls()).map((c) => c.operation)).toEqual(['StopInstances']);

    await resetEmulator();
    const again = await runAction({ ...HUB, state: 'stopped' });
    expectSuccess(again);
    expect(again.outputs).toMatchObject({ state: 'stopped', changed: 'false' });
    expect(await getMutatingCalls()).toEqual([]);
  });

  test('start: starts the same instance, re-reads its new public IP, and the hub answers there', async () => {
    await resetEmulator();
    const result = await runAction({ ...HUB, state: 'running' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      state: 'running',
      changed: 'true',
      'instance-id': instanceId,
    });
    expect(result.outputs['public-ip']).not.toBe(firstIp);
    expect(await hubAnswers(result.outputs['public-ip']!)).toEqual({
      version: expect.stringMatching(/^5\.\d+\.\d+$/),
    });
    expect((await getMutatingCalls()).map((c) => c.operation)).toEqual(['StartInstances']);
  });

  test('terminate: terminates and deletes the hub security group; again is a no-op', async () => {
    await resetEmulator();
    const result = await runAction({ ...HUB, state: 'terminated' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      state: 'terminated',
      changed: 'true',
      'instance-id': instanceId,
    });
    expect((await getMutatingCalls()).map((c) => c.operation)).toEqual([
      'TerminateInstances',
      'DeleteSecurityGroup',
    ]);

    await resetEmulator();
    const again = await runAction({ ...HUB, state: 'terminated' });
    expectSuccess(again);
    expect(again.outputs).toMatchObject({ state: 'terminated', changed: 'false' });
    expect(await getMutatingCalls()).toEqual([]);
  });
});

describe('failures and recovery', () => {
  beforeEach(() => resetEmulator({ aws: true }));

  test('a failed install fails the step with the installer lines, keeps the instance; the next run converges', async () => {
    await setScenario({ failNextInstalls: 1 });
    const failed = await runAction({ ...HUB, 'hub-name': 'flaky', state: 'running' });
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/::error::.*The TLJH install on i-[0-9a-f]+ failed/);
    expect(failed.stdout).toContain('with exit code 1');
    expect(failed.stdout).toContain('installer.log (tail)');
    expect(failed.stdout).toMatch(/Console output of i-[0-9a-f]+ \(tail\)/);
    expect(failed.stdout).toContain('left running and tagged for diagnosis');
    const launched = (await getMutatingCalls()).filter((c) => c.operation === 'RunInstances');
    expect(launched).toHaveLength(1);

    await resetEmulator();
    const recovered = await runAction({ ...HUB, 'hub-name': 'flaky', state: 'running' });
    expectSuccess(recovered);
    expect(recovered.outputs.changed).toBe('true');
    const ops = (await getMutatingCalls()).map((c) => c.operation);
    expect(ops).not.toContain('RunInstances');
    expect(ops).toContain('SendCommand');
    expect(await hubAnswers(recovered.outputs['public-ip']!)).toEqual({
      version: expect.stringMatching(/^5\.\d+\.\d+$/),
    });
  });

  test('an agent slow to come Online is waited for', async () => {
    await setScenario({ agentDelayPolls: 6 });
    const result = await runAction({ ...HUB, 'hub-name': 'slow-agent', state: 'running' });
    expectSuccess(result);
    const polls = (await operations()).filter((o) => o === 'DescribeInstanceInformation');
    expect(polls.length).toBeGreaterThanOrEqual(7);
  });

  test('InvocationDoesNotExist right after SendCommand is treated as pending', async () => {
    await setScenario({ invocationMissingPolls: 4 });
    const result = await runAction({ ...HUB, 'hub-name': 'eventual', state: 'running' });
    expectSuccess(result);
    const misses = (await getCalls()).filter(
      (c) => c.operation === 'GetCommandInvocation' && c.status === 400,
    );
    expect(misses).toHaveLength(4);
  });

  test('dry run prints the plan and changes nothing', async () => {
    const result = await runAction({
      ...HUB,
      'hub-name': 'dry',
      state: 'running',
      'dry-run': 'true',
    });
    expectSuccess(result);
    expect(result.stdout).toContain('launch a new instance');
    expect(result.stdout).toContain('dry run');
    expect(await getMutatingCalls()).toEqual([]);
  });
});

describe('bad inputs fail clearly and change nothing', () => {
  beforeAll(() => resetEmulator({ aws: true }));
  const cases: [string, Record<string, string>, RegExp][] = [
    ['state', { state: 'paused' }, /Input 'state'.*Accepted: running, stopped, terminated/],
    [
      'admin-user with a shell metacharacter',
      { 'admin-user': 'naomi;reboot' },
      /Input 'admin-user'/,
    ],
    ['missing admin-user', { 'admin-user': '' }, /Input 'admin-user': is required/],
    ['hub-name', { 'hub-name': 'My Hub' }, /Input 'hub-name'/],
    [
      'unknown instance type',
      { 'instance-type': 't3.gigantic' },
      /Input 'instance-type': 't3.gigantic' is not an instance type/,
    ],
    ['malformed instance type', { 'instance-type': 't3 small' }, /Input 'instance-type'/],
    ['root-volume-size', { 'root-volume-size': '2' }, /Input 'root-volume-size'.*from 8 to 16384/],
    ['ubuntu-version', { 'ubuntu-version': '20.04' }, /Input 'ubuntu-version'.*24.04, 22.04/],
    ['allowed-cidrs', { 'allowed-cidrs': '0.0.0.0/0; rm -rf /' }, /Input 'allowed-cidrs'/],
    ['tljh-version', { 'tljh-version': '2.0.0 && curl evil' }, /Input 'tljh-version'/],
    ['tags', { tags: 'tljh:hub=other' }, /Input 'tags'.*reserved/],
    [
      'unknown security group',
      { 'security-group-ids': 'sg-0123456789abcdef0' },
      /Input 'security-group-ids'/,
    ],
    ['unknown subnet', { 'subnet-id': 'subnet-0123456789abcdef0' }, /Input 'subnet-id'/],
  ];
  test.each(cases)('%s', async (_name, inputs, message) => {
    await resetEmulator();
    const result = await runAction({
      ...HUB,
      'hub-name': 'bad-input',
      state: 'running',
      ...inputs,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(message);
    expect(result.stdout).not.toMatch(/Unexpected error|at .*\.js:\d+/);
    expect(await getMutatingCalls()).toEqual([]);
  });
});
