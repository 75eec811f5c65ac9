// About 340 lines: one table per Spot rule (inputs, launch request, fallbacks, teardown).
// Spot hubs below reconcile (src/spot.ts, and where launch.ts, teardown.ts and hub-changes.ts
// treat them apart), against the shared fake AWS and its Spot market (helpers/fake-ec2-spot.ts):
// the launch choices and their ClientTokens, Spot requests cancelled before any terminate (one
// hub, many, a lost launch race), a start EC2 refuses, and the market applying at launch only.
import {
  CancelSpotInstanceRequestsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { ReconcileContext } from '../src/context.ts';
import { ActionError } from '../src/errors.ts';
import { startInstance } from '../src/hub-changes.ts';
import {
  describeChoice,
  launchChoices,
  launchFirstAvailable,
  settleLaunchRace,
} from '../src/launch.ts';
import { desiredSpec, diffSpec } from '../src/spec-diff.ts';
import { SPOT_RESTART_MS, marketNote } from '../src/spot.ts';
import { hubTags } from '../src/tags.ts';
import { teardown, type TeardownTarget } from '../src/teardown.ts';
import { FakeAws } from './helpers/fake-aws.ts';
import { FakeClock, awsError, rejection } from './helpers/fakes.ts';
import { spec } from './helpers/hub-spec.ts';
import { RecordingLog } from './helpers/recording-log.ts';

const SUBNET_A = 'subnet-0000000000000000a';
const SUBNET_B = 'subnet-0000000000000000b';
const TOKEN = `tljh-${'0123456789abcdef'.repeat(3)}`;

let clock: FakeClock;
let aws: FakeAws;
let log: RecordingLog;

beforeEach(() => {
  clock = new FakeClock();
  aws = new FakeAws({ clock });
  log = new RecordingLog();
  aws.ec2.addSecurityGroup({ GroupId: 'sg-0123456789abcdef0', GroupName: 'tljh-workshop' });
});

function ctx(): ReconcileContext {
  return { ...aws.clients, clock, pollMs: 10_000, log, runOwner: 'owner-1' };
}

const request = {
  hubName: 'workshop',
  imageId: 'ami-0123456789abcdef0',
  rootDeviceName: '/dev/sda1',
  rootVolumeSizeGiB: 30,
  securityGroupIds: ['sg-0123456789abcdef0'],
  extraTags: {},
  clientToken: TOKEN,
};

/** A running Spot hub launched the way the action launches one. */
async function spotHub(hubName = 'workshop'): Promise<string> {
  const choice = launchChoices(spec({ 'hub-name': hubName, 'market-type': 'spot' }))[0]!;
  const { instanceId } = await launchFirstAvailable(
    ctx(),
    { ...request, hubName, clientToken: `tljh-${hubName}` },
    [choice],
  );
  aws.ec2.setState(instanceId, 'running');
  return instanceId;
}

describe('launch choices', () => {
  const two = { 'instance-type': 't3.small, t3a.small', 'subnet-id': SUBNET_A };

  test('Spot: every (type, subnet) as Spot; with spot-fallback, then every one On-Demand', () => {
    expect(launchChoices(spec({ ...two, 'market-type': 'spot' })).map(describeChoice)).toEqual([
      `t3.small in ${SUBNET_A} (Spot)`,
      `t3a.small in ${SUBNET_A} (Spot)`,
    ]);
    const fallback = spec({ ...two, 'market-type': 'spot', 'spot-fallback': 'true' });
    expect(launchChoices(fallback).map(describeChoice)).toEqual([
      `t3.small in ${SUBNET_A} (Spot)`,
      `t3a.small in ${SUBNET_A} (Spot)`,
      `t3.small in ${SUBNET_A}`,
      `t3a.small in ${SUBNET_A}`,
    ]);
  });

  test('no Spot capacity anywhere, spot-fallback: On-Demand, each attempt with its own ClientToken', async () => {
    aws.ec2.spot.capacity = false;
    const choices = launchChoices(
      spec({
        'subnet-id': `${SUBNET_A}, ${SUBNET_B}`,
        'market-type': 'spot',
        'spot-fallback': 'true',
      }),
    );
    const { instanceId, choice } = await launchFirstAvailable(ctx(), request, choices);
    expect(choice).toEqual({ instanceType: 't3.small', subnetId: SUBNET_A });
    const runs = aws.inputs(RunInstancesCommand);
    expect(runs.map((r) => r.InstanceMarketOptions?.MarketType ?? 'on-demand')).toEqual([
      'spot',
      'spot',
      'on-demand',
    ]);
    const tokens = runs.map((r) => r.ClientToken);
    expect(new Set(tokens).size).toBe(3);
    // The same (type, subnet), Spot then On-Demand: two questions, two tokens.
    expect(tokens[2]).not.toBe(tokens[0]);
    expect(aws.ec2.instance(instanceId).InstanceLifecycle).toBeUndefined();
    expect(log.warnings.join('\n')).toContain('launching On-Demand instead (spot-fallback: true)');

    // A retried run asks EC2 the same questions with the same tokens.
    const before = tokens;
    aws.calls.length = 0;
    await launchFirstAvailable(ctx(), request, choices);
    expect(aws.inputs(RunInstancesCommand).map((r) => r.ClientToken)).toEqual(before);
    expect(aws.ec2.instances.size).toBe(1);
  });

  test.each(['SpotMaxPriceTooLow', 'MaxSpotInstanceCountExceeded', 'UnfulfillableCapacity'])(
    'a Spot launch answered %s moves on to the next choice',
    async (code) => {
      aws.fail(RunInstancesCommand, awsError(code), 1);
      const choices = launchChoices(
        spec({ 'subnet-id': `${SUBNET_A}, ${SUBNET_B}`, 'market-type': 'spot' }),
      );
      const { choice } = await launchFirstAvailable(ctx(), request, choices);
      expect(choice).toEqual({ instanceType: 't3.small', subnetId: SUBNET_B, market: 'spot' });
    },
  );

  test('no Spot capacity and no fallback: a failure naming market-type and spot-fallback, nothing launched', async () => {
    aws.ec2.spot.capacity = false;
    const choices = launchChoices(spec({ 'market-type': 'spot' }));
    const err = await rejection(launchFirstAvailable(ctx(), request, choices));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain(
      'No instance type and subnet had Spot capacity (market-type: spot)',
    );
    expect(err.message).toContain('There is no Spot capacity available that matches your request.');
    expect(err.hint).toContain("'spot-fallback: true'");
    expect(aws.ec2.instances.size).toBe(0);
  });

  test('the Spot launch: a persistent request, instance, volume and request tagged', async () => {
    const id = await spotHub();
    const [run] = aws.inputs(RunInstancesCommand);
    expect(run!.InstanceMarketOptions?.SpotOptions).toEqual({
      SpotInstanceType: 'persistent',
      InstanceInterruptionBehavior: 'stop',
    });
    const i = aws.ec2.instance(id);
    expect(i.InstanceLifecycle).toBe('spot');
    expect(i.Tags).toContainEqual({ Key: 'tljh:market', Value: 'spot' });
    const [req] = aws.ec2.spot.describeSpotInstanceRequests(undefined).SpotInstanceRequests;
    expect(req).toMatchObject({ InstanceId: id, State: 'active', Type: 'persistent' });
    expect(req!.Tags).toContainEqual({ Key: 'tljh:managed-by', Value: 'tljh-ec2-action' });
  });
});

describe('terminating Spot hubs: the request is cancelled first', () => {
  const targets = (ids: string[], hub = 'workshop'): TeardownTarget[] =>
    ids.map((instanceId) => ({
      hubName: hub,
      instanceId,
      state: aws.ec2.state(instanceId) as never,
      spotRequestId: aws.ec2.instance(instanceId).SpotInstanceRequestId,
    }));
  const terminate = (t: TeardownTarget[]) =>
    teardown(ctx(), { desired: 'terminated', instances: t, cleanUp: [], timeoutMs: 600_000 });

  test('the fake is honest: a terminate without a cancel gets a new instance from EC2', async () => {
    const id = await spotHub();
    aws.ec2.terminateInstances([id]);
    expect(aws.ec2.spot.relaunched).toHaveLength(1);
  });

  test('one hub: CancelSpotInstanceRequests, then TerminateInstances; nothing relaunched', async () => {
    const id = await spotHub();
    const out = await terminate(targets([id]));
    expect(out.instances[0]).toMatchObject({ ok: true, final: 'terminated' });
    expect(aws.mutating().slice(1)).toEqual([
      'CancelSpotInstanceRequestsCommand',
      'TerminateInstancesCommand',
    ]);
    const [req] = aws.ec2.spot.describeSpotInstanceRequests(undefined).SpotInstanceRequests;
    expect(req!.State).toBe('cancelled');
    expect(aws.ec2.spot.relaunched).toEqual([]);
  });

  test('many hubs, Spot and On-Demand: the Spot requests in batches, all before the terminate', async () => {
    const spot = [];
    for (let n = 0; n < 102; n++) spot.push(await spotHub(`pr-${n}`));
    const onDemand = aws.ec2.addInstance('i-0d0000000000000001', 'running', {
      Tags: hubTags('night'),
    });
    await terminate([...targets(spot, 'pr'), ...targets([onDemand.InstanceId!], 'night')]);
    const names = aws.mutating().filter((n) => n !== 'RunInstancesCommand');
    expect(names).toEqual([
      'CancelSpotInstanceRequestsCommand',
      'CancelSpotInstanceRequestsCommand',
      'TerminateInstancesCommand',
      'TerminateInstancesCommand',
    ]);
    const cancelled = aws
      .inputs(CancelSpotInstanceRequestsCommand)
      .flatMap((i) => i.SpotInstanceRequestIds);
    expect(cancelled).toHaveLength(102);
    expect(aws.ec2.spot.relaunched).toEqual([]);
    expect([...spot, onDemand.InstanceId].every((id) => aws.ec2.state(id!) === 'terminated')).toBe(
      true,
    );
  });

  test('a request that cannot be cancelled: its instance is left running, the others terminated', async () => {
    const [a, b] = [await spotHub('a'), await spotHub('b')];
    const blockedRequest = aws.ec2.instance(a).SpotInstanceRequestId;
    aws.on(CancelSpotInstanceRequestsCommand, (input, next) => {
      if (input.SpotInstanceRequestIds?.includes(blockedRequest!))
        throw awsError('UnauthorizedOperation');
      return next();
    });
    const out = await terminate([...targets([a], 'a'), ...targets([b], 'b')]);
    const byId = new Map(out.instances.map((r) => [r.instanceId, r]));
    expect(byId.get(a)).toMatchObject({ ok: false, sent: false });
    expect(byId.get(a)!.result).toContain(`could not cancel its Spot request ${blockedRequest}`);
    expect(byId.get(b)).toMatchObject({ ok: true, final: 'terminated' });
    expect(aws.inputs(TerminateInstancesCommand).flatMap((i) => i.InstanceIds)).toEqual([b]);
    expect(aws.ec2.state(a)).toBe('running');
  });

  test('a stop cancels nothing', async () => {
    const id = await spotHub();
    await teardown(ctx(), {
      desired: 'stopped',
      instances: targets([id]),
      cleanUp: [],
      timeoutMs: 600_000,
    });
    expect(aws.mutating()).toEqual(['RunInstancesCommand', 'StopInstancesCommand']);
  });

  test("a lost launch race: our own Spot launch's request is cancelled before it is terminated", async () => {
    const rival = aws.ec2.addInstance('i-00000000000000001', 'running', {
      Tags: hubTags('workshop'),
      LaunchTime: new Date(clock.now() - 60_000),
    });
    const ours = await spotHub();
    aws.calls.length = 0;
    const winner = await settleLaunchRace(
      ctx(),
      'workshop',
      { instanceId: ours, state: 'pending' },
      ours,
      [],
    );
    expect(winner.instanceId).toBe(rival.InstanceId);
    expect(aws.mutating()).toEqual([
      'CancelSpotInstanceRequestsCommand',
      'TerminateInstancesCommand',
    ]);
    expect(aws.ec2.spot.relaunched).toEqual([]);
  });
});

describe('starting a stopped Spot hub', () => {
  test('interrupted: EC2 refuses our start; the run waits until EC2 starts it (capacity back)', async () => {
    const id = await spotHub();
    aws.ec2.spot.capacity = false;
    aws.ec2.spot.interrupt(id);
    let looks = 0;
    aws.ec2.meanwhile = () => {
      if (++looks === 3) aws.ec2.spot.restoreCapacity();
    };
    await startInstance(ctx(), spec({ 'market-type': 'spot' }), id);
    expect(['pending', 'running']).toContain(aws.ec2.state(id));
    expect(aws.inputs(StartInstancesCommand)).toHaveLength(1);
    expect(log.infos.join('\n')).toContain('is a Spot Instance EC2 does not let us start now');
  });

  test('interrupted and no capacity within the wait: a failure saying so, and what to do', async () => {
    const id = await spotHub();
    aws.ec2.spot.capacity = false;
    aws.ec2.spot.interrupt(id);
    const started = clock.now();
    const err = await rejection(startInstance(ctx(), spec({ 'market-type': 'spot' }), id));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain("Spot capacity is not available now for hub 'workshop'");
    expect(err.message).toContain('EC2 interrupted it and starts it again itself');
    expect(err.hint).toContain('run again later');
    expect(err.hint).toContain("without 'market-type: spot'");
    expect(clock.now() - started).toBeGreaterThanOrEqual(SPOT_RESTART_MS);
    expect(aws.ec2.state(id)).toBe('stopped');
  });

  test('stopped by us a moment ago (request not yet disabled): the start is sent again until EC2 takes it', async () => {
    const id = await spotHub();
    aws.ec2.setState(id, 'stopped');
    aws.fail(StartInstancesCommand, awsError('IncorrectSpotRequestState'), 2);
    await startInstance(ctx(), spec({ 'market-type': 'spot' }), id);
    expect(aws.inputs(StartInstancesCommand)).toHaveLength(3);
    expect(aws.ec2.state(id)).toBe('pending');
  });

  test('InsufficientInstanceCapacity at the start of a Spot hub: no Spot capacity now, its market cannot change', async () => {
    const id = await spotHub();
    aws.ec2.setState(id, 'stopped');
    aws.fail(StartInstancesCommand, awsError('InsufficientInstanceCapacity', 'no capacity'));
    const err = await rejection(startInstance(ctx(), spec({ 'market-type': 'spot' }), id));
    expect(err.message).toContain("Spot capacity is not available now for hub 'workshop'");
    expect(err.hint).toContain("A hub's market never changes");
  });
});

describe('the market applies at launch only', () => {
  test('a note when the hub is not of the market asked for; none when it is', () => {
    const s = spec({ 'market-type': 'spot' });
    expect(marketNote(s, { instanceId: 'i-1', market: 'spot' })).toBeUndefined();
    expect(marketNote(s, undefined)).toBeUndefined();
    expect(marketNote(s, { instanceId: 'i-1', market: 'on-demand' })).toEqual({
      level: 'warning',
      message:
        "Hub 'workshop' (i-1) is On-Demand: 'market-type: spot' applies to a new launch only (a hub's market never changes; terminate it and create it again to change it).",
    });
    // spot-fallback makes an On-Demand hub what a launch without Spot capacity gives.
    const fallback = spec({ 'market-type': 'spot', 'spot-fallback': 'true' });
    expect(marketNote(fallback, { instanceId: 'i-1', market: 'on-demand' })?.level).toBe('info');
    expect(marketNote(spec(), { instanceId: 'i-1', market: 'spot' })?.message).toContain(
      'is a Spot Instance',
    );
  });

  test('a Spot hub keeps its type: no type change planned, the diff says why', () => {
    const desired = desiredSpec(spec({ 'instance-type': 't3.medium' }), 'salt');
    const observed = { instanceType: 't3.small', tags: {}, ownedTagKeys: [] };
    expect(diffSpec(desired, observed).instanceType).toEqual({ from: 't3.small', to: 't3.medium' });
    const spot = diffSpec(desired, { ...observed, market: 'spot' });
    expect(spot.instanceType).toBeUndefined();
    expect(spot.groups.find((g) => g.group === 'instance-type')).toMatchObject({
      changed: false,
      detail:
        't3.small: a Spot hub keeps its type (terminate it and create it again for t3.medium)',
    });
  });
});
