// Simulates the hubs' web front (TLJH's traefik on port 80, and 443 for HTTPS). It listens on
// 0.0.0.0, so every 127.x public IP that moto hands out reaches it; the local address a request
// arrived on tells which instance it is for. Only ever started inside the loopback-only
// namespace.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { AcmeLookups, LetsEncryptStandIn } from './acme.ts';
import { httpsSettings, traefikStarts } from './https-settings.ts';
import type { InstanceDirs } from './instance-dirs.ts';
import { instanceAtPeer } from './peer.ts';
import { answerRealHub, progressPagePort } from './real-hub.ts';
import { sendJson, sendText } from './http-util.ts';
import type { InstanceView, Moto } from './moto.ts';
import type { EmulatorState } from './state.ts';

export interface HubContext {
  state: EmulatorState;
  moto: Moto;
  dirs: InstanceDirs;
  /** Regions the action has used so far (where to look the address up). */
  regions: Set<string>;
  /** The CA for names in Route 53's hosted zones (acme.ts); without it, the scenario decides. */
  acme?: LetsEncryptStandIn;
}

/** How long the instances looked up for a TLS handshake are reused (the action polls). */
const LOOKUP_TTL_MS = 1000;

const PROGRESS_PAGE =
  '<!DOCTYPE html><html><head><title>The Littlest Jupyterhub</title></head>' +
  '<body><p>Please wait while your TLJH is setting up...</p></body></html>\n';

async function instanceAt(ctx: HubContext, address: string): Promise<InstanceView | undefined> {
  for (const region of ctx.regions) {
    const found = (await ctx.moto.listInstances(region)).find((i) => i.publicIp === address);
    if (found) return found;
  }
  return undefined;
}

/** An instance running TLJH's own code, asking its own hub at 127.0.0.1 or by its public IP. */
async function answerReal(
  ctx: HubContext,
  instanceId: string,
  req: IncomingMessage,
  res: ServerResponse,
  tls: boolean,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const host = String(req.headers.host ?? '127.0.0.1').replace(/:\d+$/, '');
  const root = ctx.dirs.diskRoot(instanceId);
  // TLJH's progress page holds the instance's port 80 while its server runs (real-hub.ts).
  const progressPort = tls ? undefined : progressPagePort(root);
  if (progressPort && (await forward(progressPort, req, res))) return;
  const answer = answerRealHub(root, path, tls, host);
  switch (answer.kind) {
    case 'refuse':
      req.socket.destroy(); // nothing listens on that port of the instance
      return;
    case 'redirect':
      res.writeHead(301, { location: answer.location, 'content-length': 0 });
      res.end();
      return;
    case 'not-found':
      return sendText(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
    case 'api':
      return sendJson(res, 200, { version: answer.version });
  }
}

/**
 * Passes a request to the server listening on 127.0.0.1:`port`, and its answer back; false,
 * with nothing sent, when nothing listens there (any more).
 */
function forward(port: number, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const out = request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => resolve(true));
        answer.on('error', () => resolve(true));
      },
    );
    out.on('error', () => {
      if (!res.headersSent) resolve(false);
      else {
        res.destroy();
        resolve(true);
      }
    });
    req.pipe(out);
  });
}

async function answer(ctx: HubContext, req: IncomingMessage, res: ServerResponse, tls = false) {
  const path = (req.url ?? '/').split('?')[0];
  const address = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
  // 127.0.0.1 is every instance's own loopback: the process that connected tells which.
  const own = address === '127.0.0.1' ? instanceAtPeer(req.socket.remotePort) : undefined;
  const instance = own ? undefined : await instanceAt(ctx, address);
  const instanceId = own ?? instance?.id;
  if (instanceId && ctx.dirs.isReal(instanceId) && (own || instance?.state === 'running')) {
    return answerReal(ctx, instanceId, req, res, tls);
  }
  if (req.method !== 'GET' || (path !== '/hub/api' && path !== '/hub/api/')) {
    return sendText(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
  }
  if (instance?.state === 'running') {
    // Over TLS only once tljh-config turned HTTPS on (the stub marks it).
    if (ctx.dirs.has(instance.id, 'installed') && (!tls || ctx.dirs.has(instance.id, 'https'))) {
      return sendJson(res, 200, { version: ctx.state.scenario.hubVersion });
    }
    if (ctx.dirs.has(instance.id, 'progressPage')) {
      return sendText(res, 403, PROGRESS_PAGE, 'text/html; charset=utf-8');
    }
  }
  const why = instance ? `instance ${instance.id} is ${instance.state}` : `no instance`;
  sendText(res, 503, `Service Unavailable (emulator: ${why} at ${address})\n`, 'text/plain');
}

/**
 * traefik's own certificate, presented while no ACME certificate exists for the name asked
 * (CN "TRAEFIK DEFAULT CERT", self-signed): what a hub shows until Let's Encrypt can reach it.
 */
function traefikDefaultCertificate(dir: string): { cert: Buffer; key: Buffer } {
  const cert = join(dir, 'traefik-default.pem');
  const key = join(dir, 'traefik-default.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2'].concat([
      '-subj',
      '/CN=TRAEFIK DEFAULT CERT',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

/**
 * What the Let's Encrypt stand-in (acme.ts) needs to know, from moto and the instances' disks;
 * `addressesOf` is Route 53's (route53.ts).
 */
export function hubLookups(ctx: HubContext, addressesOf: AcmeLookups['addressesOf']): AcmeLookups {
  let cache: { at: number; instances: Promise<InstanceView[]> } | undefined;
  const instances = () => {
    if (!cache || Date.now() - cache.at > LOOKUP_TTL_MS) {
      const all = Promise.all(
        [...ctx.regions].map((region) => ctx.moto.listInstances(region)),
      ).then((lists) => lists.flat());
      all.catch(() => (cache = undefined));
      cache = { at: Date.now(), instances: all };
    }
    return cache.instances;
  };
  const byId = async (id: string) => (await instances()).find((i) => i.id === id);
  return {
    addressesOf,
    async instanceAt(address, remotePort) {
      const own = address === '127.0.0.1' ? instanceAtPeer(remotePort) : undefined;
      return (await instances()).find((i) => (own ? i.id === own : i.publicIp === address));
    },
    instance: byId,
    async ingress(instanceId) {
      const found = await byId(instanceId);
      return found ? ctx.moto.ingressOf(found.region, found.securityGroupIds) : [];
    },
    settings: (instanceId) => httpsSettings(ctx.dirs, instanceId),
    acmeJson: (instanceId) => ctx.dirs.optPath(instanceId, 'tljh', 'state', 'acme.json'),
    traefikStarts: (instanceId) => traefikStarts(ctx.dirs, instanceId),
    forget() {
      cache = undefined;
    },
  };
}

/**
 * The hubs' HTTPS side. The certificate the hub's traefik has from Let's Encrypt (the stand-in,
 * acme.ts) for the name, or, for a name in one of Route 53's hosted zones, its default one
 * (acme.ts). For any other name: the certificate Let's Encrypt would issue for *.example.org,
 * or, while scenario.certificateIssued is false (DNS does not point at the hub yet), traefik's
 * default. Each connection is wrapped here, so that the certificate can depend
 * on the address it arrived at (the SNI callback sees only the name).
 */
export function startHubTls(
  ctx: HubContext,
  port: number,
  certFile: string,
  keyFile: string,
): Promise<NetServer> {
  const issued = createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  const fallback = createSecureContext(traefikDefaultCertificate(dirname(certFile)));
  const choose = async (name: string, address: string, remotePort?: number) => {
    const choice = await ctx.acme?.choose(name, address, remotePort);
    if (choice?.kind === 'issued') return choice.context;
    if (choice?.kind === 'traefik-default') return fallback;
    return ctx.state.scenario.certificateIssued ? issued : fallback;
  };
  const http = createServer((req, res) => {
    answer(ctx, req, res, true).catch((err: unknown) => {
      if (!res.headersSent) sendText(res, 500, `emulator hub: ${String(err)}\n`, 'text/plain');
      else res.destroy();
    });
  });
  http.on('clientError', (_err, socket) => socket.destroy());
  const server = createNetServer((socket) => {
    const address = (socket.localAddress ?? '').replace(/^::ffff:/, '');
    const remotePort = socket.remotePort;
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: issued, // a client that sends no name
      SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
        choose(name, address, remotePort).then(
          (context) => cb(null, context),
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
        );
      },
    });
    tls.on('error', () => socket.destroy());
    http.emit('connection', tls);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

export function startHub(ctx: HubContext, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    answer(ctx, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendText(res, 500, `emulator hub: ${String(err)}\n`, 'text/plain');
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
