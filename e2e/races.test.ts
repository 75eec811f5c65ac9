// Races: four workflow runs reconcile one hub at the same moment (four different
// GITHUB_RUN_IDs, so four different ClientTokens: nothing deduplicates their launches). Each
// round must end with exactly one live instance carrying the hub's tag, every run must
// succeed and report that instance, and a run whose launch lost must say it terminated it.
import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { frontUrl, hubApiUrl, resetEmulator, useLightInstances } from './harness/emulator.ts';
import { runAction } from './harness/run-action.ts';

// Many hubs at once: light instances (see useLightInstances).
useLightInstances();

const RUNS = 4;
const ROUNDS = 10;
const LIVE = ['pending', 'running', 'stopping', 'stopped'];
const credentials = { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' };

let ec2: EC2Client;
beforeAll(async () => {
  await resetEmulator({ aws: true });
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: frontUrl(), credentials, maxAttempts: 1 });
});
afterAll(() => ec2.destroy());

/** Every instance tagged as the hub (any state), through DescribeInstances on the front. */
async function hubInstances(hub: string): Promise<Instance[]> {
  const out = await ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: 'tag:tljh:hub', Values: [hub] }] }),
  );
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

const rounds = Array.from({ length: ROUNDS }, (_, i) => i + 1);

test.each(rounds)(
  `round %i: ${RUNS} simultaneous runs for one hub end with exactly one live instance`,
  async (round) => {
    const hub = `race-${round}`;
    await resetEmulator();
    const results = await Promise.all(
      Array.from({ length: RUNS }, (_, n) =>
        runAction(
          { 'hub-name': hub, 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm' },
          // Different workflow runs: different run ids, hence different ClientTokens.
          // Generous: four runs, moto and the front share the machine with the rest of CI (a
          // run held up on a loaded machine once passed 110 s); the test is of outcomes, not speed.
          { env: { GITHUB_RUN_ID: String(9000 + round * 10 + n) }, timeoutMs: 280_000 },
        ),
      ),
    );
    const all = await hubInstances(hub);
    const live = all.filter((i) => LIVE.includes(i.State?.Name ?? ''));
    const report = results
      .map((r, n) => `--- run ${n} (exit ${r.exitCode}) ---\n${r.stdout}\n${r.stderr}`)
      .join('\n');
    if (live.length !== 1) {
      throw new Error(
        `round ${round}: ${live.length} live instances carry hub '${hub}' ` +
          `(${live.map((i) => `${i.InstanceId} ${i.State?.Name}`).join(', ')}):\n${report}`,
      );
    }
    const survivor = live[0]!;
    for (const [n, r] of results.entries()) {
      if (r.exitCode !== 0) throw new Error(`round ${round}: run ${n} failed:\n${report}`);
      expect(r.outputs['instance-id']).toBe(survivor.InstanceId);
    }
    expect(survivor.State?.Name).toBe('running');
    // The oldest launch wins (ties broken by instance id).
    const oldest = [...all].sort(
      (a, b) =>
        (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0) ||
        a.InstanceId!.localeCompare(b.InstanceId!),
    )[0];
    expect(survivor.InstanceId).toBe(oldest?.InstanceId);
    expect((await fetch(hubApiUrl(survivor.PublicIpAddress!))).status).toBe(200);
    // Every other instance launched for the hub is gone, and its run said so.
    const logs = results.map((r) => r.stdout).join('\n');
    for (const loser of all.filter((i) => i !== survivor)) {
      expect(['shutting-down', 'terminated']).toContain(loser.State?.Name);
      const said = logs
        .split('\n')
        .some((l) => l.includes(loser.InstanceId!) && /terminat/i.test(l));
      if (!said) throw new Error(`no run said it terminated ${loser.InstanceId}:\n${report}`);
    }
  },
  300_000,
);
