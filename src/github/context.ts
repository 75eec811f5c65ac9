// What the workflow run knows about GitHub: the pull request (if any) and the run's URL. Pure:
// reads the event name, the event payload and the environment it is given.
import type { PullRequestRef } from './pr-comment.ts';

export interface RunContext {
  pullRequest?: PullRequestRef;
  runUrl?: string;
  repository?: string;
}

export function runContext(
  eventName: string | undefined,
  payload: Record<string, unknown>,
  env: Record<string, string | undefined>,
): RunContext {
  const repository = env.GITHUB_REPOSITORY;
  const runUrl =
    env.GITHUB_SERVER_URL && repository && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL.replace(/\/$/, '')}/${repository}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  const pr = payload.pull_request as { number?: unknown } | undefined;
  const [owner, repo] = (repository ?? '').split('/');
  const pullRequest =
    eventName?.startsWith('pull_request') && typeof pr?.number === 'number' && owner && repo
      ? { owner, repo, number: pr.number }
      : undefined;
  return { pullRequest, runUrl, repository };
}
