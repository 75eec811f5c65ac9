// Shared test doubles: a virtual clock, AWS-shaped errors and a loopback HTTP server.
// Not a test file (jest only runs *.test.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/clock.ts';
import type { ActionError } from '../../src/errors.ts';

/** A clock whose sleep advances virtual time at once, and remembers every sleep. */
export class FakeClock implements Clock {
  t = 1_000_000;
  readonly sleeps: number[] = [];
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

/** An error shaped like the ones the AWS SDK v3 throws (the name is the AWS error code). */
export function awsError(name: string, message = `${name} (test)`): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  host: string;
  port: number;
  /** Base URL with a trailing slash, like hubUrl() returns. */
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** Starts an HTTP server on a loopback address (never anything outside 127.0.0.0/8). */
export async function startServer(
  handler: Handler,
  host = '127.0.0.1',
  port = 0,
): Promise<TestServer> {
  if (!host.startsWith('127.')) throw new Error(`refusing to listen on non-loopback ${host}`);
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    host,
    port: bound,
    url: bound === 80 ? `http://${host}/` : `http://${host}:${bound}/`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A handler that answers /hub/api like a live JupyterHub. */
export const liveHub =
  (version = '5.3.0'): Handler =>
  (req, res) => {
    if (req.url === '/hub/api') json(res, 200, { version });
    else json(res, 404, { status: 404, message: 'Not Found' });
  };

/**
 * A hub that the action's probe of http://<publicIp>/hub/api can reach. The action always uses
 * port 80; where this process may bind 127.x:80 (root), the "public IP" is a plain 127.x address.
 * Elsewhere (CI runs tests unprivileged) the server takes an ephemeral port and the "public IP"
 * handed to the action is `127.x:port`, which hubUrl() turns into the same kind of URL.
 */
export async function startPublicHub(
  host: string,
  handler: Handler,
): Promise<TestServer & { publicIp: string; onPort80: boolean }> {
  try {
    const server = await startServer(handler, host, 80);
    return { ...server, publicIp: host, onPort80: true };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'EACCES' && code !== 'EADDRINUSE') throw err;
    const server = await startServer(handler, host, 0);
    return { ...server, publicIp: `${host}:${server.port}`, onPort80: false };
  }
}

/** The stdout of a realistic install or verify script run (see bootstrap.ts). */
export function reportStdout(opts: {
  installerExit?: number;
  installerOutput?: string[];
  installerLog?: 'done' | 'missing' | 'incomplete';
  services?: [string, string];
  apiStatus?: string;
  apiBody?: string;
  logTail?: string[];
  error?: string;
  /** The checks' time on the instance's clock (verify-started/verify-ended stamps), if any. */
  verifyMs?: number;
}): string {
  const lines = ['::tljh:: phase=cloud-init', '::tljh:: cloud-init=status: done'];
  lines.push('::tljh:: phase=dpkg-lock', '::tljh:: phase=download');
  if (opts.error) {
    lines.push(`::tljh:: error=${opts.error}`);
    return lines.join('\n') + '\n';
  }
  if (opts.installerExit !== undefined) {
    lines.push('::tljh:: phase=install', `::tljh:: installer-exit=${opts.installerExit}`);
    lines.push('::tljh:: installer-output-begin', ...(opts.installerOutput ?? []));
    lines.push('::tljh:: installer-output-end');
  }
  const [hub, traefik] = opts.services ?? ['active', 'active'];
  lines.push(
    '::tljh:: phase=verify',
    `::tljh:: installer-log=${opts.installerLog ?? 'done'}`,
    `::tljh:: service-jupyterhub=${hub}`,
    `::tljh:: service-traefik=${traefik}`,
    `::tljh:: api-status=${opts.apiStatus ?? '200'}`,
    `::tljh:: api-body=${opts.apiBody ?? '{"version": "5.3.0"}'}`,
    '::tljh:: log-tail-begin',
    ...(opts.logTail ?? ['2026-01-01 10:03:00,000 Done!']),
    '::tljh:: log-tail-end',
  );
  if (opts.verifyMs !== undefined) {
    lines.push('::tljh:: verify-started=1767261780000');
    lines.push(`::tljh:: verify-ended=${1767261780000 + opts.verifyMs}`);
  }
  return lines.join('\n') + '\n';
}

const RAN_LINE =
  "Ran ['/opt/tljh/user/bin/python', '-m', 'pip', 'install', '--upgrade', 'jupyterlab==4.4.0'] with exit code 1";
const FAILED_OUTPUT = [
  'Setting up user environment...',
  'ERROR: Could not find a version that satisfies the requirement jupyterlab==4.4.0',
  RAN_LINE,
  'Traceback (most recent call last):',
  'subprocess.CalledProcessError: Command returned non-zero exit status 1.',
];
const FAILED_LOG_TAIL = [
  '2026-01-01 10:01:00,000 Setting up user environment...',
  `2026-01-01 10:02:00,000 ${RAN_LINE}`,
];

/** Lines a TLJH install that failed after the bootstrap phase leaves behind. */
export const FAILED_INSTALL = {
  ranLine: RAN_LINE,
  output: FAILED_OUTPUT,
  logTail: FAILED_LOG_TAIL,
  /** The whole report of that install (for reportStdout, or the verify checks). */
  report: {
    installerExit: 1,
    installerOutput: FAILED_OUTPUT,
    installerLog: 'incomplete' as const,
    services: ['inactive', 'inactive'] as [string, string],
    apiStatus: '000',
    apiBody: '',
    logTail: FAILED_LOG_TAIL,
  },
};

/** The name of the error a call fails with ('' if it succeeds): the AWS error code. */
export const errorName = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => '',
    (err: Error) => err.name,
  );

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise;
  } catch (err) {
    return err as ActionError;
  }
  throw new Error('expected a rejection');
}
