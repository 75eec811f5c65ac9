// EC2's query forms and XML for what images.ts corrects: a CreateImage's snapshot tags (taken
// out for moto), a launch's root block device mapping from the image's; in moto's answers, an
// image's root device and block device mapping (DescribeImages: the snapshot of the instance's
// root volume, its size, type and encryption), its state while pending, and a snapshot's
// volume, size and encryption (DescribeSnapshots). moto's answers keep each resource in one
// top-level <item> of its set.
import type { Ec2Refusal } from './state-rules.ts';

export interface ImageView {
  rootDeviceName: string;
  snapshotId: string;
  volumeSize: number;
  volumeType: string;
  deleteOnTermination: boolean;
  encrypted: boolean;
  /** Shown as pending in this answer. */
  pending: boolean;
}

/** What a launch takes from the image it is launched from. */
export interface LaunchImage {
  imageId: string;
  rootDeviceName: string;
  snapshotIds: string[];
  volumeSize: number;
  volumeType: string;
  deleteOnTermination: boolean;
  encrypted: boolean;
}

export interface SnapshotView {
  volumeId: string;
  volumeSize: number;
  encrypted: boolean;
}

/**
 * Rewrites each top-level <item> of the answer's <setTag> (nested items, such as a tag set's,
 * stay inside theirs) with `edit`, which returns the item unchanged when it has nothing to do.
 */
export function mapItems(xml: string, setTag: string, edit: (item: string) => string): string {
  const open = xml.indexOf(`<${setTag}>`);
  const close = xml.lastIndexOf(`</${setTag}>`);
  if (open < 0 || close < open) return xml;
  const from = open + setTag.length + 2;
  let out = xml.slice(0, from);
  let depth = 0;
  let start = -1;
  let last = from;
  const tags = /<(\/?)item>/g;
  tags.lastIndex = from;
  for (let m = tags.exec(xml); m && m.index < close; m = tags.exec(xml)) {
    if (!m[1]) {
      if (depth++ === 0) start = m.index;
    } else if (--depth === 0) {
      const end = m.index + m[0].length;
      out += xml.slice(last, start) + edit(xml.slice(start, end));
      last = end;
    }
  }
  return out + xml.slice(last);
}

/** The first `<tag>value</tag>` directly in the item's text. */
export function field(item: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(item)?.[1];
}

function setField(item: string, tag: string, value: string): string {
  const re = new RegExp(`<${tag}>[^<]*</${tag}>|<${tag}/>`);
  const text = `<${tag}>${value}</${tag}>`;
  return re.test(item) ? item.replace(re, text) : item.replace(/<\/item>$/, `${text}</item>`);
}

/** One image item as EC2 describes an image of an EBS-backed instance. */
export function imageItem(item: string, view: ImageView): string {
  const mapping =
    `<blockDeviceMapping><item><deviceName>${view.rootDeviceName}</deviceName><ebs>` +
    `<snapshotId>${view.snapshotId}</snapshotId><volumeSize>${view.volumeSize}</volumeSize>` +
    `<deleteOnTermination>${view.deleteOnTermination}</deleteOnTermination>` +
    `<volumeType>${view.volumeType}</volumeType><encrypted>${view.encrypted}</encrypted>` +
    `</ebs></item></blockDeviceMapping>`;
  let out = item.replace(
    /<blockDeviceMapping\/>|<blockDeviceMapping>[\s\S]*?<\/blockDeviceMapping>/,
    mapping,
  );
  out = setField(out, 'rootDeviceName', view.rootDeviceName);
  out = setField(out, 'rootDeviceType', 'ebs');
  if (view.pending) out = setField(out, 'imageState', 'pending');
  return out;
}

/** One snapshot item as EC2 describes the snapshot of the instance's root volume. */
export function snapshotItem(item: string, view: SnapshotView): string {
  let out = setField(item, 'volumeId', view.volumeId);
  out = setField(out, 'volumeSize', String(view.volumeSize));
  return setField(out, 'encrypted', String(view.encrypted));
}

/** The tags of the request's TagSpecification.N of `type`, and the form without it. */
export function takeTagSpecification(
  form: Record<string, string>,
  type: string,
): { tags: { Key: string; Value: string }[]; rest: Record<string, string> } {
  const specs = new Map<string, Record<string, string>>();
  const rest: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) {
    const m = /^TagSpecification\.(\d+)\.(.+)$/.exec(key);
    if (!m) rest[key] = value;
    else specs.set(m[1]!, { ...specs.get(m[1]!), [m[2]!]: value });
  }
  let tags: { Key: string; Value: string }[] = [];
  let n = 0;
  for (const [, spec] of [...specs].sort(([a], [b]) => Number(a) - Number(b))) {
    if (spec.ResourceType === type) {
      tags = Object.keys(spec)
        .filter((k) => /^Tag\.\d+\.Key$/.test(k))
        .map((k) => ({ Key: spec[k]!, Value: spec[k.replace(/Key$/, 'Value')] ?? '' }));
      continue;
    }
    n++; // moto reads TagSpecification.1, .2, ... up to the first gap
    for (const [k, v] of Object.entries(spec)) rest[`TagSpecification.${n}.${k}`] = v;
  }
  return { tags, rest };
}

/**
 * The RunInstances form with the image's root block device mapping: what the request gives
 * for the root device wins, but for a size below the snapshot's (refused, as EC2 does) and the
 * encryption of an encrypted snapshot's volume.
 */
export function withRootMapping(
  form: Record<string, string>,
  image: LaunchImage,
): Record<string, string> | Ec2Refusal {
  const indexes = Object.keys(form)
    .map((k) => /^BlockDeviceMapping\.(\d+)\./.exec(k)?.[1])
    .filter((n): n is string => n !== undefined);
  const root =
    indexes.find((n) => form[`BlockDeviceMapping.${n}.DeviceName`] === image.rootDeviceName) ??
    String(Math.max(0, ...indexes.map(Number)) + 1);
  const p = `BlockDeviceMapping.${root}.`;
  const size = form[`${p}Ebs.VolumeSize`];
  if (size !== undefined && Number(size) < image.volumeSize) {
    return {
      code: 'InvalidBlockDeviceMapping',
      message: `Volume of size ${size}GB is smaller than  snapshot '${image.snapshotIds[0]}', expect size >= ${image.volumeSize}GB`,
    };
  }
  const out = { ...form, [`${p}DeviceName`]: image.rootDeviceName };
  const given = (k: string, v: string) => (out[`${p}Ebs.${k}`] ??= v);
  given('SnapshotId', image.snapshotIds[0] ?? '');
  given('VolumeSize', String(image.volumeSize));
  given('VolumeType', image.volumeType);
  given('DeleteOnTermination', String(image.deleteOnTermination));
  if (image.encrypted) out[`${p}Ebs.Encrypted`] = 'true';
  return out;
}
