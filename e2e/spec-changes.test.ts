// Issue 10: a changed input changes the hub. Each test re-runs the built action on a hub that
// exists, with one input changed, and judges the change by what the hub now has: for the
// settings, what TLJH's own tljh-config wrote on a real-TLJH instance; for the instance, what
// EC2 (moto, through the emulator's front) describes. A stop only stops: the changes wait for
// the next running run, which applies them; a dry run lists every change and makes none.
import { MUTATING_OPERATIONS, hubApiUrl, resetEmulator } from './harness/emulator.ts';
import {
  growCalls,
  hubAdmins,
  hubPasswordMatches,
  readOnInstance,
  runOnInstance,
} from './harness/instance.ts';
import {
  describeInstance,
  expectSuccess,
  hubConfig,
  isInstall,
  isSettingsCommand,
  leaks,
  logOf,
  mutating,
  ownGroupRules,
  rootVolume,
  runRecorded,
  sendCommands,
  specTable,
  tagByHand,
  tagsOf,
  tljhConfigCalls,
  userTags,
  type RecordedRun,
} from './harness/spec.ts';

const BASE = { 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm', state: 'running' };

/** What the hub's /hub/api answers at an IP: its JSON, or the HTTP status. */
async function hubAnswers(ip: string): Promise<unknown> {
  const res = await fetch(hubApiUrl(ip));
  return res.status === 200 ? res.json() : res.status;
}

const HUB_API = { version: expect.stringMatching(/^\d+\.\d+\.\d+/) };

/** The run's one SendCommand, checked to be the settings command (no installer run). */
function expectOnlySettingsCommand(run: RecordedRun): void {
  const sent = sendCommands(run.calls);
  expect(sent).toHaveLength(1);
  expect(isSettingsCommand(sent[0]!)).toBe(true);
  expect(sent.filter(isInstall)).toEqual([]);
}

beforeAll(() => resetEmulator({ aws: true }));

describe('a real-TLJH hub: settings changed by re-runs, as TLJH itself has them', () => {
  const HUB = { ...BASE, 'hub-name': 'spec-real' };
  const FIRST_PASSWORD = 'Corr3ct-Horse-Battery';
  const NEW_PASSWORD = 'Tr0ub4dor-and-3-more';
  const CLIENT_ID = 'Iv1.0a1b2c3d4e5f6a7b';
  const CLIENT_SECRET = 'gh-oauth-client-secret-7d3e91a0c4';
  const AUTH = [
    'auth.type=oauthenticator.github.GitHubOAuthenticator',
    `auth.GitHubOAuthenticator.client_id=${CLIENT_ID}`,
    `auth.GitHubOAuthenticator.client_secret=${CLIENT_SECRET}`,
  ];
  let id = '';
  /** The inputs of the last successful run: each test changes one of them. */
  let inputs: Record<string, string> = {};

  const rerun = async (change: Record<string, string>): Promise<RecordedRun> => {
    if (!id) throw new Error('the hub was not created (see the first test)');
    inputs = { ...inputs, ...change };
    return runRecorded(inputs, 'real');
  };

  test('created once by the real installer, with a given admin password', async () => {
    inputs = { ...HUB, 'admin-password': FIRST_PASSWORD };
    const { result, calls } = await runRecorded(inputs, 'real');
    expectSuccess(result);
    id = result.outputs['instance-id']!;
    expect(sendCommands(calls).filter(isInstall)).toHaveLength(1);
    expect(readOnInstance(id, 'opt/tljh/installer.log')?.trimEnd()).toMatch(/ Done!$/);
    expect(hubAdmins(id)).toEqual(['naomi']);
    expect(hubPasswordMatches(id, 'naomi', FIRST_PASSWORD)).toBe(true);
  });

  test('1. tljh-config added (a memory limit, GitHub OAuth): one settings command; the secret never leaves; again is a no-op', async () => {
    const run = await rerun({ 'tljh-config': ['limits.memory=1G', ...AUTH].join('\n') });
    expectSuccess(run.result);
    expectOnlySettingsCommand(run);
    // What TLJH's own tljh-config wrote.
    const config = hubConfig(id);
    expect(config.limits).toEqual({ memory: '1G' });
    expect(config.auth).toEqual({
      type: 'oauthenticator.github.GitHubOAuthenticator',
      GitHubOAuthenticator: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    });
    // The hub was restarted with it (tljh-config reload hub).
    expect(readOnInstance(id, 'var/lib/emu-systemd/jupyterhub.loaded.yaml')).toContain(
      'GitHubOAuthenticator',
    );
    expect(run.result.stdout).toContain(`::add-mask::${CLIENT_SECRET}`);
    expect(leaks(CLIENT_SECRET, run)).toEqual([]);
    expect(specTable(run.result.summary)['tljh-config']).toMatchObject({ change: 'changed' });

    // The same inputs again: nothing to apply, nothing sent, the cheap look only.
    const again = await rerun({});
    expectSuccess(again.result);
    expect(sendCommands(again.calls)).toEqual([]);
    expect(again.actionCalls.length).toBeLessThanOrEqual(3);
    expect(mutating(again.actionCalls, MUTATING_OPERATIONS)).toEqual([]);
    expect(again.result.outputs.changed).toBe('false');
    expect(leaks(CLIENT_SECRET, again)).toEqual([]);
  });

  test('2. a key removed from the input is unset; a key set by hand on the hub stays', async () => {
    runOnInstance(id, [
      '/usr/bin/tljh-config',
      'set',
      'user_environment.default_app',
      'jupyterlab',
    ]);
    const run = await rerun({ 'tljh-config': AUTH.join('\n') });
    expectSuccess(run.result);
    expectOnlySettingsCommand(run);
    const config = hubConfig(id);
    expect(config.limits?.memory).toBeUndefined();
    expect(config.user_environment).toEqual({ default_app: 'jupyterlab' });
    expect(config.auth?.type).toBe('oauthenticator.github.GitHubOAuthenticator');
    expect(logOf(run.result)).toMatch(/unset limits\.memory/);
  });

  test('3. a new admin-password: TLJH stores the new one, not the old; no installer run', async () => {
    const run = await rerun({ 'admin-password': NEW_PASSWORD });
    expectSuccess(run.result);
    expectOnlySettingsCommand(run);
    expect(hubPasswordMatches(id, 'naomi', NEW_PASSWORD)).toBe(true);
    expect(hubPasswordMatches(id, 'naomi', FIRST_PASSWORD)).toBe(false);
    expect(leaks(NEW_PASSWORD, run)).toEqual([]);
    expect(specTable(run.result.summary)['admin-password']).toMatchObject({ change: 'changed' });
  });

  test('4. a new admin-user: TLJH has the new admin and not the old one', async () => {
    const run = await rerun({ 'admin-user': 'grace' });
    expectSuccess(run.result);
    expectOnlySettingsCommand(run);
    expect(hubAdmins(id)).toEqual(['grace']);
    // The given password is the new admin's now.
    expect(hubPasswordMatches(id, 'grace', NEW_PASSWORD)).toBe(true);
    expect(specTable(run.result.summary).admins).toMatchObject({ change: 'changed' });
  });

  test('5. a plugin added: the installer runs with it; the settings are still there', async () => {
    const run = await rerun({ 'tljh-plugins': 'tljh-emu-plugin-a' });
    expectSuccess(run.result);
    const sent = sendCommands(run.calls);
    expect(sent).toHaveLength(1);
    expect(isInstall(sent[0]!)).toBe(true);
    expect(readOnInstance(id, 'opt/tljh/state/emu-plugin-a.installed')).toBeDefined();
    const config = hubConfig(id);
    expect(config.auth).toEqual({
      type: 'oauthenticator.github.GitHubOAuthenticator',
      GitHubOAuthenticator: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    });
    expect(config.user_environment).toEqual({ default_app: 'jupyterlab' });
    expect(config.limits?.memory).toBeUndefined();
    expect(hubAdmins(id)).toEqual(['grace']);
    expect(hubPasswordMatches(id, 'grace', NEW_PASSWORD)).toBe(true);
    expect(leaks(CLIENT_SECRET, run)).toEqual([]);
  });

  test('6. https-domain and https-email added: TLJH serves HTTPS for the domain, without its installer', async () => {
    const run = await rerun({
      'https-domain': 'hub.example.org',
      'https-email': 'admin@example.org',
    });
    expectSuccess(run.result);
    expectOnlySettingsCommand(run);
    expect(run.result.outputs['hub-url']).toBe('https://hub.example.org/');
    const https = hubConfig(id).https;
    expect(https).toMatchObject({
      enabled: true,
      letsencrypt: { email: 'admin@example.org', domains: ['hub.example.org'] },
    });
    // traefik was restarted with the https entrypoint (reload proxy came before reload hub).
    expect(readOnInstance(id, 'var/lib/emu-systemd/traefik.loaded.toml')).toMatch(
      /\[entryPoints\.https\]/,
    );
    expect(run.result.stdout).toContain('https://hub.example.org/hub/api answers from the runner');
  });

  test('6b. https-domain and https-email removed: TLJH serves plain HTTP at the IP again, without its installer', async () => {
    const run = await rerun({ 'https-domain': '', 'https-email': '' });
    expectSuccess(run.result);
    expectOnlySettingsCommand(run);
    const ip = run.result.outputs['public-ip']!;
    expect(run.result.outputs['hub-url']).toBe(`http://${ip}/`);
    expect(hubConfig(id).https?.enabled).toBeUndefined();
    expect(readOnInstance(id, 'var/lib/emu-systemd/traefik.loaded.toml')).not.toMatch(
      /\[entryPoints\.https\]/,
    );
    expect(await hubAnswers(ip)).toEqual(HUB_API);
    // The settings of the earlier runs are still there.
    expect(hubConfig(id).auth?.type).toBe('oauthenticator.github.GitHubOAuthenticator');
    expect(hubAdmins(id)).toEqual(['grace']);
  });
});

describe('EC2-side changes on light hubs', () => {
  const run = (inputs: Record<string, string>): Promise<RecordedRun> =>
    runRecorded({ ...BASE, ...inputs }, 'light');

  /** Creates a light hub and returns its instance id. */
  async function create(inputs: Record<string, string>): Promise<string> {
    const { result } = await run(inputs);
    expectSuccess(result);
    return result.outputs['instance-id']!;
  }

  test('7. instance-type t3.small → t3.medium: stop, modify, start; the hub answers at its new IP; an arm64 type is refused', async () => {
    const hub = { 'hub-name': 'spec-type', 'instance-type': 't3.small' };
    const created = await run(hub);
    expectSuccess(created.result);
    const id = created.result.outputs['instance-id']!;
    const firstIp = created.result.outputs['public-ip']!;

    const changed = await run({ ...hub, 'instance-type': 't3.medium' });
    expectSuccess(changed.result);
    const ec2Changes = mutating(
      changed.actionCalls,
      new Set(['StopInstances', 'ModifyInstanceAttribute', 'StartInstances']),
    );
    expect(ec2Changes).toEqual(['StopInstances', 'ModifyInstanceAttribute', 'StartInstances']);
    expect(sendCommands(changed.calls)).toEqual([]);
    const log = logOf(changed.result);
    expect(log).toMatch(/change the instance type t3\.small → t3\.medium \(downtime/);
    expect(log).toMatch(/Changed the instance type t3\.small → t3\.medium\./);
    const instance = await describeInstance(id);
    expect(instance.InstanceType).toBe('t3.medium');
    expect(instance.State?.Name).toBe('running');
    const ip = changed.result.outputs['public-ip']!;
    expect(ip).toBe(instance.PublicIpAddress);
    expect(ip).not.toBe(firstIp);
    expect(changed.result.outputs['hub-url']).toBe(`http://${ip}/`);
    expect(await hubAnswers(ip)).toEqual(HUB_API);

    // Another architecture: refused before anything changes.
    const arm = await run({ ...hub, 'instance-type': 't4g.small' });
    expect(arm.result.exitCode).not.toBe(0);
    expect(logOf(arm.result)).toMatch(/instance-type'?:? .*t4g\.small.*arm64/);
    expect(mutating(arm.actionCalls, MUTATING_OPERATIONS)).toEqual([]);
    expect((await describeInstance(id)).InstanceType).toBe('t3.medium');
  });

  test('8. root-volume-size 20 → 30: ModifyVolume, then growpart and resize2fs; a smaller size is refused', async () => {
    const hub = { 'hub-name': 'spec-volume', 'root-volume-size': '20' };
    const id = await create(hub);
    expect((await rootVolume(id)).Size).toBe(20);

    const grown = await run({ ...hub, 'root-volume-size': '30' });
    expectSuccess(grown.result);
    expect(mutating(grown.actionCalls, new Set(['ModifyVolume']))).toEqual(['ModifyVolume']);
    expect((await rootVolume(id)).Size).toBe(30);
    expect(growCalls(id)).toEqual([
      ['growpart', '/dev/nvme0n1', '1'],
      ['resize2fs', '/dev/nvme0n1p1'],
    ]);
    // One SSM command, the grow script: no installer, no settings command.
    const sent = sendCommands(grown.calls);
    expect(sent).toHaveLength(1);
    expect(isInstall(sent[0]!) || isSettingsCommand(sent[0]!)).toBe(false);
    expect(logOf(grown.result)).toMatch(/grew the root volume 20 → 30 GiB/i);

    const smaller = await run({ ...hub, 'root-volume-size': '25' });
    expect(smaller.result.exitCode).not.toBe(0);
    expect(logOf(smaller.result)).toMatch(/root-volume-size/);
    expect(logOf(smaller.result)).toMatch(/never shrink/);
    expect(mutating(smaller.actionCalls, MUTATING_OPERATIONS)).toEqual([]);
    expect((await rootVolume(id)).Size).toBe(30);
  });

  test('9. allowed-cidrs narrowed to 203.0.113.0/24: exactly that on 80 and 443; widening back works', async () => {
    const hub = { 'hub-name': 'spec-cidrs' };
    await create(hub);
    const all = ['0.0.0.0/0', '::/0'];
    expect((await ownGroupRules('spec-cidrs')).byPort).toEqual({ 80: all, 443: all });

    const narrowed = await run({ ...hub, 'allowed-cidrs': '203.0.113.0/24' });
    expectSuccess(narrowed.result);
    expect(await ownGroupRules('spec-cidrs')).toEqual({
      byPort: { 80: ['203.0.113.0/24'], 443: ['203.0.113.0/24'] },
      others: [],
    });
    const ops = mutating(narrowed.actionCalls, MUTATING_OPERATIONS);
    expect(ops).toContain('RevokeSecurityGroupIngress');
    expect(sendCommands(narrowed.calls)).toEqual([]);

    const widened = await run({ ...hub, 'allowed-cidrs': '0.0.0.0/0, ::/0' });
    expectSuccess(widened.result);
    expect(await ownGroupRules('spec-cidrs')).toEqual({
      byPort: { 80: all, 443: all },
      others: [],
    });
  });

  test('10. tags added, then one changed and one removed, on the instance and its root volume; tags set by hand and tljh: tags stay', async () => {
    const hub = { 'hub-name': 'spec-tags' };
    const id = await create(hub);
    const own = tagsOf(await describeInstance(id));

    const added = await run({ ...hub, tags: 'team=data\ncourse=intro' });
    expectSuccess(added.result);
    expect(userTags(await describeInstance(id))).toEqual({ team: 'data', course: 'intro' });
    expect(userTags(await rootVolume(id))).toEqual({ team: 'data', course: 'intro' });

    const volumeId = (await rootVolume(id)).VolumeId!;
    await tagByHand([id, volumeId], { 'cost-centre': 'cc-42' });

    const changed = await run({ ...hub, tags: 'team=ml' });
    expectSuccess(changed.result);
    const expected = { team: 'ml', 'cost-centre': 'cc-42' };
    const instance = await describeInstance(id);
    expect(userTags(instance)).toEqual(expected);
    expect(userTags(await rootVolume(id))).toEqual(expected);
    // The action's own tags: never removed, the hub's identity unchanged.
    const deleted = changed.actionCalls
      .filter((c) => c.operation === 'DeleteTags')
      .flatMap((c) =>
        Object.entries(c.params)
          .filter(([k]) => /^Tag\.\d+\.Key$/.test(k))
          .map(([, v]) => String(v)),
      );
    expect(deleted).toEqual(['course']);
    const after = tagsOf(instance);
    for (const key of ['tljh:hub', 'tljh:managed-by', 'tljh:installed-version']) {
      expect([key, after[key]]).toEqual([key, own[key]]);
    }
  });

  test('11. ttl: created with 8h (tljh:expires-at), a run without ttl removes the tag', async () => {
    const hub = { 'hub-name': 'spec-ttl' };
    const created = await run({ ...hub, ttl: '8h' });
    expectSuccess(created.result);
    const id = created.result.outputs['instance-id']!;
    expect(created.result.outputs['expires-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(tagsOf(await describeInstance(id))['tljh:expires-at']).toBe(
      created.result.outputs['expires-at'],
    );

    const kept = await run(hub);
    expectSuccess(kept.result);
    expect(tagsOf(await describeInstance(id))).not.toHaveProperty(['tljh:expires-at']);
    expect(kept.result.outputs['expires-at'] ?? '').toBe('');
    expect(specTable(kept.result.summary).ttl).toMatchObject({ change: 'changed' });
  });

  test('12. a stop only stops: every change is pending, and the next running run applies them all', async () => {
    const hub = { 'hub-name': 'spec-stopped' };
    const id = await create(hub);
    const changes = {
      'tljh-config': 'limits.memory=2G',
      'root-volume-size': '30',
      'instance-type': 't3.medium',
      tags: 'course=intro',
    };

    const stopped = await run({ ...hub, ...changes, state: 'stopped' });
    expectSuccess(stopped.result);
    expect(stopped.result.outputs.state).toBe('stopped');
    const instance = await describeInstance(id);
    expect(instance.State?.Name).toBe('stopped');
    // Nothing of the spec changed: a stop job with other inputs never takes them for the spec.
    expect(instance.InstanceType).toBe('t3.small');
    expect(userTags(instance)).toEqual({});
    expect((await rootVolume(id)).Size).toBe(20);
    expect(sendCommands(stopped.calls)).toEqual([]);
    expect(mutating(stopped.actionCalls, MUTATING_OPERATIONS)).toEqual(['StopInstances']);
    const table = specTable(stopped.result.summary);
    for (const group of ['instance-type', 'tags', 'tljh-config', 'root-volume']) {
      expect([group, table[group]?.change]).toEqual([group, 'pending (next running run)']);
    }
    expect(stopped.result.summary).toMatch(
      /Pending until the next run with state running.*root-volume/,
    );
    for (const group of ['instance-type', 'tags', 'tljh-config', 'root-volume']) {
      expect(logOf(stopped.result)).toContain(
        `Pending until the next run with state running: ${group}.`,
      );
    }
    const callsBefore = tljhConfigCalls(id).length;

    const started = await run({ ...hub, ...changes });
    expectSuccess(started.result);
    // The type changes before the start (no second stop), then the volume grows.
    expect(
      mutating(
        started.actionCalls,
        new Set(['StopInstances', 'ModifyInstanceAttribute', 'StartInstances', 'ModifyVolume']),
      ),
    ).toEqual(['ModifyInstanceAttribute', 'StartInstances', 'ModifyVolume']);
    const after = await describeInstance(id);
    expect(after.State?.Name).toBe('running');
    expect(after.InstanceType).toBe('t3.medium');
    expect(userTags(after)).toEqual({ course: 'intro' });
    expect(userTags(await rootVolume(id))).toEqual({ course: 'intro' });
    expect((await rootVolume(id)).Size).toBe(30);
    expect(growCalls(id).map((c) => c[0])).toEqual(['growpart', 'resize2fs']);
    const newCalls = tljhConfigCalls(id).slice(callsBefore);
    expect(newCalls).toContainEqual(['set', 'limits.memory', '2G']);
    expect(newCalls.at(-1)).toEqual(['reload', 'hub']);
    expect(sendCommands(started.calls).filter(isInstall)).toEqual([]);
    expect(await hubAnswers(started.result.outputs['public-ip']!)).toEqual(HUB_API);

    // Everything is applied and recorded now: the next run changes nothing.
    const again = await run({ ...hub, ...changes });
    expectSuccess(again.result);
    expect(mutating(again.actionCalls, MUTATING_OPERATIONS)).toEqual([]);
  });

  test('13. a dry run with several changed inputs lists each group in the Spec table and changes nothing', async () => {
    const hub = { 'hub-name': 'spec-dry' };
    const id = await create(hub);
    const dry = await run({
      ...hub,
      'dry-run': 'true',
      'instance-type': 't3.medium',
      'root-volume-size': '30',
      'allowed-cidrs': '203.0.113.0/24',
      tags: 'team=data',
      'tljh-config': 'limits.memory=1G',
      'admin-password': 'Dry-run-Passw0rd',
    });
    expectSuccess(dry.result);
    expect(mutating(dry.actionCalls, MUTATING_OPERATIONS)).toEqual([]);
    expect(mutating(dry.calls, MUTATING_OPERATIONS)).toEqual([]);
    const table = specTable(dry.result.summary);
    for (const group of [
      'instance-type',
      'root-volume',
      'allowed-cidrs',
      'tags',
      'tljh-config',
      'admin-password',
    ]) {
      expect([group, table[group]?.change]).toEqual([group, 'would change']);
    }
    for (const group of ['admins', 'https', 'plugins', 'ttl']) {
      expect([group, table[group]?.change]).toEqual([group, 'unchanged']);
    }
    expect(table['instance-type']?.detail).toBe('t3.small → t3.medium');
    expect(table['root-volume']?.detail).toBe('20 GiB → 30 GiB');
    expect(table.tags?.detail).toBe('+team=data');
    expect(dry.result.summary).not.toContain('Dry-run-Passw0rd');
    // The log lists the same diff, marked ~.
    const log = logOf(dry.result);
    for (const group of ['instance-type', 'root-volume', 'allowed-cidrs', 'tags', 'tljh-config'])
      expect(log).toContain(`~ ${group}:`);
    // Nothing changed.
    const instance = await describeInstance(id);
    expect(instance.InstanceType).toBe('t3.small');
    expect(userTags(instance)).toEqual({});
    expect((await rootVolume(id)).Size).toBe(20);
  });
});
