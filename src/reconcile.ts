// Observe -> plan -> apply: makes one hub match its spec, like a controller's reconcile loop.
import { createHash, randomUUID } from 'node:crypto';
import * as ec2 from './aws/ec2.ts';
import * as ssm from './aws/ssm.ts';
import type { ReconcileContext } from './context.ts';
import { ActionError, InstanceGoneError, explainAwsError, isSessionExpired } from './errors.ts';
import type { HubSpec } from './inputs.ts';
import { HubInstaller, hubUrlFor } from './install.ts';
import { describeChoice, launchChoices, launchFirstAvailable, settleLaunchRace } from './launch.ts';
import { deleteSettingsLeftovers } from './settings-parameter.ts';
import { TAG_EXPIRES_AT } from './tags.ts';
import { expiryTag } from './ttl.ts';
import { waitForInstance } from './instance-waits.ts';
import type { ObservedInstance } from './model.ts';
import {
  describeStep,
  planSteps,
  type FinalState,
  type ObservedHub,
  type Plan,
  type Step,
} from './plan.ts';

export interface Outcome {
  plan: Plan;
  state: FinalState;
  changed: boolean;
  done: string[];
  instanceId?: string;
  publicIp?: string;
  hubUrl?: string;
  hubVersion?: string;
  /** When the hub expires (tljh:expires-at), if it has a time to live. */
  expiresAt?: string;
  /** The admin password this run generated and sent to the hub (masked; see onAdminPassword). */
  generatedPassword?: string;
  /** The instance type (and subnet) used, when this run launched the hub. */
  launchedType?: string;
  /** Each check this run made of the hub and its answer (the job summary lists them). */
  checks: string[];
  /** An HTTPS hub that is up but has no valid certificate yet: what is missing. */
  httpsPending?: string;
}

const SECURITY_GROUP_RELEASE_MS = 3 * 60_000;

/** Same hub + same run attempt => same token, so a retried RunInstances cannot launch twice. */
export function launchClientToken(
  hubName: string,
  region: string,
  runKey: string | undefined,
): string {
  const key = `${region}/${hubName}/${runKey ?? randomUUID()}`;
  return `tljh-${createHash('sha256').update(key).digest('hex').slice(0, 48)}`;
}

async function observe(ctx: ReconcileContext, spec: HubSpec): Promise<ObservedHub> {
  const instances = await ec2.findHubInstances(ctx.ec2, spec.hubName);
  if (instances.length > 1) {
    ctx.log.warning(
      `${instances.length} live instances carry hub '${spec.hubName}' (${instances.map((i) => i.instanceId).join(', ')}); the oldest, ${instances[0]!.instanceId}, is the hub.`,
    );
  }
  const ownedSecurityGroupId =
    spec.state === 'terminated'
      ? await ec2.findOwnedSecurityGroup(ctx.ec2, spec.hubName)
      : undefined;
  return { instance: instances[0], ownedSecurityGroupId };
}

/** Where a launch goes: resolved (read-only) before anything is changed. */
type LaunchTarget = ec2.ImageInfo & { imageId: string; vpcId: string };
const NO_LAUNCH: LaunchTarget = {
  imageId: '',
  rootDeviceName: '',
  architecture: 'amd64',
  vpcId: '',
};

/** Read-only checks of inputs that only AWS can judge; they run before anything is changed. */
async function checkRemoteInputs(
  ctx: ReconcileContext,
  spec: HubSpec,
  plan: Plan,
): Promise<LaunchTarget> {
  const arch = await ec2.instanceTypeArchitecture(ctx.ec2, spec.instanceType);
  if (!plan.steps.some((s) => s.kind === 'launch')) return NO_LAUNCH;
  for (const other of spec.instanceTypes.slice(1)) {
    if ((await ec2.instanceTypeArchitecture(ctx.ec2, other)) !== arch) {
      throw new ActionError(
        `Input 'instance-type': ${other} is not ${arch} like ${spec.instanceType}.`,
        'Accepted: fallback instance types of one architecture (one image serves them all).',
      );
    }
  }
  const vpcId = await ec2.resolveVpc(ctx.ec2, spec.subnetId);
  for (const other of spec.subnetIds.slice(1)) {
    if ((await ec2.resolveVpc(ctx.ec2, other)) !== vpcId) {
      throw new ActionError(
        `Input 'subnet-id': ${other} is not in ${vpcId} like ${spec.subnetId}.`,
        "Accepted: fallback subnets of one VPC (the hub's security group belongs to one VPC).",
      );
    }
  }
  await ec2.checkSecurityGroups(ctx.ec2, spec.securityGroupIds);
  const imageId = spec.imageId ?? (await ssm.resolveUbuntuAmi(ctx.ssm, spec.ubuntuVersion, arch));
  const image = await ec2.describeImage(ctx.ec2, imageId);
  if (image.architecture !== arch) {
    throw new ActionError(
      `Image ${imageId} is ${image.architecture} but instance type ${spec.instanceType} is ${arch}.`,
      "Choose an image-id and instance-type of the same architecture (or leave image-id empty to use Canonical's).",
    );
  }
  return { imageId, vpcId, ...image };
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
    const groups = spec.securityGroupIds.length
      ? spec.securityGroupIds
      : [
          await ec2.ensureSecurityGroup(
            ctx.ec2,
            spec.hubName,
            this.target.vpcId,
            spec.allowedCidrs,
          ),
        ];
    const { instanceId, choice } = await launchFirstAvailable(
      ctx,
      {
        hubName: spec.hubName,
        imageId: this.target.imageId,
        rootDeviceName: this.target.rootDeviceName,
        rootVolumeSizeGiB: spec.rootVolumeSizeGiB,
        iamInstanceProfile: spec.iamInstanceProfile,
        securityGroupIds: groups,
        extraTags: { ...spec.extraTags, ...this.expiryTags() },
        clientToken: launchClientToken(spec.hubName, spec.region, ctx.runKey),
      },
      launchChoices(spec),
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
      case 'stop':
        await ec2.stopInstance(ctx.ec2, this.id);
        this.changed = true;
        this.done.push(`stopped ${this.id}`);
        return;
      case 'terminate':
        await ec2.terminateInstance(ctx.ec2, this.id);
        this.changed = true;
        this.done.push(`terminated ${this.id}`);
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
      case 'delete-security-group': {
        const groupId = this.observed.ownedSecurityGroupId!;
        // Right after a terminate, the instance's network interface may still hold the group.
        const deadline = ctx.clock.now() + SECURITY_GROUP_RELEASE_MS;
        while (!(await ec2.deleteSecurityGroup(ctx.ec2, groupId))) {
          if (ctx.clock.now() >= deadline) {
            ctx.log.warning(
              `Security group ${groupId} is still in use; the next run with state terminated deletes it.`,
            );
            return;
          }
          await ctx.clock.sleep(ctx.pollMs);
        }
        this.changed = true;
        this.done.push(`deleted security group ${groupId}`);
        return;
      }
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

  const target =
    spec.state === 'running'
      ? await checkRemoteInputs(ctx, spec, plan).catch((err: unknown) => {
          throw explainAwsError(err, 'Checking the inputs against AWS');
        })
      : NO_LAUNCH;

  const applier = new Applier(ctx, spec, observed, target);
  await ctx.onPlan?.(plan);
  if (!spec.dryRun) {
    for (const step of plan.steps) {
      const title = describeStep(step);
      await ctx.log.group(title.charAt(0).toUpperCase() + title.slice(1), () =>
        applier.apply(step).catch((err: unknown) => {
          throw explainAwsError(err, title.charAt(0).toUpperCase() + title.slice(1));
        }),
      );
    }
  }

  if (!spec.dryRun && plan.finalState === 'running') {
    await ctx.log.group('Check no concurrent run launched this hub too', () =>
      applier.settleRaceAgain().catch((err: unknown) => {
        throw explainAwsError(err, 'Checking for a concurrent launch');
      }),
    );
  }

  if (!spec.dryRun && plan.finalState === 'terminated') {
    const swept = await deleteSettingsLeftovers(ctx.ssm, [spec.hubName]).catch((err: unknown) => {
      if (isSessionExpired(err)) throw explainAwsError(err, 'Looking for leftover settings');
      ctx.log.warning(`Could not look for leftover settings parameters: ${(err as Error).message}`);
      return 0;
    });
    if (swept) {
      applier.done.push(
        `deleted ${swept} leftover settings parameter(s) of an interrupted install`,
      );
      applier.changed = true;
    }
  }

  const expiry = applier.expiryTags();
  if (!spec.dryRun && plan.finalState === 'running' && expiry[TAG_EXPIRES_AT] && applier.instance) {
    await ec2.tagInstance(ctx.ec2, applier.instance.instanceId, expiry).catch((err: unknown) => {
      throw explainAwsError(err, 'Tagging the hub with its expiry');
    });
  }

  const instance =
    plan.finalState === 'terminated' || plan.finalState === 'absent' ? undefined : applier.instance;
  return {
    plan,
    state: spec.dryRun
      ? ((observed.instance?.state as FinalState | undefined) ?? 'absent')
      : plan.finalState,
    changed: applier.changed || applier.installer.changed,
    done: [...applier.done, ...applier.installer.done],
    instanceId:
      instance?.instanceId ??
      (plan.finalState === 'terminated' ? observed.instance?.instanceId : undefined),
    publicIp: instance?.publicIp,
    hubUrl: plan.finalState === 'running' ? hubUrlFor(spec, instance?.publicIp) : undefined,
    hubVersion: applier.installer.hubVersion,
    generatedPassword: applier.installer.generatedPassword,
    launchedType: applier.launchedType,
    expiresAt: plan.finalState === 'running' ? expiry[TAG_EXPIRES_AT] : undefined,
    checks: applier.installer.checks,
    httpsPending: plan.finalState === 'running' ? applier.installer.httpsPending : undefined,
  };
}

export type { ReconcileContext, Reporter } from './context.ts';
