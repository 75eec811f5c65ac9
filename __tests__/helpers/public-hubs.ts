// The hub addresses a test run's public probe reaches (all on loopback): a live hub, a hub that
// answers 503 until told it is healthy, and an address where nothing listens. Not a test file.
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { liveHub, startPublicHub, type TestServer } from './fakes.ts';

export interface PublicHubs {
  /** Answers /hub/api like a live JupyterHub 5.3.0. */
  hub: TestServer & { publicIp: string };
  /** Answers 503 until `flakyHealthy` is set, then like `hub`. */
  flaky: TestServer & { publicIp: string };
  flakyHealthy: boolean;
  /** A 127.x "public IP" with nothing listening: the runner's probe is refused. */
  deadIp: string;
}

/**
 * A loopback network of the test file's own (127.N.M.0/24, from its path): test files that run
 * one after another in a jest worker share Node's HTTP agent, whose kept-alive sockets to a hub
 * of an earlier file (closed since) would otherwise be reused and fail the first probe.
 */
function ownNet(): string {
  const digest = createHash('sha256')
    .update(expect.getState().testPath ?? '')
    .digest();
  return `127.${100 + (digest[0]! % 100)}.${digest[1]}`;
}

/** Starts the hubs once per test file and clears what they saw before each test. */
export function usePublicHubs(): PublicHubs {
  const hubs = {} as PublicHubs;
  const net = ownNet();
  beforeAll(async () => {
    hubs.hub = await startPublicHub(`${net}.1`, liveHub('5.3.0'));
    hubs.flaky = await startPublicHub(`${net}.2`, (req, res) => {
      if (hubs.flakyHealthy) return liveHub('5.3.0')(req, res);
      res.writeHead(503);
      res.end('Service Unavailable');
    });
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, `${net}.9`, resolve));
    hubs.deadIp = `${net}.9:${(free.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => free.close(() => resolve()));
  });
  afterAll(async () => {
    await hubs.hub.close();
    await hubs.flaky.close();
  });
  beforeEach(() => {
    hubs.hub.hits.length = 0;
    hubs.flaky.hits.length = 0;
    hubs.flakyHealthy = false;
  });
  return hubs;
}
