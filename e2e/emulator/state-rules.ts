// EC2 rules that moto does not follow, which the front applies before (or after) it forwards
// a call to moto.
//
// Instance state (EC2 API reference, "Error codes", IncorrectInstanceState): EC2 refuses a
// state change an instance cannot make from where it is: a terminated or shutting-down
// instance can be neither stopped nor started, a pending one not stopped, a stopping one not
// started. moto does not: it "stops" a terminated instance, which then reads stopped again.
// EC2 also changes an instance's type (and its user data, kernel or RAM disk) only while it
// is stopped (ModifyInstanceAttribute: "The instance must be stopped"); moto changes the type
// of a running instance.
//
// EBS volumes (ModifyVolume, "Requirements for EBS volume modifications"): a volume never
// shrinks; EC2 answers InvalidParameterValue "New size cannot be smaller than existing size",
// where moto shrinks it. DescribeVolumesModifications describes only the most recent
// modification of each volume; moto lists every one it ever made, oldest first.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstancesCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';

const REFUSED: Record<string, readonly string[]> = {
  StopInstances: ['pending', 'shutting-down', 'terminated'],
  StartInstances: ['stopping', 'shutting-down', 'terminated'],
};

/** ModifyInstanceAttribute attributes EC2 changes only on a stopped instance. */
const STOPPED_ONLY_ATTRIBUTES = ['instanceType', 'userData', 'kernel', 'ramdisk'];

/** The operations these rules judge from the instances' states. */
export const STATE_CHANGES = new Set([...Object.keys(REFUSED), 'ModifyInstanceAttribute']);

/**
 * The calls that change an instance's state. EC2 judges each against the state it finds when
 * it handles it; the front judges (above) and then forwards to moto, so it handles these one
 * at a time, or a terminate could land between a stop's check and its forward.
 */
export const SERIAL_STATE_CHANGES = new Set([
  ...STATE_CHANGES,
  'TerminateInstances',
  'RebootInstances',
]);

/** Runs tasks one at a time, in the order they came. */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The instance ids of an EC2 query-protocol request: InstanceId.1, InstanceId.2, ... or, for
 * the calls about one instance (ModifyInstanceAttribute), InstanceId.
 */
export function requestedInstances(form: Record<string, string>): string[] {
  return Object.entries(form)
    .filter(([key]) => /^InstanceId(\.\d+)?$/.test(key))
    .map(([, id]) => id);
}

/**
 * The attribute a ModifyInstanceAttribute request changes that needs a stopped instance, if
 * any. The request names it either as `InstanceType.Value=...` (and the like) or as
 * `Attribute=instanceType&Value=...`.
 */
export function stoppedOnlyAttribute(form: Record<string, string>): string | undefined {
  if (STOPPED_ONLY_ATTRIBUTES.includes(form.Attribute ?? '')) return form.Attribute;
  return STOPPED_ONLY_ATTRIBUTES.find((a) => {
    const key = `${a[0]!.toUpperCase()}${a.slice(1)}.Value`;
    return form[key] !== undefined;
  });
}

/** EC2's message for the first instance that cannot make the change, or undefined. */
export function refusal(
  operation: string,
  states: { id: string; state: string }[],
  form: Record<string, string> = {},
): string | undefined {
  if (operation === 'ModifyInstanceAttribute') {
    if (!stoppedOnlyAttribute(form)) return undefined;
    const bad = states.find((s) => s.state !== 'stopped');
    return bad && `The instance '${bad.id}' is not in the 'stopped' state.`;
  }
  const refused = REFUSED[operation];
  const bad = refused && states.find((s) => refused.includes(s.state));
  if (!bad) return undefined;
  const verb = operation === 'StopInstances' ? 'stopped' : 'started';
  return `The instance '${bad.id}' is not in a state from which it can be ${verb}.`;
}

/** What the front needs to know of a volume before and after a ModifyVolume. */
export interface VolumeView {
  id: string;
  /** GiB. */
  size: number;
  /** The instance it is attached to, when that is its root device. */
  rootOf?: string;
}

export interface Ec2Refusal {
  code: string;
  message: string;
}

/** EC2's refusal of a ModifyVolume, or undefined when it would accept it. */
export function volumeRefusal(
  form: Record<string, string>,
  volume: VolumeView,
): Ec2Refusal | undefined {
  if (form.Size !== undefined && Number(form.Size) < volume.size) {
    return {
      code: 'InvalidParameterValue',
      message: 'New size cannot be smaller than existing size',
    };
  }
  return undefined;
}

const MODIFICATION_ITEM =
  /<item>(?:(?!<item>)[\s\S])*?<volumeId>(vol-[0-9a-f]+)<\/volumeId>[\s\S]*?<\/item>/g;

/** Keeps, of a DescribeVolumesModifications answer, each volume's last modification only. */
export function latestModifications(xml: string): string {
  const last = new Map<string, number>();
  for (const m of xml.matchAll(MODIFICATION_ITEM)) last.set(m[1]!, m.index);
  return xml.replace(MODIFICATION_ITEM, (item: string, id: string, at: number) =>
    last.get(id) === at ? item : '',
  );
}

/** Rewrites moto's answer to an EC2 call where EC2 answers otherwise (see above). */
export function rewriteAnswer(operation: string | undefined, xml: string): string {
  return operation === 'DescribeVolumesModifications' ? latestModifications(xml) : xml;
}

/**
 * Tells an instance's disk stand-ins (instance/lib/disk.sh) that EC2 grew its root volume:
 * `size-gib` is the volume's size now; `original-gib`, written once, the size its partition
 * and file system filled before the first modification (cloud-init grew them at first boot).
 */
export function recordRootVolumeSize(ebsDir: string, originalGib: number, sizeGib: number): void {
  mkdirSync(ebsDir, { recursive: true });
  const original = join(ebsDir, 'original-gib');
  if (!existsSync(original)) writeFileSync(original, `${originalGib}\n`);
  writeFileSync(join(ebsDir, 'size-gib'), `${sizeGib}\n`);
}

/** Looks volumes up in moto (through the SDK, as moto.ts does for instances). */
export class VolumeLookup {
  private readonly endpoint: string;
  private readonly clients = new Map<string, EC2Client>();

  constructor(endpoint: string) {
    this.endpoint = endpoint;
  }

  private ec2(region: string): EC2Client {
    let client = this.clients.get(region);
    if (!client) {
      client = new EC2Client({
        region,
        endpoint: this.endpoint,
        credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
        maxAttempts: 1,
      });
      this.clients.set(region, client);
    }
    return client;
  }

  /** The volume, or undefined when moto does not know it (moto then answers the call itself). */
  async find(region: string, volumeId: string | undefined): Promise<VolumeView | undefined> {
    if (!volumeId || !/^vol-[0-9a-f]+$/.test(volumeId)) return undefined;
    const client = this.ec2(region);
    let volume;
    try {
      volume = (await client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] })))
        .Volumes?.[0];
    } catch {
      return undefined;
    }
    if (!volume?.VolumeId || volume.Size === undefined) return undefined;
    const view: VolumeView = { id: volume.VolumeId, size: volume.Size };
    const attachment = volume.Attachments?.find((a) => a.InstanceId && a.State === 'attached');
    if (attachment?.InstanceId) {
      const instance = (
        await client.send(new DescribeInstancesCommand({ InstanceIds: [attachment.InstanceId] }))
      ).Reservations?.[0]?.Instances?.[0];
      if (instance?.RootDeviceName === attachment.Device) view.rootOf = attachment.InstanceId;
    }
    return view;
  }
}
