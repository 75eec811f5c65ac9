// Pull-request hubs end to end: dist/index.js on pull_request events against the AWS emulator
// and an emulated GitHub REST API (GITHUB_API_URL) on loopback. One hub per PR, one comment
// per hub that later runs update in place, the hub terminated when the PR closes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commentMarker } from '../src/github/comment-body.ts';
import { ACTIONS_BOT, GitHubApi } from './github/api.ts';
import { hubInstances, securityGroupNames, tag } from './harness/ec2.ts';
import {
  getCalls,
  getMutatingCalls,
  resetEmulator,
  setScenario,
  useLightInstances,
} from './harness/emulator.ts';
import { GITHUB_JOURNAL } from './harness/journal.ts';
import { TMP_DIR } from './harness/paths.ts';
import { runAction, type ActionResult, type RunOptions } from './harness/run-action.ts';

// Many hubs at once: light instances (see useLightInstances).
useLightInstances();

const REPO = 'octo-org/tljh-e2e';
const RUN_URL = `http://127.0.0.1:9/${REPO}/actions/runs/4242`;
const HUB = { 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm', ttl: '8h' };
// Every request body the action sends goes to the journal that e2e/audit.test.ts reads.
const github = new GitHubApi({ journal: GITHUB_JOURNAL });
/** What a job gets with `permissions: pull-requests: read`, or on a pull request from a fork. */
const READ_ONLY_TOKEN = 'ghs_e2eReadOnlyToken000000000000000000';

function prEvent(action: string, number: number, headRepo = REPO): RunOptions {
  const [owner, name] = REPO.split('/');
  return {
    eventName: 'pull_request',
    event: {
      action,
      number,
      pull_request: {
        number,
        state: action === 'closed' ? 'closed' : 'open',
        head: { repo: { full_name: headRepo } },
      },
      repository: { full_name: REPO, name, owner: { login: owner } },
    },
    env: { GITHUB_API_URL: github.url },
  };
}

function runPr(
  action: string,
  number: number,
  inputs: Record<string, string> = {},
  opts: RunOptions = {},
): Promise<ActionResult> {
  const base = prEvent(action, number);
  return runAction(
    { ...HUB, 'hub-name': `pr-${number}`, ...inputs },
    { ...base, ...opts, env: { ...base.env, ...opts.env } },
  );
}

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

/** Our comments on a PR: by the workflow token's bot and carrying the hub's marker. */
function ours(number: number) {
  return github
    .listComments(REPO, number)
    .filter((c) => c.user.login === ACTIONS_BOT && c.body.includes(commentMarker(`pr-${number}`)));
}

beforeAll(async () => {
  await github.start();
  github.addToken(READ_ONLY_TOKEN, { login: ACTIONS_BOT, app: true, readOnly: true });
  await resetEmulator({ aws: true });
});
afterAll(() => github.stop());

describe('a pull request gets a hub and one comment', () => {
  test('opened: launches pr-7 tagged with the repository, PR and expiry; one comment says ready', async () => {
    await resetEmulator();
    const before = Date.now();
    const result = await runPr('opened', 7);
    expectSuccess(result);
    const { outputs } = result;
    expect(outputs.state).toBe('running');

    const hub = (await hubInstances()).get('pr-7')!;
    expect(tag(hub, 'tljh:repository')).toBe(REPO);
    expect(tag(hub, 'tljh:pull-request')).toBe('7');
    const expires = Date.parse(tag(hub, 'tljh:expires-at')!);
    expect(expires).toBeGreaterThanOrEqual(before + 8 * 3600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 8 * 3600_000);
    expect(outputs['expires-at']).toBe(tag(hub, 'tljh:expires-at'));
    // Tagged at creation, not afterwards: a hub is never untagged, even for a moment.
    const launch = (await getCalls()).find((c) => c.operation === 'RunInstances')!.params;
    expect(Object.values(launch)).toEqual(
      expect.arrayContaining(['tljh:repository', REPO, 'tljh:pull-request', '7']),
    );

    const comments = github.listComments(REPO, 7);
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(comments[0]!.user.login).toBe(ACTIONS_BOT);
    expect(body).toContain(commentMarker('pr-7'));
    expect(body).toContain('JupyterHub is ready');
    expect(body).toContain(outputs['hub-url']);
    expect(body).toContain('`naomi`');
    expect(body).toContain('t3.small');
    expect(body).toContain(outputs['expires-at']);
    expect(body).toContain(RUN_URL);
    // "creating" first; updated in place with TLJH's progress page once the install starts
    // (the hub's address is known by then), then to "ready".
    expect(github.requestsTo('POST', /\/issues\/7\/comments$/)).toHaveLength(1);
    const updates = github.requestsTo('PATCH', /\/issues\/comments\//);
    expect(updates).toHaveLength(2);
    expect(updates[0]!.body).toContain('JupyterHub is being created');
    expect(updates[0]!.body).toContain(
      `${outputs['hub-url']} (the install's progress page until the hub is up)`,
    );
    expect(updates[1]!.body).toContain('JupyterHub is ready');
    expect(result.summary).toContain(`Expires ${outputs['expires-at']}`);
  });

  test('synchronize: the same comment is updated, the expiry refreshed, nothing launched', async () => {
    await resetEmulator();
    const [comment] = github.listComments(REPO, 7);
    github.requests.length = 0;
    const result = await runPr('synchronize', 7);
    expectSuccess(result);
    expect(result.outputs.changed).toBe('false');
    expect((await getMutatingCalls()).map((c) => c.operation)).toEqual(['CreateTags']);
    expect(github.listComments(REPO, 7)).toHaveLength(1);
    expect(ours(7)[0]!.id).toBe(comment!.id);
    expect(ours(7)[0]!.body).toContain(result.outputs['expires-at']);
    expect(github.requestsTo('POST', /comments$/)).toEqual([]);
    expect(github.requestsTo('PATCH', /\/issues\/comments\//)).toHaveLength(1);
  });

  test('closed: terminated, its security group deleted, the comment says so', async () => {
    await resetEmulator();
    const result = await runPr('closed', 7, { state: 'terminated' });
    expectSuccess(result);
    expect(result.outputs.state).toBe('terminated');
    expect((await hubInstances()).get('pr-7')!.State?.Name).toBe('terminated');
    expect(await securityGroupNames()).not.toContain('tljh-pr-7');
    const mine = ours(7);
    expect(github.listComments(REPO, 7)).toHaveLength(1);
    expect(mine[0]!.body).toContain('JupyterHub was terminated');
    expect(mine[0]!.body).not.toContain('Expires');
  });
});

describe('a pull request with 150 other comments', () => {
  test('opened, then synchronize: finds its own comment on page 2 and updates it', async () => {
    github.seedComments(REPO, 8, 120);
    // Someone quoting the marker must not make their comment ours.
    const quote = `quoting: ${commentMarker('pr-8')}`;
    const decoy = github.addComment(REPO, 8, 'mallory', quote);
    github.seedComments(REPO, 8, 29);
    await resetEmulator();
    expectSuccess(await runPr('opened', 8));
    expect(github.listComments(REPO, 8)).toHaveLength(151);
    expect(ours(8)).toHaveLength(1);

    github.requests.length = 0;
    await resetEmulator();
    const result = await runPr('synchronize', 8);
    expectSuccess(result);
    const pages = github
      .requestsTo('GET', /\/issues\/8\/comments$/)
      .map((r) => Number(r.query.page ?? 1));
    expect(new Set(pages)).toEqual(new Set([1, 2]));
    expect(github.requestsTo('POST', /comments$/)).toEqual([]);
    const patched = github.requestsTo('PATCH', /\/issues\/comments\/(\d+)$/);
    expect(patched.map((r) => r.path)).toEqual([
      `/repos/${REPO}/issues/comments/${ours(8)[0]!.id}`,
    ]);
    expect(github.listComments(REPO, 8)).toHaveLength(151);
    expect(github.listComments(REPO, 8).find((c) => c.id === decoy.id)!.body).toBe(quote);
  });

  test('a read-only token: the run succeeds, the comment is skipped with a notice', async () => {
    const before = ours(8)[0]!.body;
    await resetEmulator();
    const result = await runPr('synchronize', 8, {
      state: 'stopped',
      'github-token': READ_ONLY_TOKEN,
    });
    expectSuccess(result);
    expect(result.outputs.state).toBe('stopped');
    expect(result.stdout).toMatch(
      /::notice::Pull request comment skipped: .*HTTP 403.*pull-requests: write/,
    );
    expect(result.stdout).not.toContain('::warning::');
    expect(ours(8)[0]!.body).toBe(before);
  });

  test('closed: the stopped hub is terminated and the comment updated', async () => {
    await resetEmulator();
    expectSuccess(await runPr('closed', 8, { state: 'terminated' }));
    expect((await hubInstances()).get('pr-8')!.State?.Name).toBe('terminated');
    expect(ours(8)).toHaveLength(1);
    expect(ours(8)[0]!.body).toContain('JupyterHub was terminated');
  });
});

describe('a dry run on a pull request', () => {
  test('prints the plan; no AWS change and no comment', async () => {
    await resetEmulator();
    github.requests.length = 0;
    const result = await runPr('opened', 12, { 'dry-run': 'true' });
    expectSuccess(result);
    expect(result.stdout).toContain('launch a new instance');
    expect(await getMutatingCalls()).toEqual([]);
    expect(github.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(github.listComments(REPO, 12)).toEqual([]);
  });
});

describe('failures', () => {
  test('a failed install: the comment says failed, what failed, and links the run', async () => {
    await resetEmulator();
    await setScenario({ failNextInstalls: 1 });
    // Secrets the failure text could carry: the audit checks every body sent for them.
    const secrets = {
      'admin-password': 'e2e-Pr10-Admin-Pw',
      'tljh-config': 'auth.GitHubOAuthenticator.client_secret=e2e-pr10-oauth-s3cret',
    };
    const result = await runPr('opened', 10, secrets);
    expect(result.exitCode).toBe(1);
    expect(ours(10)).toHaveLength(1);
    const body = ours(10)[0]!.body;
    expect(body).not.toContain('e2e-Pr10-Admin-Pw');
    expect(body).not.toContain('e2e-pr10-oauth-s3cret');
    expect(body).toContain('JupyterHub failed');
    expect(body).toMatch(/The TLJH install on i-[0-9a-f]+ failed/);
    expect(body).toContain(`[workflow run](${RUN_URL})`);
    await resetEmulator();
    expectSuccess(await runPr('closed', 10, { state: 'terminated' }));
  });

  test('a fork PR without AWS credentials: a clear message naming configure-aws-credentials, no stack trace', async () => {
    const dir = mkdtempSync(join(TMP_DIR, 'no-creds-'));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '');
    await resetEmulator();
    const fork = prEvent('opened', 11, 'forker/tljh-e2e');
    const result = await runPr(
      'opened',
      11,
      { 'github-token': READ_ONLY_TOKEN },
      {
        event: fork.event,
        env: {
          AWS_ACCESS_KEY_ID: '',
          AWS_SECRET_ACCESS_KEY: '',
          AWS_SHARED_CREDENTIALS_FILE: empty,
          AWS_CONFIG_FILE: empty,
          AWS_EC2_METADATA_DISABLED: 'true',
          HOME: dir,
        },
      },
    );
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/::error::.*no AWS credentials/i);
    expect(result.stdout).toContain('configure-aws-credentials');
    expect(result.stdout).not.toMatch(/Unexpected error|^\s+at .+:\d+:\d+\)?$/m);
    expect(result.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(await getCalls()).toEqual([]);
    expect((await hubInstances()).has('pr-11')).toBe(false);
    // Its token is read-only too: the failure comment is skipped with a notice.
    expect(result.stdout).toContain('::notice::Pull request comment skipped');
    expect(github.listComments(REPO, 11)).toEqual([]);
  });
});
