// A test's view of an emulated instance that runs TLJH's own code: its disk as the instance
// sees it (the overlay the front mounted, in the suite's shared mount namespace), and commands
// run inside it as root, as an administrator with a shell on the hub would.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTagsCommand, DeleteTagsCommand } from '@aws-sdk/client-ec2';
import { emulatorEc2 } from './ec2.ts';
import { TMP_DIR } from './paths.ts';

export function instanceRoot(instanceId: string): string {
  return join(TMP_DIR, 'instances', instanceId, 'root');
}

export function readOnInstance(instanceId: string, path: string): string | undefined {
  const file = join(instanceRoot(instanceId), path);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

export function modeOnInstance(instanceId: string, path: string): number {
  return statSync(join(instanceRoot(instanceId), path)).mode & 0o777;
}

/** Runs `argv` as root inside the instance; returns stdout (throws on a non-zero exit). */
export function runOnInstance(instanceId: string, argv: string[]): string {
  return execFileSync('chroot', [instanceRoot(instanceId), ...argv], {
    encoding: 'utf8',
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
  });
}

/** users.admin of the hub's TLJH config, read by the hub's own Python and YAML library. */
export function hubAdmins(instanceId: string): string[] {
  const out = runOnInstance(instanceId, [
    '/opt/tljh/hub/bin/python3',
    '-c',
    'from tljh.config import CONFIG_FILE; from ruamel.yaml import YAML; ' +
      'c = YAML(typ="safe").load(open(CONFIG_FILE)) or {}; ' +
      'print("\\n".join((c.get("users") or {}).get("admin") or []))',
  ]);
  return out.split('\n').filter(Boolean);
}

/** Whether `password` is the one TLJH stored for `user` (bcrypt, in its passwords.dbm). */
export function hubPasswordMatches(instanceId: string, user: string, password: string): boolean {
  const out = runOnInstance(instanceId, [
    '/opt/tljh/hub/bin/python3',
    '-c',
    'import bcrypt, dbm, sys; db = dbm.open("/opt/tljh/state/passwords.dbm"); ' +
      'print(bcrypt.checkpw(sys.argv[2].encode(), db[sys.argv[1]]))',
    user,
    password,
  ]);
  return out.trim() === 'True';
}

/**
 * Rewrites (or, with undefined, removes) the hub's `tljh:installed-version` tag, so that the
 * next run sees an older install to upgrade, or an unverified one to install again.
 */
export async function setInstalledVersionTag(
  instanceId: string,
  version: string | undefined,
): Promise<void> {
  const ec2 = emulatorEc2();
  try {
    const Key = 'tljh:installed-version';
    if (version === undefined) {
      await ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: [{ Key }] }));
    } else {
      await ec2.send(
        new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key, Value: version }] }),
      );
    }
  } finally {
    ec2.destroy();
  }
}

/**
 * The growpart and resize2fs calls made on the instance, in order, each as its argv (the
 * command's name first), e.g. `[['growpart', '/dev/nvme0n1', '1'], ['resize2fs',
 * '/dev/nvme0n1p1']]`. The stand-ins (e2e/emulator/instance/lib/disk.sh) record them on the
 * instance's own disk (/var/lib/emu-ebs, read here from the overlay's upper directory) or, for
 * a light instance, in its directory (ebs/).
 */
export function growCalls(instanceId: string): string[][] {
  const dir = join(TMP_DIR, 'instances', instanceId);
  const file = [
    join(dir, 'disk', 'var', 'lib', 'emu-ebs', 'grow.calls'),
    join(dir, 'ebs', 'grow.calls'),
  ].find((f) => existsSync(f));
  if (!file) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
}
