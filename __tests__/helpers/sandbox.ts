// Runs a generated POSIX sh script for real, against stub commands, in a sandbox: private mount
// and network namespaces (`unshare -m -n`) with an empty tmpfs over /opt, /usr/local/sbin and
// /etc/systemd/system, so the script's writes never reach the real ones and no packet can leave. The same technique as
// bootstrap.test.ts, asynchronous so that many runs can share the CPUs. Not a test file.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SandboxRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The run's own directory: bin/ (the stubs), script.sh, cwd/ (the working directory), files. */
  dir: string;
  /** The script's working directory, empty at the start. */
  cwd: string;
}

export interface SandboxOptions {
  /** Stub commands, first on PATH: name -> body of a `#!/bin/sh` script. */
  stubs: Record<string, string>;
  /** Extra files written into the run's directory ($STUB_DIR) before the run. */
  files?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * A stub body line that appends the command's argv to $STUB_DIR/<name>.calls: the argument count
 * then each argument, every one followed by a NUL byte (no argument can hold a NUL).
 */
export function recordArgv(name: string): string {
  return `printf '%s\\0' "$#" "$@" >>"$STUB_DIR/${name}.calls"`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The calls recordArgv() wrote, in order; throws on bytes that are not UTF-8. */
export function readCalls(dir: string, name: string): string[][] {
  const path = join(dir, `${name}.calls`);
  if (!existsSync(path)) return [];
  const fields = utf8.decode(readFileSync(path)).split('\0');
  if (fields.at(-1) !== '') throw new Error(`${path} does not end with a NUL byte`);
  const calls: string[][] = [];
  for (let i = 0; i < fields.length - 1;) {
    const n = Number(fields[i]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${path}: bad argument count at ${i}`);
    calls.push(fields.slice(i + 1, i + 1 + n));
    i += n + 1;
  }
  return calls;
}

/** Runs `sh script.sh` in the sandbox. Resolves when it exits (or is killed at the timeout). */
export function runSandboxed(script: string, opts: SandboxOptions): Promise<SandboxRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tljh-sandbox-'));
  const bin = join(dir, 'bin');
  const cwd = join(dir, 'cwd');
  mkdirSync(bin);
  mkdirSync(cwd);
  for (const [name, body] of Object.entries(opts.stubs)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  for (const [name, content] of Object.entries(opts.files ?? {})) {
    writeFileSync(join(dir, name), content);
  }
  writeFileSync(join(dir, 'script.sh'), script);
  // The IMDS guard writes /usr/local/sbin and /etc/systemd/system: empty tmpfs there too.
  const inner =
    'for d in /opt /usr/local/sbin /etc/systemd/system; do mount -t tmpfs tmpfs "$d" || exit 1; done && exec sh "$1"';
  // Unprivileged (CI), unshare needs root: the runner's passwordless sudo. The environment is
  // set after sudo (whose secure_path would otherwise replace PATH and skip the stubs).
  const asRoot = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const env = [`PATH=${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, `STUB_DIR=${dir}`, `TMPDIR=${dir}`];
  const [cmd, ...args] = [
    ...asRoot,
    ...['unshare', '-m', '-n', 'env', '-i', ...env],
    ...['sh', '-c', inner, 'sh', join(dir, 'script.sh')],
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      // The namespaces must have worked, or the run proves nothing.
      if (/unshare|mount:/.test(stderr)) reject(new Error(`sandbox failed: ${stderr}`));
      else {
        resolve({ status, signal, stdout: Buffer.concat(out).toString('utf8'), stderr, dir, cwd });
      }
    });
  });
}

/** Maps items through an async function, at most `limit` at a time, keeping the order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
