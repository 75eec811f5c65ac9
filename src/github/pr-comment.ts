// Posts the hub's state as one comment on the pull request, updated in place on later runs.
// The only file that speaks to the GitHub API, and so the one place that redacts what it sends.
import * as github from '@actions/github';
import { commentMarker } from './comment-body.ts';
import type { Secrets } from './secrets.ts';

type Octokit = ReturnType<typeof github.getOctokit>;

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
}

export type CommentResult =
  { kind: 'created' | 'updated'; id: number } | { kind: 'skipped'; reason: string };

// An installation token (the workflow's GITHUB_TOKEN, or a GitHub App's) cannot call GET /user:
// it comments as a bot, github-actions[bot] for the workflow token.
const ACTIONS_BOT = 'github-actions[bot]';

async function ownLogin(octokit: Octokit): Promise<string | undefined> {
  try {
    return (await octokit.rest.users.getAuthenticated()).data.login;
  } catch {
    return undefined;
  }
}

function status(err: unknown): number | undefined {
  return (err as { status?: number }).status;
}

/**
 * Finds this hub's comment (by marker, written by this token's user) across every page of the
 * PR's comments, and creates or updates it. A token without permission skips, not fails.
 * Every secret is redacted from the body first (GitHub masks logs, not API request bodies);
 * the marker is kept whole, or a later run could not find the comment again.
 */
export async function upsertPullRequestComment(
  octokit: Octokit,
  pr: PullRequestRef,
  hubName: string,
  text: string,
  secrets: Secrets,
): Promise<CommentResult> {
  const marker = commentMarker(hubName);
  const body = secrets.redactAround(text, marker);
  try {
    const login = await ownLogin(octokit);
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      per_page: 100,
    });
    const byMarker = comments.filter((c) => c.body?.includes(marker));
    // Only our own comment: someone quoting the marker must not have their comment edited.
    const mine = login
      ? byMarker.find((c) => c.user?.login === login)
      : (byMarker.find((c) => c.user?.login === ACTIONS_BOT) ??
        byMarker.find((c) => c.user?.type === 'Bot'));
    if (mine) {
      await octokit.rest.issues.updateComment({
        owner: pr.owner,
        repo: pr.repo,
        comment_id: mine.id,
        body,
      });
      return { kind: 'updated', id: mine.id };
    }
    const created = await octokit.rest.issues.createComment({
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      body,
    });
    return { kind: 'created', id: created.data.id };
  } catch (err) {
    if (status(err) === 403 || status(err) === 404 || status(err) === 401) {
      return {
        kind: 'skipped',
        reason: `the token may not comment on pull requests (HTTP ${status(err)}); give the job 'permissions: pull-requests: write'`,
      };
    }
    throw err;
  }
}

export function createOctokit(token: string): Octokit {
  // baseUrl comes from GITHUB_API_URL (GitHub Enterprise, or the emulator in the tests).
  return github.getOctokit(token);
}
