// What an instance's first boot writes on its disk, as on Ubuntu's EC2 images, so that a
// baked image shows whether its builder was generalised (images.ts, image-disk.ts):
//  - systemd (machine-id(5), "First Boot Semantics"): /etc/machine-id is given a new random
//    ID only when it is missing or empty ("uninitialized"); one already there is kept, so the
//    instances of an image that kept it share their machine id.
//  - systemd-journald (systemd-journald.service(8)): with /var/log/journal present (Ubuntu
//    keeps the journal on disk) it writes to /var/log/journal/<machine-id>/system.journal.
//  - cloud-init (docs "Boot stages": first boot determination by the instance id; module
//    cc_ssh, frequency per instance): a new instance id gets its state in
//    /var/lib/cloud/instances/<id>/ with /var/lib/cloud/instance linked to it, and its own
//    SSH host keys: ssh_deletekeys (default true) deletes the keys there, ssh_genkeytypes
//    (default rsa, ecdsa, ed25519) makes new ones.
//  - the SSM agent ("SSM Agent technical reference"; amazon-ssm-agent's registration kept in
//    its vault): its state under /var/lib/amazon/ssm/: the instance's data store
//    (<id>/document/state/) and its registration (Vault/Store/RegistrationKey), written again
//    when it names another instance.
// A real instance's disk is the upper directory of its overlay (real-instance.ts): its lower
// layer (this machine) stands for Canonical's image, which ships /etc/machine-id empty. A light
// instance's are its directory's etc/ and var/ (the same relative paths; its commands see them
// under $EMU_INSTANCE_DIR, as their /etc and /var are this machine's).
// The front boots each instance it launched (RunInstances) before it answers the launch.
// Also, on a real instance, systemd starts at boot the units enabled on the disk (those an
// image kept enabled): the stand-in systemctl (instance/systemctl) does what starting them takes.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ImageStore, Kind } from './image-disk.ts';
import type { InstanceDirs } from './instance-dirs.ts';
import { mountRealDisk, realDisk, STANDINS_DIR } from './real-instance.ts';

const run = promisify(execFile);

/** SSH host key types cloud-init generates by default (ssh_genkeytypes). */
export const HOST_KEY_TYPES = ['rsa', 'ecdsa', 'ed25519'] as const;

/** An overlay whiteout (a character device 0/0): the file is deleted on that disk. */
export function isWhiteout(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isCharacterDevice() && st.rdev === 0;
  } catch {
    return false;
  }
}

/** Whether `path` exists on the disk (a whiteout does not). */
export function onDisk(path: string): boolean {
  try {
    lstatSync(path);
  } catch {
    return false;
  }
  return !isWhiteout(path);
}

/** Writes `text` at `path` on a disk, replacing whatever (a whiteout too) is there. */
function put(path: string, text: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  if (isWhiteout(path)) rmSync(path);
  writeFileSync(path, text, { mode });
}

/** The machine id the disk keeps, or a new one written by systemd. */
function machineId(root: string): string {
  const path = join(root, 'etc', 'machine-id');
  const kept = onDisk(path) ? readFileSync(path, 'utf8').trim() : '';
  if (kept) return kept;
  const id = randomBytes(16).toString('hex');
  put(path, `${id}\n`, 0o444);
  return id;
}

function cloudInit(root: string, instanceId: string): void {
  const cloud = join(root, 'var', 'lib', 'cloud');
  const data = join(cloud, 'data', 'instance-id');
  const previous = onDisk(data) ? readFileSync(data, 'utf8').trim() : '';
  if (previous) put(join(cloud, 'data', 'previous-instance-id'), `${previous}\n`);
  put(data, `${instanceId}\n`);
  const own = join(cloud, 'instances', instanceId);
  put(join(own, 'datasource'), 'DataSourceEc2Local: DataSourceEc2Local\n');
  put(join(own, 'boot-finished'), `${new Date().toISOString()}\n`);
  const link = join(cloud, 'instance');
  rmSync(link, { force: true, recursive: true });
  symlinkSync(`/var/lib/cloud/instances/${instanceId}`, link);
  // cc_ssh: the host keys are this instance's own.
  const ssh = join(root, 'etc', 'ssh');
  if (existsSync(ssh)) {
    for (const name of readdirSync(ssh)) {
      if (name.startsWith('ssh_host_')) rmSync(join(ssh, name), { force: true });
    }
  }
  for (const type of HOST_KEY_TYPES) {
    const key = join(ssh, `ssh_host_${type}_key`);
    const stamp = `${instanceId} ${randomBytes(16).toString('hex')}`;
    put(
      key,
      `-----BEGIN OPENSSH PRIVATE KEY-----\nemulator ${type} host key of ${stamp}\n-----END OPENSSH PRIVATE KEY-----\n`,
      0o600,
    );
    put(`${key}.pub`, `ssh-${type} emulator-host-key-of-${stamp.replace(' ', '-')} root@ubuntu\n`);
  }
}

function ssmAgent(root: string, instanceId: string, region: string): void {
  const ssm = join(root, 'var', 'lib', 'amazon', 'ssm');
  for (const s of ['pending', 'current', 'completed', 'corrupt']) {
    mkdirSync(join(ssm, instanceId, 'document', 'state', s), { recursive: true });
  }
  const registration = join(ssm, 'Vault', 'Store', 'RegistrationKey');
  const kept = onDisk(registration) ? readFileSync(registration, 'utf8') : '';
  if (kept.includes(`"${instanceId}"`)) return;
  const key = randomBytes(24).toString('base64');
  put(
    registration,
    JSON.stringify({ instanceID: instanceId, region, privateKey: key, privateKeyType: 'Rsa' }),
    0o600,
  );
}

function journald(root: string, id: string, instanceId: string): void {
  const journal = join(root, 'var', 'log', 'journal', id, 'system.journal');
  mkdirSync(dirname(journal), { recursive: true });
  appendFileSync(
    journal,
    `${new Date().toISOString()} ${instanceId} systemd[1]: Startup finished\n`,
  );
}

/**
 * What the first boot of `instanceId` writes on the disk whose root is `root` (a real
 * instance's upper directory, a light instance's directory).
 */
export function firstBoot(root: string, instanceId: string, region: string): void {
  const id = machineId(root);
  cloudInit(root, instanceId);
  ssmAgent(root, instanceId, region);
  journald(root, id, instanceId);
}

/** systemd at boot: the real instance (directory `dir`) starts the units its disk has enabled. */
export async function startEnabledUnits(dir: string): Promise<string[]> {
  const disk = mountRealDisk(dir);
  const state = join(disk.upper, 'var', 'lib', 'emu-systemd');
  if (!existsSync(state)) return [];
  const units = readdirSync(state)
    .filter((f) => f.endsWith('.enabled'))
    .map((f) => f.slice(0, -'.enabled'.length));
  if (units.length) {
    await run('chroot', [disk.merged, 'systemctl', 'start', ...units], {
      env: { PATH: `${STANDINS_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
    });
  }
  return units;
}

/**
 * The first boot of a launched instance: its kind (its image's, else the scenario's), its
 * image's disk, then what the boot writes. A repeated answer (same ClientToken) boots nothing.
 */
export async function bootLaunched(
  instanceId: string,
  region: string,
  opts: {
    dirs: InstanceDirs;
    kind: Kind;
    image?: { id: string; store: ImageStore };
    log: (line: string) => void;
  },
): Promise<void> {
  const dir = opts.dirs.dir(instanceId);
  if (['real', 'light'].some((k) => existsSync(join(dir, k)))) return;
  opts.dirs.chooseKind(instanceId, opts.kind === 'real');
  if (opts.image) await opts.image.store.seed(opts.image.id, dir);
  firstBoot(opts.kind === 'real' ? realDisk(dir).upper : dir, instanceId, region);
  if (opts.image && opts.kind === 'real') {
    const units = await startEnabledUnits(dir);
    if (units.length) opts.log(`${instanceId} booted with ${units.join(', ')} started`);
  }
}
