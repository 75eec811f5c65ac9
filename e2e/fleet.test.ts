// Scheduled operations end to end: one run of dist/index.js acting on many hubs selected by a
// hub-name pattern. The nightly stop, the expiry reaper, and dry runs that change nothing.
import { seedHubs } from '../bench/seed.ts';
import {
  createHubSecurityGroup,
  hubInstances,
  securityGroupNames,
  stopInstances,
  tag,
} from './harness/ec2.ts';
import {
  getCalls,
  getMutatingCalls,
  resetEmulator,
  showTransitional,
  type RecordedCall,
  useLightInstances,
} from './harness/emulator.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

// Many hubs at once: light instances (see useLightInstances).
useLightInstances();

interface HubRow {
  hubName: string;
  instanceId: string;
  before: string;
  result: string;
  ok: boolean;
}

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

function rows(result: ActionResult): Map<string, HubRow> {
  const list = JSON.parse(result.outputs.hubs ?? '[]') as HubRow[];
  return new Map(list.map((r) => [r.hubName, r]));
}

/** How many instance ids a batched EC2 call carried. */
function idCount(call: RecordedCall): number {
  return Object.keys(call.params).filter((k) => /^InstanceId\.\d+$/.test(k)).length;
}

async function callsTo(operation: string): Promise<RecordedCall[]> {
  return (await getCalls()).filter((c) => c.operation === operation);
}

const HOUR = 3600_000;
const iso = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('nightly stop of every hub', () => {
  let ids: string[] = [];
  beforeAll(async () => {
    await resetEmulator({ aws: true });
    ids = await seedHubs(50); // fleet-000 .. fleet-049, running
    await stopInstances([...ids.slice(0, 5), ids[5]!]);
  });

  test('dry run: the plan for all 50 hubs is printed, nothing changes', async () => {
    await resetEmulator();
    const result = await runAction({ 'hub-name': '*', state: 'stopped', 'dry-run': 'true' });
    expectSuccess(result);
    expect(await getMutatingCalls()).toEqual([]);
    expect(result.stdout).toContain('Plan (dry run, nothing will change): stop 44');
    expect(result.stdout).toMatch(/fleet-049 \(i-[0-9a-f]+, running\): stop, was running/);
    expect(result.stdout).toMatch(/fleet-000 \(i-[0-9a-f]+, stopped\): none, already stopped/);
    expect(rows(result).get('fleet-049')!.result).toBe('would stop: was running');
    expect(result.summary).toContain('(dry run)');
  });

  test('50 hubs, some stopped, one stopping, one pending: all end stopped; the pending one in a second StopInstances once running', async () => {
    await resetEmulator();
    // AWS would show these mid-transition; moto's changes are instant, so the front pretends.
    await showTransitional({
      [ids[5]!]: { state: 'stopping', answers: 3 },
      [ids[6]!]: { state: 'pending', answers: 3 },
    });
    const result = await runAction({ 'hub-name': '*', state: 'stopped' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({ state: 'stopped', changed: 'true' });

    const stops = await callsTo('StopInstances');
    // The running ones at once; the pending one after its wait, so it holds up no other stop.
    expect(stops).toHaveLength(2);
    expect(idCount(stops[0]!)).toBe(43);
    expect(idCount(stops[1]!)).toBe(1);
    expect((await getMutatingCalls()).map((c) => c.operation)).toEqual([
      'StopInstances',
      'StopInstances',
    ]);
    // One listing and a few waiter polls, not several calls per hub.
    expect((await getCalls()).length).toBeLessThan(15);

    const hubs = await hubInstances();
    expect([...hubs.values()].map((i) => i.State?.Name)).toEqual(Array(50).fill('stopped'));

    const table = rows(result);
    expect(table.size).toBe(50);
    expect(table.get('fleet-000')).toMatchObject({ before: 'stopped', result: 'already stopped' });
    expect(table.get('fleet-005')).toMatchObject({
      before: 'stopping',
      result: 'stopped (was already stopping)',
    });
    expect(table.get('fleet-006')).toMatchObject({ before: 'pending', result: 'stopped' });
    expect(table.get('fleet-049')).toMatchObject({ before: 'running', result: 'stopped' });
    expect([...table.values()].every((r) => r.ok)).toBe(true);

    expect(result.summary).toContain("Stop hubs matching '*'");
    for (let i = 0; i < 50; i++)
      expect(result.summary).toContain(`fleet-${String(i).padStart(3, '0')}`);
    expect(result.summary).toContain(ids[49]!);
  });

  test('the next night nothing is left to stop: no mutating call', async () => {
    await resetEmulator();
    const result = await runAction({ 'hub-name': 'fleet-*', state: 'stopped' });
    expectSuccess(result);
    expect(result.outputs.changed).toBe('false');
    expect(await getMutatingCalls()).toEqual([]);
    expect([...rows(result).values()].every((r) => r.result === 'already stopped')).toBe(true);
  });
});

describe('the reaper: terminate expired pr-* hubs only', () => {
  // pr-000 .. pr-029: every third expired, every third expiring later, every third without ttl.
  const expiry = (i: number) => [iso(-HOUR), iso(5 * HOUR), undefined][i % 3];
  const expired = (name: string) => Number(name.slice(3)) % 3 === 0;

  beforeAll(async () => {
    await resetEmulator({ aws: true });
    const ids = await seedHubs(30, { prefix: 'pr', expiresAt: expiry });
    await seedHubs(3, { prefix: 'keep', expiresAt: () => iso(-HOUR) }); // expired, not pr-*
    await stopInstances([ids[3]!, ids[4]!]); // a stopped expired hub is reaped too
    for (const hub of ['pr-000', 'pr-003', 'pr-001', 'keep-000']) await createHubSecurityGroup(hub);
  });

  test('dry run first: the plan is printed, nothing changes', async () => {
    await resetEmulator();
    const result = await runAction({
      'hub-name': 'pr-*',
      state: 'terminated',
      'expired-only': 'true',
      'dry-run': 'true',
    });
    expectSuccess(result);
    expect(await getMutatingCalls()).toEqual([]);
    expect(result.stdout).toContain('dry run, nothing will change');
    expect(result.stdout).toMatch(/pr-000 \(i-[0-9a-f]+, running\): terminate, expired /);
    expect(result.stdout).toMatch(/pr-001 \(i-[0-9a-f]+, running\): none, not expired/);
    expect(result.stdout).toMatch(/pr-002 \(i-[0-9a-f]+, running\): none, no expiry set/);
    expect(result.summary).toContain('(dry run)');
    expect(rows(result).get('pr-003')!.result).toMatch(/^would terminate: expired /);
    expect(result.outputs.changed).toBe('false');
  });

  test('terminates exactly the expired hubs matching pr-*, in one call, and their security groups', async () => {
    await resetEmulator();
    const result = await runAction({
      'hub-name': 'pr-*',
      state: 'terminated',
      'expired-only': 'true',
    });
    expectSuccess(result);
    const terminations = await callsTo('TerminateInstances');
    expect(terminations).toHaveLength(1);
    expect(idCount(terminations[0]!)).toBe(10);

    for (const [name, instance] of await hubInstances()) {
      const reaped = name.startsWith('pr-') && expired(name);
      expect([name, instance.State?.Name]).toEqual([
        name,
        reaped ? 'terminated' : name === 'pr-004' ? 'stopped' : 'running',
      ]);
      if (!reaped) expect(tag(instance, 'tljh:hub')).toBe(name);
    }
    const groups = await securityGroupNames();
    expect(groups).not.toContain('tljh-pr-000');
    expect(groups).not.toContain('tljh-pr-003');
    expect(groups).toEqual(expect.arrayContaining(['tljh-pr-001', 'tljh-keep-000']));
    expect((await callsTo('DeleteSecurityGroup')).length).toBe(2);

    const table = rows(result);
    expect(table.size).toBe(30);
    expect(table.get('pr-000')!.result).toMatch(/^terminated \(expired /);
    expect(table.get('pr-001')!.result).toMatch(/^not expired \(expires /);
    expect(table.get('pr-002')!.result).toBe('no expiry set');
    expect(result.summary).toContain("Terminate expired hubs matching 'pr-*'");
  });
});

describe('the nightly jobs at once on an expired hub', () => {
  // examples/nightly.yml orders its two jobs now; run side by side, they still both succeed
  // (before, a hub met by both was FAILED in both tables: the stop turned termination, and the
  // terminate of a stopping hub).
  beforeAll(async () => {
    await resetEmulator({ aws: true });
    await seedHubs(1, { prefix: 'pr', expiresAt: () => iso(-HOUR) });
    await seedHubs(1, { prefix: 'main' });
    await createHubSecurityGroup('pr-000');
  });

  test('stop-all and the reaper together: both succeed; the hub terminated, its group gone', async () => {
    await resetEmulator();
    const [stop, reap] = await Promise.all([
      runAction({ 'hub-name': '*', state: 'stopped' }),
      runAction({ 'hub-name': 'pr-*', state: 'terminated', 'expired-only': 'true' }),
    ]);
    expectSuccess(stop);
    expectSuccess(reap);
    const hubs = await hubInstances();
    expect(hubs.get('pr-000')!.State?.Name).toBe('terminated');
    expect(hubs.get('main-000')!.State?.Name).toBe('stopped');
    expect(await securityGroupNames()).not.toContain('tljh-pr-000');
    expect(rows(reap).get('pr-000')).toMatchObject({ ok: true, result: /^terminated/ });
    // Listed by stop-all only if the reaper had not terminated it yet; listed, it is ok.
    expect(rows(stop).get('pr-000')?.ok ?? true).toBe(true);
  });
});

describe('dry run of one hub', () => {
  test('terminate one hub: prints the plan, no mutating call', async () => {
    await resetEmulator({ aws: true });
    await seedHubs(2, { prefix: 'solo' });
    await resetEmulator();
    const result = await runAction({
      'hub-name': 'solo-001',
      state: 'terminated',
      'dry-run': 'true',
    });
    expectSuccess(result);
    expect(result.stdout).toContain('terminate the instance');
    expect(result.stdout).toContain('dry run');
    expect(result.summary).toContain('Plan (not applied)');
    expect(await getMutatingCalls()).toEqual([]);
    expect((await hubInstances()).get('solo-001')!.State?.Name).toBe('running');
  });
});
