// Defect 6, main.ts's side: everything the run masks goes through maskSecret, so a secret hidden
// from the log is also kept out of the pull request comment that the real Octokit sends to a
// loopback GitHub. Before, main.ts called core.setSecret (the log only): a generated password
// masked through the reporter, or a secret tljh-config value, reached the comment verbatim.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { fakeCore, saveEnv } from './helpers/fake-core.ts';
import { awsError, json, startServer, type TestServer } from './helpers/fakes.ts';

const TOKEN = 'ghs_mainMaskingToken00000000000000000000';
const PASSWORD = 'Given-Admin-Pw-7f3k';
const OAUTH_SECRET = 'oauth-client-s3cret-value';
const GENERATED = 'Gen3rated_Passw0rd-24chr';
const RUN = {
  pullRequest: { owner: 'octo', repo: 'hub', number: 7 },
  runUrl: 'https://github.com/octo/hub/actions/runs/1',
};

const bodies: string[] = [];
let github: TestServer;
let inputs: Record<string, string> = {};
const setSecret = jest.fn<(secret: string) => void>();
const setFailed = jest.fn<(message: string | Error) => void>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/user') return json(res, 403, { message: 'Resource not accessible' });
    if (req.method === 'GET') return json(res, 200, []);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { body?: string };
    bodies.push(String(body.body));
    json(res, req.method === 'POST' ? 201 : 200, { id: 99 });
  });
}

let main: typeof import('../src/main.ts');
let PrNotifier: typeof import('../src/github/notifier.ts').PrNotifier;
const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ENV_KEYS = [
  'GITHUB_API_URL',
  'GITHUB_EVENT_NAME',
  'GITHUB_EVENT_PATH',
  'GITHUB_REPOSITORY',
  'GITHUB_RUN_ID',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
];
const restoreEnv = saveEnv(ENV_KEYS);
const dir = mkdtempSync(join(tmpdir(), 'main-masking-'));

beforeAll(async () => {
  github = await startServer(handle);
  // @actions/github reads the API URL when it is loaded.
  process.env.GITHUB_API_URL = github.url.replace(/\/$/, '');
  jest.unstable_mockModule('@actions/core', () =>
    fakeCore({ input: (name) => inputs[name], setSecret, setFailed }),
  );
  main = await import('../src/main.ts');
  PrNotifier = (await import('../src/github/notifier.ts')).PrNotifier;
});
afterAll(async () => {
  await github.close();
  rmSync(dir, { recursive: true, force: true });
  restoreEnv();
});
beforeEach(() => {
  bodies.length = 0;
  setSecret.mockClear();
  setFailed.mockClear();
  ec2Mock.reset();
  ssmMock.reset();
});

test('a secret masked through the reporter is redacted from the comment the notifier sends', async () => {
  // What install.ts does with a generated password: ctx.log.mask(password).
  main.reporter.mask(GENERATED);
  expect(setSecret).toHaveBeenCalledWith(GENERATED);
  // The notifier main.ts builds: the run-wide registry that maskSecret fills.
  const notifier = new PrNotifier('true', TOKEN, RUN);
  await notifier.post({
    hubName: 'pr-7',
    phase: 'failed',
    error: `Running ['python3', '-m', 'tljh.installer', '--admin', 'naomi:${GENERATED}']`,
  });
  expect(bodies).toHaveLength(1);
  expect(bodies[0]).toContain("'naomi:***'");
  expect(bodies[0]).not.toContain(GENERATED);
});

test("run(): the inputs' secrets are masked in the log and kept out of the failure comment", async () => {
  const event = join(dir, 'event.json');
  writeFileSync(event, JSON.stringify({ pull_request: { number: 7 } }));
  Object.assign(process.env, {
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: event,
    GITHUB_REPOSITORY: 'octo/hub',
    GITHUB_RUN_ID: '1',
    AWS_REGION: 'eu-west-1',
  });
  inputs = {
    'admin-user': 'naomi',
    'admin-password': PASSWORD,
    'github-token': TOKEN,
    'pr-comment': 'true',
    'tljh-config': `auth.GitHubOAuthenticator.client_secret=${OAUTH_SECRET}`,
  };
  // An AWS error that quotes the secrets back: the failure text carries them to the comment.
  const leaky = awsError('UnauthorizedOperation', `denied: ${PASSWORD} ${OAUTH_SECRET} ${TOKEN}`);
  ec2Mock.onAnyCommand().rejects(leaky);
  ssmMock.onAnyCommand().rejects(leaky);
  await main.run();
  expect(setFailed).toHaveBeenCalledTimes(1);
  for (const s of [PASSWORD, OAUTH_SECRET, TOKEN]) expect(setSecret).toHaveBeenCalledWith(s);
  // Control: the failure reached the comment, with the secrets redacted.
  const failed = bodies.filter((b) => b.includes('JupyterHub failed'));
  expect(failed).toHaveLength(1);
  expect(failed[0]).toContain('denied: *** *** ***');
  for (const s of [PASSWORD, OAUTH_SECRET, TOKEN]) expect(failed[0]).not.toContain(s);
});
