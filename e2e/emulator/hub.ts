// Simulates the hubs' web front (TLJH's traefik on port 80). It listens on 0.0.0.0, so every
// 127.x public IP that moto hands out reaches it; the local address a request arrived on
// tells which instance it is for. Only ever started inside the loopback-only namespace.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { InstanceDirs } from './instance-dirs.ts';
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

async function answer(ctx: HubContext, req: IncomingMessage, res: ServerResponse, tls = false) {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' || (path !== '/hub/api' && path !== '/hub/api/')) {
    return sendText(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
  }
  const address = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
  const instance = await instanceAt(ctx, address);
  if (instance?.state === 'running') {
    // Over TLS only once tljh-config turned HTTPS on (the stub marks it).
    if (ctx.dirs.has(instance.id, 'installed') && (!tls || ctx.dirs.has(instance.id, 'https'))) {
      return sendJson(res, 200, { version: ctx.state.scenario.hubVersion });
    }
    if (ctx.dirs.has(instance.id, 'installing')) {
      return sendText(res, 403, PROGRESS_PAGE, 'text/html; charset=utf-8');
    }
  }
  const why = instance ? `instance ${instance.id} is ${instance.state}` : `no instance`;
  sendText(res, 503, `Service Unavailable (emulator: ${why} at ${address})\n`, 'text/plain');
}

/** The hubs' HTTPS side (Let's Encrypt in real life): a certificate for *.example.org. */
export function startHubTls(
  ctx: HubContext,
  port: number,
  certFile: string,
  keyFile: string,
): Promise<Server> {
  const server = createTlsServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile) },
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
