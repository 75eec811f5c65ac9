// The script that grows the root partition and file system after ModifyVolume: linted with
// shellcheck, then run with sh against stub findmnt/lsblk/growpart/resize2fs/xfs_growfs/df.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGrowRootScript, GROW_EXIT_CODES } from '../src/scripts/grow-root.ts';

const SCRIPT = buildGrowRootScript();
const BYTES = '32212254720';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tljh-grow-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Stubs {
  source?: string;
  fstype?: string;
  /** lsblk's PKNAME and PARTN (empty: not a partition). */
  pkname?: string;
  partn?: string;
  growpart?: { out: string; code: number };
  resizeCode?: number;
}

/** Writes the stubs, each recording its argv (one call per line), then runs the script. */
function run(stubs: Stubs = {}) {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const calls = join(dir, 'calls');
  const stub = (name: string, body: string) => {
    const file = join(bin, name);
    writeFileSync(file, `#!/bin/sh\necho "${name} $*" >>'${calls}'\n${body}\n`);
    chmodSync(file, 0o755);
  };
  const {
    source = '/dev/nvme0n1p1',
    fstype = 'ext4',
    pkname = 'nvme0n1',
    partn = '1',
    growpart = {
      out: 'CHANGED: partition=1 start=2048 old: size=41940959 end=41943007 new: size=62912479 end=62914527',
      code: 0,
    },
    resizeCode = 0,
  } = stubs;
  // findmnt -n -o SOURCE|FSTYPE /  and  lsblk -n -o PKNAME|PARTN DEVICE
  stub('findmnt', `case "$3" in SOURCE) echo '${source}' ;; FSTYPE) echo '${fstype}' ;; esac`);
  stub('lsblk', `case "$3" in PKNAME) echo '${pkname}' ;; PARTN) echo '  ${partn}' ;; esac`);
  stub('growpart', `echo '${growpart.out}'\nexit ${growpart.code}`);
  stub('resize2fs', `echo 'resize2fs 1.47.0 (5-Feb-2023)'\nexit ${resizeCode}`);
  stub('xfs_growfs', `echo 'data blocks changed'\nexit ${resizeCode}`);
  stub('df', `printf '        1B-blocks\\n  ${BYTES}\\n'`);
  const script = join(dir, 'grow-root.sh');
  writeFileSync(script, SCRIPT);
  const out = spawnSync('sh', [script], {
    encoding: 'utf8',
    env: { PATH: `${bin}:/usr/bin:/bin` },
  });
  expect(out.error).toBeUndefined();
  let called: string[] = [];
  try {
    called = readFileSync(calls, 'utf8').trim().split('\n');
  } catch {
    // no stub ran
  }
  return { ...out, calls: called };
}

test('passes shellcheck -s sh', () => {
  const out = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: SCRIPT, encoding: 'utf8' });
  // CI installs shellcheck: a missing binary fails here rather than skipping the lint.
  expect(out.error).toBeUndefined();
  expect(out.stdout + out.stderr).toBe('');
  expect(out.status).toBe(0);
});

test('growpart CHANGED: grows the partition, then ext4, and prints the root size', () => {
  const out = run();
  expect(out.status).toBe(0);
  expect(out.stdout).toContain(
    '::tljh:: root=/dev/nvme0n1p1 fstype=ext4 disk=nvme0n1 partition=1\n',
  );
  expect(out.stdout).toContain('::tljh:: growpart=0 CHANGED: partition=1');
  expect(out.stdout).toMatch(new RegExp(`::tljh:: root-bytes=${BYTES}\\n$`));
  expect(out.calls).toContain('growpart /dev/nvme0n1 1');
  expect(out.calls).toContain('resize2fs /dev/nvme0n1p1');
  expect(out.calls.some((c) => c.startsWith('xfs_growfs'))).toBe(false);
  // The partition first, then the file system on it.
  expect(out.calls.indexOf('growpart /dev/nvme0n1 1')).toBeLessThan(
    out.calls.indexOf('resize2fs /dev/nvme0n1p1'),
  );
});

test('growpart NOCHANGE (exit 1, a re-run): still resizes and exits 0', () => {
  const out = run({
    growpart: {
      out: 'NOCHANGE: partition 1 is size 62912479. it cannot be grown',
      code: 1,
    },
  });
  expect(out.status).toBe(0);
  expect(out.stdout).toContain('::tljh:: growpart=1 NOCHANGE');
  expect(out.stdout).toContain(`::tljh:: root-bytes=${BYTES}`);
  expect(out.calls).toContain('resize2fs /dev/nvme0n1p1');
});

test('growpart failing (exit 2): exit 31, the file system left alone', () => {
  const out = run({ growpart: { out: 'FAILED: failed to get start and end', code: 2 } });
  expect(out.status).toBe(GROW_EXIT_CODES.growpart);
  expect(out.status).toBe(31);
  expect(out.stdout).toContain('::tljh:: growpart=2 FAILED');
  expect(out.stdout).not.toContain('root-bytes=');
  expect(out.calls.some((c) => c.startsWith('resize2fs'))).toBe(false);
});

test('growpart exit 1 without NOCHANGE is a failure too', () => {
  const out = run({ growpart: { out: 'FAILED: sfdisk failed', code: 1 } });
  expect(out.status).toBe(31);
});

test('resize2fs failing: exit 32, naming the file system', () => {
  const out = run({ resizeCode: 1 });
  expect(out.status).toBe(GROW_EXIT_CODES.resize);
  expect(out.status).toBe(32);
  expect(out.stdout).toContain(
    '::tljh:: error=growing the ext4 file system on /dev/nvme0n1p1 failed (exit 1)',
  );
  expect(out.stdout).not.toContain('root-bytes=');
});

test('xfs: xfs_growfs / instead of resize2fs', () => {
  const out = run({ fstype: 'xfs', source: '/dev/xvda1', pkname: 'xvda' });
  expect(out.status).toBe(0);
  expect(out.calls).toContain('growpart /dev/xvda 1');
  expect(out.calls).toContain('xfs_growfs /');
  expect(out.calls.some((c) => c.startsWith('resize2fs'))).toBe(false);
  expect(out.stdout).toContain(`::tljh:: root-bytes=${BYTES}`);
});

test('xfs_growfs failing: exit 32', () => {
  expect(run({ fstype: 'xfs', resizeCode: 1 }).status).toBe(32);
});

test('a root file system not on a partition: exit 30, nothing grown', () => {
  const out = run({ source: '/dev/nvme0n1', pkname: '', partn: '' });
  expect(out.status).toBe(GROW_EXIT_CODES.noDevice);
  expect(out.status).toBe(30);
  expect(out.stdout).toContain('::tljh:: error=could not find the partition');
  expect(out.calls.some((c) => c.startsWith('growpart'))).toBe(false);
});

test('a partition number above 9 reaches growpart whole', () => {
  const out = run({ source: '/dev/nvme0n1p15', partn: '15' });
  expect(out.status).toBe(0);
  expect(out.calls).toContain('growpart /dev/nvme0n1 15');
});
