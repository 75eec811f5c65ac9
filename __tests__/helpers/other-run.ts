// Another run for the same hub, as the reconcile tests stage it in the fake AWS: its install
// lease and command (cmd-other), its launch that wins a race, its install that ends meanwhile.
// Not a test file.
import { RunInstancesCommand, TerminateInstancesCommand, type Instance } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { RELEASED, formatLease } from '../../src/lease.ts';
import type { Outcome } from '../../src/context.ts';
import { TAG_INSTALL_LEASE, TAG_INSTALLED_VERSION } from '../../src/tags.ts';
import { installedTag, leaseTag } from './hub-tags.ts';
import { AMI, LAUNCHED, NEW_ID, OLD_ID, type ReconcileWorld } from './reconcile-world.ts';

export const OTHER_RUN = 'other-run-9';
export type OtherStatus = 'InProgress' | 'Success' | 'Failed';

export class OtherRun {
  private readonly w: ReconcileWorld;

  constructor(w: ReconcileWorld) {
    this.w = w;
  }

  /** Its lease, taken now (with its command id, or RELEASED). */
  lease(commandId?: string): string {
    return formatLease({ owner: OTHER_RUN, at: this.w.clock.now(), commandId });
  }

  /** Its install command (cmd-other) on `instanceId`: still running, or ended. */
  command(status: OtherStatus, instanceId = OLD_ID): void {
    this.w.aws.ssm.addCommand('cmd-other', instanceId, { Status: status });
    this.setStatus(status);
  }

  setStatus(status: OtherStatus): void {
    this.w.aws.ssm.command('cmd-other').result = {
      Status: status,
      ResponseCode: status === 'Failed' ? 1 : 0,
    };
  }

  /** Runs before each DescribeInstances from `afterMs` from now on, while `id` exists. */
  private from(id: string, afterMs: number, act: (target: Instance, at: number) => void): void {
    const at = this.w.clock.now() + afterMs;
    this.w.aws.ec2.meanwhile = () => {
      const target = this.w.aws.ec2.instances.get(id)?.instance;
      if (target && this.w.clock.now() >= at) act(target, at);
    };
  }

  /**
   * Its command ends `afterMs` from now, and it marks the hub installed (seen by the next
   * DescribeInstances).
   */
  finishesAfter(id: string, afterMs: number): void {
    this.from(id, afterMs, (target) => {
      this.setStatus('Success');
      const others = (target.Tags ?? []).filter((t) => t.Key !== TAG_INSTALLED_VERSION);
      target.Tags = [...others, { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' }];
    });
  }

  /**
   * The other run as this code runs it: its command has ended (Success), and it marks the hub
   * installed and releases its lease (one CreateTags) `afterMs` from now, a poll or two later.
   */
  marksAfter(id: string, afterMs: number): void {
    this.command('Success', id);
    this.from(id, afterMs, (target, at) => {
      const keep = (target.Tags ?? []).filter(
        (t) => t.Key !== TAG_INSTALLED_VERSION && t.Key !== TAG_INSTALL_LEASE,
      );
      target.Tags = [
        ...keep,
        { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' },
        leaseTag(formatLease({ owner: OTHER_RUN, at, commandId: RELEASED })),
      ];
    });
  }

  /**
   * This run's RunInstances answers NEW_ID, but a concurrent run launched OLD_ID a second
   * earlier: from then on the tag-filtered DescribeInstances lists both.
   */
  winsLaunchRace(older: Partial<Instance>): void {
    const w = this.w;
    w.aws.ec2.publicIpFor = (id) => (id === NEW_ID ? w.deadIp : w.hub.publicIp);
    w.aws.on(RunInstancesCommand, async (_input, next) => {
      const out: unknown = await next();
      w.aws.ec2.instance(NEW_ID).LaunchTime = new Date(LAUNCHED.getTime() + 1000);
      w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, ...older });
      return out;
    });
  }

  /**
   * A same-second rival (LaunchTime has one-second resolution) that becomes visible only at the
   * last look, after this run installed its own launch: it is older, so it wins.
   */
  appearsAtTheLastLook(): void {
    const w = this.w;
    w.aws.ec2.meanwhile = () => {
      if (!w.installedTagWrites().length || w.aws.ec2.instances.has(OLD_ID)) return;
      w.addHub(OLD_ID, 'running', {
        LaunchTime: new Date(LAUNCHED.getTime() - 1000),
        PublicIpAddress: w.hub.publicIp,
        Tags: installedTag(),
      });
    };
  }
}

/** This run lost the launch race to OLD_ID: terminated its own, continued with the winner. */
export function expectLostRace(w: ReconcileWorld, outcome: Outcome): void {
  expect(w.aws.inputs(TerminateInstancesCommand).map((c) => c.InstanceIds)).toEqual([[NEW_ID]]);
  expect(w.log.warnings.join('\n')).toContain(
    `Another run launched ${OLD_ID} for hub 'workshop' first; terminated ${NEW_ID}`,
  );
  expect(outcome).toMatchObject({
    state: 'running',
    instanceId: OLD_ID,
    publicIp: w.hub.publicIp,
    hubUrl: `http://${w.hub.publicIp}/`,
    hubVersion: '5.3.0',
  });
  expect(outcome.done.slice(0, 2)).toEqual([
    `launched ${NEW_ID} (t3.small, ${AMI})`,
    `terminated ${NEW_ID} (a concurrent run's ${OLD_ID} was older)`,
  ]);
}

/** Nothing of this run's own was installed: no command, no password, no tag. */
export function expectNoOwnInstall(w: ReconcileWorld, outcome: Outcome): void {
  expect(w.aws.inputs(SendCommandCommand)).toHaveLength(0);
  expect(w.aws.inputs(PutParameterCommand)).toHaveLength(0);
  expect(w.aws.inputs(CreateTagsCommand)).toHaveLength(0);
  expect(outcome.generatedPassword).toBeUndefined();
}

export { leaseTag } from './hub-tags.ts';
