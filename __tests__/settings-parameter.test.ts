// The settings parameter: its name and tags, its round trip around an install (written,
// used, deleted whatever happens), what it carries, and the sweep of leftovers.
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HubSpec } from '../src/inputs/spec.ts';
import {
  deleteSettingsLeftovers,
  hubSettings,
  listSettingsParameters,
  settingsParameterInstance,
  settingsParameterName,
  settingsParameterTags,
  withSettingsParameter,
  type HubSettings,
} from '../src/settings-parameter.ts';
import { awsError } from './helpers/fakes.ts';
import { useMockedSsm } from './helpers/mocked-clients.ts';
import { RecordingLog } from './helpers/recording-log.ts';

const { ssmMock, ssm } = useMockedSsm();
const ID = 'i-0123456789abcdef0';
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

let log: RecordingLog;
let infos: string[];
let warnings: string[];
const ctx = () => ({ ssm, log });

beforeEach(() => {
  log = new RecordingLog();
  ({ infos, warnings } = log);
});

describe('settings parameters', () => {
  test('one per instance under the hub, and the instance read back from the name', () => {
    const name = settingsParameterName('pr-12', ID);
    expect(name).toBe(`/tljh-ec2-action/pr-12/${ID}/settings`);
    expect(settingsParameterInstance(name)).toBe(ID);
    expect(settingsParameterInstance('/tljh-ec2-action/pr-12/other')).toBeUndefined();
  });

  test('tagged with the instance that may read it (the instance role policy reads this tag)', () => {
    expect(settingsParameterTags('pr-12', ID)).toEqual({
      'tljh:instance-id': ID,
      'tljh:hub': 'pr-12',
      'tljh:managed-by': 'tljh-ec2-action',
    });
    const policy = readFileSync(join(REPO, 'docs', 'iam', 'instance-role-policy.json'), 'utf8');
    expect(policy).toContain('${aws:ResourceTag/tljh:instance-id}');
  });

  test('listed across pages, recursively under each hub', async () => {
    ssmMock
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [{ Name: 'a' }], NextToken: 't' })
      .resolvesOnce({ Parameters: [{ Name: 'b' }, {}] });
    expect(await listSettingsParameters(ssm, ['w'])).toEqual(['a', 'b']);
    const calls = ssmMock.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input);
    // (The SDK's paginator reuses one input object, so only what every page shares is checked.)
    expect(calls).toHaveLength(2);
    for (const input of calls) {
      expect(input).toMatchObject({ Path: '/tljh-ec2-action/w/', Recursive: true });
    }
  });
});

describe('withSettingsParameter: written, used, deleted', () => {
  const NAME = `/tljh-ec2-action/pr-12/${ID}/settings`;
  const SETTINGS: HubSettings = { adminPassword: 'pw', settings: [['a', 'b']], items: [] };

  beforeEach(() => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    ssmMock.on(AddTagsToResourceCommand).resolves({});
    ssmMock.on(DeleteParameterCommand).resolves({});
  });

  test('fn gets the name; the value is the settings as JSON, tagged for the instance; deleted after', async () => {
    const order: string[] = [];
    ssmMock.on(PutParameterCommand).callsFake(() => {
      order.push('put');
      return { Version: 1 };
    });
    ssmMock.on(DeleteParameterCommand).callsFake(() => {
      order.push('delete');
      return {};
    });
    const result = await withSettingsParameter(ctx(), 'pr-12', ID, SETTINGS, async (name) => {
      order.push(`fn ${name}`);
      return 42;
    });
    expect(result).toBe(42);
    expect(order).toEqual(['put', `fn ${NAME}`, 'delete']);
    const put = ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Name: NAME, Type: 'SecureString' });
    expect(JSON.parse(put.Value!)).toEqual(SETTINGS);
    const tags = ssmMock.commandCalls(AddTagsToResourceCommand)[0]!.args[0].input.Tags;
    expect(tags).toContainEqual({ Key: 'tljh:instance-id', Value: ID });
    expect(infos.join('\n')).toContain(`SecureString parameter ${NAME}`);
  });

  test("deleted when fn fails too, and fn's error is thrown", async () => {
    const boom = new Error('install failed');
    await expect(
      withSettingsParameter(ctx(), 'pr-12', ID, SETTINGS, () => Promise.reject(boom)),
    ).rejects.toBe(boom);
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toHaveLength(1);
  });

  test('a delete that fails is a warning naming the parameter, not a failure', async () => {
    ssmMock.on(DeleteParameterCommand).rejects(awsError('AccessDeniedException', 'denied'));
    expect(await withSettingsParameter(ctx(), 'pr-12', ID, SETTINGS, async () => 'ok')).toBe('ok');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`Could not delete ${NAME} (denied)`);
  });

  test('nothing to carry: no parameter, fn gets no name', async () => {
    let got: string | undefined = 'unset';
    await withSettingsParameter(ctx(), 'pr-12', ID, { settings: [], items: [] }, async (name) => {
      got = name;
    });
    expect(got).toBeUndefined();
    expect(ssmMock.calls()).toHaveLength(0);
  });
});

describe('hubSettings: what travels in the parameter', () => {
  const base = { tljhSettings: [['user_environment.default_app', 'jupyterlab']] } as HubSpec;

  test('the password and the tljh settings, no HTTPS items without HTTPS', () => {
    expect(hubSettings(base, 'pw')).toEqual({
      adminPassword: 'pw',
      settings: [['user_environment.default_app', 'jupyterlab']],
      items: [],
    });
  });

  test('HTTPS adds its settings and the domain as an item', () => {
    const spec = {
      ...base,
      https: { domain: 'hub.example.org', email: 'a@example.org', waitMinutes: 5 },
    };
    expect(hubSettings(spec, undefined)).toEqual({
      adminPassword: undefined,
      settings: [
        ['user_environment.default_app', 'jupyterlab'],
        ['https.enabled', 'true'],
        ['https.letsencrypt.email', 'a@example.org'],
      ],
      items: [['https.letsencrypt.domains', 'hub.example.org']],
    });
  });
});

test('deleteSettingsLeftovers deletes every settings parameter under the hubs, and counts them', async () => {
  ssmMock
    .on(GetParametersByPathCommand, { Path: '/tljh-ec2-action/a/' })
    .resolves({ Parameters: [{ Name: '/tljh-ec2-action/a/i-1/settings' }] })
    .on(GetParametersByPathCommand, { Path: '/tljh-ec2-action/b/' })
    .resolves({ Parameters: [{ Name: '/tljh-ec2-action/b/i-2/settings' }] });
  ssmMock.on(DeleteParametersCommand).resolves({});
  expect(await deleteSettingsLeftovers(ssm, ['a', 'b'])).toBe(2);
  expect(ssmMock.commandCalls(DeleteParametersCommand)[0]!.args[0].input.Names).toEqual([
    '/tljh-ec2-action/a/i-1/settings',
    '/tljh-ec2-action/b/i-2/settings',
  ]);
});
