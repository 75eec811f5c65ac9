// Entry point: read inputs -> reconcile one hub or many -> outputs, summary, PR comment; one
// error handler.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as core from '@actions/core';
import { createClients } from './aws/clients.ts';
import { pollIntervalMs, realClock } from './clock.ts';
import { ActionError, explainAwsError } from './errors.ts';
import { reconcileFleet } from './fleet.ts';
import { runContext, type RunContext } from './github/context.ts';
import { PrNotifier } from './github/notifier.ts';
import { parseInputs, type HubSpec } from './inputs.ts';
import { isMutating } from './plan.ts';
import { reconcile, type Reporter } from './reconcile.ts';
import { writeFleetSummary, writeSummary } from './summary.ts';
import { TAG_PULL_REQUEST, TAG_REPOSITORY } from './tags.ts';

const reporter: Reporter = {
  group: (name, fn) => core.group(name, fn),
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
  mask: (secret) => core.setSecret(secret),
};

/** The workflow run, across its attempts (a re-run attempt takes over its own install lease). */
function runOwner(env: NodeJS.ProcessEnv): string {
  const { GITHUB_REPOSITORY, GITHUB_RUN_ID } = env;
  const key = GITHUB_RUN_ID ? `${GITHUB_REPOSITORY}/${GITHUB_RUN_ID}` : randomUUID();
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function runKey(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT } = env;
  return GITHUB_RUN_ID
    ? `${GITHUB_REPOSITORY}/${GITHUB_RUN_ID}/${GITHUB_RUN_ATTEMPT ?? 1}`
    : undefined;
}

function readEvent(path: string | undefined): Record<string, unknown> {
  try {
    return path ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function failureText(err: unknown): string {
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
        onPlan: async (plan) => {
          if (!spec.dryRun && spec.state === 'running' && plan.steps.some(isMutating)) {
            await notifier.post({ ...facts, phase: 'creating' });
          }
        },
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
    // Masked (registered with setSecret when generated); empty unless this run set a new one.
    core.setOutput('admin-password', outcome.generatedPassword ?? '');
    core.info(
      `Hub '${spec.hubName}' is ${outcome.state}${outcome.hubUrl ? ` at ${outcome.hubUrl}` : ''}${outcome.changed ? '' : ' (nothing changed)'}.`,
    );
    await writeSummary(core.summary, spec, outcome).write();
    // A hub asked to stop that never existed has no comment to update.
    if (!spec.dryRun && outcome.state !== 'absent') {
      const phase =
        outcome.state === 'running'
          ? 'ready'
          : outcome.state === 'stopped'
            ? 'stopped'
            : 'terminated';
      await notifier.post({
        ...facts,
        phase,
        hubUrl: outcome.hubUrl,
        instanceId: outcome.instanceId,
        expiresAt: outcome.expiresAt ? new Date(outcome.expiresAt) : undefined,
      });
    }
  } catch (err) {
    await notifier.post({ ...facts, phase: 'failed', error: failureText(err) });
    throw err;
  }
}

async function reconcileMany(spec: HubSpec): Promise<void> {
  const { ec2 } = createClients(spec.region);
  const desired = spec.state === 'stopped' ? 'stopped' : 'terminated';
  const outcome = await reconcileFleet(
    { ec2, clock: realClock, pollMs: pollIntervalMs(), log: reporter },
    { pattern: spec.hubName, desired, expiredOnly: spec.expiredOnly, dryRun: spec.dryRun },
  ).catch((err: unknown) => {
    throw explainAwsError(err, `Acting on hubs matching '${spec.hubName}'`);
  });
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
    for (const name of ['admin-password', 'github-token']) {
      const secret = core.getInput(name);
      if (secret) core.setSecret(secret);
    }
    const spec = parseInputs((name) => core.getInput(name), process.env);
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
