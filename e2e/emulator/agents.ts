// The SSM agents of the emulated instances. moto has no DescribeInstanceInformation, so the
// front answers it: an instance that moto says is running comes Online once the scenario's
// agentDelayPolls DescribeInstanceInformation calls have been made for it since it started, and
// agentDelayMs have passed since the first of them (the registration time of a real agent).
import type { InstanceView } from './moto.ts';

export const AGENT_VERSION = '3.3.1957.0';

export interface InstanceFilter {
  key: string;
  values: string[];
}

export class Agents {
  /** DescribeInstanceInformation calls that saw the instance running, since it last was not. */
  private readonly polls = new Map<string, number>();
  /** When the first of those calls was made (Date.now()). */
  private readonly since = new Map<string, number>();

  /** The instance stopped, started, rebooted or went away: its agent must register again. */
  forget(instanceId: string): void {
    this.polls.delete(instanceId);
    this.since.delete(instanceId);
  }

  clear(): void {
    this.polls.clear();
    this.since.clear();
  }

  isOnline(instance: InstanceView, delayPolls: number, delayMs = 0): boolean {
    if (instance.state !== 'running') return false;
    if ((this.polls.get(instance.id) ?? 0) < delayPolls) return false;
    if (delayMs <= 0) return true;
    const since = this.since.get(instance.id);
    return since !== undefined && Date.now() - since >= delayMs;
  }

  /** One DescribeInstanceInformation call: which of these instances it reports. */
  describe(
    instances: InstanceView[],
    filters: InstanceFilter[],
    delayPolls: number,
    delayMs = 0,
  ): Record<string, unknown>[] {
    const list: Record<string, unknown>[] = [];
    for (const instance of instances) {
      if (instance.state !== 'running') {
        this.forget(instance.id);
        continue;
      }
      if (!matches(instance, filters)) continue;
      if (!this.since.has(instance.id)) this.since.set(instance.id, Date.now());
      const online = this.isOnline(instance, delayPolls, delayMs);
      this.polls.set(instance.id, (this.polls.get(instance.id) ?? 0) + 1);
      if (online && matchesPing(filters)) list.push(information(instance));
    }
    return list;
  }
}

function matches(instance: InstanceView, filters: InstanceFilter[]): boolean {
  return filters.every((f) => f.key !== 'InstanceIds' || f.values.includes(instance.id));
}

function matchesPing(filters: InstanceFilter[]): boolean {
  return filters.every((f) => f.key !== 'PingStatus' || f.values.includes('Online'));
}

function information(instance: InstanceView): Record<string, unknown> {
  return {
    InstanceId: instance.id,
    PingStatus: 'Online',
    LastPingDateTime: Date.now() / 1000,
    AgentVersion: AGENT_VERSION,
    IsLatestVersion: true,
    PlatformType: 'Linux',
    PlatformName: 'Ubuntu',
    PlatformVersion: '24.04',
    ResourceType: 'EC2Instance',
    IPAddress: instance.privateIp,
    ComputerName: `ip-${(instance.privateIp ?? '0.0.0.0').replace(/\./g, '-')}.ec2.internal`,
    AssociationStatus: 'Success',
    SourceId: instance.id,
    SourceType: 'AWS::EC2::Instance',
  };
}
