// Talks to the moto server behind the front: forwards raw requests, and asks it (through the
// SDK) which instances, images and Elastic IPs exist.
import { request } from 'node:http';
import {
  DescribeAddressesCommand,
  DescribeImagesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import type { IngressRule } from './acme-ca.ts';

export interface InstanceView {
  id: string;
  region: string;
  state: string;
  publicIp?: string;
  privateIp?: string;
  securityGroupIds: string[];
  /** Its primary network interface (device index 0). */
  networkInterfaceId?: string;
}

/** An Elastic IP as moto describes it. */
export interface AddressView {
  allocationId: string;
  publicIp: string;
  associationId?: string;
  instanceId?: string;
  /** The network interface it is associated with. */
  networkInterfaceId?: string;
  tags: Record<string, string>;
}

export interface ForwardedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

// Headers that describe the hop, not the content: the front re-frames every body.
const HOP_HEADERS = new Set(['transfer-encoding', 'connection', 'keep-alive', 'content-length']);

/** Canonical's AWS account: moto's default Ubuntu images are owned by it. */
const CANONICAL_OWNER = '099720109477';

export class Moto {
  readonly url: URL;
  private readonly clients = new Map<string, EC2Client>();
  private readonly amiCache = new Map<string, string>();

  constructor(url: string) {
    this.url = new URL(url);
  }

  private ec2(region: string): EC2Client {
    let client = this.clients.get(region);
    if (!client) {
      client = new EC2Client({
        region,
        endpoint: this.url.origin,
        credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
        maxAttempts: 1,
      });
      this.clients.set(region, client);
    }
    return client;
  }

  /** Sends a request on to moto unchanged (apart from Host) and buffers the answer. */
  forward(
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    body: string,
  ): Promise<ForwardedResponse> {
    return new Promise((resolve, reject) => {
      const outHeaders: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(headers)) {
        if (v !== undefined && !HOP_HEADERS.has(k)) outHeaders[k] = v;
      }
      outHeaders.host = this.url.host;
      outHeaders['content-length'] = String(Buffer.byteLength(body));
      const req = request(
        { host: this.url.hostname, port: this.url.port, method, path, headers: outHeaders },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const kept: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined && !HOP_HEADERS.has(k)) kept[k] = v;
            }
            resolve({ status: res.statusCode ?? 502, headers: kept, body: Buffer.concat(chunks) });
          });
        },
      );
      req.on('error', (err) => reject(new Error(`moto at ${this.url.origin}: ${err.message}`)));
      req.end(body);
    });
  }

  async listInstances(region: string, ids?: string[]): Promise<InstanceView[]> {
    const out: InstanceView[] = [];
    const pages = paginateDescribeInstances({ client: this.ec2(region) }, {});
    for await (const page of pages) {
      for (const reservation of page.Reservations ?? []) {
        for (const i of reservation.Instances ?? []) {
          if (!i.InstanceId || (ids && !ids.includes(i.InstanceId))) continue;
          out.push({
            id: i.InstanceId,
            region,
            state: i.State?.Name ?? 'unknown',
            publicIp: i.PublicIpAddress,
            privateIp: i.PrivateIpAddress,
            securityGroupIds: (i.SecurityGroups ?? []).flatMap((g) => g.GroupId ?? []),
            networkInterfaceId: (i.NetworkInterfaces ?? []).find(
              (n) => (n.Attachment?.DeviceIndex ?? 0) === 0,
            )?.NetworkInterfaceId,
          });
        }
      }
    }
    return out;
  }

  /** Every Elastic IP in the region. */
  async listAddresses(region: string): Promise<AddressView[]> {
    const out = await this.ec2(region).send(new DescribeAddressesCommand({}));
    return (out.Addresses ?? []).flatMap((a) =>
      a.AllocationId && a.PublicIp
        ? [
            {
              allocationId: a.AllocationId,
              publicIp: a.PublicIp,
              // moto answers '' for "not associated".
              ...(a.AssociationId ? { associationId: a.AssociationId } : {}),
              ...(a.InstanceId ? { instanceId: a.InstanceId } : {}),
              ...(a.NetworkInterfaceId ? { networkInterfaceId: a.NetworkInterfaceId } : {}),
              tags: Object.fromEntries((a.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
            },
          ]
        : [],
    );
  }

  /** The ingress rules of these security groups (their IPv4 ranges). */
  async ingressOf(region: string, groupIds: string[]): Promise<IngressRule[]> {
    if (!groupIds.length) return [];
    const out = await this.ec2(region).send(
      new DescribeSecurityGroupsCommand({ GroupIds: groupIds }),
    );
    return (out.SecurityGroups ?? []).flatMap((g) =>
      (g.IpPermissions ?? []).map((p) => ({
        protocol: p.IpProtocol ?? '',
        ...(p.FromPort !== undefined ? { fromPort: p.FromPort } : {}),
        ...(p.ToPort !== undefined ? { toPort: p.ToPort } : {}),
        cidrs: (p.IpRanges ?? []).flatMap((r) => r.CidrIp ?? []),
      })),
    );
  }

  /**
   * The account's fixtures, as a real account that followed the README would have: the
   * instance profile `tljh-ssm`. IAM is a query API like EC2; moto routes on the signature's
   * service name and does not check the signature itself.
   */
  async seedAccount(): Promise<void> {
    const body = 'Action=CreateInstanceProfile&InstanceProfileName=tljh-ssm&Version=2010-05-08';
    const res = await this.forward(
      'POST',
      '/',
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=emulator/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
      },
      body,
    );
    if (res.status !== 200 && !res.body.toString().includes('EntityAlreadyExists')) {
      throw new Error(`seeding the instance profile failed: ${res.status} ${res.body.toString()}`);
    }
  }

  /** An image moto knows for the architecture, preferring Canonical's Ubuntu images. */
  async amiFor(region: string, arch: 'x86_64' | 'arm64'): Promise<string> {
    const key = `${region}/${arch}`;
    const cached = this.amiCache.get(key);
    if (cached) return cached;
    const filters = [{ Name: 'architecture', Values: [arch] }];
    const client = this.ec2(region);
    const canonical = await client.send(
      new DescribeImagesCommand({ Owners: [CANONICAL_OWNER], Filters: filters }),
    );
    let image = canonical.Images?.find((i) => i.ImageId);
    if (!image) {
      image = (await client.send(new DescribeImagesCommand({ Filters: filters }))).Images?.find(
        (i) => i.ImageId,
      );
    }
    if (!image?.ImageId) throw new Error(`moto has no ${arch} image in ${region}`);
    this.amiCache.set(key, image.ImageId);
    return image.ImageId;
  }

  async isUp(): Promise<boolean> {
    try {
      const res = await fetch(new URL('/moto-api/', this.url), {
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Forgets every AWS resource (moto's own reset endpoint). */
  async reset(): Promise<void> {
    const res = await fetch(new URL('/moto-api/reset', this.url), { method: 'POST' });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`moto reset answered HTTP ${res.status}`);
    this.amiCache.clear();
  }
}
