// Installing, verifying and health-checking TLJH on a running hub over SSM Run Command.
import { randomBytes } from 'node:crypto';
import * as ec2 from './aws/ec2.ts';
import * as ssm from './aws/ssm.ts';
import type { ReconcileContext } from './context.ts';
import { buildInstallScript, buildVerifyScript } from './bootstrap.ts';
import { formatDuration } from './clock.ts';
import { ActionError, InstanceGoneError, isSessionExpired } from './errors.ts';
import type { HubSpec } from './inputs.ts';
import { InstallLease } from './install-lease.ts';
import { RELEASED } from './lease.ts';
import type { ObservedInstance } from './model.ts';
import * as settingsParameter from './settings-parameter.ts';
import { sweepStaleSettings } from './settings-sweep.ts';
import { TAG_INSTALL_LEASE, TAG_INSTALLED_VERSION } from './tags.ts';
import {
  describeChecks,
  describeProbe,
  evaluateReport,
  parseReport,
  probeHubApi,
  waitForHubApi,
  type Report,
} from './verify.ts';

const AGENT_TIMEOUT_MS = 10 * 60_000;
const PUBLIC_PROBE_MS = 3 * 60_000;

/** What travels to the instance in the SecureString parameter (never in command parameters). */
export interface HubSettings {
  adminPassword?: string;
  settings: [string, string][];
  items: [string, string][];
}

export function hubSettings(spec: HubSpec, adminPassword: string | undefined): HubSettings {
  const https = spec.https;
  return {
    adminPassword,
    settings: [
      ...spec.tljhSettings,
      ...(https
        ? ([
            ['https.enabled', 'true'],
            ['https.letsencrypt.email', https.email],
          ] as [string, string][])
        : []),
    ],
    items: https ? [['https.letsencrypt.domains', https.domain]] : [],
  };
}

/** 24 characters from 18 random bytes (144 bits), base64url: no ':' (TLJH splits user:password). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export function hubUrlFor(spec: HubSpec, publicIp: string | undefined): string | undefined {
  if (spec.https) return `https://${spec.https.domain}/`;
  return publicIp ? `http://${publicIp}/` : undefined;
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

  private pollOptions(timeoutMs: number, what: string): ssm.PollOptions {
    return {
      clock: this.ctx.clock,
      intervalMs: this.ctx.pollMs,
      timeoutMs,
      stillThere: () => this.stillThere(),
      onProgress: (waited, detail) =>
        this.ctx.log.info(`Still waiting for ${what} (${formatDuration(waited)}, ${detail})`),
    };
  }

  async waitForAgent(): Promise<void> {
    this.ctx.log.info(
      `Waiting for the SSM agent on ${this.id} to come Online (up to ${formatDuration(AGENT_TIMEOUT_MS)})...`,
    );
    try {
      await ssm.waitForAgent(
        this.ctx.ssm,
        this.id,
        this.pollOptions(AGENT_TIMEOUT_MS, `the SSM agent on ${this.id}`),
      );
    } catch (err) {
      if (err instanceof InstanceGoneError || !(err instanceof ActionError)) throw err;
      throw await this.withConsoleTail(err);
    }
    this.ctx.log.info('SSM agent is Online.');
  }

  private async runOnHub(
    script: string,
    comment: string,
    timeoutMs: number,
    onSent?: (commandId: string) => Promise<void>,
  ) {
    const result = await ssm.runScript(this.ctx.ssm, this.id, script, comment, {
      ...this.pollOptions(timeoutMs, `'${comment}' on ${this.id}`),
      onSent,
    });
    return {
      report: parseReport(result.stdout),
      status: result.status,
      exitCode: result.exitCode,
      stderr: result.stderr,
    };
  }

  /** Puts the settings in a SecureString parameter for the instance to read, runs `fn`, deletes it. */
  private async withSettingsParameter<T>(
    settings: HubSettings,
    fn: (name?: string) => Promise<T>,
  ): Promise<T> {
    if (!settings.adminPassword && !settings.settings.length && !settings.items.length) return fn();
    const name = settingsParameter.settingsParameterName(this.spec.hubName, this.id);
    await ssm.putSecureParameter(
      this.ctx.ssm,
      name,
      JSON.stringify(settings),
      `Install settings for hub ${this.spec.hubName} (deleted after the install)`,
      // The instance role reads only a parameter tagged with its own instance id (see
      // docs/iam/instance-role-policy.json); the hub tags say whose it is.
      settingsParameter.settingsParameterTags(this.spec.hubName, this.id),
    );
    this.ctx.log.info(
      `Admin password and settings travel in the SecureString parameter ${name} (deleted after the install).`,
    );
    try {
      return await fn(name);
    } finally {
      await ssm.deleteParameter(this.ctx.ssm, name).catch((err: unknown) => {
        this.ctx.log.warning(
          `Could not delete ${name} (${(err as Error).message}): the next install on hub '${this.spec.hubName}' (or terminating it) deletes it.`,
        );
      });
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
    if (!password && spec.generatePassword && firstInstall) {
      password = generated = generatePassword();
      ctx.log.mask(password);
    }
    ctx.log.info(
      `Installing TLJH ${spec.tljhVersion} on ${this.id} through SSM Run Command (up to ${spec.installTimeoutMinutes} minutes)...`,
    );
    const run = await this.withSettingsParameter(hubSettings(spec, password), (settingsParameter) =>
      this.runOnHub(
        buildInstallScript({
          tljhVersion: spec.tljhVersion,
          adminUser: spec.adminUser!,
          region: spec.region,
          settingsParameter,
          plugins: spec.plugins,
          userRequirementsUrl: spec.userRequirementsUrl,
          httpsDomain: spec.https?.domain,
          lockWaitSeconds: spec.installTimeoutMinutes * 60,
        }),
        `tljh-ec2-action: install TLJH ${spec.tljhVersion}`,
        spec.installTimeoutMinutes * 60_000,
        async (commandId) => {
          // From here on the installer may set the password at any moment (it does so early):
          // the user must get it whatever fails next (the install, the tag, the public probe, a
          // race check, expired credentials).
          if (generated) this.reportPassword(generated);
          await this.lease.write(commandId);
        },
      ),
    );
    this.changed = true;
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
    });
    this.done.push(
      `installed and verified TLJH ${spec.tljhVersion} (JupyterHub ${health.version})`,
    );
    ctx.log.info(
      `Verified on the instance: installer.log ends with Done!, jupyterhub and traefik active, /hub/api answers JupyterHub ${health.version}, and a user's server starts from /opt/tljh/user as an unprivileged user.`,
    );
    await this.verifyPublicUrl(spec.https ? spec.https.waitMinutes * 60_000 : PUBLIC_PROBE_MS);
  }

  async verifyPublicUrl(timeoutMs: number): Promise<void> {
    const ip = this.instance().publicIp;
    const url = hubUrlFor(this.spec, ip);
    if (!url || !ip) {
      this.ctx.log.warning(
        `${this.id} has no public IP address: the hub is not reachable from the internet.`,
      );
      return;
    }
    const https = this.spec.https;
    if (https) {
      this.ctx.log.info(
        `Waiting up to ${formatDuration(timeoutMs)} for ${url} to present its Let's Encrypt certificate (issued once ${https.domain} resolves to ${ip})...`,
      );
    }
    const probe = await waitForHubApi(url, {
      clock: this.ctx.clock,
      intervalMs: this.ctx.pollMs,
      timeoutMs,
      resolveTo: ip,
      onProgress: (waited, last) =>
        this.ctx.log.info(
          `Still waiting for ${url}hub/api (${formatDuration(waited)}, last: ${describeProbe(last)})`,
        ),
    });
    this.checks.push(`${url}hub/api from the runner: ${describeProbe(probe)}`);
    if (probe.ok) {
      this.httpsPending = undefined;
      this.hubVersion = probe.version;
      this.ctx.log.info(`${url}hub/api answers from the runner: ${describeProbe(probe)}`);
      return;
    }
    // The certificate exists only once DNS points at the hub, which the first run cannot know:
    // a live hub behind a certificate not issued yet is a pending step, not a failed install.
    if (https && probe.certificateError && (await probeHubApi(url, 5000, ip, true)).ok) {
      this.httpsPending = `${url} is not ready: the hub is up, but it has no valid certificate for ${https.domain} yet (${probe.error}). Let's Encrypt issues it once ${https.domain} has a DNS A record for ${ip} and port 443 is reachable from the internet; it is then picked up without another run.`;
      this.ctx.log.warning(this.httpsPending);
      return;
    }
    throw new ActionError(
      `The hub is healthy on the instance, but ${url}hub/api does not answer from this runner: ${describeProbe(probe)}.`,
      https
        ? `Check that ${https.domain} has a DNS A record for ${ip} (use an Elastic IP so it survives a stop), that port 80 is open for Let's Encrypt, and that 'allowed-cidrs' lets this runner in.`
        : "Check that 'allowed-cidrs' (or your security-group-ids) let this runner reach ports 80/443, and that the subnet routes to an internet gateway.",
    );
  }

  /** Adds the tail of the instance's console output to a failure, for diagnosis. */
  private async withConsoleTail(err: ActionError): Promise<ActionError> {
    const tail = await ec2.consoleOutputTail(this.ctx.ec2, this.id);
    const message = `${err.message}\nConsole output of ${this.id} (tail):\n${tail.map((l) => `  ${l}`).join('\n')}`;
    return new ActionError(message, err.hint);
  }

  /** Ends a wait on an instance that someone stopped or terminated meanwhile. */
  private async stillThere(): Promise<void> {
    const current = await ec2.describeHubInstance(this.ctx.ec2, this.id);
    if (current.state !== 'running') throw new InstanceGoneError(this.id, current.state);
  }

  /**
   * Another run is installing this hub (or launched it and will): wait until it marks the hub
   * installed, then check it like any verified hub; install it here only once that run is over
   * without the mark (see InstallLease.awaitOther).
   */
  async awaitOtherRunsInstall(): Promise<void> {
    const next = await this.lease.awaitOther(this.spec.tljhVersion);
    if (next === 'check') await this.checkHealth(true);
    else await this.install(next === 'take-over');
  }

  /** Reports a generated password now (masked output), so no later failure can lose it. */
  private reportPassword(password: string): void {
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
    const ip = this.instance().publicIp;
    const url = hubUrlFor(this.spec, ip);
    const probe =
      url && ip
        ? await waitForHubApi(url, {
            clock: this.ctx.clock,
            intervalMs: this.ctx.pollMs,
            timeoutMs: justStarted ? PUBLIC_PROBE_MS : 0,
            resolveTo: ip,
          })
        : undefined;
    if (probe?.ok) {
      this.hubVersion = probe.version;
      this.ctx.log.info(
        `Hub is healthy: ${url}hub/api answers ${describeProbe(probe)}. Nothing to install.`,
      );
      return;
    }
    this.ctx.log.info(
      `${url ?? 'The hub'} does not answer like a live hub (${probe ? describeProbe(probe) : 'no public IP'}); asking the instance.`,
    );
    await this.waitForAgent();
    const run = await this.runOnHub(
      buildVerifyScript(this.spec.https?.domain),
      'tljh-ec2-action: verify TLJH',
      5 * 60_000,
    );
    const health = evaluateReport(run.report);
    this.checks = describeChecks(run.report);
    if (health.healthy) {
      this.hubVersion = health.version;
      await this.verifyPublicUrl(PUBLIC_PROBE_MS);
      return;
    }
    this.ctx.log.warning(
      `The hub is not healthy (${health.problems.join('; ')}): installing TLJH again (safe: the installer upgrades in place).`,
    );
    await this.install();
  }
}

function installFailure(
  instanceId: string,
  run: { report: Report; status: string; exitCode: number; stderr: string },
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
