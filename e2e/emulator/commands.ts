// Run Command on emulated instances: each script really runs, with `sh` as the SSM agent does.
//  - A real instance (the default) runs TLJH's own code: the script is chrooted into the
//    instance's disk (an overlay of this machine, see real-instance.ts) with the stand-ins of
//    e2e/emulator/instance/ first on PATH.
//  - A light instance (scenario.tljh 'light', for suites that launch many hubs) runs in a
//    private mount namespace where the instance's directory is /opt, with the models of
//    e2e/emulator/light/ first on PATH.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MARKERS, type InstanceDirs } from './instance-dirs.ts';
import { mountRealDisk, realInstanceEnv } from './real-instance.ts';

/** What GetCommandInvocation keeps of the output (as real SSM does). */
export const STDOUT_LIMIT = 24_000;
export const STDERR_LIMIT = 8_000;

export interface Invocation {
  commandId: string;
  instanceId: string;
  comment: string;
  startedAt: Date;
  endedAt?: Date;
  /** null while running; -1 when the process died from a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** GetCommandInvocation calls answered so far (the first ones say InvocationDoesNotExist). */
  polls: number;
}

export interface RunOptions {
  hubVersion: string;
  installDelayMs: number;
  /** This run must fail if it is an install (it runs bootstrap.py). */
  failIfInstall: boolean;
  /** A new instance runs TLJH's own code (else it is a light instance). */
  real: boolean;
}

/** True for scripts that run TLJH's installer; only those consume scenario.failNextInstalls. */
export function isInstallScript(script: string): boolean {
  return script.includes('bootstrap.py');
}

export class Commands {
  private readonly invocations = new Map<string, Invocation>();
  private readonly running = new Set<ChildProcess>();
  private readonly dirs: InstanceDirs;
  private readonly lightDir: string;

  private readonly instanceEnv: (instanceId: string) => Record<string, string>;
  private readonly downloadsUrl: string;

  /**
   * `instanceEnv` adds variables for one instance (its metadata service and SSM endpoints);
   * `downloadsUrl` is the loopback stand-in for raw.githubusercontent.com (downloads.ts).
   */
  constructor(
    dirs: InstanceDirs,
    lightDir: string,
    instanceEnv: (instanceId: string) => Record<string, string> = () => ({}),
    downloadsUrl = '',
  ) {
    this.dirs = dirs;
    this.lightDir = lightDir;
    this.instanceEnv = instanceEnv;
    this.downloadsUrl = downloadsUrl;
  }

  get(commandId: string, instanceId: string): Invocation | undefined {
    return this.invocations.get(`${commandId}/${instanceId}`);
  }

  /** Starts the script on each instance; returns the new command id at once. */
  start(instanceIds: string[], script: string, comment: string, opts: RunOptions): string {
    const commandId = randomUUID();
    for (const instanceId of instanceIds) {
      const inv: Invocation = {
        commandId,
        instanceId,
        comment,
        startedAt: new Date(),
        exitCode: null,
        stdout: '',
        stderr: '',
        polls: 0,
      };
      this.invocations.set(`${commandId}/${instanceId}`, inv);
      this.execute(inv, script, opts);
    }
    return commandId;
  }

  private execute(inv: Invocation, script: string, opts: RunOptions): void {
    const dir = this.dirs.ensure(inv.instanceId);
    const work = join(dir, 'commands', inv.commandId);
    mkdirSync(work, { recursive: true });
    const scriptPath = join(work, '_script.sh');
    writeFileSync(scriptPath, script, { mode: 0o700 });
    const failMarker = join(dir, MARKERS.failInstall);
    if (opts.failIfInstall) writeFileSync(failMarker, 'the scenario asked for a failed install\n');
    else rmSync(failMarker, { force: true });

    const agentEnv = {
      HOME: '/root',
      LANG: 'C.UTF-8',
      EMU_INSTANCE_DIR: dir,
      ...this.instanceEnv(inv.instanceId),
    };
    let child: ChildProcess;
    if (this.dirs.chooseKind(inv.instanceId, opts.real)) {
      const disk = mountRealDisk(dir);
      // A failed install, for real: pip finds nothing to install TLJH from.
      const empty = join(dir, 'empty-wheelhouse');
      if (opts.failIfInstall) mkdirSync(empty, { recursive: true });
      child = spawn(
        'chroot',
        [disk.merged, 'sh', '-c', 'cd "$1" && exec sh "$2"', 'ssm-agent', work, scriptPath],
        {
          detached: true, // own process group: a kill reaches the script's children too
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...agentEnv,
            ...realInstanceEnv({
              instanceId: inv.instanceId,
              downloadsUrl: this.downloadsUrl,
              emptyWheelhouse: opts.failIfInstall ? empty : undefined,
            }),
          },
        },
      );
    } else {
      // unshare -m gives the command private mounts (propagation private), so binding the
      // instance's opt/ onto /opt is seen by this command only and the real /opt stays untouched.
      child = spawn(
        'unshare',
        [
          ...['-m', 'sh', '-c'],
          // The IMDS guard writes these two: a light instance keeps them to itself too.
          'mount --bind "$1" /opt && mount -t tmpfs tmpfs /usr/local/sbin && mount -t tmpfs tmpfs /etc/systemd/system && cd "$2" && exec sh "$3"',
          'ssm-agent',
        ].concat([join(dir, 'opt'), work, scriptPath]),
        {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...agentEnv,
            PATH: `${this.lightDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
            EMU_HUB_VERSION: opts.hubVersion,
            EMU_INSTALL_DELAY_SECONDS: (opts.installDelayMs / 1000).toFixed(3),
          },
        },
      );
    }
    this.running.add(child);
    const finish = (code: number): void => {
      if (inv.exitCode !== null) return;
      inv.exitCode = code;
      inv.endedAt = new Date();
      this.running.delete(child);
    };
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (inv.stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (inv.stderr += s));
    child.on('error', (err) => {
      inv.stderr += `emulator: could not start the command: ${err.message}\n`;
      finish(-1);
    });
    child.on('close', (code) => finish(code ?? -1));
  }

  /** Kills every command still running (the front is shutting down). */
  killAll(): void {
    for (const child of this.running) {
      if (child.pid === undefined) continue;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.running.clear();
  }

  clear(): void {
    this.killAll();
    this.invocations.clear();
  }
}

/** The GetCommandInvocation answer for an invocation that exists. */
export function invocationView(inv: Invocation): Record<string, unknown> {
  const done = inv.exitCode !== null;
  const status = !done ? 'InProgress' : inv.exitCode === 0 ? 'Success' : 'Failed';
  const end = inv.endedAt ?? new Date();
  const elapsed = (end.getTime() - inv.startedAt.getTime()) / 1000;
  return {
    CommandId: inv.commandId,
    InstanceId: inv.instanceId,
    Comment: inv.comment,
    DocumentName: 'AWS-RunShellScript',
    DocumentVersion: '$DEFAULT',
    PluginName: 'aws:runShellScript',
    ResponseCode: done ? inv.exitCode : -1,
    ExecutionStartDateTime: inv.startedAt.toISOString(),
    ExecutionElapsedTime: `PT${elapsed.toFixed(3)}S`,
    ExecutionEndDateTime: done ? end.toISOString() : '',
    Status: status,
    StatusDetails: status,
    // Like real SSM: empty until the command ends, then truncated.
    StandardOutputContent: done ? inv.stdout.slice(0, STDOUT_LIMIT) : '',
    StandardOutputUrl: '',
    StandardErrorContent: done ? inv.stderr.slice(0, STDERR_LIMIT) : '',
    StandardErrorUrl: '',
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  };
}
