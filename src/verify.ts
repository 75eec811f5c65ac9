// Reads what the install/verify scripts reported and probes the hub from the runner.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { MARK } from './bootstrap.ts';
import {
  acceptable,
  describeCertificate,
  describePresented,
  type PresentedCertificate,
} from './certificate.ts';
import type { Clock } from './clock.ts';
import { waitFor, WaitTimedOut } from './wait.ts';

export interface Report {
  fields: Record<string, string>;
  installerOutput: string[];
  logTail: string[];
  /** The last lines of the user-server check's own log, when it failed. */
  userServerLog: string[];
}

/** Parses `::tljh:: key=value` lines and the begin/end blocks out of a command's stdout. */
export function parseReport(stdout: string): Report {
  const report: Report = { fields: {}, installerOutput: [], logTail: [], userServerLog: [] };
  let block: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      const body = line.slice(MARK.length + 1);
      if (body === 'installer-output-begin') block = report.installerOutput;
      else if (body === 'log-tail-begin') block = report.logTail;
      else if (body === 'user-server-log-begin') block = report.userServerLog;
      else if (body.endsWith('-end')) block = undefined;
      else {
        const eq = body.indexOf('=');
        if (eq > 0) report.fields[body.slice(0, eq)] = body.slice(eq + 1);
      }
    } else if (block) {
      block.push(line);
    }
  }
  return report;
}

export interface Health {
  healthy: boolean;
  problems: string[];
  version?: string;
}

/** The hub version in a /hub/api body, if it is the JSON of a live hub. */
export function hubVersion(body: string): string | undefined {
  try {
    const json = JSON.parse(body) as unknown;
    const version = (json as { version?: unknown })?.version;
    return typeof version === 'string' && version ? version : undefined;
  } catch {
    return undefined;
  }
}

const USER_SERVER_PROBLEMS: Record<string, string> = {
  'not-run': 'there is no user environment at /opt/tljh/user',
  'no-account': 'the probe account could not be created',
  'no-answer': 'it did not answer within 60 s',
  exited: 'it exited at once',
};

function installerExitProblem(code: string): string {
  const why =
    code === '137'
      ? ' (killed: out of memory? try a larger instance-type)'
      : code === '143'
        ? ' (terminated)'
        : '';
  return `the TLJH installer exited with code ${code}${why}`;
}

/**
 * All of DESIGN's checks on the instance: log, services, /hub/api from the instance itself,
 * and a user's server started from the user environment as an unprivileged user.
 */
export function evaluateReport(report: Report): Health {
  const f = report.fields;
  const problems: string[] = [];
  if (f['error']) problems.push(f['error']);
  if (f['installer-exit'] !== undefined && f['installer-exit'] !== '0') {
    problems.push(installerExitProblem(f['installer-exit']));
  }
  if (f['installer-log'] !== 'done') {
    problems.push(
      `/opt/tljh/installer.log does not end with 'Done!' (${f['installer-log'] ?? 'not checked'})`,
    );
  }
  for (const unit of ['jupyterhub', 'traefik']) {
    if (f[`service-${unit}`] !== 'active')
      problems.push(`service ${unit} is ${f[`service-${unit}`] || 'unknown'}`);
  }
  const version = hubVersion(f['api-body'] ?? '');
  if (f['api-status'] !== '200' || !version) {
    problems.push(
      f['api-status'] === '403'
        ? '/hub/api answers 403 on the instance (the install progress page, not a live hub)'
        : `/hub/api on the instance answered ${f['api-status'] || 'nothing'} without a hub version`,
    );
  }
  const userServer = f['user-server'];
  if (userServer !== undefined && userServer !== 'ok') {
    problems.push(
      `a user's server did not start from /opt/tljh/user as an unprivileged user: ${USER_SERVER_PROBLEMS[userServer] ?? userServer}` +
        (report.userServerLog.length ? ` (${report.userServerLog.join(' | ')})` : ''),
    );
  }
  return { healthy: problems.length === 0, problems, version };
}

/** One line per check the instance ran, for the job summary: what was asked, what it answered. */
export function describeChecks(report: Report): string[] {
  const f = report.fields;
  const lines: string[] = [];
  const add = (label: string, value: string | undefined): void => {
    if (value !== undefined) lines.push(`${label}: ${value || 'no answer'}`);
  };
  add('installer exit status', f['installer-exit']);
  add('IMDS closed to every user but root', f['imds-guard']);
  add("installer.log ends with 'Done!'", f['installer-log']);
  add('jupyterhub.service', f['service-jupyterhub']);
  add('traefik.service', f['service-traefik']);
  add('plain HTTP on the instance (a redirect with HTTPS on)', f['http-status']);
  const version = hubVersion(f['api-body'] ?? '');
  add(
    '/hub/api on the instance',
    f['api-status'] && `${f['api-status']}${version ? ` (JupyterHub ${version})` : ''}`,
  );
  add("HTTPS certificate for the hub's name", f['https-cert']);
  add(`a user's server started as an unprivileged user`, f['user-server']);
  return lines;
}

export interface ProbeResult {
  ok: boolean;
  status?: number;
  version?: string;
  error?: string;
  /** The TLS handshake failed on the certificate (not issued yet, or not for this name). */
  certificateError?: boolean;
  /** Over HTTPS: the certificate the hub presented. */
  certificate?: PresentedCertificate;
}

// Node's codes for a certificate that does not verify: what a hub whose Let's Encrypt
// certificate is not issued yet presents (traefik's self-signed default certificate).
const CERTIFICATE_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

function failedProbe(err: Error): ProbeResult {
  const code = (err as NodeJS.ErrnoException).code ?? err.message;
  return { ok: false, error: code, certificateError: CERTIFICATE_ERRORS.has(code) };
}

/**
 * One GET of the hub's /hub/api from the runner. With `resolveTo`, the URL's host name is
 * connected at that address (like curl --resolve): an HTTPS hub is checked with its own name
 * and certificate before, or without, DNS pointing at it.
 */
export function probeHubApi(
  hubUrl: string,
  timeoutMs = 5000,
  resolveTo?: string,
  /** Accept any certificate: is the hub itself live, whatever its certificate? */
  insecure = false,
  /** Accept a certificate of Let's Encrypt's staging CA for the host (https-staging). */
  staging = false,
): Promise<ProbeResult> {
  const url = new URL('hub/api', hubUrl);
  const tls = url.protocol === 'https:';
  const get = tls ? httpsGet : httpGet;
  const lookup = resolveTo
    ? (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
        opts.all ? cb(null, [{ address: resolveTo, family: 4 }]) : cb(null, resolveTo, 4)
    : undefined;
  return new Promise((resolve) => {
    // The certificate is judged here (certificate.ts) rather than by Node alone, so that the
    // probe can say what was presented and accept a staging certificate for the right name.
    const options = { timeout: timeoutMs, lookup: lookup as never, rejectUnauthorized: false };
    const req = get(url, options, (res) => {
      const certificate = tls
        ? describeCertificate(res.socket as TLSSocket, url.hostname)
        : undefined;
      if (certificate && !insecure && !acceptable(certificate, staging)) {
        res.resume();
        const error = certificate.error ?? 'CERT_REJECTED';
        resolve({ ok: false, error, certificateError: true, certificate });
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk.length + body.length < 65536 ? chunk : ''));
      res.on('end', () => {
        const version = res.statusCode === 200 ? hubVersion(body) : undefined;
        resolve({
          ok: Boolean(version),
          status: res.statusCode,
          version,
          ...(certificate ? { certificate } : {}),
        });
      });
      res.on('error', (err) => resolve(failedProbe(err)));
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err) => resolve(failedProbe(err)));
  });
}

/**
 * Probes until the hub answers like a live hub or the time is up (a hub needs a moment after
 * boot), and returns the last probe's answer either way (timeout 0: the one probe's answer).
 */
export async function waitForHubApi(
  hubUrl: string,
  opts: {
    clock: Clock;
    intervalMs: number;
    timeoutMs: number;
    resolveTo?: string;
    /** Accept a certificate of Let's Encrypt's staging CA for the host. */
    staging?: boolean;
    /** Told a "Still waiting for <url>hub/api" line about once a minute. */
    progress?: (line: string) => void;
  },
): Promise<ProbeResult> {
  let last: ProbeResult | undefined;
  try {
    return await waitFor({
      clock: opts.clock,
      intervalMs: opts.intervalMs,
      timeoutMs: opts.timeoutMs,
      what: `${hubUrl}hub/api`,
      progress: opts.progress,
      look: async () => {
        last = await probeHubApi(hubUrl, 5000, opts.resolveTo, false, opts.staging);
        return last.ok
          ? { done: true, value: last }
          : { done: false, detail: `last: ${describeProbe(last)}` };
      },
    });
  } catch (err) {
    // probeHubApi never throws: only the deadline ends the wait without an answer.
    if (err instanceof WaitTimedOut && last) return last;
    throw err;
  }
}

export function describeProbe(result: ProbeResult): string {
  if (result.ok) return `200, JupyterHub ${result.version}`;
  if (result.status === 403) return '403 (the install progress page, not a live hub)';
  if (result.status) return `HTTP ${result.status} without a hub version`;
  if (result.certificateError) {
    const what = result.certificate ? `${describePresented(result.certificate)}, ` : '';
    return `${what}which does not verify (${result.error})`;
  }
  return `no answer (${result.error ?? 'unknown error'})`;
}

/** How long the checks took on the instance (its own clock), if the report says. */
export function verificationMs(report: Report): number | undefined {
  const started = Number(report.fields['verify-started']);
  const ended = Number(report.fields['verify-ended']);
  return started > 0 && ended >= started ? ended - started : undefined;
}
