// Entry point: read inputs -> reconcile one hub or many -> outputs, summary, PR comment; one
// error handler.
import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { createClients } from './aws/clients.ts';
import { pollIntervalMs, realClock } from './clock.ts';
import { ActionError, explainAwsError, isSessionExpired } from './errors.ts';
import { reconcileFleet } from './fleet.ts';
import { pruneUnusedImages } from './image-prune.ts';
import { runContext, type RunContext } from './github/context.ts';
import { PrNotifier } from './github/notifier.ts';
import { maskSecret } from './github/secrets.ts';
import { parseInputs, specSecrets, type HubSpec } from './inputs.ts';
import { isMutating } from './plan.ts';
import type { Reporter } from './context.ts';
import { PhaseLog } from './phases.ts';
import { reconcile } from './reconcile.ts';
import { runKey, runOwner } from './run-identity.ts';
import { loginNote, writeFleetSummary, writeSummary } from './summary.ts';
import { TAG_PULL_REQUEST, TAG_REPOSITORY } from './tags.ts';

/**
 * The run's log. `mask` goes through maskSecret: a secret found during the run (a generated
 * password) is then hidden from the log and from every body sent to GitHub alike.
 */
export const reporter: Reporter = {
  group: (name, fn) => core.group(name, fn),
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  mask: (secret) => maskSecret(secret),
};

function readEvent(path: string | undefined): Record<string, unknown> {
  try {
    return path ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Sets the admin-password output, masked first: called as soon as the password was sent to the
 * hub, so a run that fails afterwards still hands it over ('' withdraws it).
 */
export function adminPasswordOutput(
  out: Pick<typeof core, 'setSecret' | 'setOutput'>,
): (password: string) => void {
  return (password) => {
    if (password) out.setSecret(password);
    out.setOutput('admin-password', password);
  };
}

function failureText(err: unknown): string {
  // An expired session can surface from any AWS call: always say what to change.
  if (isSessionExpired(err)) err = explainAwsError(err, 'An AWS request');
  if (err instanceof ActionError) return err.hint ? `${err.message}\n${err.hint}` : err.message;
  return `Unexpected error: ${(err as Error)?.stack ?? String(err)}`;
}

async function reconcileOne(spec: HubSpec, run: RunContext): Promise<void> {
  const pr = run.pullRequest;
  const tagged: HubSpec = pr
    ? {
        ...spec,
        extraTags: {
          ...spec.extraTags,
          [TAG_REPOSITORY]: `${pr.owner}/${pr.repo}`,
          [TAG_PULL_REQUEST]: String(pr.number),
        },
      }
    : spec;
  const notifier = new PrNotifier(spec.prComment, spec.githubToken, run);
  const facts = {
    hubName: spec.hubName,
    adminUser: spec.adminUser,
    instanceType: spec.instanceType,
  };
  let passwordSet = false;
  const reportPassword = adminPasswordOutput({ setSecret: maskSecret, setOutput: core.setOutput });
  try {
    const clients = createClients(spec.region);
    const outcome = await reconcile(
      {
        ...clients,
        clock: realClock,
        pollMs: pollIntervalMs(),
        log: reporter,
        runKey: runKey(process.env),
        runOwner: runOwner(process.env),
        phases: new PhaseLog(realClock),
        onAdminPassword: (password) => {
          passwordSet = Boolean(password);
          reportPassword(password);
        },
        onPlan: async (plan) => {
          if (!spec.dryRun && spec.state === 'running' && plan.steps.some(isMutating)) {
            await notifier.post({ ...facts, phase: 'creating' });
          }
        },
        onInstallStarting: (progressUrl) =>
          notifier.post({ ...facts, phase: 'creating', progressUrl }),
      },
      tagged,
    );
    core.setOutput('hub-url', outcome.hubUrl ?? '');
    core.setOutput('instance-id', outcome.instanceId ?? '');
    core.setOutput('public-ip', outcome.publicIp ?? '');
    core.setOutput('state', outcome.state);
    core.setOutput('changed', String(outcome.changed));
    core.setOutput('tljh-version', outcome.state === 'running' ? spec.tljhVersion : '');
    core.setOutput('expires-at', outcome.expiresAt ?? '');
    core.setOutput('image-id', outcome.image?.id ?? '');
    core.setOutput('image-source', outcome.image?.source ?? '');
    // Masked; empty unless this run set a new one (already set when it was sent to the hub).
    reportPassword(outcome.generatedPassword ?? '');
    core.info(
      `Hub '${spec.hubName}' is ${outcome.state}${outcome.hubUrl ? ` at ${outcome.hubUrl}` : ''}${outcome.httpsPending ? ' (not ready: no valid certificate yet, see the warning above)' : ''}${outcome.changed ? '' : ' (nothing changed)'}.`,
    );
    await writeSummary(core.summary, spec, outcome).write();
    // A hub asked to stop that never existed has no comment to update.
    if (!spec.dryRun && outcome.state !== 'absent') {
      // A hub without its certificate yet is not called ready (its https:// URL fails).
      const phase =
        outcome.state === 'running'
          ? outcome.httpsPending
            ? 'creating'
            : 'ready'
          : outcome.state === 'stopped'
            ? 'stopped'
            : 'terminated';
      await notifier.post({
        ...facts,
        phase,
        hubUrl: outcome.hubUrl,
        loginNote: phase === 'ready' && spec.adminUser ? loginNote(spec, outcome) : undefined,
        instanceId: outcome.instanceId,
        expiresAt: outcome.expiresAt ? new Date(outcome.expiresAt) : undefined,
        note: outcome.httpsPending,
      });
    }
  } catch (err) {
    if (passwordSet) {
      core.warning(
        "This run set a generated admin password on the hub before it failed: it is this step's admin-password output (masked). Save it from a later step with `if: always()`: no later run shows this password again.",
      );
    }
    await notifier.post({ ...facts, phase: 'failed', error: failureText(err) });
    throw err;
  }
}

async function reconcileMany(spec: HubSpec): Promise<void> {
  const desired = spec.state === 'stopped' ? 'stopped' : 'terminated';
  const ctx = {
    ...createClients(spec.region),
    clock: realClock,
    pollMs: pollIntervalMs(),
    log: reporter,
  };
  const outcome = await reconcileFleet(ctx, {
    pattern: spec.hubName,
    desired,
    expiredOnly: spec.expiredOnly,
    dryRun: spec.dryRun,
  }).catch((err: unknown) => {
    throw explainAwsError(err, `Acting on hubs matching '${spec.hubName}'`);
  });
  // A reaper with image-cache also deregisters the images no hub used for a while.
  if (desired === 'terminated' && spec.imageCache) {
    await core.group('Prune unused cached images', () =>
      pruneUnusedImages(ctx, spec.imageCacheMaxUnusedMs, spec.dryRun).catch((err: unknown) => {
        throw explainAwsError(err, 'Pruning unused cached images');
      }),
    );
  }
  core.setOutput('state', desired);
  core.setOutput('changed', String(outcome.changed));
  core.setOutput('hubs', JSON.stringify(outcome.rows));
  await writeFleetSummary(core.summary, spec, outcome).write();
  if (outcome.failed) {
    throw new ActionError(
      `${outcome.failed} of ${outcome.rows.length} hub(s) could not be ${desired}: see the table in the job summary.`,
      'Run again: hubs already done are skipped.',
    );
  }
  core.info(`${outcome.rows.length} hub(s) matching '${spec.hubName}' handled.`);
}

export async function run(): Promise<void> {
  try {
    // Mask the secrets before anything can log them, even if another input is invalid.
    for (const name of ['admin-password', 'github-token']) maskSecret(core.getInput(name));
    const spec = parseInputs((name) => core.getInput(name), process.env);
    // Secret tljh-config values (client_secret...) too, from the log and from GitHub API bodies.
    for (const s of specSecrets(spec)) maskSecret(s);
    if (spec.bulk) await reconcileMany(spec);
    else
      await reconcileOne(
        spec,
        runContext(
          process.env.GITHUB_EVENT_NAME,
          readEvent(process.env.GITHUB_EVENT_PATH),
          process.env,
        ),
      );
  } catch (err) {
    core.setFailed(failureText(err));
  }
}
