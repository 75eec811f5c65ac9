// The fake AWS's Elastic IPs and Route 53 (see fake-aws.ts), modelled on AWS's documented
// behaviour: an address keeps its association across a stop and loses it at termination;
// ReleaseAddress of an associated address fails (InvalidIPAddress.InUse); Route 53 applies a
// batch all or nothing, a DELETE must match the record exactly (InvalidChangeBatch), and a
// change is PENDING until GetChange has been asked `pendingLooks` times. Not a test file.
import type { Address, Tag } from '@aws-sdk/client-ec2';
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { Ec2World } from './fake-ec2.ts';
import { awsError } from './fakes.ts';

export class AddressWorld {
  readonly addresses = new Map<string, Address>();
  private next = 1;
  /** The address the n-th allocation gets (a test points it at a hub that answers). */
  ipFor: (n: number) => string = (n) => `127.0.100.${n}`;
  private readonly ec2: Ec2World;
  constructor(ec2: Ec2World) {
    this.ec2 = ec2;
    ec2.elasticIpOf = (id) =>
      [...this.addresses.values()].find((a) => a.InstanceId === id)?.PublicIp;
  }

  allocate(tags: Tag[]): { AllocationId: string; PublicIp: string } {
    const n = this.next++;
    const a = {
      AllocationId: `eipalloc-${n}`,
      PublicIp: this.ipFor(n),
      Domain: 'vpc' as const,
      Tags: tags,
    };
    this.addresses.set(a.AllocationId, a);
    return { AllocationId: a.AllocationId, PublicIp: a.PublicIp };
  }

  describe(filters: { Name?: string; Values?: string[] }[] = []): { Addresses: Address[] } {
    const match = (a: Address) =>
      filters.every((f) => {
        const key = f.Name?.replace(/^tag:/, '');
        return a.Tags?.some((t) => t.Key === key && f.Values?.includes(t.Value ?? ''));
      });
    // Terminated instances lose their association.
    for (const a of this.addresses.values()) {
      if (a.InstanceId && this.ec2.state(a.InstanceId) === 'terminated') {
        delete a.InstanceId;
        delete a.AssociationId;
      }
    }
    return { Addresses: [...this.addresses.values()].filter(match).map((a) => ({ ...a })) };
  }

  associate(allocationId: string, instanceId: string): { AssociationId: string } {
    const a = this.addresses.get(allocationId);
    if (!a) throw awsError('InvalidAllocationID.NotFound');
    for (const other of this.addresses.values()) {
      if (other.InstanceId === instanceId && other !== a) {
        delete other.InstanceId;
        delete other.AssociationId;
      }
    }
    a.InstanceId = instanceId;
    a.AssociationId = `eipassoc-${allocationId.slice(9)}`;
    const rec = this.ec2.instances.get(instanceId);
    if (rec) rec.instance.PublicIpAddress = a.PublicIp;
    return { AssociationId: a.AssociationId };
  }

  disassociate(associationId: string): object {
    const a = [...this.addresses.values()].find((x) => x.AssociationId === associationId);
    if (!a) throw awsError('InvalidAssociationID.NotFound');
    delete a.InstanceId;
    delete a.AssociationId;
    return {};
  }

  release(allocationId: string): object {
    const a = this.addresses.get(allocationId);
    if (!a) throw awsError('InvalidAllocationID.NotFound');
    if (a.AssociationId && a.InstanceId && this.ec2.state(a.InstanceId) !== 'terminated')
      throw awsError('InvalidIPAddress.InUse');
    this.addresses.delete(allocationId);
    return {};
  }
}

const key = (name: string, type: string) => `${name.replace(/\.$/, '').toLowerCase()}|${type}`;

export class DnsWorld {
  /** Zone id → its name (without the trailing dot). */
  readonly zones = new Map<string, string>();
  /** `name|type` → record set, for every zone (tests use one). */
  readonly records = new Map<string, ResourceRecordSet>();
  readonly changes = new Map<string, number>();
  pendingLooks = 1;
  private next = 1;

  getHostedZone(id: string) {
    const name = this.zones.get(id.replace('/hostedzone/', ''));
    if (!name) throw awsError('NoSuchHostedZone');
    return {
      HostedZone: {
        Id: `/hostedzone/${id}`,
        Name: `${name}.`,
        CallerReference: 'x',
        Config: { PrivateZone: false },
      },
    };
  }

  // Route 53 lists in its own order; the action asks for one name and type at a time.
  list(name: string, type?: string) {
    if (!type) {
      const sets = [...this.records.values()].filter(
        (r) => r.Name!.toLowerCase() === name.replace(/\.$/, '').toLowerCase(),
      );
      return {
        ResourceRecordSets: sets.map((r) => ({ ...r, Name: `${r.Name}.` })),
        IsTruncated: false,
      };
    }
    const hit = this.records.get(key(name, type));
    return {
      ResourceRecordSets: hit ? [{ ...hit, Name: `${hit.Name}.` }] : [],
      IsTruncated: false,
      MaxItems: 1,
    };
  }

  change(changes: Change[] = []) {
    const next = new Map(this.records);
    for (const c of changes) {
      const set = c.ResourceRecordSet!;
      const k = key(set.Name!, set.Type!);
      if (c.Action === 'DELETE') {
        const have = next.get(k);
        if (!have || JSON.stringify(have.ResourceRecords) !== JSON.stringify(set.ResourceRecords))
          throw awsError('InvalidChangeBatch');
        next.delete(k);
      } else if (c.Action === 'CREATE' && next.has(k)) {
        throw awsError('InvalidChangeBatch');
      } else next.set(k, { ...set, Name: set.Name!.replace(/\.$/, '') });
    }
    for (const [k, v] of next) this.records.set(k, v);
    for (const k of [...this.records.keys()]) if (!next.has(k)) this.records.delete(k);
    const id = `/change/C${this.next++}`;
    this.changes.set(id, 0);
    return { ChangeInfo: { Id: id, Status: 'PENDING', SubmittedAt: new Date() } };
  }

  getChange(id: string) {
    const looks = (this.changes.get(id) ?? 0) + 1;
    this.changes.set(id, looks);
    return {
      ChangeInfo: {
        Id: id,
        Status: looks > this.pendingLooks ? 'INSYNC' : 'PENDING',
        SubmittedAt: new Date(),
      },
    };
  }
}
