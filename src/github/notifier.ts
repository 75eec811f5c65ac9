// Keeps the pull request's hub comment current. Commenting never fails the run: a missing
// token or permission is a notice, an API error a warning.
import * as core from '@actions/core';
import { renderComment, type CommentFacts } from './comment-body.ts';
import type { RunContext } from './context.ts';
import { createOctokit, upsertPullRequestComment } from './pr-comment.ts';
import { runSecrets, type Secrets } from './secrets.ts';

export class PrNotifier {
  private readonly run: RunContext;
  private readonly token: string;
  private readonly secrets: Secrets;
  readonly enabled: boolean;

  /** `secrets`: what to keep out of the comment; by default all that the run masked. */
  constructor(
    mode: 'auto' | 'true' | 'false',
    token: string,
    run: RunContext,
    secrets: Secrets = runSecrets,
  ) {
    this.run = run;
    this.token = token;
    this.secrets = secrets;
    this.secrets.add(token);
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
    // The error is redacted before it is shortened too, so a cut cannot leave half a secret
    // that the whole-body redaction at the sending end would no longer recognise.
    const error = facts.error === undefined ? undefined : this.secrets.redact(facts.error);
    const body = renderComment({
      ...facts,
      error,
      runUrl: this.run.runUrl,
      updatedAt: new Date(),
    });
    try {
      const result = await upsertPullRequestComment(
        createOctokit(this.token),
        pr,
        facts.hubName,
        body,
        this.secrets,
      );
      if (result.kind === 'skipped') core.notice(`Pull request comment skipped: ${result.reason}.`);
      else core.info(`Pull request #${pr.number}: comment ${result.kind} (${facts.phase}).`);
    } catch (err) {
      core.warning(`Could not update the pull request comment: ${(err as Error).message}`);
    }
  }
}
