// About 300 lines: one class, because the install, the lease it holds and the health check that
// may reinstall share the instance, the password and what was written.
// Installing TLJH on a running hub over SSM Run Command, under the install lease, and the
// cheap health check of a hub verified before (which reinstalls only when the instance says so).
// The waits are in run-command.ts, the checks in hub-health.ts, the settings' round trip in
// settings-parameter.ts.
import { randomBytes } from 'node:crypto';
import * as ec2 from './aws/ec2.ts';
import { buildInstallScript, buildSettingsScript } from './bootstrap.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError, InstanceGoneError, isSessionExpired } from './errors.ts';
import {
  PUBLIC_PROBE_MS,
  probePublicUrl,
  verifyOnInstance,
  verifyPublicUrl,
} from './hub-health.ts';
import type { HubSpec } from './inputs.ts';
import { InstallLease } from './install-lease.ts';
import { RELEASED } from './lease.ts';
import type { ObservedInstance } from './model.ts';
import { AGENT_TIMEOUT_MS, runScript, waitForAgent, type CommandResult } from './run-command.ts';
import { hubSettings, withSettingsParameter } from './settings-parameter.ts';
import { sweepStaleSettings } from './settings-sweep.ts';
import { TAG_IMAGE_SOURCE, TAG_INSTALL_LEASE, TAG_INSTALLED_VERSION } from './tags.ts';
import { timed } from './phases.ts';
import {
  describeChecks,
  evaluateReport,
  parseReport,
  verificationMs,
  type Report,
} from './verify.ts';

// Where these lived before; reconcile.ts and the tests import them from here.

/** 24 characters from 18 random bytes (144 bits), base64url: no ':' (TLJH splits user:password). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export class HubInstaller {
  changed = false;
  done: string[] = [];
  hubVersion?: string;
  /** Set while an HTTPS hub is live but its certificate is not issued yet: what is missing. */
  httpsPending?: string;
  /** Each check this run made of the hub, and its answer (for the job summary). */
  checks: string[] = [];
  /**
   * The admin password this run generated, once it was sent to the hub (the installer may have
   * set it from then on). Reported through ctx.onAdminPassword at once, not at the end.
   */
  generatedPassword?: string;
  /**
   * Tags set with the installed mark, in the same call (what the hub now has of its spec: a hub
   * marked installed always carries its record). Once written, `written` holds them.
   */
  markTags: Record<string, string> = {};
  /** The admin changed since the hub was installed: a new admin gets a generated password too. */
  newAdmin = false;
  /** Another run installed the hub while this one waited (its record is that run's). */
  installedByOther = false;
  written: Record<string, string> = {};
  /** tljh:installed-version as read with the lease (fresher than the instance observed). */
  private installedWhenLeased?: string;
  private readonly ctx: ReconcileContext;
  private readonly spec: HubSpec;
  private readonly instance: () => ObservedInstance;
  private readonly lease: InstallLease;

  constructor(ctx: ReconcileContext, spec: HubSpec, instance: () => ObservedInstance) {
    this.ctx = ctx;
    this.spec = spec;
    this.instance = instance;
    this.lease = new InstallLease(ctx, spec.installTimeoutMinutes * 60_000, () => this.id);
  }

  private get id(): string {
    return this.instance().instanceId;
  }

  async waitForAgent(): Promise<void> {
    try {
      await waitForAgent(this.ctx, this.id, {
        timeoutMs: AGENT_TIMEOUT_MS,
        stillThere: () => this.stillThere(),
      });
    } catch (err) {
      if (err instanceof InstanceGoneError || !(err instanceof ActionError)) throw err;
      throw await this.withConsoleTail(err);
    }
  }

  /** `takeOver`: the run holding the lease died after its command ended (see InstallLease). */
  async install(takeOver = false): Promise<void> {
    const taken = await this.lease.take(takeOver);
    if (!taken.won) {
      await this.awaitOtherRunsInstall();
      return;
    }
    this.installedWhenLeased = taken.installedVersion;
    try {
      await this.sweepStaleSettings();
      await this.installHoldingLease();
    } catch (err) {
      // Let waiting runs take over at once rather than when the lease lapses.
      await this.lease.write(RELEASED).catch(() => undefined);
      throw err;
    }
  }

  private async installHoldingLease(): Promise<void> {
    const { ctx, spec } = this;
    let password = spec.adminPassword;
    let generated: string | undefined;
    // Only a hub that was never verified gets a generated password: reinstalling (an upgrade,
    // a repair) must not reset the password the admin already has.
    const firstInstall = !this.installedWhenLeased;
    if (!password && spec.generatePassword && (firstInstall || this.newAdmin)) {
      password = generated = generatePassword();
      ctx.log.mask(password);
    }
    // A hub launched from a cached image has TLJH: its first boot makes its own secrets and
    // applies its settings, with no installer run (image-cache.ts).
    const firstBoot = firstInstall && this.instance().tags?.[TAG_IMAGE_SOURCE] === 'cache';
    ctx.log.info(
      firstBoot
        ? `First boot of ${this.id} from a cached image with TLJH ${spec.tljhVersion}: new secrets, the settings, then the full verification (no installer run)...`
        : `Installing TLJH ${spec.tljhVersion} on ${this.id} through SSM Run Command (up to ${spec.installTimeoutMinutes} minutes)...`,
    );
    // bootstrap.ts progressPageBlock: TLJH serves it on port 80 of a hub it installs anew.
    const publicIp = this.instance().publicIp;
    if (!firstBoot && firstInstall && publicIp) {
      ctx.log.info(
        `Watch the install's progress at http://${publicIp}/ (TLJH's progress page, showing the installer's log on a new hub until the hub starts).`,
      );
      await ctx.onInstallStarting?.(`http://${publicIp}/`);
    }
    const settings = hubSettings(spec, password);
    const script = (parameter: string | undefined) =>
      firstBoot
        ? buildSettingsScript({
            adminUser: spec.adminUser!,
            region: spec.region,
            settingsParameter: parameter,
            httpsDomain: spec.https?.domain,
            httpsStaging: spec.https?.staging,
            lockWaitSeconds: spec.installTimeoutMinutes * 60,
            firstBoot,
          })
        : buildInstallScript({
            tljhVersion: spec.tljhVersion,
            adminUser: spec.adminUser!,
            region: spec.region,
            settingsParameter: parameter,
            plugins: spec.plugins,
            userRequirementsUrl: spec.userRequirementsUrl,
            httpsDomain: spec.https?.domain,
            httpsStaging: spec.https?.staging,
            lockWaitSeconds: spec.installTimeoutMinutes * 60,
          });
    const result = await withSettingsParameter(ctx, spec.hubName, this.id, settings, (parameter) =>
      runScript(
        ctx,
        this.id,
        script(parameter),
        `tljh-ec2-action: ${firstBoot ? 'first boot of' : 'install'} TLJH ${spec.tljhVersion}`,
        {
          timeoutMs: spec.installTimeoutMinutes * 60_000,
          stillThere: () => this.stillThere(),
          onSent: async (commandId) => {
            // From here on the installer may set the password at any moment (it does so
            // early): the user must get it whatever fails next (the install, the tag, the
            // public probe, a race check, expired credentials).
            if (generated) this.reportPassword(generated);
            await this.lease.write(commandId);
          },
        },
      ),
    );
    const run = { ...result, report: parseReport(result.stdout) };
    this.changed = true;
    ctx.phases?.addWithin('verification', verificationMs(run.report) ?? 0);
    const health = evaluateReport(run.report);
    this.checks = describeChecks(run.report);
    if (run.status !== 'Success' || !health.healthy) {
      throw await this.withConsoleTail(installFailure(this.id, run, health.problems));
    }
    this.hubVersion = health.version;
    // Marked installed and the lease released in one call: a waiting run sees both at once.
    await ec2.tagInstance(ctx.ec2, this.id, {
      [TAG_INSTALLED_VERSION]: spec.tljhVersion,
      [TAG_INSTALL_LEASE]: this.lease.value(RELEASED),
      ...this.markTags,
    });
    this.written = { ...this.written, ...this.markTags };
    this.done.push(
      `${firstBoot ? 'booted from the cached image and verified' : 'installed and verified'} TLJH ${spec.tljhVersion} (JupyterHub ${health.version})`,
    );
    ctx.log.info(
      `Verified on the instance: installer.log ends with Done!, jupyterhub and traefik active, /hub/api answers JupyterHub ${health.version}, and a user's server starts from /opt/tljh/user as an unprivileged user.`,
    );
    await this.verifyPublicUrl(spec.https ? spec.https.waitMinutes * 60_000 : PUBLIC_PROBE_MS);
  }

  /** Probes the public URL (see hub-health.ts) and keeps what it answered. */
  async verifyPublicUrl(timeoutMs: number): Promise<void> {
    const result = await timed(this.ctx.phases, 'public probe', () =>
      verifyPublicUrl(this.ctx, this.spec, this.instance(), timeoutMs),
    );
    if (!result) return;
    this.checks.push(result.check);
    if (result.version) this.hubVersion = result.version;
    this.httpsPending = result.httpsPending;
  }

  /** Adds the tail of the instance's console output to a failure, for diagnosis. */
  private async withConsoleTail(err: ActionError): Promise<ActionError> {
    const tail = await ec2.consoleOutputTail(this.ctx.ec2, this.id);
    const message = `${err.message}\nConsole output of ${this.id} (tail):\n${tail.map((l) => `  ${l}`).join('\n')}`;
    return new ActionError(message, err.hint);
  }

  /** Ends a wait on an instance that someone stopped or terminated meanwhile. */
  async stillThere(): Promise<void> {
    const current = await ec2.describeHubInstance(this.ctx.ec2, this.id);
    if (current.state !== 'running') throw new InstanceGoneError(this.id, current.state);
  }

  /**
   * Another run is installing this hub (or launched it and will): wait until it marks the hub
   * installed, then check it like any verified hub; install it here only once that run is over
   * without the mark (see InstallLease.awaitOther).
   */
  async awaitOtherRunsInstall(): Promise<void> {
    const next = await timed(this.ctx.phases, 'waiting for another run', () =>
      this.lease.awaitOther(this.spec.tljhVersion),
    );
    // That run installed the hub with its own inputs: it records them, not this run.
    if (next === 'check') this.installedByOther = true;
    if (next === 'check') await this.checkHealth(true);
    else await this.install(next === 'take-over');
  }

  /** Reports a generated password now (masked output), so no later failure can lose it. */
  reportPassword(password: string): void {
    this.generatedPassword = password;
    this.ctx.onAdminPassword?.(password);
  }

  /** Our launch lost a late-seen race: the password set on it (terminated now) is nobody's. */
  withdrawPassword(): void {
    if (!this.generatedPassword) return;
    this.generatedPassword = undefined;
    this.ctx.onAdminPassword?.('');
  }

  /**
   * Deletes settings parameters of this hub that a run died with (this run holds the lease, so
   * none of this instance is in use). Best effort: only an expired session fails the run.
   */
  private async sweepStaleSettings(): Promise<void> {
    try {
      const deleted = await sweepStaleSettings(this.ctx, this.spec.hubName, async (instance) =>
        instance.instanceId === this.id
          ? false
          : (await this.lease.otherRuns(instance.installLease, instance.instanceId)) ===
            'installing',
      );
      if (!deleted.length) return;
      this.changed = true;
      this.done.push(
        `deleted ${deleted.length} leftover settings parameter(s) of an interrupted install`,
      );
      this.ctx.log.info(
        `Deleted settings parameters left by an interrupted install: ${deleted.join(', ')}`,
      );
    } catch (err) {
      if (isSessionExpired(err)) throw err;
      this.ctx.log.warning(
        `Could not look for settings parameters left by an interrupted install: ${(err as Error).message}`,
      );
    }
  }

  /** A cheap check for a hub verified before; asks the instance, and reinstalls, only if needed. */
  async checkHealth(justStarted: boolean): Promise<void> {
    const { ctx, spec } = this;
    const timeoutMs = justStarted ? PUBLIC_PROBE_MS : 0;
    const probe = await probePublicUrl(ctx, spec, this.instance().publicIp, timeoutMs);
    if (probe?.ok) {
      this.hubVersion = probe.version;
      return;
    }
    await this.waitForAgent();
    const { health, checks } = await timed(ctx.phases, 'verification', () =>
      verifyOnInstance(ctx, spec, this.id, () => this.stillThere()),
    );
    this.checks = checks;
    if (health.healthy) {
      this.hubVersion = health.version;
      await this.verifyPublicUrl(PUBLIC_PROBE_MS);
      return;
    }
    ctx.log.warning(
      `The hub is not healthy (${health.problems.join('; ')}): installing TLJH again (safe: the installer upgrades in place).`,
    );
    await this.install();
  }
}

function installFailure(
  instanceId: string,
  run: CommandResult & { report: Report },
  problems: string[],
): ActionError {
  const lines = [
    `The TLJH install on ${instanceId} failed (SSM status ${run.status}, exit code ${run.exitCode}).`,
    ...problems.map((p) => `  - ${p}`),
  ];
  if (run.report.installerOutput.length) {
    lines.push(
      "Installer's own output (last lines):",
      ...run.report.installerOutput.map((l) => `  ${l}`),
    );
  }
  if (run.report.logTail.length) {
    lines.push('/opt/tljh/installer.log (tail):', ...run.report.logTail.map((l) => `  ${l}`));
  }
  if (!run.report.installerOutput.length && run.stderr) lines.push('stderr:', run.stderr.trim());
  return new ActionError(
    lines.join('\n'),
    `The instance ${instanceId} is left running and tagged for diagnosis (AWS Systems Manager > Session Manager gives a shell). Run again to retry the install: it converges from there.`,
  );
}
