// Applies a plan's steps to one hub's instance (launch, start, waits, install, the changes of
// the spec), continuing with the winner when a concurrent run launched the same hub first.
// About 300 lines: one class, because every step shares the instance it follows through races.
import * as ec2 from './aws/ec2.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError, InstanceGoneError } from './errors.ts';
import {
  changeInstanceType,
  changeTags,
  growRootVolume,
  matchWebRules,
  startInstance,
  stopForTypeChange,
} from './hub-changes.ts';
import { attachAddress, forgetRecord, pointHubRecord } from './hub-endpoint.ts';
import { applySettings, growRootFileSystem } from './hub-settings.ts';
import { PUBLIC_PROBE_MS } from './hub-health.ts';
import type { HubSpec } from './inputs.ts';
import { HubInstaller, generatePassword } from './install.ts';
import { waitForInstance } from './instance-waits.ts';
import { describeChoice, launchHub, settleLaunchRace } from './launch.ts';
import type { ObservedInstance } from './model.ts';
import type { ObservedHub, Step } from './plan.ts';
import type { LaunchTarget } from './remote-checks.ts';
import { recordTags, type SpecView } from './spec-observe.ts';
import { RECORDED_GROUPS } from './spec-record.ts';
import { refTag } from './dns-record.ts';
import { TAG_DNS_RECORD, TAG_EXPIRES_AT } from './tags.ts';
import { expiryTag } from './ttl.ts';

export class Applier {
  instance?: ObservedInstance;
  changed = false;
  done: string[] = [];
  /** The instance type (and subnet) this run launched, if it launched one. */
  launchedType?: string;
  /** The type this run changed the instance from (to go back to if it cannot start). */
  private typeChangedFrom?: string;
  /** A concurrent run launched the hub first: this run terminated its own launch. */
  lostRace = false;
  /** The instance this run launched, if it launched one. */
  private ownLaunchId?: string;
  /** Tags a launch adds (where its image came from). */
  launchTags: Record<string, string> = {};
  private readonly ctx: ReconcileContext;
  private readonly spec: HubSpec;
  private readonly target: LaunchTarget;
  private readonly observed: ObservedHub;
  private readonly view: SpecView;

  readonly installer: HubInstaller;

  constructor(
    ctx: ReconcileContext,
    spec: HubSpec,
    observed: ObservedHub,
    target: LaunchTarget,
    view: SpecView,
  ) {
    this.installer = new HubInstaller(ctx, spec, () => this.instance!);
    // An install applies every group of the spec but the volume and the rules, which the launch
    // (or their own steps) set: recorded with the installed mark.
    this.installer.markTags = recordTags(view, RECORDED_GROUPS);
    // Another admin than the recorded one (no record: an older version's hub, same admin likely).
    this.installer.newAdmin =
      view.observed?.record?.values.admins !== undefined &&
      view.diff.groups.some((g) => g.group === 'admins' && g.changed);
    this.ctx = ctx;
    this.spec = spec;
    this.observed = observed;
    this.target = target;
    this.view = view;
    this.instance = observed.instance;
  }

  /** tljh:expires-at, now + ttl; refreshed by every running run, so an active PR keeps its hub. */
  expiryTags(): Record<string, string> {
    return this.spec.ttlMs
      ? { [TAG_EXPIRES_AT]: expiryTag(new Date(this.ctx.clock.now()), this.spec.ttlMs) }
      : {};
  }

  private get id(): string {
    return this.instance!.instanceId;
  }

  private async refresh(): Promise<void> {
    this.instance = await ec2.describeHubInstance(this.ctx.ec2, this.id);
  }

  private async launch(): Promise<void> {
    const { ctx, spec } = this;
    const { instanceId, choice, groups } = await launchHub(ctx, spec, this.target, {
      ...this.expiryTags(),
      ...this.launchTags,
      // The record it will have, named from the start: a terminate finds it whatever happens.
      ...(spec.dns ? { [TAG_DNS_RECORD]: refTag(spec.dns) } : {}),
    });
    this.changed = true;
    this.launchedType = describeChoice(choice);
    this.done.push(`launched ${instanceId} (${describeChoice(choice)}, ${this.target.imageId})`);
    ctx.log.info(
      `Launched ${instanceId} (${describeChoice(choice)}); security groups ${groups.join(', ')}`,
    );
    if (!spec.iamInstanceProfile) {
      ctx.log.warning(
        "No 'iam-instance-profile': the SSM agent can register only if Default Host Management Configuration is enabled in this account and region.",
      );
    }
    this.ownLaunchId = instanceId;
    this.instance = { instanceId, state: 'pending' };
    await this.settleRace();
  }

  /**
   * Several runs may launch the same hub at once: they all continue with the oldest instance.
   * Checked right after the launch, before the install, and before reporting (LaunchTime has
   * one-second resolution, so a same-second rival may only become visible later).
   */
  async settleRace(currentGone = false): Promise<void> {
    // Without a launch of its own, a run only needs this when the instance it found went away.
    if ((!this.ownLaunchId && !currentGone) || !this.instance) return;
    const before = this.instance.instanceId;
    this.instance = await settleLaunchRace(
      this.ctx,
      this.spec.hubName,
      this.instance,
      this.ownLaunchId ?? '',
      this.done,
      currentGone,
    );
    if (this.instance.instanceId === before) return;
    this.lostRace = true;
    await this.apply({ kind: 'wait', until: 'running' }); // and re-read its public IP
  }

  /**
   * A last look before reporting: a same-second rival may have become visible only now. Also
   * for a run that found a hub still being launched or installed by other runs, which may have
   * lost its own race meanwhile.
   */
  async settleRaceAgain(): Promise<void> {
    const before = this.instance?.instanceId;
    const foundFresh = !this.ownLaunchId && !this.observed.instance?.installedVersion;
    await this.settleRace(foundFresh);
    if (this.instance?.instanceId !== before) {
      // The password generated for our own (now terminated) instance is nobody's.
      this.installer.withdrawPassword();
      await this.apply({ kind: 'install' });
    }
  }

  /**
   * Applies a step. If the instance this run was waiting on went away because it lost a
   * launch race (to an instance that became visible later), continue with the winner.
   */
  async apply(step: Step): Promise<void> {
    try {
      await this.applyOnce(step);
    } catch (err) {
      if (!(err instanceof InstanceGoneError)) throw err;
      const before = this.instance?.instanceId;
      await this.settleRace(true);
      if (this.instance?.instanceId === before) throw err;
      await this.applyOnce(step);
    }
  }

  private async applyOnce(step: Step): Promise<void> {
    const { ctx } = this;
    switch (step.kind) {
      case 'launch':
        await this.launch();
        return;
      case 'start':
        await this.start();
        return;
      case 'wait':
        await waitForInstance(ctx, this.id, step.until);
        // A start gives a new public IP unless an Elastic IP is attached: always re-read it.
        if (step.until !== 'terminated') await this.refresh();
        return;
      case 'wait-agent':
        await this.installer.waitForAgent();
        return;
      case 'install':
        // After a lost launch race, the winner's own run installs it: wait for that instead of
        // installing twice (and setting two different generated passwords).
        await this.settleRace();
        if (this.lostRace) await this.installer.awaitOtherRunsInstall();
        else await this.installer.install();
        return;
      case 'check-health':
        await this.installer.checkHealth(this.changed);
        return;
      case 'stop':
        // Only to change the type of a running hub: the one stop path, for this instance.
        await this.stopForChange();
        return;
      case 'change-type':
        await changeInstanceType(ctx, this.spec.hubName, this.instance!, step.to);
        this.typeChangedFrom = step.from;
        this.record(`changed the instance type ${step.from} → ${step.to}`);
        return;
      case 'grow-volume':
        await this.growVolume(step.to, step.from === step.to);
        this.record(
          `grew the root volume ${step.from ?? '?'} → ${step.to} GiB and its file system`,
        );
        return;
      case 'apply-settings':
        await this.applySettings(step.groups);
        return;
      case 'match-rules':
        await this.matchRules();
        return;
      case 'change-tags':
        await this.changeTags();
        return;
      case 'attach-address': {
        // Never on an instance that lost a launch race: the address would leave the winner.
        await this.settleRace();
        const { ip, done } = await attachAddress(ctx, this.spec.hubName, this.instance!);
        await this.refresh();
        // DescribeInstances may lag behind the association for a moment.
        this.instance!.publicIp = ip;
        if (done) this.record(done);
        return;
      }
      case 'point-record':
      case 'delete-record': {
        const done =
          step.kind === 'point-record'
            ? await pointHubRecord(ctx, this.spec, this.instance!)
            : await forgetRecord(ctx, this.spec.hubName, this.instance!);
        if (done) this.record(done);
        return;
      }
      case 'terminate':
      case 'delete-security-group':
      case 'release-address':
      case 'withdraw-record':
        throw new Error(`${step.kind} is teardown.ts's, never a step of a launch or start`);
    }
  }

  private async start(): Promise<void> {
    await startInstance(this.ctx, this.spec, this.id, this.typeChangedFrom);
    this.changed = true;
    this.done.push(`started ${this.id}`);
  }

  private record(done: string): void {
    this.changed = true;
    this.done.push(done);
    this.ctx.log.info(done.charAt(0).toUpperCase() + done.slice(1) + '.');
  }

  private async stopForChange(): Promise<void> {
    if (await stopForTypeChange(this.ctx, this.spec.hubName, this.instance!)) {
      this.record(`stopped ${this.id} to change its type`);
    }
  }

  /** `grown`: EBS has the size already (a run whose file system grow failed): only that. */
  private async growVolume(sizeGiB: number, grown: boolean): Promise<void> {
    const volumeId = this.instance?.rootVolumeId;
    if (!volumeId) throw new ActionError(`${this.id} has no root EBS volume to grow.`);
    if (!grown) await growRootVolume(this.ctx, volumeId, sizeGiB);
    const bytes = await growRootFileSystem(this.ctx, this.id, () => this.installer.stillThere());
    if (bytes)
      this.ctx.log.info(`The root file system now holds ${(bytes / 2 ** 30).toFixed(1)} GiB.`);
  }

  private async applySettings(groups: string[]): Promise<void> {
    const { ctx, spec } = this;
    ctx.log.info(
      `Applying ${groups.join(', ')} to ${this.id} (one SSM command, no installer run)...`,
    );
    // A new admin without a password of the user's (and no authenticator) gets a generated
    // one, as at a first install: never an account the first visitor could claim.
    const adminChanged = groups.includes('admins');
    let password =
      adminChanged || groups.includes('admin-password') ? spec.adminPassword : undefined;
    const generated =
      this.installer.newAdmin && !password && spec.generatePassword
        ? generatePassword()
        : undefined;
    if (generated) {
      ctx.log.mask(generated);
      password = generated;
    }
    const out = await applySettings(ctx, spec, this.id, {
      password,
      stillThere: () => this.installer.stillThere(),
      onSent: () => {
        if (generated) this.installer.reportPassword(generated);
      },
    });
    this.installer.checks = out.checks;
    if (out.version) this.installer.hubVersion = out.version;
    this.record(
      `applied the settings (${groups.join(', ')})${out.unset.length ? `, unset ${out.unset.join(', ')}` : ''} and reloaded the hub`,
    );
    await this.installer.verifyPublicUrl(
      spec.https ? spec.https.waitMinutes * 60_000 : PUBLIC_PROBE_MS,
    );
  }

  private async matchRules(): Promise<void> {
    const groupId = this.view.ownGroupId;
    if (!groupId) return;
    const { added, removed } = await matchWebRules(this.ctx, groupId, this.spec.allowedCidrs);
    if (added.length || removed.length) {
      this.record(
        `allowed exactly ${this.spec.allowedCidrs.join(', ')} in ${groupId} (${[...added.map((c) => `+${c}`), ...removed.map((c) => `−${c}`)].join(', ')})`,
      );
    }
  }

  private async changeTags(): Promise<void> {
    const { tags, removeExpiry } = this.view.diff;
    const remove = [...tags.remove, ...(removeExpiry ? [TAG_EXPIRES_AT] : [])];
    await changeTags(this.ctx, this.instance!, tags.set, remove);
    const parts = [
      ...Object.entries(tags.set).map(([k, v]) => `${k}=${v}`),
      ...remove.map((k) => `removed ${k}`),
    ];
    this.record(`changed the tags (${parts.join(', ')})`);
  }
}
