// Observe -> plan -> apply: makes one hub match its spec, like a controller's reconcile loop.
// A stop or terminate goes through teardown.ts, the path bulk runs take too.
import * as ec2 from './aws/ec2.ts';
import { findOwnedSecurityGroups } from './aws/security-groups.ts';
import type { Outcome, ReconcileContext } from './context.ts';
import { explainAwsError } from './errors.ts';
import { tearDownHub } from './hub-teardown.ts';
import type { HubSpec } from './inputs.ts';
import { hubUrlFor } from './hub-health.ts';
import { Applier } from './applier.ts';
import { bakeImage, chooseImage, tidyAfterHit } from './image-cache.ts';
import { timed, type Phase } from './phases.ts';
import { describeStep, planSteps, type FinalState, type ObservedHub, type Step } from './plan.ts';
import { checkRemoteInputs } from './remote-checks.ts';
import { observeSpec, recordTags, type SpecView } from './spec-observe.ts';
import { RECORDED_GROUPS } from './spec-record.ts';
import { marketNote } from './spot.ts';
import { TAG_ELASTIC_IP, TAG_EXPIRES_AT, TAG_IMAGE_SOURCE, TAG_LAST_USED } from './tags.ts';

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

/** The diff of the whole spec, in the log: every group, changed or not. */
function logDiff(ctx: ReconcileContext, view: SpecView, pending: string[] = []): void {
  if (!view.observed) return;
  ctx.log.info('Spec, group by group:');
  for (const g of view.diff.groups) {
    const mark = !g.changed ? '=' : pending.includes(g.group) ? '…' : '~';
    ctx.log.info(
      `  ${mark} ${g.group}: ${g.detail}${g.changed && pending.includes(g.group) ? ' (pending: applied by the next run with state running)' : ''}`,
    );
  }
}

export async function reconcile(ctx: ReconcileContext, spec: HubSpec): Promise<Outcome> {
  const { observed, view } = await ctx.log.group(
    `Find hub '${spec.hubName}' in ${spec.region}`,
    async () => {
      const found = await observe(ctx, spec).catch((err: unknown) => {
        throw explainAwsError(err, 'Looking up the hub (DescribeInstances)');
      });
      const i = found.instance;
      ctx.log.info(
        i
          ? `Found ${i.instanceId}: ${i.state}${i.instanceType ? ` (${i.instanceType}${i.market === 'spot' ? ', Spot' : ''})` : ''}${i.installedVersion ? `, TLJH ${i.installedVersion} verified` : ''}`
          : 'No hub found.',
      );
      const note = spec.state === 'running' ? marketNote(spec, i) : undefined;
      if (note) ctx.log[note.level](note.message);
      // A terminate needs no diff; everything else is compared group by group.
      const seen =
        spec.state === 'terminated'
          ? undefined
          : await observeSpec(ctx, spec, i).catch((err: unknown) => {
              throw explainAwsError(err, "Reading the hub's volume and rules");
            });
      return { observed: found, view: seen };
    },
  );

  const plan = planSteps(observed, spec.state, spec.tljhVersion, view?.diff, spec);
  if (view) logDiff(ctx, view, plan.pending);
  ctx.log.info(
    `Plan (${spec.dryRun ? 'dry run, nothing will change' : `to reach ${plan.finalState}`}):`,
  );
  for (const [n, step] of plan.steps.entries()) ctx.log.info(`  ${n + 1}. ${describeStep(step)}`);
  if (!plan.steps.length) ctx.log.info('  nothing to do');
  const changes = view?.observed ? view.diff.groups : undefined;
  if (spec.state !== 'running') {
    await ctx.onPlan?.(plan);
    if (view?.diff.refused)
      ctx.log.warning(`Not applicable at any start: ${view.diff.refused.message}`);
    for (const group of plan.pending ?? []) {
      ctx.log.info(`Pending until the next run with state running: ${group}.`);
    }
    const phase = spec.state === 'stopped' ? 'stop' : 'terminate';
    const outcome = await timed(ctx.phases, phase, () => tearDownHub(ctx, spec, observed, plan));
    return { ...outcome, changes, pending: plan.pending, phases: ctx.phases?.entries() };
  }

  // A change no run can make fails the run before anything changes.
  if (view?.diff.refused) throw view.diff.refused;
  const elasticIp = observed.instance?.tags?.[TAG_ELASTIC_IP]?.split(' ')[1];
  if (elasticIp && !spec.elasticIp) {
    ctx.log.warning(
      `Hub '${spec.hubName}' keeps its Elastic IP ${elasticIp} although elastic-ip is false: releasing it would change the address of a hub in use. Terminating the hub releases it; AWS bills it by the hour until then.`,
    );
  }
  const launches = plan.steps.some((s) => s.kind === 'launch');
  const { target, choice } = await (async () => {
    const checked = await checkRemoteInputs(ctx, spec, plan, observed.instance);
    return launches ? chooseImage(ctx, spec, checked) : { target: checked, choice: undefined };
  })().catch((err: unknown) => {
    throw explainAwsError(err, 'Checking the inputs against AWS');
  });
  const applier = new Applier(ctx, spec, observed, target, view!);
  if (choice?.source === 'cache') applier.launchTags = { [TAG_IMAGE_SOURCE]: 'cache' };
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
      changes,
    };
  }
  // A missed key is baked alongside, once the hub has its instance (the builder never takes a
  // capacity or quota the hub needs), never failing the hub (image-cache.ts). A failed hub run
  // still waits for its bake, so that the bake ends as it would have.
  let bake: Promise<string | undefined> | undefined;
  try {
    for (const step of plan.steps) {
      const title = describeStep(step);
      await ctx.log.group(title.charAt(0).toUpperCase() + title.slice(1), () =>
        timed(ctx.phases, phaseOf(step), () => applier.apply(step)).catch((err: unknown) => {
          throw explainAwsError(err, title.charAt(0).toUpperCase() + title.slice(1));
        }),
      );
      if (step.kind === 'launch' && choice?.miss) bake = bakeImage(ctx, spec, target, choice);
    }
    await ctx.log.group('Check no concurrent run launched this hub too', () =>
      applier.settleRaceAgain().catch((err: unknown) => {
        throw explainAwsError(err, 'Checking for a concurrent launch');
      }),
    );
  } catch (err) {
    if (bake) {
      ctx.log.info('Image cache: the hub failed; waiting for the bake under way to end.');
      await bake;
    }
    throw err;
  }
  const bakedImage = bake && (await timed(ctx.phases, 'image bake', () => bake));
  // The image a hub launched from is in use: a reaper run keeps it (pruneUnusedImages).
  if (choice?.source === 'cache' && applier.launchedType) {
    const now = new Date(ctx.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await ec2
      .tagResources(ctx.ec2, [target.imageId], { [TAG_LAST_USED]: now })
      .catch((err: unknown) =>
        ctx.log.warning(`Could not mark ${target.imageId} as used: ${String(err)}`),
      );
    await tidyAfterHit(ctx, choice).catch((err: unknown) =>
      ctx.log.warning(`Image cache: could not tidy the key's builders: ${String(err)}`),
    );
  }
  // Every group now has what the spec asks for: recorded, with the refreshed expiry, in one call.
  const expiry = applier.expiryTags();
  const instance = applier.instance;
  if (instance) {
    // A hub another run installed meanwhile has what that run applied: it records it.
    const record = applier.installer.installedByOther
      ? {}
      : recordTags(view!, RECORDED_GROUPS, { ...instance.tags, ...applier.installer.written });
    const tags = { ...expiry, ...record };
    if (Object.keys(tags).length) {
      await ec2.tagInstance(ctx.ec2, instance.instanceId, tags).catch((err: unknown) => {
        throw explainAwsError(err, 'Tagging the hub with what it has');
      });
    }
  }

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
    image:
      applier.launchedType && choice ? { id: target.imageId, source: choice.source } : undefined,
    bakedImage,
    expiresAt: expiry[TAG_EXPIRES_AT],
    checks: applier.installer.checks,
    httpsPending: applier.installer.httpsPending,
    changes,
    phases: ctx.phases?.entries(),
  };
}

/** The phase of the run's time a step belongs to (the job summary's "Where the time goes"). */
function phaseOf(step: Step): Phase {
  switch (step.kind) {
    case 'wait':
      return step.until === 'running' ? 'running' : step.until === 'terminated' ? 'launch' : 'stop';
    case 'wait-agent':
      return 'agent online';
    case 'apply-settings':
      return 'settings';
    case 'grow-volume':
      return 'volume grow';
    case 'change-type':
      return 'type change';
    case 'match-rules':
    case 'change-tags':
      return 'rules and tags';
    case 'check-health':
      return 'public probe';
    case 'launch':
    case 'start':
    case 'stop':
    case 'install':
      return step.kind;
    case 'attach-address':
      return 'elastic ip';
    case 'point-record':
    case 'delete-record': // on a running hub: dns-name no longer given
      return 'dns record';
    case 'terminate':
    case 'delete-security-group':
    case 'release-address':
      return 'terminate';
    case 'withdraw-record':
      return 'stop';
  }
}
