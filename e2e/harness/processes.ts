// Starting and stopping the emulator's processes.
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * Starts a long-running process in its own session, its output going to logFile. It outlives
 * this process (start-emulator.ts exits once the emulator answers); stop it by PID.
 */
export function startDaemon(command: string, args: string[], logFile: string, cwd: string): number {
  const log = openSync(logFile, 'w');
  const child = spawn(command, args, { cwd, stdio: ['ignore', log, log], detached: true });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  child.on('error', () => undefined); // reported by waitUntil's timeout and the log file
  child.unref();
  return child.pid;
}

/** True while the process exists and has not exited (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may contain spaces, so split after ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls check() until it is true; throws describe() when timeoutMs has passed. */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(describe());
    await sleep(100);
  }
}

/** SIGTERM, then SIGKILL if the process is still there after graceMs. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitUntil(
      async () => !isAlive(pid),
      graceMs,
      () => 'still running',
    );
  } catch {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
}

export async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
