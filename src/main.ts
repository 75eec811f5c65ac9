// Entry point: read inputs -> reconcile -> outputs and summary, with one error handler.
import * as core from '@actions/core';
import { createClients } from './aws/clients.ts';
import { pollIntervalMs, realClock } from './clock.ts';
import { ActionError } from './errors.ts';
import { parseInputs, type HubSpec } from './inputs.ts';
import { reconcile, type Reporter } from './reconcile.ts';
import { writeSummary } from './summary.ts';

const reporter: Reporter = {
  group: (name, fn) => core.group(name, fn),
  info: (m) => core.info(m),
  warning: (m) => core.warning(m),
};

function runKey(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT } = env;
  return GITHUB_RUN_ID
    ? `${GITHUB_REPOSITORY}/${GITHUB_RUN_ID}/${GITHUB_RUN_ATTEMPT ?? 1}`
    : undefined;
}

export async function run(): Promise<void> {
  let spec: HubSpec | undefined;
  try {
    spec = parseInputs((name) => core.getInput(name), process.env);
    const clients = createClients(spec.region);
    const outcome = await reconcile(
      {
        ...clients,
        clock: realClock,
        pollMs: pollIntervalMs(),
        log: reporter,
        runKey: runKey(process.env),
      },
      spec,
    );
    core.setOutput('hub-url', outcome.hubUrl ?? '');
    core.setOutput('instance-id', outcome.instanceId ?? '');
    core.setOutput('public-ip', outcome.publicIp ?? '');
    core.setOutput('state', outcome.state);
    core.setOutput('changed', String(outcome.changed));
    core.setOutput('tljh-version', outcome.state === 'running' ? spec.tljhVersion : '');
    core.info(
      `Hub '${spec.hubName}' is ${outcome.state}${outcome.hubUrl ? ` at ${outcome.hubUrl}` : ''}${outcome.changed ? '' : ' (nothing changed)'}.`,
    );
    await writeSummary(core.summary, spec, outcome).write();
  } catch (err) {
    if (err instanceof ActionError) {
      core.setFailed(err.hint ? `${err.message}\n${err.hint}` : err.message);
    } else {
      core.setFailed(`Unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    }
  }
}
