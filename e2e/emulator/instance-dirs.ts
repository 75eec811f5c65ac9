// Each emulated instance has a directory that stands in for its disk. Its `opt/` is
// bind-mounted onto /opt while a command runs, and the stubs leave markers beside it.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Marker files the stubs (e2e/emulator/stubs/) and the front agree on. */
export const MARKERS = {
  /** Written by the python3 stub when an install completed: the hub is up. */
  installed: 'installed',
  /** Present while the python3 stub runs: TLJH's progress page answers /hub/api with 403. */
  installing: 'installing',
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
    const path = join(this.dir(instanceId), 'opt', 'tljh', 'installer.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  }
}
