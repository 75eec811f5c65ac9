// Issue: secure by default. A hub never comes up claimable; the admin password and settings
// reach the instance only through a SecureString parameter that is deleted after the install;
// HTTPS through tljh-config. Runs dist/ against the emulator, whose instances really execute
// the install script (and the action's Python helper, with IMDSv2 credentials), TLJH's own
// installer and tljh-config: each test reads back what TLJH itself stored.
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { deleteParameters, putSecureParameter } from '../src/aws/ssm.ts';
import { settingsParameterName, settingsParameterTags } from '../src/settings-parameter.ts';
import { frontUrl, getCalls, resetEmulator, type RecordedCall } from './harness/emulator.ts';
import { INSTANCE_ACCESS_KEY } from './harness/journal.ts';
import {
  hubPasswordMatches,
  readOnInstance,
  runOnInstance,
  setInstalledVersionTag,
} from './harness/instance.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

const HUB = { 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm', state: 'running' };
const GIVEN_PASSWORD = 'Corr3ct-Horse-Battery';
const CLIENT_SECRET = 'oauth-client-secret-4f9a2c';

/** The hub's TLJH config (config.yaml), as TLJH's own installer and tljh-config wrote it. */
function hubConfig(instanceId: string): string {
  return readOnInstance(instanceId, 'opt/tljh/config/config.yaml') ?? '';
}

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0) throw new Error(`action failed:\n${result.stdout}\n${result.stderr}`);
}

/** Every place a secret must never be: log lines (but the runner's own ::add-mask:: command),
 * the summary, and every AWS request except the PutParameter that carries it encrypted. */
function leaks(secret: string, result: ActionResult, calls: RecordedCall[]): string[] {
  const found: string[] = [];
  for (const line of `${result.stdout}\n${result.stderr}`.split('\n')) {
    if (line.includes(secret) && !line.startsWith('::add-mask::')) found.push(`log: ${line}`);
  }
  if (result.summary.includes(secret)) found.push('job summary');
  for (const call of calls) {
    const params =
      call.operation === 'PutParameter' ? { ...call.params, Value: '(encrypted)' } : call.params;
    if (JSON.stringify(params).includes(secret)) found.push(`${call.service} ${call.operation}`);
  }
  return found;
}

beforeAll(() => resetEmulator({ aws: true }));
beforeEach(() => resetEmulator());

test('a given admin password reaches TLJH only through a SecureString parameter, deleted after use', async () => {
  const result = await runAction({
    ...HUB,
    'hub-name': 'given-password',
    'admin-password': GIVEN_PASSWORD,
  });
  expectSuccess(result);
  const id = result.outputs['instance-id']!;
  expect(hubPasswordMatches(id, 'naomi', GIVEN_PASSWORD)).toBe(true);
  expect(result.outputs['admin-password']).toBe('');

  const calls = await getCalls();
  const ops = calls.map((c) => c.operation);
  const put = calls.find((c) => c.operation === 'PutParameter')!;
  expect(put.params).toMatchObject({
    Type: 'SecureString',
    Name: `/tljh-ec2-action/given-password/${id}/settings`,
  });
  const sent = calls.find((c) => c.operation === 'SendCommand')!;
  expect(JSON.stringify(sent.params)).toContain(`/tljh-ec2-action/given-password/${id}/settings`);
  // Put before the command, deleted after it finished.
  expect(ops.indexOf('PutParameter')).toBeLessThan(ops.indexOf('SendCommand'));
  expect(ops.lastIndexOf('DeleteParameter')).toBeGreaterThan(
    ops.lastIndexOf('GetCommandInvocation'),
  );
  expect(calls.find((c) => c.operation === 'DeleteParameter')!.params).toMatchObject({
    Name: put.params.Name,
  });
  expect(result.stdout).toContain(`::add-mask::${GIVEN_PASSWORD}`);
  expect(leaks(GIVEN_PASSWORD, result, calls)).toEqual([]);

  // A no-op re-run sends nothing at all.
  await resetEmulator();
  const again = await runAction({
    ...HUB,
    'hub-name': 'given-password',
    'admin-password': GIVEN_PASSWORD,
  });
  expectSuccess(again);
  expect((await getCalls()).map((c) => c.operation)).not.toContain('PutParameter');
});

test('without a password or authenticator, one is generated, set on the hub and output masked', async () => {
  const result = await runAction({ ...HUB, 'hub-name': 'generated-password' });
  expectSuccess(result);
  const password = result.outputs['admin-password']!;
  expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
  expect(hubPasswordMatches(result.outputs['instance-id']!, 'naomi', password)).toBe(true);
  expect(result.stdout).toContain(`::add-mask::${password}`);
  expect(leaks(password, result, await getCalls())).toEqual([]);
  expect(result.summary).toContain('admin-password');

  // A later reinstall (an upgrade from an older version) keeps the admin's password.
  await setInstalledVersionTag(result.outputs['instance-id']!, '1.0.0');
  await resetEmulator();
  const again = await runAction({ ...HUB, 'hub-name': 'generated-password' });
  expectSuccess(again);
  expect((await getCalls()).filter((c) => c.operation === 'SendCommand')).toHaveLength(1);
  expect(again.outputs['admin-password']).toBe('');
  expect(hubPasswordMatches(result.outputs['instance-id']!, 'naomi', password)).toBe(true);
});

test('with an OAuth authenticator no password is generated, and its secret travels like one', async () => {
  const result = await runAction({
    ...HUB,
    'hub-name': 'oauth',
    'tljh-config': [
      'auth.type = oauthenticator.github.GitHubOAuthenticator',
      `auth.GitHubOAuthenticator.client_secret = ${CLIENT_SECRET}`,
      'auth.GitHubOAuthenticator.oauth_callback_url = https://hub.example.org/hub/oauth_callback',
    ].join('\n'),
  });
  expectSuccess(result);
  const id = result.outputs['instance-id']!;
  expect(result.outputs['admin-password']).toBe('');
  expect(readOnInstance(id, 'opt/tljh/state/passwords.dbm')).toBeUndefined();
  // What TLJH's own tljh-config wrote, read back by TLJH's YAML library on the hub.
  const auth = runOnInstance(id, [
    '/opt/tljh/hub/bin/python3',
    '-c',
    'import json; from ruamel.yaml import YAML; ' +
      'print(json.dumps(YAML(typ="safe").load(open("/opt/tljh/config/config.yaml"))["auth"]))',
  ]);
  expect(JSON.parse(auth)).toEqual({
    type: 'oauthenticator.github.GitHubOAuthenticator',
    GitHubOAuthenticator: {
      client_secret: CLIENT_SECRET,
      oauth_callback_url: 'https://hub.example.org/hub/oauth_callback',
    },
  });
  // The hub was restarted with it (tljh-config reload hub).
  expect(readOnInstance(id, 'var/lib/emu-systemd/jupyterhub.loaded.yaml')).toContain(
    'GitHubOAuthenticator',
  );
  expect(leaks(CLIENT_SECRET, result, await getCalls())).toEqual([]);
});

test("HTTPS: Let's Encrypt through tljh-config, the https:// URL verified from the runner", async () => {
  const result = await runAction({
    ...HUB,
    'hub-name': 'secure',
    'https-domain': 'hub.example.org',
    'https-email': 'ops@example.org',
  });
  expectSuccess(result);
  expect(result.outputs['hub-url']).toBe('https://hub.example.org/');
  expect(result.stdout).toContain('https://hub.example.org/hub/api answers from the runner: 200');
  const id = result.outputs['instance-id']!;
  const config = hubConfig(id);
  expect(config).toMatch(/https:\n(\s+.*\n)*\s+enabled: true/);
  expect(config).toContain('email: ops@example.org');
  expect(config).toMatch(/domains:\n\s+- hub\.example\.org/);
  // traefik was restarted with the https entrypoint, the hub behind it (proxy, then hub).
  expect(readOnInstance(id, 'var/lib/emu-systemd/traefik.loaded.toml')).toMatch(
    /\[entryPoints\.https\]/,
  );
});

describe("one hub's instance cannot read another hub's settings", () => {
  // The emulator holds every request signed with an instance's role credentials to
  // docs/iam/instance-role-policy.json, evaluated with the instance the credentials were issued
  // to and the parameter's tags (e2e/emulator/instance-role.ts), as AWS does.
  const caller = () =>
    new SSMClient({
      region: 'us-east-1',
      endpoint: frontUrl(),
      credentials: { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' },
      maxAttempts: 1,
    });

  /** The SSM client of a process with instance `id`'s role credentials (root on it, say). */
  async function asInstance(id: string): Promise<SSMClient> {
    const imds = `${frontUrl()}/__imds/${id}/latest`;
    const token = await (
      await fetch(`${imds}/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
    const get = async (path: string) =>
      (await fetch(`${imds}${path}`, { headers: { 'x-aws-ec2-metadata-token': token } })).text();
    const role = (await get('/meta-data/iam/security-credentials/')).trim();
    const creds = JSON.parse(await get(`/meta-data/iam/security-credentials/${role}`)) as Record<
      string,
      string
    >;
    return new SSMClient({
      region: 'us-east-1',
      endpoint: frontUrl(),
      credentials: {
        accessKeyId: creds.AccessKeyId!,
        secretAccessKey: creds.SecretAccessKey!,
        sessionToken: creds.Token!,
      },
      maxAttempts: 1,
    });
  }

  async function read(ssm: SSMClient, name: string): Promise<string> {
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return out.Parameter?.Value ?? '';
    } catch (err) {
      return (err as Error).name;
    }
  }

  test("the action tags its settings for its instance, which is denied another hub's", async () => {
    const result = await runAction({ ...HUB, 'hub-name': 'alpha' });
    expectSuccess(result);
    const alpha = result.outputs['instance-id']!;
    const own = settingsParameterName('alpha', alpha);

    // Tagged for its instance before the command; the instance's read of it was allowed.
    const calls = await getCalls();
    const ops = calls.map((c) => c.operation);
    expect(calls.find((c) => c.operation === 'AddTagsToResource')?.params).toEqual({
      ResourceType: 'Parameter',
      ResourceId: own,
      Tags: expect.arrayContaining([{ Key: 'tljh:instance-id', Value: alpha }]) as unknown,
    });
    expect(ops.indexOf('AddTagsToResource')).toBeLessThan(ops.indexOf('SendCommand'));
    const byInstance = calls.filter((c) => c.accessKey === INSTANCE_ACCESS_KEY);
    expect(byInstance.map((c) => [c.operation, c.status])).toEqual([['GetParameter', 200]]);

    // Hub beta's settings while its install runs, written as the action writes them.
    const beta = 'i-0bbbbbbbbbbbbbbbb';
    const betaSettings = settingsParameterName('beta', beta);
    const ssm = caller();
    const alphaRole = await asInstance(alpha);
    try {
      await putSecureParameter(
        ssm,
        betaSettings,
        'beta-secret',
        'test',
        settingsParameterTags('beta', beta),
      );
      await putSecureParameter(
        ssm,
        own,
        'alpha-secret',
        'test',
        settingsParameterTags('alpha', alpha),
      );
      expect(await read(alphaRole, own)).toBe('alpha-secret');
      expect(await read(alphaRole, betaSettings)).toBe('AccessDeniedException');
      // Its own path, but tagged for another instance: the tag decides, not the name.
      await putSecureParameter(ssm, own, 'moved', 'test', settingsParameterTags('alpha', beta));
      expect(await read(alphaRole, own)).toBe('AccessDeniedException');
      expect(await read(await asInstance(beta), betaSettings)).toBe('beta-secret');
    } finally {
      await deleteParameters(ssm, [betaSettings, own]);
      ssm.destroy();
      alphaRole.destroy();
    }
  });
});
