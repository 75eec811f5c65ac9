// The setup every reconcile test shares: one hub ('workshop') in a fake AWS (fake-aws.ts), the
// public hubs the run probes, a recording reporter, and the questions tests ask of the calls
// made. Not a test file: each __tests__/reconcile/*.test.ts calls useReconcileWorld() once.
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  type Instance,
  type InstanceStateName,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import type { ReconcileContext } from '../../src/context.ts';
import { TAG_HUB, TAG_INSTALLED_VERSION } from '../../src/tags.ts';
import { hubTagsWith } from './hub-tags.ts';
import { CANONICAL_AMIS, FakeAws, type Invocation } from './fake-aws.ts';
import { FakeClock, reportStdout } from './fakes.ts';
import { usePublicHubs, type PublicHubs } from './public-hubs.ts';
import { RecordingLog } from './recording-log.ts';

export const NEW_ID = 'i-0000000000000000a';
export const OLD_ID = 'i-0000000000000000b';
export const AMI = CANONICAL_AMIS['24.04/amd64'];
export const RUN_KEY = 'octo/hubs/123/1';
/** When the tests' instances were launched (unless a test says otherwise). */
export const LAUNCHED = new Date('2026-01-01T00:00:00Z');

export { hubTagsWith, installedTag } from './hub-tags.ts';
export { spec } from './hub-spec.ts';

/** One test's world: the fake AWS, the clock, what the run logged and reported. */
export class ReconcileWorld {
  readonly hubs: PublicHubs;
  readonly clock = new FakeClock();
  readonly aws = new FakeAws({ clock: this.clock });
  readonly log = new RecordingLog();
  /** What ctx.onAdminPassword was told, in order, and whether each was masked by then. */
  readonly reported: { password: string; masked: boolean }[] = [];
  /** How this run's own commands end (install and verify scripts). */
  invocation: Invocation = {
    Status: 'Success',
    ResponseCode: 0,
    StandardOutputContent: reportStdout({ installerExit: 0, installerOutput: ['Done!'] }),
  };

  /** An empty region whose launches come up at the live hub's address; installs succeed. */
  constructor(hubs: PublicHubs) {
    this.hubs = hubs;
    this.aws.ec2.launchTime = () => LAUNCHED;
    this.aws.ec2.publicIpFor = () => hubs.hub.publicIp;
    this.aws.ssm.commandResult = () => this.invocation;
  }

  get hub() {
    return this.hubs.hub;
  }
  get flaky() {
    return this.hubs.flaky;
  }
  get deadIp() {
    return this.hubs.deadIp;
  }
  set flakyHealthy(healthy: boolean) {
    this.hubs.flakyHealthy = healthy;
  }

  /** An instance of hub 'workshop' that exists before the run (Name and hub tags unless `Tags`). */
  addHub(id: string, state: InstanceStateName, extra: Partial<Instance> = {}): Instance {
    return this.aws.ec2.addInstance(id, state, {
      LaunchTime: LAUNCHED,
      Tags: [{ Key: 'Name', Value: 'tljh-workshop' }, ...hubTagsWith()],
      ...extra,
    });
  }

  /** The hub's own security group, as a former run created it. */
  addOwnedGroup(groupId = 'sg-0000000000000000e'): string {
    this.aws.ec2.addSecurityGroup({
      GroupId: groupId,
      GroupName: 'tljh-workshop',
      Tags: hubTagsWith(),
    });
    return groupId;
  }

  ctx(runOwner = 'run-owner-1'): ReconcileContext {
    const { log, reported } = this;
    return {
      ...this.aws.clients,
      clock: this.clock,
      pollMs: 10_000,
      log,
      runKey: RUN_KEY,
      runOwner,
      onAdminPassword: (password) =>
        reported.push({ password, masked: !password || log.masked.includes(password) }),
    };
  }

  /** Every tag written with CreateTags, as `key=value`, in order. */
  tagWrites(): string[] {
    return this.aws
      .inputs(CreateTagsCommand)
      .flatMap((input) => (input.Tags ?? []).map((t) => `${t.Key}=${t.Value}`));
  }

  /** The CreateTags inputs that mark a hub installed (tljh:installed-version). */
  installedTagWrites() {
    return this.aws
      .inputs(CreateTagsCommand)
      .filter((input) => input.Tags?.some((t) => t.Key === TAG_INSTALLED_VERSION));
  }

  /** How each DescribeInstances asked: 'tags' (find the hub's instances) or 'id' (one instance). */
  describeKinds(): string[] {
    return this.aws
      .inputs(DescribeInstancesCommand)
      .map((input) => (input.Filters?.some((f) => f.Name === `tag:${TAG_HUB}`) ? 'tags' : 'id'));
  }

  /** Where this run sent commands. */
  sentTo() {
    return this.aws.inputs(SendCommandCommand).map((input) => input.InstanceIds);
  }

  /** The admin password this run sent to the hub (in the settings SecureString). */
  sentPassword(): string {
    const put = this.aws.inputs(PutParameterCommand)[0]!;
    return (JSON.parse(put.Value!) as { adminPassword: string }).adminPassword;
  }
}

/**
 * Registers the shared hooks of a test file and returns its world, made anew before each test
 * (read it inside tests only).
 */
export function useReconcileWorld(): ReconcileWorld {
  const hubs = usePublicHubs();
  let world: ReconcileWorld | undefined;
  beforeEach(() => {
    world = new ReconcileWorld(hubs);
  });
  const current = (): ReconcileWorld => {
    if (!world) throw new Error('the reconcile world exists only inside a test');
    return world;
  };
  // A stand-in that forwards to this test's world, so a file can hold it in one const.
  return new Proxy({} as ReconcileWorld, {
    get(_target, prop) {
      const value = Reflect.get(current(), prop, current()) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(current()) : value;
    },
    set: (_target, prop, value) => Reflect.set(current(), prop, value, current()),
  });
}
