// Installing, verifying and health-checking TLJH on a running hub over SSM Run Command.
import { randomBytes } from 'node:crypto';
import * as ec2 from './aws/ec2.ts';
import * as ssm from './aws/ssm.ts';
import { buildInstallScript, buildVerifyScript } from './bootstrap.ts';
import { formatDuration } from './clock.ts';
import { ActionError, InstanceGoneError } from './errors.ts';
import type { HubSpec } from './inputs.ts';
import {
  formatLease,
  LEASE_WITHOUT_COMMAND_MS,
  leaseLapsed,
  parseLease,
  RELEASED,
} from './lease.ts';
import type { ObservedInstance } from './plan.ts';
import type { ReconcileContext } from './reconcile.ts';
import { TAG_INSTALL_LEASE } from './tags.ts';
import {
  describeProbe,
  evaluateReport,
  parseReport,
  waitForHubApi,
  type Report,
} from './verify.ts';

const AGENT_TIMEOUT_MS = 10 * 60_000;
/** How long the install lease's writers wait before reading it back (see takeInstallLease). */
const LEASE_SETTLE_MS = 1000;
const PUBLIC_PROBE_MS = 3 * 60_000;
// Let's Encrypt needs a moment after the proxy reloads to obtain the certificate.
const HTTPS_PROBE_MS = 5 * 60_000;

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
  /** Set when this run generated the admin password (returned as a masked output). */
  generatedPassword?: string;
  private readonly ctx: ReconcileContext;
  private readonly spec: HubSpec;
  private readonly instance: () => ObservedInstance;

  constructor(ctx: ReconcileContext, spec: HubSpec, instance: () => ObservedInstance) {
    this.ctx = ctx;
    this.spec = spec;
    this.instance = instance;
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
    const name = `${ssm.settingsPath(this.spec.hubName)}${this.id}/settings`;
    await ssm.putSecureParameter(
      this.ctx.ssm,
      name,
      JSON.stringify(settings),
      `Install settings for hub ${this.spec.hubName} (deleted after the install)`,
    );
    this.ctx.log.info(
      `Admin password and settings travel in the SecureString parameter ${name} (deleted after the install).`,
    );
    try {
      return await fn(name);
    } finally {
      await ssm.deleteParameter(this.ctx.ssm, name).catch((err: unknown) => {
        this.ctx.log.warning(
          `Could not delete ${name} (${(err as Error).message}): delete it by hand; the next install overwrites it.`,
        );
      });
    }
  }

  async install(): Promise<void> {
    if (!(await this.takeInstallLease())) {
      await this.awaitOtherRunsInstall();
      return;
    }
    try {
      await this.installHoldingLease();
    } catch (err) {
      // Let waiting runs take over at once rather than when the lease lapses.
      await this.writeLease(RELEASED).catch(() => undefined);
      throw err;
    }
  }

  private async installHoldingLease(): Promise<void> {
    const { ctx, spec } = this;
    let password = spec.adminPassword;
    // Only a hub that was never verified gets a generated password: reinstalling (an upgrade,
    // a repair) must not reset the password the admin already has.
    const firstInstall = !this.instance().installedVersion;
    if (!password && spec.generatePassword && firstInstall) {
      password = generatePassword();
      ctx.log.mask(password);
      this.generatedPassword = password;
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
        (commandId) => this.writeLease(commandId),
      ),
    );
    this.changed = true;
    const health = evaluateReport(run.report);
    if (run.status !== 'Success' || !health.healthy) {
      throw await this.withConsoleTail(installFailure(this.id, run, health.problems));
    }
    this.hubVersion = health.version;
    await ec2.markInstalled(ctx.ec2, this.id, spec.tljhVersion);
    this.done.push(
      `installed and verified TLJH ${spec.tljhVersion} (JupyterHub ${health.version})`,
    );
    ctx.log.info(
      `Verified on the instance: installer.log ends with Done!, jupyterhub and traefik active, /hub/api answers JupyterHub ${health.version}.`,
    );
    await this.verifyPublicUrl(spec.https ? HTTPS_PROBE_MS : PUBLIC_PROBE_MS);
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
    const probe = await waitForHubApi(url, {
      clock: this.ctx.clock,
      intervalMs: this.ctx.pollMs,
      timeoutMs,
      resolveTo: ip,
    });
    if (probe.ok) {
      this.hubVersion = probe.version;
      this.ctx.log.info(`${url}hub/api answers from the runner: ${describeProbe(probe)}`);
      return;
    }
    throw new ActionError(
      `The hub is healthy on the instance, but ${url}hub/api does not answer from this runner: ${describeProbe(probe)}.`,
      this.spec.https
        ? `Check that ${this.spec.https.domain} has a DNS A record for ${ip} (use an Elastic IP so it survives a stop), that port 80 is open for Let's Encrypt, and that 'allowed-cidrs' lets this runner in.`
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

  private get installTimeoutMs(): number {
    return this.spec.installTimeoutMinutes * 60_000;
  }

  private writeLease(commandId?: string): Promise<void> {
    const lease = formatLease({ owner: this.ctx.runOwner, at: this.ctx.clock.now(), commandId });
    return ec2.tagInstance(this.ctx.ec2, this.id, { [TAG_INSTALL_LEASE]: lease });
  }

  /** Whether another run's lease still protects its install on this instance. */
  private async otherRunInstalling(tag: string | undefined): Promise<boolean> {
    const lease = parseLease(tag);
    if (!lease || lease.owner === this.ctx.runOwner) return false;
    if (lease.commandId === RELEASED) return false;
    if (leaseLapsed(lease, this.ctx.clock.now(), this.installTimeoutMs)) return false;
    return !(lease.commandId && (await ssm.commandEnded(this.ctx.ssm, lease.commandId, this.id)));
  }

  /**
   * Takes the install lease unless another run holds a live one. EC2 tags are last-writer-wins,
   * not compare-and-swap: tag, wait longer than two runs' read-then-tag can be apart (plus
   * tag propagation), then read back. Runs that raced all read the same last tag: one installs,
   * the others wait for it.
   */
  private async takeInstallLease(): Promise<boolean> {
    const current = await ec2.describeHubInstance(this.ctx.ec2, this.id);
    if (await this.otherRunInstalling(current.installLease)) return false;
    await this.writeLease();
    await this.ctx.clock.sleep(Math.max(2 * this.ctx.pollMs, LEASE_SETTLE_MS));
    const after = await ec2.describeHubInstance(this.ctx.ec2, this.id);
    // Not seeing our tag yet is not losing (tags are eventually consistent); seeing another's is.
    const holder = parseLease(after.installLease)?.owner;
    return !holder || holder === this.ctx.runOwner;
  }

  /**
   * Another run is installing this hub (or launched it and will): wait until it marks the hub
   * installed, then check it like any verified hub. If that run dies (its lease lapses or its
   * command ends without the mark), install it here.
   */
  async awaitOtherRunsInstall(): Promise<void> {
    const { ctx, spec } = this;
    const start = ctx.clock.now();
    ctx.log.info(`Waiting for the run that is installing TLJH on ${this.id}...`);
    for (;;) {
      const current = await ec2.describeHubInstance(ctx.ec2, this.id);
      if (current.state !== 'running' && current.state !== 'pending') {
        throw new InstanceGoneError(this.id, current.state);
      }
      const installing = await this.otherRunInstalling(current.installLease);
      if (current.installedVersion === spec.tljhVersion && !installing) {
        await this.checkHealth(true);
        return;
      }
      const waited = ctx.clock.now() - start;
      const noLeaseYet = !current.installLease && waited < LEASE_WITHOUT_COMMAND_MS;
      if (!noLeaseYet && !installing) {
        ctx.log.info(`No other run is installing ${this.id} any more: installing it here.`);
        await this.install();
        return;
      }
      await ctx.clock.sleep(ctx.pollMs);
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
