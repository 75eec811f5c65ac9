// About 320 lines: EC2's Spot request rules (launch, interruption, restart, cancel) kept together.
// Spot requests, which moto 5.2.1 does not keep for RunInstances: it marks an instance launched
// with InstanceMarketOptions `instanceLifecycle: spot` and nothing more (no request, no
// spotInstanceRequestId; its CancelSpotInstanceRequests fails for an id it does not know). The
// front keeps the requests and models what EC2 does with them (EC2 User Guide: "Behavior of
// Spot Instance interruptions", "Spot request status"; API reference: SpotMarketOptions,
// CancelSpotInstanceRequests, StateReason):
// - A Spot RunInstances: `stop` (or `hibernate`) needs a persistent request and a persistent
//   request needs one of them (InvalidParameterCombination otherwise); without Spot capacity,
//   InsufficientInstanceCapacity (On-Demand launches are not affected). A launch creates a
//   request (active, fulfilled), tagged from TagSpecification `spot-instances-request`; the
//   instance shows its spotInstanceRequestId in RunInstances and DescribeInstances answers.
// - interrupt(): EC2 stops the instance (stateReason Server.SpotInstanceShutdown; request
//   disabled, instance-stopped-no-capacity). Only EC2 starts it again: StartInstances answers
//   IncorrectSpotRequestState. When capacity returns, EC2 starts it (request active, fulfilled).
// - A user's stop: request disabled, instance-stopped-by-user; a start makes it active again.
// - A terminated instance whose persistent request is not cancelled: the request opens again
//   and EC2 launches a new instance with the request's launch specification (its tags too).
// - CancelSpotInstanceRequests: cancelled (again: no error); an unknown id fails the call
//   (InvalidSpotInstanceRequestID.NotFound). EC2 terminates a stopped instance whose request
//   is cancelled. DescribeSpotInstanceRequests lists them (by SpotInstanceRequestId.N, or all).
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Agents } from './agents.ts';
import { sendEc2Error } from './faults.ts';
import type { Moto } from './moto.ts';
import { cancelledSet, notFound, requestSet, sendAnswer, withSpotFields } from './spot-xml.ts';

export interface SpotRequest {
  id: string;
  region: string;
  instanceId: string;
  type: string;
  behavior: string;
  state: 'open' | 'active' | 'disabled' | 'cancelled' | 'closed';
  code: string;
  tags: [string, string][];
  /** The RunInstances form, without its ClientToken: the launch specification. */
  launch: Record<string, string>;
  created: string;
  updated: string;
}

const isSpot = (form: Record<string, string>) =>
  form['InstanceMarketOptions.MarketType'] === 'spot';

/** Instance ids of a query-protocol request (InstanceId.N). */
function ids(form: Record<string, string>, key = 'InstanceId'): string[] {
  return Object.entries(form)
    .filter(([k]) => new RegExp(`^${key}\\.\\d+$`).test(k))
    .map(([, v]) => v);
}

function requestTags(form: Record<string, string>): [string, string][] {
  const spec = Object.entries(form).find(
    ([k, v]) => /^TagSpecification\.\d+\.ResourceType$/.test(k) && v === 'spot-instances-request',
  );
  if (!spec) return [];
  const prefix = spec[0].replace(/ResourceType$/, '');
  return Object.entries(form)
    .filter(([k]) => k.startsWith(`${prefix}Tag.`) && k.endsWith('.Key'))
    .map(([k, key]) => [key, form[k.replace(/\.Key$/, '.Value')] ?? '']);
}

export class SpotRequests {
  private readonly requests = new Map<string, SpotRequest>();
  private capacity = true;
  private timer?: NodeJS.Timeout;
  private readonly moto: Moto;
  private readonly agents: Agents;
  private readonly log: (line: string) => void;

  constructor(moto: Moto, agents: Agents, log: (line: string) => void) {
    this.moto = moto;
    this.agents = agents;
    this.log = log;
  }

  /** Every reset restores capacity; `aws` also forgets the requests (moto forgot the instances). */
  reset(aws: boolean): void {
    clearTimeout(this.timer);
    this.capacity = true;
    if (aws) this.requests.clear();
  }

  private byInstance(instanceId: string): SpotRequest | undefined {
    return [...this.requests.values()].find((r) => r.instanceId === instanceId);
  }

  private set(r: SpotRequest, state: SpotRequest['state'], code: string): void {
    r.state = state;
    r.code = code;
    r.updated = new Date().toISOString();
  }

  /** An EC2 call about instances, made by EC2 itself (no signature is checked by moto). */
  private async ec2Call(region: string, action: string, form: Record<string, string>) {
    const body = new URLSearchParams({ Action: action, Version: '2016-11-15', ...form });
    const res = await this.moto.forward(
      'POST',
      '/',
      {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        authorization: `AWS4-HMAC-SHA256 Credential=emulator/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body.toString(),
    );
    const text = res.body.toString('utf8');
    if (res.status !== 200) throw new Error(`EC2's own ${action} failed: ${res.status} ${text}`);
    return text;
  }

  /**
   * Answers the call itself, or refuses it as EC2 would, before moto sees it: true when the
   * call has been answered.
   */
  async intercept(
    operation: string,
    form: Record<string, string>,
    region: string,
    res: ServerResponse,
  ): Promise<boolean> {
    if (operation === 'RunInstances' && isSpot(form)) {
      const type = form['InstanceMarketOptions.SpotOptions.SpotInstanceType'] ?? 'one-time';
      const behavior =
        form['InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior'] ?? 'terminate';
      if ((behavior === 'terminate') !== (type === 'one-time')) {
        sendEc2Error(
          res,
          400,
          'InvalidParameterCombination',
          `The request with type '${type}' is not supported when instanceInterruptionBehavior is set to '${behavior}'.`,
        );
        return true;
      }
      if (!this.capacity) {
        sendEc2Error(
          res,
          500,
          'InsufficientInstanceCapacity',
          'There is no Spot capacity available that matches your request.',
        );
        return true;
      }
    }
    if (operation === 'StartInstances') {
      const interrupted = ids(form).find(
        (id) => this.byInstance(id)?.code === 'instance-stopped-no-capacity',
      );
      if (interrupted) {
        sendEc2Error(
          res,
          400,
          'IncorrectSpotRequestState',
          'Only Amazon EC2 can restart an interrupted stopped Spot Instance.',
        );
        return true;
      }
    }
    if (operation === 'CancelSpotInstanceRequests') {
      await this.cancel(ids(form, 'SpotInstanceRequestId'), res);
      return true;
    }
    if (operation === 'DescribeSpotInstanceRequests') {
      this.describe(ids(form, 'SpotInstanceRequestId'), res);
      return true;
    }
    return false;
  }

  /** What a successful answer means for the requests, and the answer as EC2 would give it. */
  async answered(
    operation: string,
    form: Record<string, string>,
    region: string,
    xml: string,
  ): Promise<string> {
    switch (operation) {
      case 'RunInstances':
        if (isSpot(form)) this.launched(form, region, xml);
        return this.rewrite(xml);
      case 'DescribeInstances':
        return this.rewrite(xml);
      case 'StopInstances':
        for (const r of ids(form).map((id) => this.byInstance(id))) {
          if (r?.state === 'active') this.set(r, 'disabled', 'instance-stopped-by-user');
        }
        return xml;
      case 'StartInstances':
        for (const r of ids(form).map((id) => this.byInstance(id))) {
          if (r?.state === 'disabled') this.set(r, 'active', 'fulfilled');
        }
        return xml;
      case 'TerminateInstances':
        for (const id of ids(form)) await this.terminated(id);
        return xml;
      default:
        return xml;
    }
  }

  private launched(
    form: Record<string, string>,
    region: string,
    xml: string,
    reuse?: string,
  ): void {
    const instanceId = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(xml)?.[1];
    if (!instanceId || (!reuse && this.byInstance(instanceId))) return; // a replayed token
    const now = new Date().toISOString();
    const launch = Object.fromEntries(
      Object.entries(form).filter(([k]) => !['ClientToken', 'Action', 'Version'].includes(k)),
    );
    const id = reuse ?? `sir-${randomBytes(4).toString('hex')}`;
    const earlier = this.requests.get(id);
    this.requests.set(id, {
      id,
      region,
      instanceId,
      type: form['InstanceMarketOptions.SpotOptions.SpotInstanceType'] ?? 'one-time',
      behavior:
        form['InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior'] ?? 'terminate',
      state: 'active',
      code: 'fulfilled',
      tags: earlier?.tags ?? requestTags(form),
      launch,
      created: earlier?.created ?? now,
      updated: now,
    });
  }

  /** A persistent request not cancelled launches its instance again (with its specification). */
  private async terminated(instanceId: string): Promise<void> {
    const r = this.byInstance(instanceId);
    if (!r || r.state === 'cancelled' || r.state === 'closed') return;
    if (r.type !== 'persistent') return this.set(r, 'closed', 'instance-terminated-by-user');
    this.set(r, 'open', this.capacity ? 'pending-evaluation' : 'capacity-not-available');
    if (!this.capacity) return;
    const xml = await this.ec2Call(r.region, 'RunInstances', r.launch);
    this.launched(r.launch, r.region, xml, r.id);
    this.log(`EC2 launched ${this.requests.get(r.id)!.instanceId} again for ${r.id} (persistent)`);
  }

  private async cancel(requestIds: string[], res: ServerResponse): Promise<void> {
    const unknown = requestIds.find((id) => !this.requests.has(id));
    if (unknown) return notFound(res, unknown);
    for (const id of requestIds) {
      const r = this.requests.get(id)!;
      if (r.state !== 'cancelled') {
        const [instance] = await this.moto.listInstances(r.region, [r.instanceId]);
        if (instance?.state === 'stopped') {
          // "Amazon EC2 terminates any associated Spot Instances that are stopped."
          await this.ec2Call(r.region, 'TerminateInstances', { 'InstanceId.1': r.instanceId });
          this.agents.forget(r.instanceId);
          this.set(r, 'cancelled', 'instance-terminated-by-service');
        } else if (instance?.state === 'running' || instance?.state === 'pending') {
          this.set(r, 'cancelled', 'request-canceled-and-instance-running');
        } else this.set(r, 'cancelled', 'canceled-before-fulfillment');
      }
    }
    sendAnswer(res, 'CancelSpotInstanceRequests', cancelledSet(requestIds));
  }

  private describe(requestIds: string[], res: ServerResponse): void {
    const unknown = requestIds.find((id) => !this.requests.has(id));
    if (unknown) return notFound(res, unknown);
    const shown = requestIds.length
      ? requestIds.map((id) => this.requests.get(id)!)
      : [...this.requests.values()];
    sendAnswer(res, 'DescribeSpotInstanceRequests', requestSet(shown));
  }

  /** Instances answers as EC2 gives them: see spot-xml.ts. */
  rewrite(xml: string): string {
    if (!this.requests.size) return xml;
    return withSpotFields(xml, (id) => {
      const r = this.byInstance(id);
      return r && { requestId: r.id, interrupted: r.code === 'instance-stopped-no-capacity' };
    });
  }

  /** EC2 interrupts a Spot Instance whose behaviour is stop: it stops it. Capacity is gone. */
  async interrupt(instanceId: string): Promise<Record<string, unknown>> {
    const r = this.byInstance(instanceId);
    if (!r) throw new Error(`${instanceId} is not a Spot Instance the front knows`);
    if (r.behavior !== 'stop') throw new Error(`${instanceId} is not to stop when interrupted`);
    this.capacity = false;
    await this.ec2Call(r.region, 'StopInstances', { 'InstanceId.1': instanceId });
    this.agents.forget(instanceId);
    this.set(r, 'disabled', 'instance-stopped-no-capacity');
    this.log(`EC2 interrupted ${instanceId} (${r.id}): stopped`);
    return { requestId: r.id, instanceId, state: r.state, code: r.code };
  }

  /** Spot capacity now (or after `afterMs`): EC2 then starts every interrupted instance. */
  async setCapacity(available: boolean, afterMs = 0): Promise<Record<string, unknown>> {
    clearTimeout(this.timer);
    const apply = async () => {
      this.capacity = available;
      if (!available) return;
      for (const r of this.requests.values()) {
        if (r.code !== 'instance-stopped-no-capacity') continue;
        await this.ec2Call(r.region, 'StartInstances', { 'InstanceId.1': r.instanceId });
        this.agents.forget(r.instanceId);
        this.set(r, 'active', 'fulfilled');
        this.log(`Spot capacity is back: EC2 started ${r.instanceId} (${r.id})`);
      }
    };
    if (afterMs > 0) {
      this.timer = setTimeout(
        () => void apply().catch((e: unknown) => this.log(`spot capacity: ${String(e)}`)),
        afterMs,
      );
    } else await apply();
    return { available, afterMs };
  }
}
