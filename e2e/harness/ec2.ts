// Direct EC2 access to the emulator for tests: arranging hubs and checking what the action did.
// Calls made here reach the front too (and are recorded): reset the recorded calls after
// arranging, before running the action.
import {
  CreateSecurityGroupCommand,
  DescribeAddressesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSpotInstanceRequestsCommand,
  EC2Client,
  StopInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstances,
  type Instance,
  type SpotInstanceRequest,
} from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, SSMClient, SendCommandCommand } from '@aws-sdk/client-ssm';
import { frontUrl } from './emulator.ts';

export function emulatorEc2(): EC2Client {
  return new EC2Client({
    region: 'us-east-1',
    endpoint: frontUrl(),
    credentials: { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' },
  });
}

async function withEc2<T>(fn: (ec2: EC2Client) => Promise<T>): Promise<T> {
  const ec2 = emulatorEc2();
  try {
    return await fn(ec2);
  } finally {
    ec2.destroy();
  }
}

/** Every instance (any state) carrying the tag tljh:hub, by hub name. */
export function hubInstances(): Promise<Map<string, Instance>> {
  return withEc2(async (ec2) => {
    const hubs = new Map<string, Instance>();
    const pages = paginateDescribeInstances(
      { client: ec2 },
      { Filters: [{ Name: 'tag-key', Values: ['tljh:hub'] }] },
    );
    for await (const page of pages) {
      for (const i of (page.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        hubs.set(tag(i, 'tljh:hub')!, i);
      }
    }
    return hubs;
  });
}

export function tag(i: Instance, key: string): string | undefined {
  return i.Tags?.find((t) => t.Key === key)?.Value;
}

/** Every instance of one hub (any state), oldest first. */
export function instancesOf(hubName: string): Promise<Instance[]> {
  return withEc2(async (ec2) => {
    const found: Instance[] = [];
    const pages = paginateDescribeInstances(
      { client: ec2 },
      { Filters: [{ Name: 'tag:tljh:hub', Values: [hubName] }] },
    );
    for await (const page of pages) {
      found.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []));
    }
    return found.sort((a, b) => (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0));
  });
}

/** The Spot requests EC2 keeps (all of them, or these). */
export function spotRequests(ids?: string[]): Promise<SpotInstanceRequest[]> {
  return withEc2(async (ec2) => {
    const out = await ec2.send(
      new DescribeSpotInstanceRequestsCommand(ids ? { SpotInstanceRequestIds: ids } : {}),
    );
    return out.SpotInstanceRequests ?? [];
  });
}

/** A terminate by someone else than the action (a person in the console), without any cancel. */
export function terminateInstances(ids: string[]): Promise<void> {
  return withEc2(async (ec2) => {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  });
}

export function stopInstances(ids: string[]): Promise<void> {
  return withEc2(async (ec2) => {
    await ec2.send(new StopInstancesCommand({ InstanceIds: ids }));
  });
}

/** The names of every security group in the region. */
export function securityGroupNames(): Promise<string[]> {
  return withEc2(async (ec2) => {
    const out = await ec2.send(new DescribeSecurityGroupsCommand({}));
    return (out.SecurityGroups ?? []).map((g) => g.GroupName ?? '');
  });
}

/** A security group as the action creates one for a hub: tljh-<hub>, tagged. */
export function createHubSecurityGroup(hubName: string): Promise<string> {
  return withEc2(async (ec2) => {
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `tljh-${hubName}`,
        Description: `TLJH hub ${hubName}`,
        TagSpecifications: [
          {
            ResourceType: 'security-group',
            Tags: [
              { Key: 'tljh:hub', Value: hubName },
              { Key: 'tljh:managed-by', Value: 'tljh-ec2-action' },
            ],
          },
        ],
      }),
    );
    return out.GroupId!;
  });
}

/** An Elastic IP, as EC2 describes it. */
export interface ElasticIp {
  allocationId: string;
  publicIp: string;
  /** Set while it is associated. */
  instanceId?: string;
  associationId?: string;
  tags: Record<string, string>;
}

/** Every Elastic IP allocated in the region. */
export function getAddresses(): Promise<ElasticIp[]> {
  return withEc2(async (ec2) => {
    const out = await ec2.send(new DescribeAddressesCommand({}));
    return (out.Addresses ?? []).map((a) => ({
      allocationId: a.AllocationId ?? '',
      publicIp: a.PublicIp ?? '',
      // moto answers '' for "not associated".
      ...(a.InstanceId ? { instanceId: a.InstanceId } : {}),
      ...(a.AssociationId ? { associationId: a.AssociationId } : {}),
      tags: Object.fromEntries((a.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    }));
  });
}

/**
 * EC2 and SSM clients on the front for a test file's own calls (one attempt each, so an answer
 * is seen as the front gave it), made before its tests and destroyed after them.
 */
export function useFrontClients(): { ec2: EC2Client; ssm: SSMClient } {
  const clients = {} as { ec2: EC2Client; ssm: SSMClient };
  beforeAll(() => {
    const config = {
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' },
      endpoint: frontUrl(),
      maxAttempts: 1,
    };
    clients.ec2 = new EC2Client(config);
    clients.ssm = new SSMClient(config);
  });
  afterAll(() => {
    clients.ec2.destroy();
    clients.ssm.destroy();
  });
  return clients;
}

/**
 * Runs a shell script on an instance through Run Command (the test's own SSM client on the
 * front) and waits until it ends, up to `timeoutMs` (a real TLJH install takes minutes here).
 */
export async function runCommand(
  ssm: SSMClient,
  instanceId: string,
  script: string,
  timeoutMs = 600_000,
): Promise<{ status: string; stdout: string; stderr: string }> {
  const sent = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [instanceId],
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: [script] },
    }),
  );
  const CommandId = sent.Command!.CommandId!;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Right after SendCommand the invocation may not exist yet: asked again.
    const out = await ssm
      .send(new GetCommandInvocationCommand({ CommandId, InstanceId: instanceId }))
      .catch(() => undefined);
    if (out?.Status && out.Status !== 'InProgress' && out.Status !== 'Pending') {
      return {
        status: out.Status,
        stdout: out.StandardOutputContent ?? '',
        stderr: out.StandardErrorContent ?? '',
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`command ${CommandId} on ${instanceId} did not finish`);
}
