// What reaches GitHub's API: the pull request comment, sent by the real Octokit to a loopback
// GitHub, with every secret redacted. GitHub masks secrets in log lines, never in API bodies.
import { jest } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { json, startServer, type TestServer } from './helpers/fakes.ts';

const TOKEN = 'ghs_unitTestToken000000000000000000000';
const PASSWORD = 'Hunter2-Generated-Pw-x9';
const PR = { owner: 'octo', repo: 'hub', number: 7 };
const RUN = { pullRequest: PR, runUrl: 'https://github.com/octo/hub/actions/runs/1' };

/** Every comment body the loopback GitHub received (POST and PATCH), in order. */
const bodies: string[] = [];
let existing: { id: number; body: string; user: { login: string; type: string } }[] = [];
let github: TestServer;
const setSecret = jest.fn<(secret: string) => void>();
const noop = () => undefined;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  void readBody(req).then((body) => {
    if (req.url === '/user') return json(res, 403, { message: 'Resource not accessible' });
    if (req.method === 'GET') return json(res, 200, existing);
    bodies.push(String(body.body));
    json(res, req.method === 'POST' ? 201 : 200, { id: 99 });
  });
}

let mod: {
  PrNotifier: typeof import('../src/github/notifier.ts').PrNotifier;
  secrets: typeof import('../src/github/secrets.ts');
  commentMarker: typeof import('../src/github/comment-body.ts').commentMarker;
  inputs: typeof import('../src/inputs.ts');
};

beforeAll(async () => {
  github = await startServer(handle);
  // @actions/github reads the API URL when it is loaded.
  process.env.GITHUB_API_URL = github.url.replace(/\/$/, '');
  jest.unstable_mockModule('@actions/core', () => ({
    setSecret,
    info: noop,
    notice: noop,
    warning: noop,
    debug: noop,
    isDebug: () => false,
  }));
  mod = {
    PrNotifier: (await import('../src/github/notifier.ts')).PrNotifier,
    secrets: await import('../src/github/secrets.ts'),
    commentMarker: (await import('../src/github/comment-body.ts')).commentMarker,
    inputs: await import('../src/inputs.ts'),
  };
});
afterAll(async () => {
  await github.close();
  Reflect.deleteProperty(process.env, 'GITHUB_API_URL');
});
beforeEach(() => {
  bodies.length = 0;
  existing = [];
});

/** Posts a failed hub's comment with this failure text and returns the body GitHub received. */
async function postFailure(
  error: string,
  secrets = new mod.secrets.Secrets(),
  token = TOKEN,
): Promise<string> {
  const notifier = new mod.PrNotifier('true', token, RUN, secrets);
  await notifier.post({ hubName: 'pr-7', adminUser: 'naomi', phase: 'failed', error });
  expect(bodies).toHaveLength(1);
  return bodies[0]!;
}

describe('secrets never reach the pull request comment', () => {
  test('the github-token in a failure text is redacted', async () => {
    const body = await postFailure(`fatal: https://x-access-token:${TOKEN}@github.com denied`);
    expect(body).toContain('https://x-access-token:***@github.com denied');
    expect(body).not.toContain(TOKEN);
  });

  test('an admin password masked during the run (maskSecret) is redacted from installer output', async () => {
    const secrets = new mod.secrets.Secrets();
    mod.secrets.maskSecret(PASSWORD, secrets);
    expect(setSecret).toHaveBeenCalledWith(PASSWORD);
    const installerOutput = [
      'The TLJH install on i-0abc failed (installer exit 1).',
      `Running ['python3', '-m', 'tljh.installer', '--admin', 'naomi:${PASSWORD}']`,
      `json: {"password":${JSON.stringify(PASSWORD)}} url: ${encodeURIComponent(PASSWORD)}`,
    ].join('\n');
    const body = await postFailure(installerOutput, secrets);
    expect(body).toContain("'naomi:***'");
    expect(body).not.toContain(PASSWORD);
    expect(body).toContain('The TLJH install on i-0abc failed');
  });

  test('the default registry is the run-wide one every maskSecret call fills', async () => {
    mod.secrets.maskSecret('run-wide-secret-value');
    const notifier = new mod.PrNotifier('true', TOKEN, RUN);
    await notifier.post({
      hubName: 'pr-7',
      phase: 'failed',
      error: 'tljh-config stderr: run-wide-secret-value',
    });
    expect(bodies[0]).toContain('tljh-config stderr: ***');
  });

  test('every secret the inputs carry: password, token and secret tljh-config values', async () => {
    const spec = mod.inputs.parseInputs(
      (name) =>
        ({
          'admin-user': 'naomi',
          'admin-password': PASSWORD,
          'github-token': TOKEN,
          'tljh-config': [
            'auth.type=oauthenticator.github.GitHubOAuthenticator',
            'auth.GitHubOAuthenticator.client_id=public-client-id',
            'auth.GitHubOAuthenticator.client_secret=oauth client s3cret',
            'auth.LDAPAuthenticator.lookup_dn_search_password=ldap-pw-123',
            'auth.Generic.access_token=tok-456',
          ].join('\n'),
        })[name] ?? '',
      { AWS_REGION: 'eu-west-1' },
    );
    const all = mod.inputs.specSecrets(spec);
    expect(all.sort()).toEqual(
      [PASSWORD, TOKEN, 'oauth client s3cret', 'ldap-pw-123', 'tok-456'].sort(),
    );
    const secrets = new mod.secrets.Secrets();
    for (const s of all) secrets.add(s);
    const body = await postFailure(
      `tljh-config set failed: 'oauth client s3cret' ldap-pw-123 tok-456 ${PASSWORD} public-client-id`,
      secrets,
    );
    for (const s of all) expect(body).not.toContain(s);
    expect(body).toContain("'***' *** *** *** public-client-id");
  });

  test('a secret where the failure text is cut leaves no part of itself', async () => {
    const secrets = new mod.secrets.Secrets();
    secrets.add(PASSWORD);
    // The code block keeps 3000 characters: the password straddles that cut.
    const error = `${'x'.repeat(2990)}${PASSWORD} and more`;
    const body = await postFailure(error, secrets);
    expect(body).not.toContain(PASSWORD.slice(0, 8));
    expect(body).toContain(`${'x'.repeat(2990)}***`);
  });

  test('a password with ``` is caught in the form the code block gives it', async () => {
    const secrets = new mod.secrets.Secrets();
    secrets.add('pw```with-fence');
    const body = await postFailure('admin naomi:pw```with-fence', secrets);
    expect(body).not.toMatch(/pw(```|''')with-fence/);
  });

  test('the marker stays whole even when a secret matches part of it', async () => {
    const secrets = new mod.secrets.Secrets();
    secrets.add('tljh-ec2-action');
    const body = await postFailure('installed by tljh-ec2-action', secrets);
    expect(body.startsWith(mod.commentMarker('pr-7'))).toBe(true);
    expect(body).toContain('installed by ***');
  });

  test('an updated comment is redacted too', async () => {
    existing = [
      {
        id: 5,
        body: `${mod.commentMarker('pr-7')} old`,
        user: { login: 'github-actions[bot]', type: 'Bot' },
      },
    ];
    const body = await postFailure(`token ${TOKEN}`);
    expect(body).toContain('token ***');
  });

  test('a multi-line secret is masked in the log line by line, and redacted whole and per line', () => {
    setSecret.mockClear();
    const secrets = new mod.secrets.Secrets();
    mod.secrets.maskSecret('-----BEGIN KEY-----\nline-two-of-key\n-----END KEY-----', secrets);
    expect(setSecret.mock.calls.map(([s]) => s)).toEqual([
      '-----BEGIN KEY-----\nline-two-of-key\n-----END KEY-----',
      '-----BEGIN KEY-----',
      'line-two-of-key',
      '-----END KEY-----',
    ]);
    expect(secrets.redact('output: line-two-of-key')).toBe('output: ***');
  });
});
