// The disks of baked images: EC2 snapshots the instance's root volume when it images it
// (CreateImage), and an instance launched from the image starts with a volume made from that
// snapshot ("Create an Amazon EBS-backed AMI"; "Block device mappings"). The store keeps, per
// image, a copy of what stands for the instance's disk (<state-dir>/images/<ami-id>/disk/):
//  - a real instance's: the upper directory of its overlay (real-instance.ts), whiteouts and
//    all, less what is not on a disk: the units' running state (var/lib/emu-systemd/*.active,
//    *.failed, *.loaded.*: processes do not survive in a snapshot) and the root volume's sizes
//    (var/lib/emu-ebs: cloud-init's growpart grows the new instance's partition to its own
//    volume at first boot, see instance/lib/disk.sh);
//  - a light instance's: its directory's LIGHT_DISK_ENTRIES (opt/ is its /opt; etc/ and var/
//    hold what a first boot writes, first-boot.ts; home/ and users its accounts).
// It also judges what the copy holds that no image should (leftovers): one hub's data and
// secrets, its users, one machine's identity.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onDisk } from './first-boot.ts';

const run = promisify(execFile);

export type Kind = 'real' | 'light';

/** The entries of a light instance's directory that are its disk. */
export const LIGHT_DISK_ENTRIES = [
  'opt',
  'etc',
  'var',
  'home',
  // The useradd stub's accounts (getent reads them): on the disk, as /etc/passwd is.
  'users',
  // TLJH installed (the python3 stub's marker): tljh-config works, the light hub answers.
  'installed',
] as const;

/** TLJH's state directory entries that belong to one hub (tljh/config.py STATE_DIR). */
const HUB_STATE = [
  'jupyterhub.sqlite',
  'jupyterhub_cookie_secret',
  'traefik-api.secret',
  'acme.json',
  'tljh-ec2-action.json',
];

export class ImageStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  dir(imageId: string): string {
    if (!/^ami-[0-9a-f]+$/.test(imageId)) throw new Error(`bad image id ${imageId}`);
    return join(this.root, imageId);
  }

  disk(imageId: string): string {
    return join(this.dir(imageId), 'disk');
  }

  /** Copies the disk of the instance (directory `instanceDir`, of `kind`) into the store. */
  async save(imageId: string, kind: Kind, instanceDir: string): Promise<string> {
    const disk = this.disk(imageId);
    rmSync(this.dir(imageId), { recursive: true, force: true });
    mkdirSync(disk, { recursive: true });
    if (kind === 'real') {
      const upper = join(instanceDir, 'disk');
      if (existsSync(upper)) await run('cp', ['-a', `${upper}/.`, disk]);
      const units = join(disk, 'var', 'lib', 'emu-systemd');
      if (existsSync(units)) {
        for (const f of readdirSync(units)) {
          if (/\.(active|failed)$|\.loaded\./.test(f)) rmSync(join(units, f), { force: true });
        }
      }
      rmSync(join(disk, 'var', 'lib', 'emu-ebs'), { recursive: true, force: true });
    } else {
      const entries = LIGHT_DISK_ENTRIES.map((e) => join(instanceDir, e)).filter((p) =>
        existsSync(p),
      );
      if (entries.length) await run('cp', ['-a', ...entries, `${disk}/`]);
    }
    writeFileSync(join(this.dir(imageId), 'kind'), `${kind}\n`);
    return disk;
  }

  kind(imageId: string): Kind | undefined {
    const file = join(this.dir(imageId), 'kind');
    if (!existsSync(file)) return undefined;
    return readFileSync(file, 'utf8').trim() === 'real' ? 'real' : 'light';
  }

  /** Gives the instance (directory `instanceDir`, of the image's kind) the image's disk. */
  async seed(imageId: string, instanceDir: string): Promise<void> {
    const kind = this.kind(imageId);
    if (!kind) throw new Error(`no stored disk for ${imageId}`);
    const target = kind === 'real' ? join(instanceDir, 'disk') : instanceDir;
    mkdirSync(target, { recursive: true });
    await run('cp', ['-a', `${this.disk(imageId)}/.`, target]);
  }

  remove(imageId: string): void {
    rmSync(this.dir(imageId), { recursive: true, force: true });
  }
}

/** Entries of `dir` (on a disk, whiteouts left out) whose names match. */
function entries(dir: string, match: (name: string) => boolean = () => true): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .filter((n) => match(n) && onDisk(join(dir, n)))
    .sort();
}

/** Every file (not directory) under `dir`, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return entries(dir).flatMap((n) => {
    const path = join(dir, n);
    const rel = prefix ? `${prefix}/${n}` : n;
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ? filesUnder(path, rel) : [rel];
  });
}

function read(path: string): string | undefined {
  return onDisk(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
}

/**
 * What a disk (root `root`: a stored image's copy) holds that belongs to one hub or one
 * machine, as paths on the instance ("/etc/machine-id", "/etc/passwd: jupyter-alice").
 */
export function leftovers(root: string): string[] {
  const found: string[] = [];
  const state = join(root, 'opt', 'tljh', 'state');
  for (const n of entries(state, (n) => HUB_STATE.includes(n) || n.startsWith('passwords.dbm'))) {
    found.push(`/opt/tljh/state/${n}`);
  }
  const config = read(join(root, 'opt', 'tljh', 'config', 'config.yaml'));
  if (config !== undefined && !['', '{}'].includes(config.trim())) {
    found.push('/opt/tljh/config/config.yaml');
  }
  for (const n of entries(join(root, 'home'), (n) => n.startsWith('jupyter-'))) {
    found.push(`/home/${n}`);
  }
  for (const file of ['etc/passwd', 'etc/shadow', 'etc/group', 'users']) {
    for (const line of (read(join(root, file)) ?? '').split('\n')) {
      const name = line.split(':')[0]!;
      if (name.startsWith('jupyter-')) {
        found.push(file === 'users' ? `light accounts: ${name}` : `/${file}: ${name}`);
      }
    }
  }
  if ((read(join(root, 'etc', 'machine-id')) ?? '').trim()) found.push('/etc/machine-id');
  for (const n of entries(join(root, 'etc', 'ssh'), (n) => n.startsWith('ssh_host_'))) {
    found.push(`/etc/ssh/${n}`);
  }
  const cloud = join(root, 'var', 'lib', 'cloud');
  for (const n of entries(join(cloud, 'instances'))) found.push(`/var/lib/cloud/instances/${n}`);
  if (onDisk(join(cloud, 'instance'))) found.push('/var/lib/cloud/instance');
  for (const f of filesUnder(join(root, 'var', 'lib', 'amazon', 'ssm'))) {
    found.push(`/var/lib/amazon/ssm/${f}`);
  }
  for (const f of filesUnder(join(root, 'var', 'log', 'journal'))) {
    found.push(`/var/log/journal/${f}`);
  }
  return found;
}
