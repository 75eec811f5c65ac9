// Observe -> plan -> apply: makes one hub match its spec, like a controller's reconcile loop.
// A stop or terminate goes through teardown.ts, the path bulk runs take too.
import * as ec2 from './aws/ec2.ts';
import { findOwnedSecurityGroups } from './aws/security-groups.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { InstanceGoneError, explainAwsError } from './errors.ts';
import { tearDownHub } from './hub-teardown.ts';
import type { HubSpec } from './inputs.ts';
import { hubUrlFor } from './hub-health.ts';
import { HubInstaller } from './install.ts';
import { waitForInstance } from './instance-waits.ts';
import { describeChoice, launchHub, settleLaunchRace } from './launch.ts';
import type { ObservedInstance } from './model.ts';
import { describeStep, planSteps, type FinalState, type ObservedHub, type Step } from './plan.ts';
import { checkRemoteInputs, type LaunchTarget } from './remote-checks.ts';
import { TAG_EXPIRES_AT } from './tags.ts';
import { expiryTag } from './ttl.ts';

/** The hub's live instances (the oldest is the hub) and, for a terminate, its own groups. */
async function observe(
  ctx: ReconcileContext,
  spec: HubSpec,
): Promise<ObservedHub & { groups: Map<string, string[]> }> {
  const [instance, ...duplicates] = await ec2.findHubInstances(ctx.ec2, spec.hubName);
  if (instance && duplicates.length) {
    const all = [instance, ...duplicates].map((i) => i.instanceId).join(', ');
    ctx.log.warning(
      `${duplicates.length + 1} live instances carry hub '${spec.hubName}' (${all}); the oldest, ${instance.instanceId}, is the hub${spec.state === 'running' ? '' : `; every one of them is to be ${spec.state}`}.`,
    );
  }
  const groups =
    spec.state === 'terminated'
      ? await findOwnedSecurityGroups(ctx.ec2, [spec.hubName])
      : new Map<string, string[]>();
  return { instance, duplicates, ownedSecurityGroupId: groups.get(spec.hubName)?.[0], groups };
}

class Applier {
  instance?: ObservedInstance;
  changed = false;
  done: string[] = [];
  /** The instance type (and subnet) this run launched, if it launched one. */
  launchedType?: string;
  /** A concurrent run launched the hub first: this run terminated its own launch. */
  lostRace = false;
  /** The instance this run launched, if it launched one. */
  private ownLaunchId?: string;
  private readonly ctx: ReconcileContext;
  private readonly spec: HubSpec;
  private readonly target: LaunchTarget;
  private readonly observed: ObservedHub;

  readonly installer: HubInstaller;

  constructor(ctx: ReconcileContext, spec: HubSpec, observed: ObservedHub, target: LaunchTarget) {
    this.installer = new HubInstaller(ctx, spec, () => this.instance!);
    this.ctx = ctx;
    this.spec = spec;
    this.observed = observed;
    this.target = target;
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
    const { instanceId, choice, groups } = await launchHub(
      ctx,
      spec,
      this.target,
      this.expiryTags(),
    );
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
        await ec2.startInstance(ctx.ec2, this.id);
        this.changed = true;
        this.done.push(`started ${this.id}`);
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
      case 'terminate':
      case 'delete-security-group':
        throw new Error(`${step.kind} is teardown.ts's, never a step of a launch or start`);
    }
  }
}

export async function reconcile(ctx: ReconcileContext, spec: HubSpec): Promise<Outcome> {
  const observed = await ctx.log.group(`Find hub '${spec.hubName}' in ${spec.region}`, async () => {
    const found = await observe(ctx, spec).catch((err: unknown) => {
      throw explainAwsError(err, 'Looking up the hub (DescribeInstances)');
    });
    const i = found.instance;
    ctx.log.info(
      i
        ? `Found ${i.instanceId}: ${i.state}${i.installedVersion ? `, TLJH ${i.installedVersion} verified` : ''}`
        : 'No hub found.',
    );
    return found;
  });

  const plan = planSteps(observed, spec.state, spec.tljhVersion);
  ctx.log.info(
    `Plan (${spec.dryRun ? 'dry run, nothing will change' : `to reach ${plan.finalState}`}):`,
  );
  for (const [n, step] of plan.steps.entries()) ctx.log.info(`  ${n + 1}. ${describeStep(step)}`);
  if (!plan.steps.length) ctx.log.info('  nothing to do');
  if (spec.state !== 'running') {
    await ctx.onPlan?.(plan);
    return tearDownHub(ctx, spec, observed, plan);
  }

  const target = await checkRemoteInputs(ctx, spec, plan).catch((err: unknown) => {
    throw explainAwsError(err, 'Checking the inputs against AWS');
  });
  const applier = new Applier(ctx, spec, observed, target);
  await ctx.onPlan?.(plan);
  if (spec.dryRun) {
    const state = (observed.instance?.state as FinalState | undefined) ?? 'absent';
    return {
      plan,
      state,
      changed: false,
      done: [],
      instanceId: observed.instance?.instanceId,
      checks: [],
    };
  }
  for (const step of plan.steps) {
    const title = describeStep(step);
    await ctx.log.group(title.charAt(0).toUpperCase() + title.slice(1), () =>
      applier.apply(step).catch((err: unknown) => {
        throw explainAwsError(err, title.charAt(0).toUpperCase() + title.slice(1));
      }),
    );
  }
  await ctx.log.group('Check no concurrent run launched this hub too', () =>
    applier.settleRaceAgain().catch((err: unknown) => {
      throw explainAwsError(err, 'Checking for a concurrent launch');
    }),
  );
  const expiry = applier.expiryTags();
  if (expiry[TAG_EXPIRES_AT] && applier.instance) {
    await ec2.tagInstance(ctx.ec2, applier.instance.instanceId, expiry).catch((err: unknown) => {
      throw explainAwsError(err, 'Tagging the hub with its expiry');
    });
  }

  const instance = applier.instance;
  return {
    plan,
    state: 'running',
    changed: applier.changed || applier.installer.changed,
    done: [...applier.done, ...applier.installer.done],
    instanceId: instance?.instanceId,
    publicIp: instance?.publicIp,
    hubUrl: hubUrlFor(spec, instance?.publicIp),
    hubVersion: applier.installer.hubVersion,
    generatedPassword: applier.installer.generatedPassword,
    launchedType: applier.launchedType,
    expiresAt: expiry[TAG_EXPIRES_AT],
    checks: applier.installer.checks,
    httpsPending: applier.installer.httpsPending,
  };
}
