// The hub's health: its public URL from the runner, and the verify script on the instance.
import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { createServer, type AddressInfo } from 'node:net';
import { ActionError } from '../src/errors.ts';
import {
  PUBLIC_PROBE_MS,
  hubUrlFor,
  probePublicUrl,
  verifyOnInstance,
  verifyPublicUrl,
} from '../src/hub-health.ts';
import type { HubSpec } from '../src/inputs/spec.ts';
import type { SsmWaitContext } from '../src/run-command.ts';
import {
  FakeClock,
  liveHub,
  rejection,
  reportStdout,
  startPublicHub,
  type TestServer,
} from './helpers/fakes.ts';
import { useMockedSsm } from './helpers/mocked-clients.ts';
import { RecordingLog } from './helpers/recording-log.ts';

// A loopback network of this file's own (see helpers/public-hubs.ts for why).
const NET = '127.88.41';
const ID = 'i-0123456789abcdef0';
const HTTP = { https: undefined } as HubSpec;
const HTTPS = {
  https: { domain: 'hub.example.org', email: 'a@example.org', waitMinutes: 5 },
} as HubSpec;

const { ssmMock, ssm } = useMockedSsm();
let hub: TestServer & { publicIp: string };
/** A 127.x address and port where nothing listens: the probe is refused. */
let deadIp: string;
let clock: FakeClock;
let infos: string[];
let warnings: string[];
let ctx: SsmWaitContext;

beforeAll(async () => {
  hub = await startPublicHub(`${NET}.1`, liveHub('5.3.0'));
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, `${NET}.9`, resolve));
  deadIp = `${NET}.9:${(free.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => free.close(() => resolve()));
});
afterAll(async () => {
  await hub.close();
});
beforeEach(() => {
  hub.hits.length = 0;
  clock = new FakeClock();
  const log = new RecordingLog();
  ({ infos, warnings } = log);
  ctx = { ssm, clock, pollMs: 5000, log };
});

test('hubUrlFor: the public IP over HTTP, the domain over HTTPS, nothing without either', () => {
  expect(hubUrlFor(HTTP, '203.0.113.7')).toBe('http://203.0.113.7/');
  expect(hubUrlFor(HTTP, undefined)).toBeUndefined();
  expect(hubUrlFor(HTTPS, '203.0.113.7')).toBe('https://hub.example.org/');
  expect(hubUrlFor(HTTPS, undefined)).toBe('https://hub.example.org/');
});

describe('verifyPublicUrl', () => {
  test('a live hub: its version and the line for the job summary', async () => {
    const result = await verifyPublicUrl(
      ctx,
      HTTP,
      { instanceId: ID, publicIp: hub.publicIp },
      60_000,
    );
    const url = `http://${hub.publicIp}/`;
    expect(result).toEqual({
      check: `${url}hub/api from the runner: 200, JupyterHub 5.3.0`,
      version: '5.3.0',
    });
    expect(result!.httpsPending).toBeUndefined();
    expect(hub.hits).toEqual(['GET /hub/api']);
    expect(infos).toContain(`${url}hub/api answers from the runner: 200, JupyterHub 5.3.0`);
    expect(clock.sleeps).toEqual([]);
  });

  test('no public IP: undefined and a warning, no probe', async () => {
    expect(await verifyPublicUrl(ctx, HTTP, { instanceId: ID }, 60_000)).toBeUndefined();
    expect(warnings).toEqual([
      `${ID} has no public IP address: the hub is not reachable from the internet.`,
    ]);
    expect(hub.hits).toEqual([]);
  });

  test('no answer over HTTP: tried for the whole time, then an ActionError about allowed-cidrs', async () => {
    const t0 = clock.now();
    const err = await rejection(
      verifyPublicUrl(ctx, HTTP, { instanceId: ID, publicIp: deadIp }, PUBLIC_PROBE_MS),
    );
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toBe(
      `The hub is healthy on the instance, but http://${deadIp}/hub/api does not answer from this runner: no answer (ECONNREFUSED).`,
    );
    expect(err.hint).toContain("'allowed-cidrs'");
    expect(clock.now() - t0).toBe(PUBLIC_PROBE_MS);
    expect(infos.filter((l) => l.startsWith('Still waiting'))).toEqual([
      `Still waiting for http://${deadIp}/hub/api (1m00s, last: no answer (ECONNREFUSED))`,
      `Still waiting for http://${deadIp}/hub/api (2m00s, last: no answer (ECONNREFUSED))`,
    ]);
  });

  test('no answer over HTTPS: says so first, and the hint names the DNS record', async () => {
    const ip = `${NET}.9`; // nothing listens on its port 443
    const err = await rejection(
      verifyPublicUrl(ctx, HTTPS, { instanceId: ID, publicIp: ip }, 10_000),
    );
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain('https://hub.example.org/hub/api does not answer');
    expect(err.hint).toContain(`hub.example.org has a DNS A record for ${ip}`);
    expect(infos[0]).toBe(
      `Waiting up to 10s for https://hub.example.org/ to present its Let's Encrypt certificate (issued once hub.example.org resolves to ${ip})...`,
    );
  });
});

describe('probePublicUrl: the cheap check of a hub verified before', () => {
  test('a live hub answers the one probe: no wait at all', async () => {
    const probe = await probePublicUrl(ctx, HTTP, hub.publicIp, 0);
    expect(probe).toMatchObject({ ok: true, version: '5.3.0' });
    expect(hub.hits).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(infos).toEqual([
      `Hub is healthy: http://${hub.publicIp}/hub/api answers 200, JupyterHub 5.3.0. Nothing to install.`,
    ]);
  });

  test('no answer: probed for the time given, then says the instance is asked', async () => {
    const probe = await probePublicUrl(ctx, HTTP, deadIp, 20_000);
    expect(probe).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(clock.sleeps).toEqual([5000, 5000, 5000, 5000]);
    expect(infos).toEqual([
      `http://${deadIp}/ does not answer like a live hub (no answer (ECONNREFUSED)); asking the instance.`,
    ]);
  });

  test('no public IP: no probe, undefined', async () => {
    expect(await probePublicUrl(ctx, HTTP, undefined, 60_000)).toBeUndefined();
    expect(infos).toEqual([
      'The hub does not answer like a live hub (no public IP); asking the instance.',
    ]);
  });
});

describe('verifyOnInstance', () => {
  const answer = (stdout: string) => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-v' } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: stdout });
  };

  test('runs the verify script for up to five minutes, and judges its report', async () => {
    answer(reportStdout({}));
    const { health, checks } = await verifyOnInstance(ctx, HTTP, ID);
    expect(health).toMatchObject({ healthy: true, version: '5.3.0', problems: [] });
    expect(checks).toContain("installer.log ends with 'Done!': done");
    const input = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(input.Comment).toBe('tljh-ec2-action: verify TLJH');
    expect(input.Parameters!.executionTimeout).toEqual(['300']);
    expect(input.Parameters!.commands![0]).toContain('phase=verify');
  });

  test('an unhealthy report says what is wrong', async () => {
    answer(reportStdout({ services: ['failed', 'active'] }));
    const { health } = await verifyOnInstance(ctx, HTTP, ID);
    expect(health.healthy).toBe(false);
    expect(health.problems).toContain('service jupyterhub is failed');
  });

  test('the presence check is passed on to the wait', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-v' } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const gone = new ActionError('gone');
    const err = await verifyOnInstance(ctx, HTTP, ID, () => Promise.reject(gone)).catch(
      (e: unknown) => e,
    );
    expect(err).toBe(gone);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(6);
  });
});
