// Simulates the hubs' web front (TLJH's traefik on port 80). It listens on 0.0.0.0, so every
// 127.x public IP that moto hands out reaches it; the local address a request arrived on
// tells which instance it is for. Only ever started inside the loopback-only namespace.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { dirname, join } from 'node:path';
import { createSecureContext } from 'node:tls';
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
}

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
 * The hubs' HTTPS side: the certificate Let's Encrypt would issue for *.example.org, or, while
 * scenario.certificateIssued is false (DNS does not point at the hub yet), traefik's default.
 */
export function startHubTls(
  ctx: HubContext,
  port: number,
  certFile: string,
  keyFile: string,
): Promise<Server> {
  const issued = createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  const fallback = createSecureContext(traefikDefaultCertificate(dirname(certFile)));
  const server = createTlsServer(
    {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      SNICallback: (_name, cb) =>
        cb(null, ctx.state.scenario.certificateIssued ? issued : fallback),
    },
    (req, res) => {
      answer(ctx, req, res, true).catch((err: unknown) => {
        if (!res.headersSent) sendText(res, 500, `emulator hub: ${String(err)}\n`, 'text/plain');
        else res.destroy();
      });
    },
  );
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
