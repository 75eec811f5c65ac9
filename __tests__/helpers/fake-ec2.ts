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
// - Every instance has an InstanceType (addInstance: t3.small unless given; a launch: the
//   request's), an Architecture (its image's; x86_64 by default) and RootDeviceName /dev/sda1 (a
//   launch: its image's). A launch has its root EBS volume in BlockDeviceMappings, which exists
//   as a volume too, of the size its request's mapping of the root device asks for (8 GiB, the
//   Ubuntu images' snapshot, when it asks none), tagged with the request's 'volume' tags. An
//   instance a test adds has one once addRootVolume gives it one (20 GiB, the action's default
//   root-volume-size, unless told). A volume set to be deleted on termination is gone once its
//   instance is terminated.
// - SecurityGroups [{GroupId}]: a launch's are its request's (SecurityGroupIds, or its network
//   interface's Groups).
// - ModifyInstanceAttribute (InstanceType only): IncorrectInstanceState "The instance '<id>' is
//   not in the 'stopped' state." unless the instance is stopped; InvalidInstanceAttributeValue
//   for a type not offered, or of another architecture than the instance's (its root volume
//   holds an OS of one architecture; EC2 does not document the code of this refusal).
//   DescribeInstances then shows the new type.
// - EBS volumes: DescribeVolumes (by VolumeIds: InvalidVolume.NotFound for one unknown; Filters
//   attachment.instance-id and tags) shows each volume's Size. ModifyVolume (Size only):
//   InvalidParameterValue "New size cannot be smaller than existing size";
//   IncorrectModificationState while the volume's latest modification is not completed. A
//   modification goes modifying -> optimizing -> completed, one state per `volumeSettle` (as
//   `settle`, counted in DescribeVolumes and DescribeVolumesModifications calls, or clock time;
//   'manual': stepVolumes()); the new Size takes effect, and DescribeVolumes shows it, from
//   optimizing on (EBS: "size increases take effect once the volume modification reaches the
//   optimizing state"). DescribeVolumesModifications lists only the latest modification of each
//   volume (none for a volume never modified). EBS's limit of one modification per volume every
//   six hours is not modelled.
// - Tags: CreateTags on instances, volumes and security groups (InvalidInstanceID.NotFound,
//   InvalidVolume.NotFound, InvalidGroup.NotFound for an unknown id); DeleteTags alike: a key
//   with a Value is deleted only where the value matches, a key alone whatever its value, a key
//   not there is no error, and no Tags at all deletes every tag of the resources (as EC2 does).
// - Security groups, VPCs, subnets, instance types and images: fake-ec2-network.ts (a group is
//   in use while an instance here that is not terminated has it: DependencyViolation).
// - Spot requests, interruptions, a persistent request's relaunch: fake-ec2-spot.ts (`spot`).
import type {
  Filter,
  Instance,
  InstanceStateName,
  RunInstancesCommandInput,
  Tag,
  Volume,
  VolumeModification,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../../src/clock.ts';
import { Ec2Network, clone, tagsMatch } from './fake-ec2-network.ts';
import { SpotMarket } from './fake-ec2-spot.ts';
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

interface VolumeRecord {
  volume: Volume;
  /** The latest modification, and when it last moved on (in volume describes and clock time). */
  modification?: VolumeModification & { atDescribe: number; atMs: number };
}

/** The root volume addRootVolume gives an instance a test added (the action's default size). */
export const ADDED_VOLUME_GIB = 20;
/** The root volume of a launch whose request names no size (Ubuntu images' snapshot). */
export const IMAGE_VOLUME_GIB = 8;

const NEXT_MODIFICATION_STATE: Record<string, 'optimizing' | 'completed' | undefined> = {
  modifying: 'optimizing',
  optimizing: 'completed',
};

const GOING_TO: Partial<Record<InstanceStateName, InstanceStateName>> = {
  pending: 'running',
  stopping: 'stopped',
  'shutting-down': 'terminated',
};

export class Ec2World extends Ec2Network {
  readonly instances = new Map<string, InstanceRecord>();
  readonly volumes = new Map<string, VolumeRecord>();
  /** How state transitions complete (see the top of this file). */
  settle: Settle = { describes: 0 };
  /** How a volume modification moves on, one state at a time (see the top of this file). */
  volumeSettle: Settle = { describes: 0 };
  /** The public IP an instance gets when it becomes running (undefined: none). */
  publicIpFor: (instanceId: string) => string | undefined = () => undefined;
  /** The Elastic IP associated with an instance (fake-endpoints.ts): it stays across a stop. */
  elasticIpOf: (instanceId: string) => string | undefined = () => undefined;
  /** The id of the next launched instance (ids already in use are skipped). */
  nextInstanceId: () => string;
  /** The LaunchTime of a new instance (default: the clock's now). */
  launchTime: () => Date = () => new Date(this.now());
  /** Runs before every DescribeInstances: what other runs (or people) do meanwhile. */
  meanwhile?: () => void;
  /** The Spot market: requests, interruptions, capacity (fake-ec2-spot.ts). */
  readonly spot: SpotMarket = new SpotMarket(this);
  private describes = 0;
  private volumeDescribes = 0;
  private instanceCounter = 10;
  private volumeCounter = 10;

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

  /**
   * Adds an instance as it is now (no transition under way). It has no EBS volume in view until
   * addRootVolume gives it one (tests written before volumes were modelled see the calls they
   * always did: the action reads no volume of an instance without one).
   */
  addInstance(id: string, state: InstanceStateName, extra: Partial<Instance> = {}): Instance {
    const instance: Instance = {
      InstanceId: id,
      State: { Name: state },
      LaunchTime: new Date(this.now()),
      InstanceType: 't3.small',
      Architecture: 'x86_64',
      RootDeviceName: '/dev/sda1',
      Tags: [],
      ...extra,
    };
    this.instances.set(id, { instance });
    return instance;
  }

  /** Gives an instance its root EBS volume (20 GiB, the action's default, unless told). */
  addRootVolume(instanceId: string, sizeGiB = ADDED_VOLUME_GIB, tags: Tag[] = []): Volume {
    const i = this.instance(instanceId);
    const device = i.RootDeviceName ?? '/dev/sda1';
    const volumeId = this.addVolume(instanceId, device, {
      size: sizeGiB,
      tags,
      deleteOnTermination: true,
    });
    i.BlockDeviceMappings = [
      ...(i.BlockDeviceMappings ?? []).filter((m) => m.DeviceName !== device),
      {
        DeviceName: device,
        Ebs: { VolumeId: volumeId, Status: 'attached', DeleteOnTermination: true },
      },
    ];
    return this.volume(volumeId);
  }

  // ----- volumes --------------------------------------------------------------------------------

  private addVolume(
    instanceId: string,
    device: string,
    opts: { size: number; tags: Tag[]; deleteOnTermination: boolean; type?: string },
  ): string {
    let id: string;
    do id = `vol-${(this.volumeCounter++).toString(16).padStart(17, '0')}`;
    while (this.volumes.has(id));
    this.volumes.set(id, {
      volume: {
        VolumeId: id,
        Size: opts.size,
        VolumeType: (opts.type ?? 'gp3') as Volume['VolumeType'],
        State: 'in-use',
        Attachments: [
          {
            VolumeId: id,
            InstanceId: instanceId,
            Device: device,
            State: 'attached',
            DeleteOnTermination: opts.deleteOnTermination,
          },
        ],
        Tags: clone(opts.tags),
      },
    });
    return id;
  }

  /** The live record of a volume (tests may change its size or tags); throws if unknown. */
  volume(id: string): Volume {
    const rec = this.volumes.get(id);
    if (!rec) throw new Error(`fake EC2: no volume ${id}`);
    return rec.volume;
  }

  /** The live record of an instance's root volume; throws if it has none. */
  rootVolume(instanceId: string): Volume {
    const i = this.instance(instanceId);
    const root = i.BlockDeviceMappings?.find((m) => m.DeviceName === i.RootDeviceName);
    if (!root?.Ebs?.VolumeId) throw new Error(`fake EC2: ${instanceId} has no root volume`);
    return this.volume(root.Ebs.VolumeId);
  }

  /** The latest modification of a volume, as DescribeVolumesModifications would list it. */
  modification(volumeId: string): VolumeModification | undefined {
    const m = this.volumes.get(volumeId)?.modification;
    if (!m) return undefined;
    const modification: VolumeModification & { atDescribe?: number; atMs?: number } = clone(m);
    delete modification.atDescribe;
    delete modification.atMs;
    return modification;
  }

  /** Moves every volume modification under way one state on. */
  stepVolumes(): void {
    for (const rec of this.volumes.values()) this.moveOn(rec);
  }

  private moveOn(rec: VolumeRecord): void {
    const m = rec.modification;
    const next = NEXT_MODIFICATION_STATE[m?.ModificationState ?? ''];
    if (!m || !next) return;
    m.ModificationState = next;
    m.atDescribe = this.volumeDescribes;
    m.atMs = this.now();
    m.Progress = next === 'completed' ? 100 : 50;
    if (next === 'optimizing') rec.volume.Size = m.TargetSize;
    if (next === 'completed') m.EndTime = new Date(this.now());
  }

  /** Time passes for volumes: modifications due by now move on (each describe of volumes). */
  private advanceVolumes(): void {
    this.volumeDescribes++;
    const settle = this.volumeSettle;
    if (settle === 'manual') return;
    for (const rec of this.volumes.values()) {
      const m = rec.modification;
      if (!m || !NEXT_MODIFICATION_STATE[m.ModificationState ?? '']) continue;
      const due =
        'describes' in settle
          ? this.volumeDescribes - m.atDescribe > settle.describes
          : this.now() - m.atMs >= settle.ms;
      if (due) this.moveOn(rec);
    }
  }

  private volumeRecords(ids: string[] | undefined): VolumeRecord[] {
    const unknown = (ids ?? []).filter((id) => !this.volumes.has(id));
    if (unknown.length) {
      throw awsError(
        'InvalidVolume.NotFound',
        `The volume '${unknown.join(', ')}' does not exist.`,
      );
    }
    return ids?.length ? ids.map((id) => this.volumes.get(id)!) : [...this.volumes.values()];
  }

  describeVolumes(input: { VolumeIds?: string[]; Filters?: Filter[] }): { Volumes: Volume[] } {
    this.advanceVolumes();
    const recs = this.volumeRecords(input.VolumeIds).filter((r) =>
      (input.Filters ?? []).every((f) => {
        const byTag = tagsMatch(r.volume.Tags, f);
        if (byTag !== undefined) return byTag;
        if (f.Name === 'attachment.instance-id') {
          return (r.volume.Attachments ?? []).some((a) => f.Values?.includes(a.InstanceId ?? ''));
        }
        throw awsError('InvalidParameterValue', `The filter '${f.Name}' is invalid (fake EC2)`);
      }),
    );
    return { Volumes: recs.map((r) => clone(r.volume)) };
  }

  modifyVolume(input: { VolumeId?: string; Size?: number }): {
    VolumeModification: VolumeModification;
  } {
    const [rec] = this.volumeRecords([input.VolumeId ?? '']);
    const size = rec!.volume.Size!;
    const under = rec!.modification?.ModificationState;
    if (under && under !== 'completed' && under !== 'failed') {
      throw awsError(
        'IncorrectModificationState',
        `Volume ${input.VolumeId} cannot be modified in modification state ${under.toUpperCase()}`,
      );
    }
    if (input.Size === undefined) throw new Error('fake EC2: ModifyVolume models Size only');
    if (input.Size < size) {
      throw awsError('InvalidParameterValue', 'New size cannot be smaller than existing size');
    }
    rec!.modification = {
      VolumeId: input.VolumeId,
      ModificationState: 'modifying',
      OriginalSize: size,
      TargetSize: input.Size,
      Progress: 0,
      StartTime: new Date(this.now()),
      atDescribe: this.volumeDescribes,
      atMs: this.now(),
    };
    return { VolumeModification: this.modification(input.VolumeId!)! };
  }

  describeVolumesModifications(ids: string[] | undefined): {
    VolumesModifications: VolumeModification[];
  } {
    this.advanceVolumes();
    return {
      VolumesModifications: this.volumeRecords(ids).flatMap((r) => {
        const m = this.modification(r.volume.VolumeId!);
        return m ? [m] : [];
      }),
    };
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
      const ip = this.elasticIpOf(id) ?? this.publicIpFor(id) ?? rec.instance.PublicIpAddress;
      if (ip === undefined) delete rec.instance.PublicIpAddress;
      else rec.instance.PublicIpAddress = ip;
    }
    if (state === 'stopped' && this.elasticIpOf(id))
      rec.instance.PublicIpAddress = this.elasticIpOf(id);
    else if (state === 'stopped' || state === 'terminated') delete rec.instance.PublicIpAddress;
    if (state === 'terminated') {
      for (const m of rec.instance.BlockDeviceMappings ?? []) {
        if (m.Ebs?.DeleteOnTermination && m.Ebs.VolumeId) this.volumes.delete(m.Ebs.VolumeId);
      }
    }
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
    this.spot.beforeLaunch(input);
    const rec = this.launch(input);
    this.spot.launched(rec.instance, input);
    return { Instances: [clone(rec.instance)] };
  }

  /** EC2 launching again for a persistent Spot request (no checks, no token). */
  relaunch(input: RunInstancesCommandInput): Instance {
    return this.launch(input).instance;
  }

  private launch(input: RunInstancesCommandInput): InstanceRecord {
    let id = this.nextInstanceId();
    while (this.instances.has(id)) id = this.nextInstanceId();
    const groups = input.SecurityGroupIds ?? input.NetworkInterfaces?.[0]?.Groups ?? [];
    for (const g of groups) {
      if (!this.groups.has(g)) throw awsError('InvalidGroup.NotFound', `No group ${g}`);
    }
    const tagsOf = (type: string) =>
      input.TagSpecifications?.find((s) => s.ResourceType === type)?.Tags ?? [];
    const image = this.images.get(input.ImageId ?? '');
    const rootDevice = image?.RootDeviceName ?? '/dev/sda1';
    const asked = input.BlockDeviceMappings?.find((m) => m.DeviceName === rootDevice)?.Ebs;
    const deleteOnTermination = asked?.DeleteOnTermination ?? true;
    const volumeId = this.addVolume(id, rootDevice, {
      size: asked?.VolumeSize ?? IMAGE_VOLUME_GIB,
      tags: tagsOf('volume'),
      deleteOnTermination,
      type: asked?.VolumeType,
    });
    this.addInstance(id, 'pending', {
      LaunchTime: this.launchTime(),
      InstanceType: input.InstanceType,
      ImageId: input.ImageId,
      Architecture: image?.Architecture ?? 'x86_64',
      RootDeviceName: rootDevice,
      BlockDeviceMappings: [
        {
          DeviceName: rootDevice,
          Ebs: { VolumeId: volumeId, Status: 'attached', DeleteOnTermination: deleteOnTermination },
        },
      ],
      SubnetId: input.NetworkInterfaces?.[0]?.SubnetId ?? input.SubnetId,
      SecurityGroups: groups.map((GroupId) => ({ GroupId })),
      Tags: clone(tagsOf('instance')),
    });
    const rec = this.instances.get(id)!;
    rec.clientToken = input.ClientToken;
    this.begin(rec, 'pending');
    return rec;
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
    this.spot.beforeStart(ids ?? []);
    const out = this.change(ids, 'StartingInstances', (s) =>
      s === 'stopped' ? 'pending' : s === 'pending' || s === 'running' ? s : 'refuse',
    );
    this.spot.started(ids ?? []);
    return out;
  }

  /** EC2 refuses to stop an instance that never reached running (IncorrectInstanceState). */
  stopInstances(ids?: string[]) {
    const out = this.change(ids, 'StoppingInstances', (s) =>
      s === 'running' ? 'stopping' : s === 'stopping' || s === 'stopped' ? s : 'refuse',
    );
    this.spot.stopped(ids ?? []);
    return out;
  }

  terminateInstances(ids?: string[]) {
    const out = this.change(ids, 'TerminatingInstances', (s) =>
      s === 'terminated' || s === 'shutting-down' ? s : 'shutting-down',
    );
    this.spot.terminated(ids ?? []);
    return out;
  }

  /** EC2 changes an instance's type only while it is stopped. */
  modifyInstanceAttribute(input: {
    InstanceId?: string;
    InstanceType?: { Value?: string };
  }): Record<string, never> {
    const rec = this.instances.get(input.InstanceId ?? '');
    if (!rec) {
      throw awsError(
        'InvalidInstanceID.NotFound',
        `The instance ID '${input.InstanceId}' does not exist`,
      );
    }
    const type = input.InstanceType?.Value;
    if (type === undefined)
      throw new Error('fake EC2: ModifyInstanceAttribute models InstanceType only');
    const i = rec.instance;
    if (i.State?.Name !== 'stopped') {
      throw awsError(
        'IncorrectInstanceState',
        `The instance '${i.InstanceId}' is not in the 'stopped' state.`,
      );
    }
    const archs = this.instanceTypes[type];
    if (!archs) {
      throw awsError('InvalidInstanceAttributeValue', `The instanceType '${type}' is invalid.`);
    }
    if (!archs.includes((i.Architecture ?? 'x86_64') as 'x86_64' | 'arm64')) {
      throw awsError(
        'InvalidInstanceAttributeValue',
        `The instance type '${type}' does not support the '${i.Architecture}' architecture of ${i.InstanceId}.`,
      );
    }
    i.InstanceType = type as Instance['InstanceType'];
    return {};
  }

  /** What carries tags, by id: instances, volumes and security groups. */
  private taggable(id: string): { Tags?: Tag[] } {
    const target =
      this.instances.get(id)?.instance ?? this.volumes.get(id)?.volume ?? this.groups.get(id);
    if (!target) {
      const kind = id.startsWith('sg-')
        ? 'InvalidGroup.NotFound'
        : id.startsWith('vol-')
          ? 'InvalidVolume.NotFound'
          : 'InvalidInstanceID.NotFound';
      throw awsError(kind, `The ID '${id}' does not exist`);
    }
    return target;
  }

  createTags(resources: string[] | undefined, tags: Tag[] | undefined): Record<string, never> {
    const targets = (resources ?? []).map((id) => this.taggable(id));
    for (const target of targets) {
      const keys = new Set((tags ?? []).map((t) => t.Key));
      target.Tags = [...(target.Tags ?? []).filter((t) => !keys.has(t.Key)), ...clone(tags ?? [])];
    }
    return {};
  }

  deleteTags(resources: string[] | undefined, tags: Tag[] | undefined): Record<string, never> {
    const targets = (resources ?? []).map((id) => this.taggable(id));
    for (const target of targets) {
      target.Tags = (target.Tags ?? []).filter(
        (t) =>
          tags !== undefined &&
          !tags.some((d) => d.Key === t.Key && (d.Value === undefined || d.Value === t.Value)),
      );
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
