// The Spot market of the fake EC2 (fake-ec2.ts): Spot requests of RunInstances with
// InstanceMarketOptions, interruptions, and what EC2 does with a persistent request. Not a test
// file.
//
// Modelled EC2 behaviour (EC2 User Guide: "Behavior of Spot Instance interruptions", "Spot
// request status"; EC2 API reference: SpotMarketOptions, CancelSpotInstanceRequests):
// - RunInstances with MarketType spot creates a Spot request (sir-...), active/fulfilled, whose
//   instance has InstanceLifecycle spot and SpotInstanceRequestId. InstanceInterruptionBehavior
//   stop (or hibernate) needs a persistent request, and a persistent request needs stop or
//   hibernate: InvalidParameterCombination otherwise. With `capacity` false, a Spot launch
//   answers InsufficientInstanceCapacity ("There is no Spot capacity available that matches
//   your request."); On-Demand launches are unaffected.
// - interrupt(id): EC2 stops the instance (StateReason Server.SpotInstanceShutdown; request
//   disabled, instance-stopped-no-capacity). Only EC2 starts it again: StartInstances answers
//   IncorrectSpotRequestState. restoreCapacity() is EC2 starting every interrupted one (pending).
// - StopInstances by a user: request disabled, instance-stopped-by-user; a start makes it
//   active again.
// - TerminateInstances of an instance whose persistent request is not cancelled: the request
//   opens again and EC2 launches a new instance with the request's launch specification (tags
//   included): `relaunched` lists them.
// - CancelSpotInstanceRequests: cancelled (cancelling twice is no error);
//   InvalidSpotInstanceRequestID.NotFound for an unknown id (the whole call fails). EC2
//   terminates a stopped instance whose request is cancelled.
import type {
  Instance,
  RunInstancesCommandInput,
  SpotInstanceRequest,
  Tag,
} from '@aws-sdk/client-ec2';
import { clone } from './fake-ec2-network.ts';
import { awsError } from './fakes.ts';

export const SPOT_INTERRUPTED = 'Server.SpotInstanceShutdown';

interface SpotRecord {
  request: SpotInstanceRequest;
  /** The launch specification, for a relaunch of a persistent request. */
  launch: RunInstancesCommandInput;
}

/** What the market needs of the fake EC2 it belongs to. */
export interface SpotWorld {
  instance(id: string): Instance;
  state(id: string): string | undefined;
  setState(id: string, state: 'stopped' | 'shutting-down'): void;
  relaunch(input: RunInstancesCommandInput): Instance;
  startInstances(ids: string[]): unknown;
}

export class SpotMarket {
  readonly requests = new Map<string, SpotRecord>();
  /** Whether EC2 has Spot capacity now (false: Spot launches fail, interrupted ones wait). */
  capacity = true;
  /** Instances EC2 launched again for a persistent request (a terminate without a cancel). */
  readonly relaunched: string[] = [];
  private counter = 0x10;
  private readonly world: SpotWorld;

  constructor(world: SpotWorld) {
    this.world = world;
  }

  private requestOf(instanceId: string): SpotRecord | undefined {
    return [...this.requests.values()].find((r) => r.request.InstanceId === instanceId);
  }

  private status(rec: SpotRecord, state: SpotInstanceRequest['State'], code: string): void {
    rec.request.State = state;
    rec.request.Status = { Code: code };
  }

  /** Refuses a Spot launch EC2 would refuse (before anything is created). */
  beforeLaunch(input: RunInstancesCommandInput): void {
    const market = input.InstanceMarketOptions;
    if (market?.MarketType !== 'spot') return;
    const type = market.SpotOptions?.SpotInstanceType ?? 'one-time';
    const behavior = market.SpotOptions?.InstanceInterruptionBehavior ?? 'terminate';
    if ((behavior === 'terminate') !== (type === 'one-time')) {
      throw awsError(
        'InvalidParameterCombination',
        `The request with type '${type}' is not supported when instanceInterruptionBehavior is set to '${behavior}'.`,
      );
    }
    if (!this.capacity) {
      throw awsError(
        'InsufficientInstanceCapacity',
        'There is no Spot capacity available that matches your request.',
      );
    }
  }

  /** A Spot launch made `instance`: its request, active and fulfilled. */
  launched(instance: Instance, input: RunInstancesCommandInput, request?: string): void {
    if (input.InstanceMarketOptions?.MarketType !== 'spot') return;
    const id = request ?? `sir-${(this.counter++).toString(16).padStart(8, '0')}`;
    const tags: Tag[] =
      input.TagSpecifications?.find((s) => s.ResourceType === 'spot-instances-request')?.Tags ?? [];
    const rec = this.requests.get(id) ?? {
      request: {
        SpotInstanceRequestId: id,
        Type: input.InstanceMarketOptions.SpotOptions?.SpotInstanceType ?? 'one-time',
        InstanceInterruptionBehavior:
          input.InstanceMarketOptions.SpotOptions?.InstanceInterruptionBehavior ?? 'terminate',
        Tags: clone(tags),
      },
      launch: clone(input),
    };
    this.requests.set(id, rec);
    rec.request.InstanceId = instance.InstanceId;
    this.status(rec, 'active', 'fulfilled');
    instance.InstanceLifecycle = 'spot';
    instance.SpotInstanceRequestId = id;
  }

  /** EC2 interrupts the instance: it stops it (interruption behaviour stop). */
  interrupt(instanceId: string): void {
    const rec = this.requestOf(instanceId);
    if (!rec) throw new Error(`fake EC2: ${instanceId} is not a Spot Instance`);
    this.world.setState(instanceId, 'stopped');
    this.world.instance(instanceId).StateReason = {
      Code: SPOT_INTERRUPTED,
      Message: `${SPOT_INTERRUPTED}: Spot instance interruption`,
    };
    this.status(rec, 'disabled', 'instance-stopped-no-capacity');
  }

  /** Spot capacity is back: EC2 starts every interrupted instance of an open request. */
  restoreCapacity(): void {
    this.capacity = true;
    for (const rec of this.requests.values()) {
      const id = rec.request.InstanceId;
      if (!id || rec.request.Status?.Code !== 'instance-stopped-no-capacity') continue;
      this.status(rec, 'active', 'fulfilled');
      delete this.world.instance(id).StateReason;
      this.world.startInstances([id]);
    }
  }

  /** Only EC2 starts an interrupted Spot Instance. */
  beforeStart(ids: string[]): void {
    for (const id of ids) {
      const rec = this.requestOf(id);
      if (rec?.request.Status?.Code === 'instance-stopped-no-capacity') {
        throw awsError(
          'IncorrectSpotRequestState',
          'Only Amazon EC2 can restart an interrupted stopped Spot Instance.',
        );
      }
    }
  }

  started(ids: string[]): void {
    for (const id of ids) {
      const rec = this.requestOf(id);
      if (rec && rec.request.State === 'disabled') this.status(rec, 'active', 'fulfilled');
    }
  }

  stopped(ids: string[]): void {
    for (const id of ids) {
      const rec = this.requestOf(id);
      if (rec && rec.request.State === 'active')
        this.status(rec, 'disabled', 'instance-stopped-by-user');
    }
  }

  /** A persistent request whose instance was terminated launches a new one, unless cancelled. */
  terminated(ids: string[]): void {
    for (const id of ids) {
      const rec = this.requestOf(id);
      if (!rec || rec.request.State === 'cancelled') continue;
      if (rec.request.Type !== 'persistent') {
        this.status(rec, 'closed', 'instance-terminated-by-user');
        continue;
      }
      const fresh = this.world.relaunch({ ...rec.launch, ClientToken: undefined });
      this.launched(fresh, rec.launch, rec.request.SpotInstanceRequestId);
      this.relaunched.push(fresh.InstanceId!);
    }
  }

  cancelSpotInstanceRequests(ids: string[] | undefined): Record<string, unknown> {
    const unknown = (ids ?? []).filter((id) => !this.requests.has(id));
    if (unknown.length) {
      throw awsError(
        'InvalidSpotInstanceRequestID.NotFound',
        `The spot instance request ID '${unknown[0]}' does not exist`,
      );
    }
    const cancelled = (ids ?? []).map((id) => {
      const rec = this.requests.get(id)!;
      const instanceId = rec.request.InstanceId;
      const state = instanceId ? this.world.state(instanceId) : undefined;
      if (state === 'stopped') {
        // "Amazon EC2 terminates any associated Spot Instances that are stopped."
        this.world.setState(instanceId!, 'shutting-down');
        this.status(rec, 'cancelled', 'instance-terminated-by-service');
      } else if (state === 'running' || state === 'pending') {
        this.status(rec, 'cancelled', 'request-canceled-and-instance-running');
      } else this.status(rec, 'cancelled', rec.request.Status?.Code ?? 'canceled');
      return { SpotInstanceRequestId: id, State: 'cancelled' };
    });
    return { CancelledSpotInstanceRequests: cancelled };
  }

  describeSpotInstanceRequests(ids: string[] | undefined): {
    SpotInstanceRequests: SpotInstanceRequest[];
  } {
    const recs = ids?.length
      ? ids.map((id) => {
          const rec = this.requests.get(id);
          if (!rec) throw awsError('InvalidSpotInstanceRequestID.NotFound');
          return rec;
        })
      : [...this.requests.values()];
    return { SpotInstanceRequests: recs.map((r) => clone(r.request)) };
  }
}
