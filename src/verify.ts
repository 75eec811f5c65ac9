// Reads what the install/verify scripts reported and probes the hub from the runner.
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { MARK } from './bootstrap.ts';
import type { Clock } from './clock.ts';

export interface Report {
  fields: Record<string, string>;
  installerOutput: string[];
  logTail: string[];
}

/** Parses `::tljh:: key=value` lines and the begin/end blocks out of a command's stdout. */
export function parseReport(stdout: string): Report {
  const report: Report = { fields: {}, installerOutput: [], logTail: [] };
  let block: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      const body = line.slice(MARK.length + 1);
      if (body === 'installer-output-begin') block = report.installerOutput;
      else if (body === 'log-tail-begin') block = report.logTail;
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

/** All of DESIGN's checks on the instance: log, services, and /hub/api from the instance itself. */
export function evaluateReport(report: Report): Health {
  const f = report.fields;
  const problems: string[] = [];
  if (f['error']) problems.push(f['error']);
  if (f['installer-exit'] !== undefined && f['installer-exit'] !== '0') {
    problems.push(`the TLJH installer exited with code ${f['installer-exit']}`);
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
  if (f['https-status'] !== undefined && f['https-status'] !== '200') {
    problems.push(
      `https /hub/api on the instance answered ${f['https-status'] || 'nothing'} (is the certificate issued? see tljh-config https settings)`,
    );
  }
  return { healthy: problems.length === 0, problems, version };
}

export interface ProbeResult {
  ok: boolean;
  status?: number;
  version?: string;
  error?: string;
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
): Promise<ProbeResult> {
  const url = new URL('hub/api', hubUrl);
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  const lookup = resolveTo
    ? (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
        opts.all ? cb(null, [{ address: resolveTo, family: 4 }]) : cb(null, resolveTo, 4)
    : undefined;
  return new Promise((resolve) => {
    const req = get(url, { timeout: timeoutMs, lookup: lookup as never }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk.length + body.length < 65536 ? chunk : ''));
      res.on('end', () => {
        const version = res.statusCode === 200 ? hubVersion(body) : undefined;
        resolve({ ok: Boolean(version), status: res.statusCode, version });
      });
      res.on('error', (err) =>
        resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }),
      );
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err) =>
      resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }),
    );
  });
}

/** Probes until the hub answers like a live hub or the time is up (a hub needs a moment after boot). */
export async function waitForHubApi(
  hubUrl: string,
  opts: { clock: Clock; intervalMs: number; timeoutMs: number; resolveTo?: string },
): Promise<ProbeResult> {
  const start = opts.clock.now();
  for (;;) {
    const result = await probeHubApi(hubUrl, 5000, opts.resolveTo);
    if (result.ok || opts.clock.now() - start >= opts.timeoutMs) return result;
    await opts.clock.sleep(opts.intervalMs);
  }
}

export function describeProbe(result: ProbeResult): string {
  if (result.ok) return `200, JupyterHub ${result.version}`;
  if (result.status === 403) return '403 (the install progress page, not a live hub)';
  if (result.status) return `HTTP ${result.status} without a hub version`;
  return `no answer (${result.error ?? 'unknown error'})`;
}
