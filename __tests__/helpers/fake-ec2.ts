// The EC2 half of the shared fake AWS (fake-aws.ts): instances with their state transitions,
// security groups, VPCs, subnets, instance types and images, answering like EC2 does. Not a test file.
//
// Modelled EC2 behaviour (each is something the action's code relies on or must survive):
// - DescribeInstances by InstanceIds fails the whole call with InvalidInstanceID.NotFound for one
//   unknown id; by Filters (tag:K with * and ? wildcards, tag-key, instance-state-name,
//   instance-id) it never fails for an unknown id. One reservation per instance; MaxResults pages
//   with NextToken (and, as in EC2, may not be combined with InstanceIds).
// - RunInstances with a ClientToken already used returns the same instance (no second launch);
//   the same token with other parameters is IdempotentParameterMismatch.
// - State transitions: RunInstances/StartInstances -> pending -> running, StopInstances ->
//   stopping -> stopped, TerminateInstances -> shutting-down -> terminated. Each completes after
//   `settle.describes` DescribeInstances calls (0: the next one sees it done), after `settle.ms`
//   on the clock, or only on step() (`settle: 'manual'`). StartInstances on a stopping or
//   terminated instance and StopInstances on a terminated one are IncorrectInstanceState.
// - A public IP is assigned when an instance becomes running (publicIpFor) and released when it
//   stops. A terminated instance stays listed until forget(). setListed(id, false) hides a fresh
//   launch from tag filters, as EC2's eventual consistency may.
// - Security groups, VPCs, subnets, instance types and images: fake-ec2-network.ts (a group is
//   in use while an instance here that is not terminated has it: DependencyViolation).
import type {
  Filter,
  Instance,
  InstanceStateName,
  RunInstancesCommandInput,
  Tag,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../../src/clock.ts';
import { Ec2Network, clone, tagsMatch } from './fake-ec2-network.ts';
import { awsError } from './fakes.ts';

export type Settle = { describes: number } | { ms: number } | 'manual';

interface Transition {
  to: InstanceStateName;
  atDescribe: number;
  atMs: number;
}

interface InstanceRecord {
  instance: Instance;
  clientToken?: string;
  transition?: Transition;
  /** Not yet listed by tag filters: EC2's eventual consistency for a fresh launch's tags. */
  unlisted?: boolean;
}

const GOING_TO: Partial<Record<InstanceStateName, InstanceStateName>> = {
  pending: 'running',
  stopping: 'stopped',
  'shutting-down': 'terminated',
};

export class Ec2World extends Ec2Network {
  readonly instances = new Map<string, InstanceRecord>();
  /** How state transitions complete (see the top of this file). */
  settle: Settle = { describes: 0 };
  /** The public IP an instance gets when it becomes running (undefined: none). */
  publicIpFor: (instanceId: string) => string | undefined = () => undefined;
  /** The id of the next launched instance (ids already in use are skipped). */
  nextInstanceId: () => string;
  /** The LaunchTime of a new instance (default: the clock's now). */
  launchTime: () => Date = () => new Date(this.now());
  /** Runs before every DescribeInstances: what other runs (or people) do meanwhile. */
  meanwhile?: () => void;
  private describes = 0;
  private instanceCounter = 10;

  private readonly clock?: Clock;

  constructor(clock?: Clock) {
    super();
    this.clock = clock;
    this.nextInstanceId = () => `i-${(this.instanceCounter++).toString(16).padStart(17, '0')}`;
  }

  private now(): number {
    return this.clock?.now() ?? 0;
  }

  // ----- instances ------------------------------------------------------------------------------

  /** Adds an instance as it is now (no transition under way). */
  addInstance(id: string, state: InstanceStateName, extra: Partial<Instance> = {}): Instance {
    const instance: Instance = {
      InstanceId: id,
      State: { Name: state },
      LaunchTime: new Date(this.now()),
      Tags: [],
      ...extra,
    };
    this.instances.set(id, { instance });
    return instance;
  }

  /** The live record of an instance (tests may change its tags or IP); throws if unknown. */
  instance(id: string): Instance {
    const rec = this.instances.get(id);
    if (!rec) throw new Error(`fake EC2: no instance ${id}`);
    return rec.instance;
  }

  state(id: string): InstanceStateName | undefined {
    return this.instances.get(id)?.instance.State?.Name;
  }

  /** Sets a state at once, as if it happened out of sight (no transition left). */
  setState(id: string, state: InstanceStateName): void {
    const rec = this.instances.get(id);
    if (!rec) throw new Error(`fake EC2: no instance ${id}`);
    rec.transition = undefined;
    this.enter(rec, state);
  }

  /** Hides an instance from tag-filtered DescribeInstances (or shows it again). */
  setListed(id: string, listed: boolean): void {
    this.instances.get(id)!.unlisted = !listed;
  }

  /** EC2 no longer knows the instance at all (terminated long ago). */
  forget(id: string): void {
    this.instances.delete(id);
  }

  /** Completes every transition under way. */
  step(): void {
    for (const rec of this.instances.values()) {
      if (rec.transition) this.finish(rec);
    }
  }

  private enter(rec: InstanceRecord, state: InstanceStateName): void {
    rec.instance.State = { Name: state };
    const id = rec.instance.InstanceId!;
    if (state === 'running') {
      const ip = this.publicIpFor(id) ?? rec.instance.PublicIpAddress;
      if (ip === undefined) delete rec.instance.PublicIpAddress;
      else rec.instance.PublicIpAddress = ip;
    }
    if (state === 'stopped' || state === 'terminated') delete rec.instance.PublicIpAddress;
  }

  private finish(rec: InstanceRecord): void {
    const to = rec.transition!.to;
    rec.transition = undefined;
    this.enter(rec, to);
  }

  private begin(rec: InstanceRecord, state: InstanceStateName): void {
    this.enter(rec, state);
    const to = GOING_TO[state];
    rec.transition = to ? { to, atDescribe: this.describes, atMs: this.now() } : undefined;
  }

  /** Time passes: transitions due by now complete (called on every DescribeInstances). */
  private advance(): void {
    this.describes++;
    const settle = this.settle;
    if (settle === 'manual') return;
    for (const rec of this.instances.values()) {
      const t = rec.transition;
      if (!t) continue;
      const due =
        'describes' in settle
          ? this.describes - t.atDescribe > settle.describes
          : this.now() - t.atMs >= settle.ms;
      if (due) this.finish(rec);
    }
  }

  private matches(rec: InstanceRecord, filters: Filter[]): boolean {
    const i = rec.instance;
    return filters.every((f) => {
      const byTag = tagsMatch(i.Tags, f);
      if (byTag !== undefined) return byTag;
      const values = f.Values ?? [];
      if (f.Name === 'instance-state-name') return values.includes(i.State?.Name ?? '');
      if (f.Name === 'instance-id') return values.includes(i.InstanceId ?? '');
      throw awsError('InvalidParameterValue', `The filter '${f.Name}' is invalid (fake EC2)`);
    });
  }

  describeInstances(input: {
    InstanceIds?: string[];
    Filters?: Filter[];
    MaxResults?: number;
    NextToken?: string;
  }): { Reservations: { Instances: Instance[] }[]; NextToken?: string } {
    this.meanwhile?.();
    this.advance();
    let recs: InstanceRecord[];
    if (input.InstanceIds?.length) {
      if (input.MaxResults !== undefined) throw awsError('InvalidParameterCombination');
      const unknown = input.InstanceIds.filter((id) => !this.instances.has(id));
      if (unknown.length) {
        throw awsError(
          'InvalidInstanceID.NotFound',
          `The instance IDs '${unknown.join(', ')}' do not exist`,
        );
      }
      recs = input.InstanceIds.map((id) => this.instances.get(id)!);
    } else {
      const byTag = (input.Filters ?? []).some((f) => f.Name?.startsWith('tag'));
      recs = [...this.instances.values()].filter((r) => !(byTag && r.unlisted));
    }
    recs = recs.filter((r) => this.matches(r, input.Filters ?? []));
    const start = Number(input.NextToken ?? 0);
    const end = input.MaxResults ? start + input.MaxResults : recs.length;
    return {
      Reservations: recs.slice(start, end).map((r) => ({ Instances: [clone(r.instance)] })),
      ...(end < recs.length ? { NextToken: String(end) } : {}),
    };
  }

  runInstances(input: RunInstancesCommandInput): { Instances: Instance[] } {
    const same = [...this.instances.values()].find(
      (r) => input.ClientToken && r.clientToken === input.ClientToken,
    );
    if (same) {
      const i = same.instance;
      if (i.InstanceType !== input.InstanceType || i.ImageId !== input.ImageId) {
        throw awsError('IdempotentParameterMismatch');
      }
      return { Instances: [clone(i)] };
    }
    if (!input.InstanceType || !this.instanceTypes[input.InstanceType]) {
      throw awsError('InvalidParameterValue', `Invalid instance type ${input.InstanceType}`);
    }
    let id = this.nextInstanceId();
    while (this.instances.has(id)) id = this.nextInstanceId();
    const groups = input.SecurityGroupIds ?? input.NetworkInterfaces?.[0]?.Groups ?? [];
    for (const g of groups) {
      if (!this.groups.has(g)) throw awsError('InvalidGroup.NotFound', `No group ${g}`);
    }
    const tags = input.TagSpecifications?.find((s) => s.ResourceType === 'instance')?.Tags ?? [];
    const instance = this.addInstance(id, 'pending', {
      LaunchTime: this.launchTime(),
      InstanceType: input.InstanceType,
      ImageId: input.ImageId,
      SubnetId: input.NetworkInterfaces?.[0]?.SubnetId ?? input.SubnetId,
      SecurityGroups: groups.map((GroupId) => ({ GroupId })),
      Tags: clone(tags),
    });
    const rec = this.instances.get(id)!;
    rec.clientToken = input.ClientToken;
    this.begin(rec, 'pending');
    return { Instances: [clone(instance)] };
  }

  private change(
    ids: string[] | undefined,
    key: string,
    next: (state: InstanceStateName) => InstanceStateName | 'refuse',
  ): Record<string, unknown> {
    const recs = (ids ?? []).map((id) => {
      const rec = this.instances.get(id);
      if (!rec)
        throw awsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      return rec;
    });
    for (const rec of recs) {
      if (next(rec.instance.State!.Name!) === 'refuse') {
        throw awsError(
          'IncorrectInstanceState',
          `The instance '${rec.instance.InstanceId}' is not in a state from which it can be changed (${rec.instance.State!.Name}).`,
        );
      }
    }
    const changes = recs.map((rec) => {
      const previous = rec.instance.State!.Name!;
      const to = next(previous) as InstanceStateName;
      if (to !== previous) this.begin(rec, to);
      return {
        InstanceId: rec.instance.InstanceId,
        PreviousState: { Name: previous },
        CurrentState: { Name: rec.instance.State!.Name },
      };
    });
    return { [key]: changes };
  }

  startInstances(ids?: string[]) {
    return this.change(ids, 'StartingInstances', (s) =>
      s === 'stopped' ? 'pending' : s === 'pending' || s === 'running' ? s : 'refuse',
    );
  }

  /** EC2 refuses to stop an instance that never reached running (IncorrectInstanceState). */
  stopInstances(ids?: string[]) {
    return this.change(ids, 'StoppingInstances', (s) =>
      s === 'running' ? 'stopping' : s === 'stopping' || s === 'stopped' ? s : 'refuse',
    );
  }

  terminateInstances(ids?: string[]) {
    return this.change(ids, 'TerminatingInstances', (s) =>
      s === 'terminated' || s === 'shutting-down' ? s : 'shutting-down',
    );
  }

  createTags(resources: string[] | undefined, tags: Tag[] | undefined): Record<string, never> {
    const targets = (resources ?? []).map((id) => {
      const target = this.instances.get(id)?.instance ?? this.groups.get(id);
      if (!target) {
        const kind = id.startsWith('sg-') ? 'InvalidGroup.NotFound' : 'InvalidInstanceID.NotFound';
        throw awsError(kind, `The ID '${id}' does not exist`);
      }
      return target;
    });
    for (const target of targets) {
      const keys = new Set((tags ?? []).map((t) => t.Key));
      target.Tags = [...(target.Tags ?? []).filter((t) => !keys.has(t.Key)), ...clone(tags ?? [])];
    }
    return {};
  }

  /** Instances that are not terminated and use the group (they block its deletion). */
  override usersOf(groupId: string): string[] {
    return [...this.instances.values()]
      .filter(
        (r) =>
          r.instance.State?.Name !== 'terminated' &&
          (r.instance.SecurityGroups ?? []).some((g) => g.GroupId === groupId),
      )
      .map((r) => r.instance.InstanceId!);
  }
}
