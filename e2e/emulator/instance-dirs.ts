// Each emulated instance has a directory that stands in for its disk. Its `opt/` is
// bind-mounted onto /opt while a command runs, and the stubs leave markers beside it.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { mountRealDisk, realDisk } from './real-instance.ts';

/** Marker files the stubs (e2e/emulator/light/) and the front agree on. */
export const MARKERS = {
  /** Written by the python3 stub when an install completed: the hub is up. */
  installed: 'installed',
  /**
   * Present while the python3 stub's progress page is up (bootstrap.py --show-progress-page on
   * a new hub): it answers /hub/api with 403.
   */
  progressPage: 'progress-page',
  /** Written by the front before a run that must fail; read by the python3 stub. */
  failInstall: 'fail-install',
  /** Written by the tljh-config stub on `set https.enabled true`. */
  https: 'https',
} as const;

export class InstanceDirs {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /**
   * Removes every instance's disk. A real instance's disk has this machine's /proc and /dev
   * bound inside it: those are unmounted first, and nothing is deleted while any mount is left.
   */
  clear(): void {
    const root = resolve(this.root) + '/';
    const mounted = (): string[] =>
      readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
        .filter((m) => m.startsWith(root))
        .sort((a, b) => b.length - a.length);
    for (const m of mounted()) {
      try {
        execFileSync('umount', ['-R', '-l', m], { stdio: 'ignore' });
      } catch {
        // already gone with its parent
      }
    }
    const left = mounted();
    if (left.length) throw new Error(`will not delete ${root}: still mounted: ${left.join(', ')}`);
    // A real instance's disk holds a few hundred MB of environments: moved aside at once,
    // deleted in the background (a reset must not keep the front from answering), along with
    // what an earlier front left unfinished.
    if (existsSync(this.root))
      renameSync(this.root, `${this.root}.trash-${process.pid}-${Date.now()}`);
    const parent = dirname(this.root);
    for (const name of readdirSync(parent)) {
      if (name.startsWith(`${basename(this.root)}.trash-`)) {
        void rm(join(parent, name), { recursive: true, force: true });
      }
    }
  }

  /** Whether the instance runs TLJH's own code (else it is a light instance, see light/). */
  isReal(instanceId: string): boolean {
    return existsSync(join(this.dir(instanceId), 'real'));
  }

  /** Decides, at an instance's first command, whether it runs TLJH's own code. */
  chooseKind(instanceId: string, real: boolean): boolean {
    const dir = this.ensure(instanceId);
    const decided = ['real', 'light'].find((k) => existsSync(join(dir, k)));
    if (decided) return decided === 'real';
    writeFileSync(join(dir, real ? 'real' : 'light'), '');
    return real;
  }

  /** The directory the instance's writes land in (its disk, for a real instance). */
  diskRoot(instanceId: string): string {
    return realDisk(this.dir(instanceId)).upper;
  }

  /**
   * A path under the instance's /opt as its commands see it: on a real instance, in its mounted
   * disk (a file its commands deleted is gone there, where the upper directory has a whiteout);
   * on a light one, in its directory's opt/.
   */
  optPath(instanceId: string, ...parts: string[]): string {
    if (this.isReal(instanceId)) {
      return join(mountRealDisk(this.dir(instanceId)).merged, 'opt', ...parts);
    }
    return join(this.dir(instanceId), 'opt', ...parts);
  }

  dir(instanceId: string): string {
    if (!/^i-[0-9a-f]+$/.test(instanceId)) throw new Error(`bad instance id ${instanceId}`);
    return join(this.root, instanceId);
  }

  /** Creates the instance's directory (with opt/ for /opt) and returns it. */
  ensure(instanceId: string): string {
    const dir = this.dir(instanceId);
    mkdirSync(join(dir, 'opt'), { recursive: true });
    return dir;
  }

  has(instanceId: string, marker: keyof typeof MARKERS): boolean {
    return existsSync(join(this.dir(instanceId), MARKERS[marker]));
  }

  installerLog(instanceId: string): string | undefined {
    const base = this.isReal(instanceId) ? this.diskRoot(instanceId) : this.dir(instanceId);
    const path = join(base, 'opt', 'tljh', 'installer.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }
}
