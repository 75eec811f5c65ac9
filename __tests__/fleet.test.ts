// reconcileFleet, the nightly stop and the expiry reaper, against the shared fake AWS. The bugs
// of the old bulk path: one try at each security group right after the termination (it leaked
// them), no sweep of leftover settings parameters, and FAILED rows when the stop-all job and the
// reaper met on one expired hub (a stop turned termination, a terminate of a stopping hub).
import {
  CancelSpotInstanceRequestsCommand,
  DeleteSecurityGroupCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { reconcileFleet, type FleetRequest } from '../src/fleet.ts';
import { TAG_EXPIRES_AT, hubTags } from '../src/tags.ts';
import { FakeAws } from './helpers/fake-aws.ts';
import { FakeClock, awsError } from './helpers/fakes.ts';
import { RecordingLog } from './helpers/recording-log.ts';

let clock: FakeClock;
let aws: FakeAws;
let log: RecordingLog;
let warnings: string[];
/** Instances added mid-transition: completed at the first look after the listing. */
let seeded: Set<string>;
const DONE = { pending: 'running', stopping: 'stopped', 'shutting-down': 'terminated' } as const;

/** Long past for FakeClock's 1970 (tljh:expires-at). */
const EXPIRED = '1970-01-01T00:00:00Z';
const LATER = '1970-01-02T00:00:00Z';

beforeEach(() => {
  clock = new FakeClock();
  aws = new FakeAws({ clock });
  log = new RecordingLog();
  ({ warnings } = log);
  seeded = new Set();
  let describes = 0;
  aws.ec2.meanwhile = () => {
    if (describes++ === 0) return; // the listing sees them as seeded
    for (const id of seeded) {
      const state = aws.ec2.state(id) as keyof typeof DONE;
      if (state in DONE) aws.ec2.setState(id, DONE[state]);
    }
    seeded.clear();
  };
});

const ctx = () => ({ ...aws.clients, clock, pollMs: 1000, log });

function hub(
  name: string,
  id: string,
  state: Parameters<typeof aws.ec2.addInstance>[1],
  expiresAt?: string,
) {
  const group = `sg-${name}`;
  if (!aws.ec2.groups.has(group)) {
    aws.ec2.addSecurityGroup({ GroupId: group, GroupName: `tljh-${name}`, Tags: hubTags(name) });
  }
  const extra = expiresAt ? { [TAG_EXPIRES_AT]: expiresAt } : undefined;
  aws.ec2.addInstance(id, state, {
    Tags: hubTags(name, extra),
    SecurityGroups: [{ GroupId: group }],
  });
  if (state in DONE) seeded.add(id);
}

function leftover(name: string, id: string): string {
  const path = `/tljh-ec2-action/${name}/${id}/settings`;
  aws.ssm.putParameter({ Name: path, Value: 'secret', Type: 'SecureString' });
  return path;
}

const STOP_ALL: FleetRequest = {
  pattern: '*',
  desired: 'stopped',
  expiredOnly: false,
  dryRun: false,
};
const REAPER: FleetRequest = {
  pattern: 'pr-*',
  desired: 'terminated',
  expiredOnly: true,
  dryRun: false,
};

const rowsOf = (rows: { hubName: string; ok: boolean; result: string }[]) =>
  Object.fromEntries(rows.map((r) => [r.hubName, [r.ok, r.result]]));

describe('the reaper', () => {
  test('a group still held right after the termination is deleted once released', async () => {
    hub('pr-1', 'i-1', 'running', EXPIRED);
    hub('pr-2', 'i-2', 'stopped', EXPIRED);
    let refusals = 0;
    aws.on(DeleteSecurityGroupCommand, (_input, next) => {
      if (refusals++ < 3) throw awsError('DependencyViolation');
      return next();
    });
    const out = await reconcileFleet(ctx(), REAPER);
    expect(out.failed).toBe(0);
    expect(aws.ec2.groups.has('sg-pr-1')).toBe(false);
    expect(aws.ec2.groups.has('sg-pr-2')).toBe(false);
    expect(warnings).toEqual([]);
  });

  test('the settings parameters of the reaped hubs are swept, not those of others', async () => {
    hub('pr-1', 'i-1', 'running', EXPIRED);
    hub('pr-2', 'i-2', 'running', LATER);
    const reaped = leftover('pr-1', 'i-1');
    const kept = leftover('pr-2', 'i-2');
    const out = await reconcileFleet(ctx(), REAPER);
    expect(rowsOf(out.rows)).toEqual({
      'pr-1': [true, `terminated (expired ${EXPIRED})`],
      'pr-2': [true, `not expired (expires ${LATER})`],
    });
    expect(aws.ssm.parameters.has(reaped)).toBe(false);
    expect(aws.ssm.parameters.has(kept)).toBe(true);
    expect(aws.ec2.groups.has('sg-pr-2')).toBe(true);
  });

  test('meets a hub the stop-all job is stopping: terminated, ok', async () => {
    hub('pr-1', 'i-1', 'stopping', EXPIRED);
    aws.ec2.settle = 'manual';
    seeded.clear();
    let looks = 0;
    aws.on(TerminateInstancesCommand, async (_input, next) => {
      const out: unknown = await next();
      aws.ec2.setState('i-1', 'stopping'); // EC2 still shows the stop under way, for a few looks
      return out;
    });
    aws.ec2.meanwhile = () => {
      if (++looks === 5) aws.ec2.setState('i-1', 'terminated');
    };
    const out = await reconcileFleet(ctx(), REAPER);
    expect(out.failed).toBe(0);
    expect(rowsOf(out.rows)).toEqual({ 'pr-1': [true, `terminated (expired ${EXPIRED})`] });
    expect(aws.ec2.groups.has('sg-pr-1')).toBe(false);
  });

  test('duplicates of a hub are all terminated, then its group goes', async () => {
    hub('pr-1', 'i-1', 'running', EXPIRED);
    hub('pr-1', 'i-1b', 'running', EXPIRED);
    const out = await reconcileFleet(ctx(), REAPER);
    expect(out.rows.map((r) => [r.instanceId, r.ok])).toEqual([
      ['i-1', true],
      ['i-1b', true],
    ]);
    expect(aws.inputs(TerminateInstancesCommand).map((i) => i.InstanceIds)).toEqual([
      ['i-1', 'i-1b'],
    ]);
    expect(aws.ec2.groups.has('sg-pr-1')).toBe(false);
  });

  test('a hub with an instance left alone keeps its group (no three-minute wait on it)', async () => {
    hub('pr-1', 'i-1', 'running', EXPIRED);
    hub('pr-1', 'i-1b', 'running', LATER);
    const before = clock.now();
    const out = await reconcileFleet(ctx(), REAPER);
    expect(out.failed).toBe(0);
    expect(aws.ec2.state('i-1b')).toBe('running');
    expect(aws.names()).not.toContain('DeleteSecurityGroupCommand');
    expect(clock.now() - before).toBeLessThan(60_000);
  });
});

describe('the nightly stop-all', () => {
  test('meets a hub the reaper terminates while it waits for the stop: ok, terminated meanwhile', async () => {
    hub('pr-1', 'i-1', 'running', EXPIRED);
    hub('main', 'i-2', 'running');
    aws.on(StopInstancesCommand, async (_input, next) => {
      const out: unknown = await next();
      aws.ec2.terminateInstances(['i-1']); // the reaper's TerminateInstances
      return out;
    });
    const out = await reconcileFleet(ctx(), STOP_ALL);
    expect(out.failed).toBe(0);
    expect(rowsOf(out.rows)).toEqual({
      main: [true, 'stopped'],
      'pr-1': [true, 'terminated meanwhile'],
    });
  });

  test('meets a hub the reaper terminated before its stop (StopInstances refused): ok', async () => {
    hub('pr-1', 'i-1', 'running', EXPIRED);
    hub('main', 'i-2', 'running');
    let first = true;
    aws.on(StopInstancesCommand, async (_input, next) => {
      if (first) aws.ec2.terminateInstances(['i-1']); // just after the listing
      first = false;
      return next();
    });
    const out = await reconcileFleet(ctx(), STOP_ALL);
    expect(out.failed).toBe(0);
    expect(rowsOf(out.rows)).toEqual({
      main: [true, 'stopped'],
      'pr-1': [true, 'terminated meanwhile'],
    });
  });

  test('a hub still launching is stopped once running; one already stopping is awaited', async () => {
    hub('a', 'i-1', 'pending');
    hub('b', 'i-2', 'stopping');
    hub('c', 'i-3', 'stopped');
    const out = await reconcileFleet(ctx(), STOP_ALL);
    expect(aws.inputs(StopInstancesCommand).map((i) => i.InstanceIds)).toEqual([['i-1']]);
    expect(rowsOf(out.rows)).toEqual({
      a: [true, 'stopped'],
      b: [true, 'stopped (was already stopping)'],
      c: [true, 'already stopped'],
    });
    expect(out.changed).toBe(true);
  });

  test('dry run: every hub planned, nothing changed', async () => {
    hub('a', 'i-1', 'running');
    hub('b', 'i-2', 'stopped');
    const out = await reconcileFleet(ctx(), { ...STOP_ALL, dryRun: true });
    expect(aws.mutating()).toEqual([]);
    expect(rowsOf(out.rows)).toEqual({
      a: [true, 'would stop: was running'],
      b: [true, 'already stopped'],
    });
  });
});

describe('Spot hubs in a bulk terminate', () => {
  /** A running Spot hub as the action launches one (persistent request, stop on interruption). */
  function spotHub(name: string, expiresAt: string): { id: string; request: string } {
    aws.ec2.addSecurityGroup({
      GroupId: `sg-${name}`,
      GroupName: `tljh-${name}`,
      Tags: hubTags(name),
    });
    const tags = hubTags(name, { [TAG_EXPIRES_AT]: expiresAt });
    const [i] = aws.ec2.runInstances({
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      SecurityGroupIds: [`sg-${name}`],
      InstanceMarketOptions: {
        MarketType: 'spot',
        SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' },
      },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'spot-instances-request', Tags: tags },
      ],
    }).Instances;
    aws.ec2.setState(i!.InstanceId!, 'running');
    return { id: i!.InstanceId!, request: i!.SpotInstanceRequestId! };
  }

  test("the reaper cancels the expired Spot hubs' requests before terminating them; EC2 launches nothing again", async () => {
    const old = spotHub('pr-1', EXPIRED);
    const fresh = spotHub('pr-2', LATER);
    hub('pr-3', 'i-0000000000000000c', 'running', EXPIRED);
    const out = await reconcileFleet(ctx(), {
      pattern: 'pr-*',
      desired: 'terminated',
      expiredOnly: true,
      dryRun: false,
    });
    expect(out.failed).toBe(0);
    const mutating = aws.mutating();
    expect(mutating.slice(0, 2)).toEqual([
      'CancelSpotInstanceRequestsCommand',
      'TerminateInstancesCommand',
    ]);
    expect(aws.inputs(CancelSpotInstanceRequestsCommand)).toEqual([
      { SpotInstanceRequestIds: [old.request] },
    ]);
    expect(aws.inputs(TerminateInstancesCommand).map((i) => i.InstanceIds)).toEqual([
      [old.id, 'i-0000000000000000c'],
    ]);
    expect(aws.ec2.spot.relaunched).toEqual([]);
    expect(aws.ec2.state(fresh.id)).toBe('running');
    expect(aws.ec2.spot.requests.get(fresh.request)!.request.State).toBe('active');
  });
});
