// The emulator's EC2 rules that moto lacks (e2e/emulator/state-rules.ts), and the stand-ins for
// the root disk's tools on emulated instances (e2e/emulator/instance/lib/disk.sh and the
// growpart, resize2fs, findmnt, lsblk, df that use it), run here as plain scripts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  STATE_CHANGES,
  latestModifications,
  recordRootVolumeSize,
  refusal,
  requestedInstances,
  rewriteAnswer,
  stoppedOnlyAttribute,
  volumeRefusal,
} from '../e2e/emulator/state-rules.ts';

const ID = 'i-0123456789abcdef0';

describe('instance state rules', () => {
  test('the instance ids of a request: InstanceId.N, or InstanceId for one instance', () => {
    expect(
      requestedInstances({ 'InstanceId.1': 'i-1', 'InstanceId.2': 'i-2', Force: 'true' }),
    ).toEqual(['i-1', 'i-2']);
    expect(requestedInstances({ InstanceId: ID, 'InstanceType.Value': 't3.large' })).toEqual([ID]);
    expect(requestedInstances({ InstanceIdentity: 'x' })).toEqual([]);
  });

  test('stop and start are refused from the states EC2 refuses them from', () => {
    expect(refusal('StopInstances', [{ id: ID, state: 'terminated' }])).toBe(
      `The instance '${ID}' is not in a state from which it can be stopped.`,
    );
    expect(refusal('StartInstances', [{ id: ID, state: 'stopping' }])).toBe(
      `The instance '${ID}' is not in a state from which it can be started.`,
    );
    expect(refusal('StopInstances', [{ id: ID, state: 'running' }])).toBeUndefined();
    expect(refusal('StartInstances', [{ id: ID, state: 'stopped' }])).toBeUndefined();
  });

  test('the instance type changes only on a stopped instance', () => {
    expect(STATE_CHANGES.has('ModifyInstanceAttribute')).toBe(true);
    const form = {
      Action: 'ModifyInstanceAttribute',
      InstanceId: ID,
      'InstanceType.Value': 't3.large',
    };
    for (const state of ['running', 'pending', 'stopping', 'shutting-down', 'terminated']) {
      expect(refusal('ModifyInstanceAttribute', [{ id: ID, state }], form)).toBe(
        `The instance '${ID}' is not in the 'stopped' state.`,
      );
    }
    expect(
      refusal('ModifyInstanceAttribute', [{ id: ID, state: 'stopped' }], form),
    ).toBeUndefined();
    // The other spelling of the same request.
    const attribute = { InstanceId: ID, Attribute: 'instanceType', Value: 't3.large' };
    expect(stoppedOnlyAttribute(attribute)).toBe('instanceType');
    expect(refusal('ModifyInstanceAttribute', [{ id: ID, state: 'running' }], attribute)).toMatch(
      /not in the 'stopped' state/,
    );
    expect(stoppedOnlyAttribute({ InstanceId: ID, 'UserData.Value': 'eA==' })).toBe('userData');
  });

  test('attributes EC2 changes on a running instance are let through', () => {
    const form = { InstanceId: ID, 'DisableApiTermination.Value': 'true' };
    expect(stoppedOnlyAttribute(form)).toBeUndefined();
    expect(
      refusal('ModifyInstanceAttribute', [{ id: ID, state: 'running' }], form),
    ).toBeUndefined();
  });

  test('an unknown instance is left to moto (InvalidInstanceID.NotFound)', () => {
    const form = { InstanceId: ID, 'InstanceType.Value': 't3.large' };
    expect(refusal('ModifyInstanceAttribute', [], form)).toBeUndefined();
  });
});

describe('volume rules', () => {
  const volume = { id: 'vol-0abc', size: 30 };

  test('a volume never shrinks', () => {
    expect(volumeRefusal({ VolumeId: 'vol-0abc', Size: '20' }, volume)).toEqual({
      code: 'InvalidParameterValue',
      message: 'New size cannot be smaller than existing size',
    });
    expect(volumeRefusal({ VolumeId: 'vol-0abc', Size: '40' }, volume)).toBeUndefined();
    expect(volumeRefusal({ VolumeId: 'vol-0abc', Size: '30' }, volume)).toBeUndefined();
    expect(volumeRefusal({ VolumeId: 'vol-0abc', Iops: '4000' }, volume)).toBeUndefined();
  });

  const item = (id: string, target: number) =>
    `<item><volumeId>${id}</volumeId><modificationState>completed</modificationState>` +
    `<targetSize>${target}</targetSize><progress>100</progress></item>`;
  const answer = (items: string[]) =>
    '<?xml version="1.0" encoding="utf-8"?>\n<DescribeVolumesModificationsResponse ' +
    'xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><volumeModificationSet>' +
    items.join('') +
    '</volumeModificationSet><requestId>request-id</requestId></DescribeVolumesModificationsResponse>';

  test('DescribeVolumesModifications shows only the most recent modification of each volume', () => {
    const xml = answer([item('vol-0a', 30), item('vol-0b', 50), item('vol-0a', 40)]);
    expect(latestModifications(xml)).toBe(answer([item('vol-0b', 50), item('vol-0a', 40)]));
    expect(rewriteAnswer('DescribeVolumesModifications', xml)).toBe(latestModifications(xml));
    expect(latestModifications(answer([]))).toBe(answer([]));
    expect(rewriteAnswer('DescribeVolumes', xml)).toBe(xml);
  });
});

describe('root disk stand-ins', () => {
  const STANDINS = resolve(import.meta.dirname, '..', 'e2e', 'emulator');
  let ebs: string;

  beforeEach(() => {
    ebs = mkdtempSync(join(tmpdir(), 'emu-ebs-'));
  });
  afterEach(() => {
    rmSync(ebs, { recursive: true, force: true });
  });

  function run(tool: string, args: string[], env: Record<string, string> = { EMU_EBS_DIR: ebs }) {
    const out = spawnSync(join(STANDINS, 'instance', tool), args, {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', ...env },
    });
    return { code: out.status, stdout: out.stdout, stderr: out.stderr };
  }

  const calls = (dir = ebs) =>
    readFileSync(join(dir, 'grow.calls'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));

  test('findmnt and lsblk name the root partition, its disk and its number', () => {
    expect(run('findmnt', ['-n', '-o', 'SOURCE', '/']).stdout).toBe('/dev/nvme0n1p1\n');
    expect(run('findmnt', ['-n', '-o', 'FSTYPE', '/']).stdout).toBe('ext4\n');
    expect(run('findmnt', ['-no', 'SOURCE,FSTYPE', '--target', '/']).stdout).toBe(
      '/dev/nvme0n1p1 ext4\n',
    );
    expect(run('findmnt', ['-o', 'SOURCE', '/']).stdout).toBe('SOURCE\n/dev/nvme0n1p1\n');
    expect(run('findmnt', ['-n', '/boot/efi']).code).toBe(1);

    expect(run('lsblk', ['-n', '-o', 'PKNAME', '/dev/nvme0n1p1']).stdout).toBe('nvme0n1\n');
    expect(run('lsblk', ['-n', '-o', 'PARTN', '/dev/nvme0n1p1']).stdout).toBe('1\n');
    expect(run('lsblk', ['-no', 'NAME,TYPE', '/dev/nvme0n1']).stdout).toBe(
      'nvme0n1 disk\nnvme0n1p1 part\n',
    );
    const missing = run('lsblk', ['-n', '-o', 'PKNAME', '/dev/sda1']);
    expect(missing.code).toBe(32);
    expect(missing.stderr).toContain('/dev/sda1: not a block device');
  });

  test('before EC2 grew the volume there is nothing to grow', () => {
    const grow = run('growpart', ['/dev/nvme0n1', '1']);
    expect(grow.code).toBe(1);
    expect(grow.stdout).toMatch(/^NOCHANGE: partition 1 is size \d+\. it cannot be grown\n$/);
    const resize = run('resize2fs', ['/dev/nvme0n1p1']);
    expect(resize.code).toBe(0);
    expect(resize.stdout).toContain('Nothing to do!');
  });

  test('growpart grows once after ModifyVolume (CHANGED), then says NOCHANGE; resize2fs follows', () => {
    recordRootVolumeSize(ebs, 20, 30);
    const sizeOf = () =>
      Number(run('df', ['-B1', '--output=size', '/']).stdout.split('\n')[1]?.trim());
    const before = sizeOf();
    expect(before).toBeLessThan(20 * 2 ** 30);
    expect(before).toBeGreaterThan(19 * 2 ** 30);

    const dry = run('growpart', ['-N', '/dev/nvme0n1', '1']);
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.stdout).toMatch(/^CHANGE: /);

    const first = run('growpart', ['/dev/nvme0n1', '1']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(
      'CHANGED: partition=1 start=227328 old: size=41715679 end=41943006 ' +
        'new: size=62687199 end=62914526\n',
    );
    const again = run('growpart', ['/dev/nvme0n1', '1']);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe('NOCHANGE: partition 1 is size 62687199. it cannot be grown\n');
    expect(sizeOf()).toBe(before); // the partition grew, not yet the file system

    const resize = run('resize2fs', ['/dev/nvme0n1p1']);
    expect(resize.code).toBe(0);
    expect(resize.stdout).toContain('on-line resizing required');
    expect(resize.stdout).toContain(
      'The filesystem on /dev/nvme0n1p1 is now 7835899 (4k) blocks long.',
    );
    expect(resize.stderr).toMatch(/^resize2fs 1\.47\.0/);
    const grown = sizeOf();
    expect(grown).toBeGreaterThan(29 * 2 ** 30);
    expect(grown).toBeLessThan(30 * 2 ** 30);
    expect(run('resize2fs', ['/dev/nvme0n1p1']).stdout).toContain(
      'The filesystem is already 7835899 (4k) blocks long.  Nothing to do!',
    );

    // A later ModifyVolume: growable again. The original size stays the first one.
    recordRootVolumeSize(ebs, 30, 40);
    expect(readFileSync(join(ebs, 'original-gib'), 'utf8')).toBe('20\n');
    expect(run('growpart', ['/dev/nvme0n1', '1']).code).toBe(0);

    expect(calls()).toEqual([
      ['growpart', '-N', '/dev/nvme0n1', '1'],
      ['growpart', '/dev/nvme0n1', '1'],
      ['growpart', '/dev/nvme0n1', '1'],
      ['resize2fs', '/dev/nvme0n1p1'],
      ['resize2fs', '/dev/nvme0n1p1'],
      ['growpart', '/dev/nvme0n1', '1'],
    ]);
  });

  test('growpart fails (exit 2) on another disk or partition; resize2fs on another device', () => {
    recordRootVolumeSize(ebs, 20, 30);
    expect(run('growpart', ['/dev/xvda', '1'])).toMatchObject({
      code: 2,
      stdout: 'FAILED: /dev/xvda: does not exist\n',
    });
    expect(run('growpart', ['/dev/nvme0n1', '2']).code).toBe(2);
    expect(run('growpart', ['/dev/nvme0n1']).code).toBe(2);
    const resize = run('resize2fs', ['/dev/nvme0n1']);
    expect(resize.code).toBe(1);
    expect(resize.stderr).toContain('No such file or directory while trying to open /dev/nvme0n1');
  });

  test("a light instance's stand-ins keep the disk in the instance's directory", () => {
    const instanceDir = mkdtempSync(join(tmpdir(), 'emu-light-'));
    try {
      recordRootVolumeSize(join(instanceDir, 'ebs'), 20, 25);
      const light = (tool: string, args: string[]) =>
        spawnSync(join(STANDINS, 'light', tool), args, {
          encoding: 'utf8',
          env: { PATH: '/usr/bin:/bin', EMU_INSTANCE_DIR: instanceDir },
        });
      expect(light('growpart', ['/dev/nvme0n1', '1']).stdout).toMatch(/^CHANGED: /);
      expect(light('resize2fs', ['/dev/nvme0n1p1']).status).toBe(0);
      expect(light('lsblk', ['-n', '-o', 'PKNAME', '/dev/nvme0n1p1']).stdout).toBe('nvme0n1\n');
      expect(light('findmnt', ['-n', '-o', 'SOURCE', '/']).stdout).toBe('/dev/nvme0n1p1\n');
      expect(calls(join(instanceDir, 'ebs'))).toEqual([
        ['growpart', '/dev/nvme0n1', '1'],
        ['resize2fs', '/dev/nvme0n1p1'],
      ]);
    } finally {
      rmSync(instanceDir, { recursive: true, force: true });
    }
  });

  test('the stand-ins are executable and shadow the real tools', () => {
    for (const kind of ['instance', 'light']) {
      for (const tool of ['findmnt', 'lsblk', 'growpart', 'resize2fs', 'df']) {
        const found = spawnSync('sh', ['-c', `command -v ${tool}`], {
          encoding: 'utf8',
          env: { PATH: `${join(STANDINS, kind)}:/usr/sbin:/usr/bin:/sbin:/bin` },
        });
        expect(found.stdout.trim()).toBe(join(STANDINS, kind, tool));
      }
    }
  });
});
