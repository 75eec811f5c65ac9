// What the run knows of GitHub (runContext): the pull request of pull_request and
// pull_request_target events only, the run's URL, and nothing made up when the env is missing.
import { runContext } from '../src/github/context.ts';

const ENV = {
  GITHUB_REPOSITORY: 'octo/hubs',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '123',
};
const RUN_URL = 'https://github.com/octo/hubs/actions/runs/123';
const PR_PAYLOAD = { action: 'synchronize', number: 7, pull_request: { number: 7 } };

test('push: the run URL and repository, no pull request', () => {
  expect(runContext('push', { ref: 'refs/heads/main' }, ENV)).toEqual({
    pullRequest: undefined,
    runUrl: RUN_URL,
    repository: 'octo/hubs',
  });
});

test.each(['pull_request', 'pull_request_target'])('%s: the pull request it is about', (event) => {
  expect(runContext(event, PR_PAYLOAD, ENV)).toEqual({
    pullRequest: { owner: 'octo', repo: 'hubs', number: 7 },
    runUrl: RUN_URL,
    repository: 'octo/hubs',
  });
});

test('workflow_dispatch (or a schedule): no pull request, even with one in its inputs', () => {
  const payload = { inputs: { pr: '7' }, pull_request: { number: 7 } };
  expect(runContext('workflow_dispatch', payload, ENV).pullRequest).toBeUndefined();
  expect(runContext('schedule', {}, ENV)).toEqual({
    pullRequest: undefined,
    runUrl: RUN_URL,
    repository: 'octo/hubs',
  });
});

test('a pull_request payload without a numeric number: no pull request', () => {
  for (const payload of [{}, { pull_request: {} }, { pull_request: { number: '7' } }]) {
    expect(runContext('pull_request', payload, ENV).pullRequest).toBeUndefined();
  }
});

test('no event name at all (run outside Actions): nothing about a pull request', () => {
  expect(runContext(undefined, PR_PAYLOAD, ENV).pullRequest).toBeUndefined();
});

test('missing environment: no run URL and no pull request rather than a wrong one', () => {
  expect(runContext('pull_request', PR_PAYLOAD, {})).toEqual({
    pullRequest: undefined,
    runUrl: undefined,
    repository: undefined,
  });
  for (const missing of ['GITHUB_SERVER_URL', 'GITHUB_RUN_ID', 'GITHUB_REPOSITORY'] as const) {
    const env = { ...ENV, [missing]: undefined };
    expect(runContext('push', {}, env).runUrl).toBeUndefined();
  }
});

test('a repository that is not owner/name gives no pull request', () => {
  const env = { ...ENV, GITHUB_REPOSITORY: 'hubs' };
  expect(runContext('pull_request', PR_PAYLOAD, env).pullRequest).toBeUndefined();
});

test('a GitHub Enterprise server URL (with a trailing slash) makes the run URL', () => {
  const env = { ...ENV, GITHUB_SERVER_URL: 'https://ghe.example.org/' };
  expect(runContext('push', {}, env).runUrl).toBe(
    'https://ghe.example.org/octo/hubs/actions/runs/123',
  );
});
