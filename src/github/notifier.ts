// Keeps the pull request's hub comment current. Commenting never fails the run: a missing
// token or permission is a notice, an API error a warning.
import * as core from '@actions/core';
import { renderComment, type CommentFacts } from './comment-body.ts';
import type { RunContext } from './context.ts';
import { createOctokit, upsertPullRequestComment } from './pr-comment.ts';

export class PrNotifier {
  private readonly run: RunContext;
  private readonly token: string;
  readonly enabled: boolean;

  constructor(mode: 'auto' | 'true' | 'false', token: string, run: RunContext) {
    this.run = run;
    this.token = token;
    this.enabled = mode !== 'false' && Boolean(run.pullRequest);
    if (mode === 'true' && !run.pullRequest) {
      core.notice(
        'pr-comment is true but this run is not for a pull request: no comment is posted.',
      );
    }
  }

  async post(facts: Omit<CommentFacts, 'updatedAt' | 'runUrl'>): Promise<void> {
    const pr = this.run.pullRequest;
    if (!this.enabled || !pr) return;
    if (!this.token) {
      core.notice("No 'github-token': the pull request comment is skipped.");
      return;
    }
    const body = renderComment({ ...facts, runUrl: this.run.runUrl, updatedAt: new Date() });
    try {
      const result = await upsertPullRequestComment(
        createOctokit(this.token),
        pr,
        facts.hubName,
        body,
      );
      if (result.kind === 'skipped') core.notice(`Pull request comment skipped: ${result.reason}.`);
      else core.info(`Pull request #${pr.number}: comment ${result.kind} (${facts.phase}).`);
    } catch (err) {
      core.warning(`Could not update the pull request comment: ${(err as Error).message}`);
    }
  }
}
