// The commands that change an installed hub without its installer: the settings command
// (tljh-config, admins, admin password, HTTPS, then TLJH's reloads) and the root file system's
// growth. Each is one SSM Run Command; secrets travel as the install's do (settings-parameter.ts).
import { buildSettingsScript } from './bootstrap.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError } from './errors.ts';
import type { HubSpec } from './inputs/spec.ts';
import { runScript } from './run-command.ts';
import { buildGrowRootScript } from './scripts/grow-root.ts';
import { hubSettings, withSettingsParameter } from './settings-parameter.ts';
import { describeChecks, evaluateReport, parseReport, verificationMs } from './verify.ts';

/** A settings command reloads the hub (and the proxy) and then verifies it: a few minutes. */
export const SETTINGS_TIMEOUT_MS = 10 * 60_000;
const GROW_TIMEOUT_MS = 5 * 60_000;

/**
 * Applies the spec's settings to the installed hub with one command, and verifies the hub
 * after its reload. Returns the checks and the version the hub answered.
 */
export async function applySettings(
  ctx: ReconcileContext,
  spec: HubSpec,
  instanceId: string,
  opts: {
    /** Set only when it (or the admin) changed: a password changed on the hub since stays. */
    password?: string;
    stillThere: () => Promise<void>;
    /** Told once the command is sent (from then on the hub may have the password). */
    onSent?: () => void;
  },
): Promise<{ checks: string[]; version?: string; unset: string[] }> {
  const { stillThere } = opts;
  const settings = hubSettings(spec, opts.password);
  const result = await withSettingsParameter(ctx, spec.hubName, instanceId, settings, (name) =>
    runScript(
      ctx,
      instanceId,
      buildSettingsScript({
        region: spec.region,
        settingsParameter: name,
        adminUser: spec.adminUser!,
        httpsDomain: spec.https?.domain,
        httpsStaging: spec.https?.staging,
      }),
      'tljh-ec2-action: apply TLJH settings',
      {
        timeoutMs: SETTINGS_TIMEOUT_MS,
        stillThere,
        onSent: () => Promise.resolve(opts.onSent?.()),
      },
    ),
  );
  const report = parseReport(result.stdout);
  ctx.phases?.addWithin('verification', verificationMs(report) ?? 0);
  const health = evaluateReport(report);
  const error = report.fields.error;
  if (result.status !== 'Success' || !health.healthy) {
    throw new ActionError(
      [
        `Applying the settings on ${instanceId} failed (SSM status ${result.status}, exit code ${result.exitCode}).`,
        ...(error ? [`  - ${error}`] : []),
        ...health.problems.map((p) => `  - ${p}`),
        ...(report.logTail.length
          ? ['/opt/tljh/installer.log (tail):', ...report.logTail.map((l) => `  ${l}`)]
          : []),
      ].join('\n'),
      "Check the tljh-config input (a key TLJH's schema refuses is named above), then run again: the settings are applied again as a whole.",
    );
  }
  const unset = result.stdout
    .split('\n')
    .flatMap((l) => (l.startsWith('::tljh:: unset=') ? [l.slice('::tljh:: unset='.length)] : []));
  return { checks: describeChecks(report), version: health.version, unset };
}

/** Grows the root partition and file system to the volume's new size (growpart, resize2fs). */
export async function growRootFileSystem(
  ctx: ReconcileContext,
  instanceId: string,
  stillThere: () => Promise<void>,
): Promise<number | undefined> {
  const result = await runScript(
    ctx,
    instanceId,
    buildGrowRootScript(),
    'tljh-ec2-action: grow the root file system',
    { timeoutMs: GROW_TIMEOUT_MS, stillThere },
  );
  const report = parseReport(result.stdout);
  if (result.status !== 'Success') {
    throw new ActionError(
      `Growing the root file system of ${instanceId} failed (exit code ${result.exitCode}): ${report.fields.error ?? report.fields.growpart ?? result.stderr.trim().slice(-300)}`,
      'The volume itself is larger already: run again to retry growing the partition, or grow it from Session Manager (growpart, resize2fs).',
    );
  }
  const bytes = Number(report.fields['root-bytes']);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}
