import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  describeProbe,
  evaluateReport,
  hubVersion,
  parseReport,
  probeHubApi,
  verificationMs,
  waitForHubApi,
} from '../src/verify.ts';
import {
  FAILED_INSTALL,
  FakeClock,
  json,
  liveHub,
  reportStdout,
  startServer,
  type TestServer,
} from './helpers/fakes.ts';

describe('parseReport', () => {
  test('fields, the installer output block and the log tail', () => {
    const report = parseReport(
      reportStdout({ installerExit: 0, installerOutput: ['Setting up...', 'Done!'] }),
    );
    expect(report.fields).toEqual({
      phase: 'verify',
      'cloud-init': 'status: done',
      'installer-exit': '0',
      'installer-log': 'done',
      'service-jupyterhub': 'active',
      'service-traefik': 'active',
      'api-status': '200',
      'api-body': '{"version": "5.3.0"}',
    });
    expect(report.installerOutput).toEqual(['Setting up...', 'Done!']);
    expect(report.logTail).toEqual(['2026-01-01 10:03:00,000 Done!']);
  });

  test('a value may contain = and spaces; later lines win', () => {
    const r = parseReport('::tljh:: error=a=b c\n::tljh:: phase=one\n::tljh:: phase=two\n');
    expect(r.fields).toEqual({ error: 'a=b c', phase: 'two' });
  });

  test('lines outside blocks and lines without the exact marker are ignored', () => {
    const r = parseReport(
      [
        'noise',
        '::tljh::phase=x',
        ' ::tljh:: phase=y',
        '::tljh:: =nokey',
        '::tljh:: novalue',
        '::tljh:: ok=1',
      ].join('\n'),
    );
    expect(r.fields).toEqual({ ok: '1' });
    expect(r.installerOutput).toEqual([]);
    expect(r.logTail).toEqual([]);
  });

  test('output truncated inside a block keeps what arrived', () => {
    const full = reportStdout({
      installerExit: 0,
      installerOutput: ['line 1', 'line 2', 'line 3'],
    });
    const cut = full.slice(0, full.indexOf('line 3'));
    const r = parseReport(cut);
    expect(r.installerOutput).toEqual(['line 1', 'line 2', '']);
    expect(r.fields['installer-log']).toBeUndefined();
    expect(evaluateReport(r).healthy).toBe(false);
  });

  test('empty output', () => {
    expect(parseReport('')).toEqual({
      fields: {},
      installerOutput: [],
      logTail: [],
      userServerLog: [],
    });
  });
});

describe('evaluateReport', () => {
  const evaluate = (opts: Parameters<typeof reportStdout>[0]) =>
    evaluateReport(parseReport(reportStdout(opts)));

  test('healthy install', () => {
    expect(evaluate({ installerExit: 0 })).toEqual({
      healthy: true,
      problems: [],
      version: '5.3.0',
    });
  });

  test('healthy verify-only run (no installer fields)', () => {
    expect(evaluate({})).toEqual({ healthy: true, problems: [], version: '5.3.0' });
  });

  test('installer failed', () => {
    const health = evaluate({
      installerExit: 1,
      installerOutput: FAILED_INSTALL.output,
      installerLog: 'incomplete',
      services: ['inactive', 'inactive'],
      apiStatus: '000',
      apiBody: '',
      logTail: FAILED_INSTALL.logTail,
    });
    expect(health.healthy).toBe(false);
    expect(health.version).toBeUndefined();
    expect(health.problems).toEqual([
      'the TLJH installer exited with code 1',
      "/opt/tljh/installer.log does not end with 'Done!' (incomplete)",
      'service jupyterhub is inactive',
      'service traefik is inactive',
      '/hub/api on the instance answered 000 without a hub version',
    ]);
  });

  test('the install progress page (403) is not a live hub', () => {
    const health = evaluate({
      installerExit: 0,
      apiStatus: '403',
      apiBody: '<html><body>Installing The Littlest JupyterHub...</body></html>',
    });
    expect(health.healthy).toBe(false);
    expect(health.problems).toEqual([
      '/hub/api answers 403 on the instance (the install progress page, not a live hub)',
    ]);
  });

  test('200 with a body that is not a hub is not healthy', () => {
    expect(evaluate({ apiStatus: '200', apiBody: '<html>nginx</html>' }).problems).toEqual([
      '/hub/api on the instance answered 200 without a hub version',
    ]);
    expect(evaluate({ apiStatus: '500', apiBody: '{"version": "5.3.0"}' }).problems).toEqual([
      '/hub/api on the instance answered 500 without a hub version',
    ]);
  });

  test('services inactive, one at a time', () => {
    expect(evaluate({ services: ['inactive', 'active'] }).problems).toEqual([
      'service jupyterhub is inactive',
    ]);
    expect(evaluate({ services: ['active', 'failed'] }).problems).toEqual([
      'service traefik is failed',
    ]);
    expect(evaluate({ services: ['active', ''] }).problems).toEqual(['service traefik is unknown']);
  });

  test('missing or incomplete installer log', () => {
    expect(evaluate({ installerLog: 'missing', logTail: [] }).problems).toEqual([
      "/opt/tljh/installer.log does not end with 'Done!' (missing)",
    ]);
    expect(evaluate({ installerLog: 'incomplete' }).healthy).toBe(false);
  });

  test('an error line from the script is reported first', () => {
    const health = evaluate({ error: 'another process held the dpkg lock for too long' });
    expect(health.healthy).toBe(false);
    expect(health.problems[0]).toBe('another process held the dpkg lock for too long');
  });

  test('truncated output (cut before the checks) is unhealthy, never healthy by default', () => {
    const full = reportStdout({ installerExit: 0 });
    const health = evaluateReport(
      parseReport(full.slice(0, full.indexOf('::tljh:: phase=verify'))),
    );
    expect(health.healthy).toBe(false);
    expect(health.problems).toEqual([
      "/opt/tljh/installer.log does not end with 'Done!' (not checked)",
      'service jupyterhub is unknown',
      'service traefik is unknown',
      '/hub/api on the instance answered nothing without a hub version',
    ]);
  });
});

describe('hubVersion', () => {
  test.each<[string, string | undefined]>([
    ['{"version": "5.3.0"}', '5.3.0'],
    ['{"version":"3.0.0","extra":1}', '3.0.0'],
    ['{"version": ""}', undefined],
    ['{"version": 5}', undefined],
    ['{"version": null}', undefined],
    ['{}', undefined],
    ['null', undefined],
    ['"5.3.0"', undefined],
    ['[]', undefined],
    ['', undefined],
    ['<html>403</html>', undefined],
    ['{"version": "5.3.0"', undefined],
  ])('%j -> %j', (body, version) => {
    expect(hubVersion(body)).toBe(version);
  });
});

describe('probing /hub/api from the runner', () => {
  let server: TestServer;
  let mode: 'hub' | '403' | '500' | 'html' | 'redirect' | 'hang' = 'hub';
  const hanging: import('node:http').ServerResponse[] = [];

  beforeAll(async () => {
    server = await startServer((req, res) => {
      switch (mode) {
        case 'hub':
          return liveHub('3.0.0')(req, res);
        case '403':
          res.writeHead(403, { 'content-type': 'text/html' });
          return res.end('<html>Installing The Littlest JupyterHub</html>');
        case '500':
          return json(res, 500, { version: '5.3.0' });
        case 'html':
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>It works!</html>');
        case 'redirect':
          res.writeHead(302, { location: '/hub/login' });
          return res.end();
        case 'hang':
          hanging.push(res);
          return;
      }
    });
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    await server.close();
  });
  beforeEach(() => {
    mode = 'hub';
    server.hits.length = 0;
  });

  test('200 JSON with a version is ok, and it is GET /hub/api', async () => {
    expect(await probeHubApi(server.url)).toEqual({ ok: true, status: 200, version: '3.0.0' });
    expect(server.hits).toEqual(['GET /hub/api']);
  });

  test('403 (the progress page) is not ok', async () => {
    mode = '403';
    const result = await probeHubApi(server.url);
    expect(result).toEqual({ ok: false, status: 403, version: undefined });
    expect(describeProbe(result)).toBe('403 (the install progress page, not a live hub)');
  });

  test('500 is not ok even with a version in the body', async () => {
    mode = '500';
    const result = await probeHubApi(server.url);
    expect(result).toEqual({ ok: false, status: 500, version: undefined });
    expect(describeProbe(result)).toBe('HTTP 500 without a hub version');
  });

  test('200 that is not JSON is not ok', async () => {
    mode = 'html';
    expect(await probeHubApi(server.url)).toEqual({ ok: false, status: 200, version: undefined });
  });

  test('a redirect is not followed', async () => {
    mode = 'redirect';
    expect(await probeHubApi(server.url)).toMatchObject({ ok: false, status: 302 });
    expect(server.hits).toEqual(['GET /hub/api']);
  });

  test('a server that never answers times out', async () => {
    mode = 'hang';
    const result = await probeHubApi(server.url, 200);
    expect(result.ok).toBe(false);
    expect(result.status).toBeUndefined();
    expect(result.error).toBe('ETIMEDOUT');
    expect(describeProbe(result)).toBe('no answer (ETIMEDOUT)');
  });

  test('waitForHubApi returns as soon as the hub answers, sleeping on the clock', async () => {
    let calls = 0;
    mode = '403';
    const clock = new FakeClock();
    const t0 = clock.now();
    const sleep = clock.sleep;
    clock.sleep = async (ms) => {
      calls += 1;
      if (calls === 2) mode = 'hub';
      await sleep(ms);
    };
    const result = await waitForHubApi(server.url, { clock, intervalMs: 5000, timeoutMs: 60_000 });
    expect(result).toEqual({ ok: true, status: 200, version: '3.0.0' });
    expect(server.hits).toHaveLength(3);
    expect(clock.sleeps).toEqual([5000, 5000]);
    expect(clock.now() - t0).toBe(10_000);
  });

  test('waitForHubApi gives up after the timeout with the last answer', async () => {
    mode = '500';
    const clock = new FakeClock();
    const result = await waitForHubApi(server.url, { clock, intervalMs: 5000, timeoutMs: 20_000 });
    expect(result).toMatchObject({ ok: false, status: 500 });
    // Probes at 0, 5, 10, 15 and 20 s.
    expect(server.hits).toHaveLength(5);
    expect(clock.sleeps).toEqual([5000, 5000, 5000, 5000]);
  });

  test('waitForHubApi says about once a minute what the last probe saw', async () => {
    mode = '403';
    const clock = new FakeClock();
    const lines: string[] = [];
    const result = await waitForHubApi(server.url, {
      clock,
      intervalMs: 20_000,
      timeoutMs: 150_000,
      progress: (l) => lines.push(l),
    });
    expect(result.status).toBe(403);
    expect(lines).toEqual([
      `Still waiting for ${server.url}hub/api (1m00s, last: 403 (the install progress page, not a live hub))`,
      `Still waiting for ${server.url}hub/api (2m00s, last: 403 (the install progress page, not a live hub))`,
    ]);
    // Probes at 0, 20, ..., 140 and at the deadline, 150 s.
    expect(server.hits).toHaveLength(9);
  });

  test('waitForHubApi with a zero timeout probes exactly once', async () => {
    mode = '403';
    const clock = new FakeClock();
    const result = await waitForHubApi(server.url, { clock, intervalMs: 5000, timeoutMs: 0 });
    expect(result.status).toBe(403);
    expect(server.hits).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });
});

describe('connection refused', () => {
  let url: string;
  beforeAll(async () => {
    // Take a free loopback port, then release it: nothing listens there afterwards.
    const probe: NetServer = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  test('probeHubApi reports ECONNREFUSED', async () => {
    const result = await probeHubApi(url);
    expect(result).toEqual({ ok: false, error: 'ECONNREFUSED', certificateError: false });
    expect(describeProbe(result)).toBe('no answer (ECONNREFUSED)');
  });

  test('waitForHubApi keeps trying until the timeout', async () => {
    const clock = new FakeClock();
    const result = await waitForHubApi(url, { clock, intervalMs: 1000, timeoutMs: 3000 });
    expect(result).toEqual({ ok: false, error: 'ECONNREFUSED', certificateError: false });
    expect(clock.sleeps).toEqual([1000, 1000, 1000]);
  });
});

test('describeProbe for a live hub', () => {
  expect(describeProbe({ ok: true, status: 200, version: '5.3.0' })).toBe('200, JupyterHub 5.3.0');
});

describe('the user-server check and the installer exit status', () => {
  const evaluate = (fields: string) => evaluateReport(parseReport(fields));
  const healthy = [
    '::tljh:: installer-exit=0',
    '::tljh:: installer-log=done',
    '::tljh:: service-jupyterhub=active',
    '::tljh:: service-traefik=active',
    '::tljh:: api-status=200',
    '::tljh:: api-body={"version": "5.2.1"}',
  ];

  test('a hub whose users cannot start a server is not healthy, whatever /hub/api says', () => {
    const report = [
      ...healthy,
      '::tljh:: user-server-log-begin',
      'PermissionError: [Errno 13] Permission denied: /opt/tljh/user/bin/python3',
      '::tljh:: user-server-log-end',
      '::tljh:: user-server=exited',
    ].join('\n');
    const health = evaluate(report);
    expect(health.healthy).toBe(false);
    expect(health.problems).toEqual([
      "a user's server did not start from /opt/tljh/user as an unprivileged user: it exited at once (PermissionError: [Errno 13] Permission denied: /opt/tljh/user/bin/python3)",
    ]);
  });

  test('a user server that answers keeps the hub healthy', () => {
    expect(evaluate([...healthy, '::tljh:: user-server=ok'].join('\n')).healthy).toBe(true);
  });
});

test("verificationMs: the checks' time from the script's stamps, or nothing", () => {
  expect(verificationMs(parseReport(reportStdout({ installerExit: 0, verifyMs: 1234 })))).toBe(
    1234,
  );
  expect(verificationMs(parseReport(reportStdout({ installerExit: 0 })))).toBeUndefined();
  const backwards = '::tljh:: verify-started=2000\n::tljh:: verify-ended=1000\n';
  expect(verificationMs(parseReport(backwards))).toBeUndefined();
});
