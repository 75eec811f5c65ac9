// market-type: spot end to end: dist/index.js against the emulator, whose front keeps the Spot
// requests moto does not (e2e/emulator/spot.ts). A Spot hub (real TLJH) is created, EC2
// interrupts it (stops it), a re-run brings it back once EC2 starts it again, and its terminate
// cancels the request so that EC2 launches nothing again; then Spot launches without capacity,
// with and without spot-fallback.
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { emulatorEc2, instancesOf, spotRequests, tag, terminateInstances } from './harness/ec2.ts';
import {
  getCalls,
  getMutatingCalls,
  hubApiUrl,
  interruptSpot,
  resetEmulator,
  setScenario,
  setSpotCapacity,
  useLightInstances,
  type RecordedCall,
} from './harness/emulator.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

// Several hubs: light instances, but the interrupted hub runs TLJH's own installer.
useLightInstances();

const HUB = {
  'hub-name': 'spotty',
  'admin-user': 'naomi',
  'iam-instance-profile': 'tljh-ssm',
  'market-type': 'spot',
};

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

async function callsTo(operation: string): Promise<RecordedCall[]> {
  return (await getCalls()).filter((c) => c.operation === operation);
}

async function hubAnswers(ip: string): Promise<unknown> {
  try {
    const res = await fetch(hubApiUrl(ip), { signal: AbortSignal.timeout(5000) });
    return res.status === 200 ? res.json() : res.status;
  } catch {
    return 'no answer';
  }
}

const live = async (hub: string) =>
  (await instancesOf(hub)).filter((i) => i.State?.Name !== 'terminated');

describe('a Spot hub through an interruption', () => {
  beforeAll(() => resetEmulator({ aws: true }));
  let instanceId = '';
  let requestId = '';

  test('created as a persistent Spot request that stops on interruption, verified, answering', async () => {
    await resetEmulator();
    await setScenario({ tljh: 'real' });
    const result = await runAction(HUB);
    expectSuccess(result);
    const run = (await callsTo('RunInstances'))[0]!.params;
    expect(run).toMatchObject({
      'InstanceMarketOptions.MarketType': 'spot',
      'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'persistent',
      'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'stop',
    });
    expect(Object.values(run)).toContain('spot-instances-request');

    const [instance] = await live('spotty');
    instanceId = instance!.InstanceId!;
    requestId = instance!.SpotInstanceRequestId!;
    expect(result.outputs['instance-id']).toBe(instanceId);
    expect(instance!.InstanceLifecycle).toBe('spot');
    expect(requestId).toMatch(/^sir-/);
    expect(tag(instance!, 'tljh:market')).toBe('spot');
    const [request] = await spotRequests([requestId]);
    expect(request).toMatchObject({ State: 'active', Type: 'persistent', InstanceId: instanceId });
    expect(request!.Tags).toContainEqual({ Key: 'tljh:managed-by', Value: 'tljh-ec2-action' });
    expect(result.summary).toContain('t3.small (Spot)');
    expect(await hubAnswers(result.outputs['public-ip']!)).toEqual({
      version: expect.stringMatching(/^5\.\d+\.\d+$/),
    });
  });

  test('EC2 interrupts it: stopped (Server.SpotInstanceShutdown), its request disabled', async () => {
    await interruptSpot(instanceId);
    const [instance] = await live('spotty');
    expect(instance).toMatchObject({
      InstanceId: instanceId,
      State: { Name: 'stopped' },
      StateReason: { Code: 'Server.SpotInstanceShutdown' },
    });
    const [request] = await spotRequests([requestId]);
    expect(request).toMatchObject({
      State: 'disabled',
      Status: { Code: 'instance-stopped-no-capacity' },
    });
  });

  test('a re-run: EC2 refuses our start, starts it once capacity returns; the run verifies it, it answers', async () => {
    await resetEmulator();
    await setSpotCapacity(false);
    await setSpotCapacity(true, 3000);
    const result = await runAction(HUB);
    expectSuccess(result);
    expect(result.outputs).toMatchObject({ state: 'running', 'instance-id': instanceId });
    const starts = await callsTo('StartInstances');
    expect(starts.map((c) => c.status)).toEqual([400]); // only EC2 starts an interrupted one
    expect(await callsTo('RunInstances')).toEqual([]);
    expect(result.stdout).toContain('is a Spot Instance EC2 does not let us start now');
    expect(await hubAnswers(result.outputs['public-ip']!)).toEqual({
      version: expect.stringMatching(/^5\.\d+\.\d+$/),
    });
    expect((await spotRequests([requestId]))[0]).toMatchObject({ State: 'active' });
  });

  test('terminate: the Spot request cancelled before the instance is terminated, nothing relaunched', async () => {
    await resetEmulator();
    const result = await runAction({ ...HUB, state: 'terminated' });
    expectSuccess(result);
    const ops = (await getMutatingCalls()).map((c) => c.operation);
    expect(ops.indexOf('CancelSpotInstanceRequests')).toBeGreaterThanOrEqual(0);
    expect(ops.indexOf('CancelSpotInstanceRequests')).toBeLessThan(
      ops.indexOf('TerminateInstances'),
    );
    expect((await callsTo('CancelSpotInstanceRequests'))[0]!.params).toMatchObject({
      'SpotInstanceRequestId.1': requestId,
    });
    expect((await spotRequests([requestId]))[0]).toMatchObject({ State: 'cancelled' });
    expect(await live('spotty')).toEqual([]);
  });

  test('the emulator is honest: a terminate without the cancel gets a new instance from EC2', async () => {
    await resetEmulator();
    const created = await runAction({ ...HUB, 'hub-name': 'console' });
    expectSuccess(created);
    const first = created.outputs['instance-id']!;
    await terminateInstances([first]);
    const again = await live('console');
    expect(again).toHaveLength(1);
    expect(again[0]!.InstanceId).not.toBe(first);
    // The action's own terminate cleans up after it, the relaunched instance included.
    await resetEmulator();
    expectSuccess(await runAction({ ...HUB, 'hub-name': 'console', state: 'terminated' }));
    expect(await live('console')).toEqual([]);
  });
});

describe('the reaper meets a Spot hub', () => {
  beforeAll(() => resetEmulator({ aws: true }));

  test('an expired Spot hub: its request cancelled before the terminate, nothing relaunched', async () => {
    const created = await runAction({ ...HUB, 'hub-name': 'pr-7', ttl: '1h' });
    expectSuccess(created);
    const id = created.outputs['instance-id']!;
    const [request] = await spotRequests();
    expect(request?.InstanceId).toBe(id);
    // The hour has passed.
    const ec2 = emulatorEc2();
    await ec2.send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: [{ Key: 'tljh:expires-at', Value: new Date(Date.now() - 60_000).toISOString() }],
      }),
    );
    ec2.destroy();
    await resetEmulator();
    const reaped = await runAction({
      'hub-name': 'pr-*',
      state: 'terminated',
      'expired-only': 'true',
    });
    expectSuccess(reaped);
    const ops = (await getMutatingCalls()).map((c) => c.operation);
    expect(ops.indexOf('CancelSpotInstanceRequests')).toBeGreaterThanOrEqual(0);
    expect(ops.indexOf('CancelSpotInstanceRequests')).toBeLessThan(
      ops.indexOf('TerminateInstances'),
    );
    expect((await spotRequests([request!.SpotInstanceRequestId!]))[0]).toMatchObject({
      State: 'cancelled',
    });
    expect(await live('pr-7')).toEqual([]);
  });
});

describe('no Spot capacity at launch', () => {
  beforeEach(async () => {
    await resetEmulator();
    await setSpotCapacity(false);
  });

  test('spot-fallback: true -> an On-Demand hub, each attempt with its own ClientToken', async () => {
    const result = await runAction({ ...HUB, 'hub-name': 'fallback', 'spot-fallback': 'true' });
    expectSuccess(result);
    const runs = (await callsTo('RunInstances')).map((c) => c.params);
    expect(runs[0]!['InstanceMarketOptions.MarketType']).toBe('spot');
    const last = runs[runs.length - 1]!;
    expect(last['InstanceMarketOptions.MarketType']).toBeUndefined();
    expect(last.ClientToken).not.toBe(runs[0]!.ClientToken);
    const [instance] = await live('fallback');
    expect(instance!.InstanceLifecycle).toBeUndefined();
    expect(instance!.InstanceId).toBe(result.outputs['instance-id']);
    expect(result.stdout).toContain('launching On-Demand instead (spot-fallback: true)');
  });

  test('spot-fallback: false -> a clear failure naming market-type, nothing left running', async () => {
    const result = await runAction({ ...HUB, 'hub-name': 'nospot' });
    expect(result.exitCode).not.toBe(0);
    const said = `${result.stdout}\n${result.stderr}`;
    expect(said).toContain('No instance type and subnet had Spot capacity (market-type: spot)');
    expect(said).toContain("'spot-fallback: true'");
    expect(await live('nospot')).toEqual([]);
    expect((await callsTo('RunInstances')).every((c) => c.status !== 200)).toBe(true);
  });
});
