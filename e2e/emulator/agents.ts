// The SSM agents of the emulated instances. moto has no DescribeInstanceInformation, so the
// front answers it: an instance that moto says is running comes Online once the scenario's
// agentDelayPolls DescribeInstanceInformation calls have been made for it since it started.
import type { InstanceView } from './moto.ts';

export const AGENT_VERSION = '3.3.1957.0';

export interface InstanceFilter {
  key: string;
  values: string[];
}

export class Agents {
  /** DescribeInstanceInformation calls that saw the instance running, since it last was not. */
  private readonly polls = new Map<string, number>();

  /** The instance stopped, started, rebooted or went away: its agent must register again. */
  forget(instanceId: string): void {
    this.polls.delete(instanceId);
  }

  clear(): void {
    this.polls.clear();
  }

  isOnline(instance: InstanceView, delayPolls: number): boolean {
    return instance.state === 'running' && (this.polls.get(instance.id) ?? 0) >= delayPolls;
  }

  /** One DescribeInstanceInformation call: which of these instances it reports. */
  describe(
    instances: InstanceView[],
    filters: InstanceFilter[],
    delayPolls: number,
  ): Record<string, unknown>[] {
    const list: Record<string, unknown>[] = [];
    for (const instance of instances) {
      if (instance.state !== 'running') {
        this.forget(instance.id);
        continue;
      }
      if (!matches(instance, filters)) continue;
      const online = this.isOnline(instance, delayPolls);
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
