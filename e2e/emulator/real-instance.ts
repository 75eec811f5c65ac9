// The disk and the environment of an instance that runs TLJH's own code (see
// e2e/emulator/instance/README.md). Its disk is an overlay over this machine's root: reads see
// the machine (python3, git, useradd, sudo: what an Ubuntu image has), writes (/opt/tljh,
// /etc/passwd, /etc/systemd/system, /home, /usr/bin/tljh-config) land in the instance's own
// upper directory and nowhere else. The front mounts it once per instance, in the private mount
// namespace e2e/netns.sh gives the whole suite, and every command chroots into it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..');
export const STANDINS_DIR = join(import.meta.dirname, 'instance');
const CACHE_DIR = process.env['E2E_CACHE_DIR'] ?? join(REPO, 'e2e', '.cache');
export const WHEELHOUSE = join(CACHE_DIR, 'wheelhouse');
const TLJH_REPO_URL = 'https://github.com/jupyterhub/the-littlest-jupyterhub.git';

/** Ubuntu 24.04's /etc/os-release: bootstrap.py accepts Ubuntu >= 22.04 (this machine is Debian). */
const UBUNTU_OS_RELEASE = `PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
`;

/** The TLJH checkout scripts/setup.sh made (from TLJH_GIT), as the instance's git sees GitHub. */
export function tljhCheckout(): string {
  const pointer = join(CACHE_DIR, 'tljh-git');
  if (!existsSync(pointer)) {
    throw new Error(`${pointer} is missing: run scripts/setup.sh (it clones TLJH from TLJH_GIT)`);
  }
  return readFileSync(pointer, 'utf8').trim();
}

export interface RealDisk {
  /** Where the instance's writes land: what its hub is read from. */
  upper: string;
  /** The instance's root as its commands see it. */
  merged: string;
}

export function realDisk(dir: string): RealDisk {
  return { upper: join(dir, 'disk'), merged: join(dir, 'root') };
}

/** Mounts the instance's disk (once) with /proc and /dev, and writes its Ubuntu identity. */
export function mountRealDisk(dir: string): RealDisk {
  const disk = realDisk(dir);
  const work = join(dir, 'disk-work');
  if (existsSync(join(dir, 'mounted'))) return disk;
  for (const d of [disk.upper, work, disk.merged, join(disk.upper, 'etc')]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(join(disk.upper, 'etc', 'os-release'), UBUNTU_OS_RELEASE);
  const mount = (...args: string[]): void => {
    execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  mount(
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=/,upperdir=${disk.upper},workdir=${work}`,
    disk.merged,
  );
  // /proc and /dev only: /sys is not needed, and every bind is one more thing clear() unmounts.
  for (const fs of ['proc', 'dev']) mount('--rbind', `/${fs}`, join(disk.merged, fs));
  writeFileSync(join(dir, 'mounted'), '');
  return disk;
}

/**
 * The environment of the instance's commands, on top of the SSM agent's own: the stand-ins first
 * on PATH, pip reaching "PyPI" as the wheelhouse setup made (or, for an install that must fail,
 * an empty one), and git reaching TLJH's repository as the local checkout.
 */
export function realInstanceEnv(opts: {
  instanceId: string;
  downloadsUrl: string;
  emptyWheelhouse?: string;
}): Record<string, string> {
  return {
    PATH: `${STANDINS_DIR}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    EMU_INSTANCE_ID: opts.instanceId,
    EMU_DOWNLOADS_URL: opts.downloadsUrl,
    PYTHONPATH: join(STANDINS_DIR, 'python'),
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: opts.emptyWheelhouse ?? WHEELHOUSE,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    // This machine's own pip.conf (local indexes, constraints) is not the instance's.
    PIP_CONFIG_FILE: '/dev/null',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `url.file://${tljhCheckout()}.insteadOf`,
    GIT_CONFIG_VALUE_0: TLJH_REPO_URL,
  };
}
