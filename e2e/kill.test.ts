// Cancelled and crashed runs: the action is killed with SIGKILL (what a cancelled job or a
// lost runner does) at five points of a create, each made exact by the front holding one
// call (scenario.pauseOn). Each time, a re-run (a new run attempt) converges on one healthy
// hub from the tags alone: one live instance, /hub/api answering 200, tljh:installed-version
// set. The tag is written only after the install was verified, so an interrupted install is
// found (no tag) and run again.
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import {
  frontUrl,
  getCalls,
  getHeld,
  hubApiUrl,
  releaseHeld,
  resetEmulator,
  setScenario,
  type PauseOn,
  type Scenario,
  useLightInstances,
} from './harness/emulator.ts';
import { runAction } from './harness/run-action.ts';

// Many hubs at once: light instances (see useLightInstances).
useLightInstances();

const credentials = { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' };
const LIVE = ['pending', 'running', 'stopping', 'stopped'];
let ec2: EC2Client;

beforeAll(async () => {
  await resetEmulator({ aws: true });
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: frontUrl(), credentials, maxAttempts: 1 });
});
afterAll(() => ec2.destroy());

async function liveHubInstances(hub: string): Promise<Instance[]> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: 'tag:tljh:hub', Values: [hub] },
        { Name: 'instance-state-name', Values: LIVE },
      ],
    }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

function tag(instance: Instance, key: string): string | undefined {
  return instance.Tags?.find((t) => t.Key === key)?.Value;
}

/** Polls a URL for up to 2 s until it answers `want`; returns the last status seen. */
async function statusSoon(url: string, want: number): Promise<number> {
  let status = 0;
  for (let i = 0; i < 40 && status !== want; i++) {
    status = (await fetch(url)).status;
    if (status !== want) await new Promise((r) => setTimeout(r, 50));
  }
  return status;
}

interface KillPoint {
  name: string;
  pauseOn: PauseOn;
  scenario?: Partial<Scenario>;
  /** What must be true right after the kill (the run really died at that point). */
  afterKill?: (instance: Instance) => Promise<void>;
}

const POINTS: KillPoint[] = [
  {
    name: 'after RunInstances (launched, its answer never arrived)',
    pauseOn: { operation: 'RunInstances', when: 'after' },
  },
  {
    name: 'while waiting for the SSM agent',
    pauseOn: { operation: 'DescribeInstanceInformation', when: 'after', nth: 2 },
    scenario: { agentDelayPolls: 4 },
  },
  {
    name: 'right after SendCommand of the install',
    pauseOn: { operation: 'SendCommand', when: 'after', requestIncludes: 'install TLJH' },
    scenario: { installDelayMs: 1500 },
  },
  {
    name: 'mid-install (InProgress)',
    pauseOn: {
      operation: 'GetCommandInvocation',
      when: 'after',
      responseIncludes: '"Status":"InProgress"',
    },
    scenario: { installDelayMs: 3000 },
    afterKill: async (instance) => {
      // The install goes on without the action: TLJH's progress page shows (403), not a hub.
      expect(await statusSoon(hubApiUrl(instance.PublicIpAddress!), 403)).toBe(403);
    },
  },
  {
    name: 'after the install, before tagging tljh:installed-version',
    pauseOn: { operation: 'CreateTags', when: 'before', requestIncludes: 'tljh:installed-version' },
    afterKill: async (instance) => {
      expect((await fetch(hubApiUrl(instance.PublicIpAddress!))).status).toBe(200);
    },
  },
];

const HUB = { 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm', state: 'running' };

test.each(POINTS.map((p, i) => [p.name, i] as const))(
  'killed %s: a re-run converges on one healthy hub',
  async (_name, index) => {
    const point = POINTS[index]!;
    const hub = `killed-${index + 1}`;
    await resetEmulator();
    await setScenario({ ...point.scenario, pauseOn: point.pauseOn });
    const killed = await runAction(
      { ...HUB, 'hub-name': hub },
      { killWhen: async () => (await getHeld()).length > 0 },
    );
    if (!killed.killed) {
      throw new Error(`the run was not killed (exit ${killed.exitCode}):\n${killed.stdout}`);
    }
    expect((await getHeld()).map((c) => c.operation)).toEqual([point.pauseOn.operation]);
    await setScenario({ pauseOn: null });
    await releaseHeld();
    if (point.pauseOn.when === 'before') {
      // The caller died before its request went out: released, it must not be handled.
      await new Promise((r) => setTimeout(r, 200));
      const held = (await getCalls()).filter((c) => c.held);
      expect(held.map((c) => [c.operation, c.status])).toEqual([
        [point.pauseOn.operation, undefined],
      ]);
    }

    const [orphan, ...others] = await liveHubInstances(hub);
    expect(others).toEqual([]);
    expect(orphan).toBeDefined();
    expect(tag(orphan!, 'tljh:installed-version')).toBeUndefined();
    await point.afterKill?.(orphan!);

    // The re-run: a new attempt of the workflow run, with the default scenario.
    await resetEmulator();
    const rerun = await runAction(
      { ...HUB, 'hub-name': hub },
      { env: { GITHUB_RUN_ATTEMPT: '2' } },
    );
    if (rerun.exitCode !== 0) {
      throw new Error(`the re-run failed (${rerun.exitCode}):\n${rerun.stdout}\n${rerun.stderr}`);
    }
    expect((await getCalls()).filter((c) => c.operation === 'RunInstances')).toEqual([]);
    const live = await liveHubInstances(hub);
    expect(live.map((i) => i.InstanceId)).toEqual([orphan!.InstanceId]);
    expect(rerun.outputs['instance-id']).toBe(orphan!.InstanceId);
    expect(tag(live[0]!, 'tljh:installed-version')).toBe('2.0.0');
    const api = await fetch(hubApiUrl(live[0]!.PublicIpAddress!));
    expect(api.status).toBe(200);
  },
  120_000,
);
