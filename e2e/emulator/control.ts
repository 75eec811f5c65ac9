// The tests' control API under /__emu/: scenario, recorded calls, held calls, reset, health,
// EC2's own doings to Spot hubs (an interruption, capacity coming and going), and the images
// the front made (what each one's disk holds that no image should).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LetsEncryptStandIn } from './acme.ts';
import type { Agents } from './agents.ts';
import type { Commands } from './commands.ts';
import type { FaultInjector } from './faults.ts';
import type { Holds } from './holds.ts';
import type { Images } from './images.ts';
import { isRecord, readBody, sendJson } from './http-util.ts';
import type { ClientTokens } from './idempotency.ts';
import type { InstanceDirs } from './instance-dirs.ts';
import type { Moto } from './moto.ts';
import type { Route53Front } from './route53.ts';
import type { SpotRequests } from './spot.ts';
import type { EmulatorState } from './state.ts';
import type { Transitions } from './transitions.ts';

export interface ControlContext {
  state: EmulatorState;
  moto: Moto;
  agents: Agents;
  commands: Commands;
  dirs: InstanceDirs;
  transitions: Transitions;
  faults: FaultInjector;
  holds: Holds;
  tokens: ClientTokens;
  spot: SpotRequests;
  images: Images;
  route53?: Route53Front;
  acme?: LetsEncryptStandIn;
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
  if (!isRecord(parsed)) throw new Error('expected a JSON object');
  return parsed;
}

export async function handleControl(
  ctx: ControlContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
  switch (route) {
    case 'GET /__emu/health': {
      const motoUp = await ctx.moto.isUp();
      return sendJson(res, motoUp ? 200 : 503, { ok: motoUp, moto: ctx.moto.url.origin });
    }
    case 'GET /__emu/calls':
      return sendJson(res, 200, ctx.state.calls);
    case 'GET /__emu/scenario':
      return sendJson(res, 200, ctx.state.scenario);
    case 'POST /__emu/scenario': {
      try {
        const patch = await jsonBody(req);
        const scenario = ctx.state.merge(patch);
        // A new fault schedule or pause starts counting calls afresh.
        if ('faults' in patch) ctx.faults.reset();
        if ('pauseOn' in patch) ctx.holds.arm();
        return sendJson(res, 200, scenario);
      } catch (err) {
        return sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    case 'POST /__emu/transitions': {
      // {"i-...": {"state": "stopping", "answers": 3}}: see transitions.ts.
      try {
        return sendJson(res, 200, ctx.transitions.set(await jsonBody(req)));
      } catch (err) {
        return sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    case 'POST /__emu/spot/interrupt':
    case 'POST /__emu/spot/capacity': {
      // {"instanceId": "i-..."}: EC2 interrupts it (stops it; Spot capacity is gone).
      // {"available": true, "afterMs": 5000}: capacity returns (EC2 starts interrupted ones).
      try {
        const body = await jsonBody(req);
        if (route.endsWith('interrupt')) {
          if (typeof body.instanceId !== 'string') throw new Error('instanceId is required');
          return sendJson(res, 200, await ctx.spot.interrupt(body.instanceId));
        }
        if (typeof body.available !== 'boolean') throw new Error('available must be a boolean');
        const afterMs = typeof body.afterMs === 'number' ? body.afterMs : 0;
        return sendJson(res, 200, await ctx.spot.setCapacity(body.available, afterMs));
      } catch (err) {
        return sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
      }
    }
    case 'GET /__emu/images':
      // The images the front made, with what each one's disk holds that no image should.
      return sendJson(res, 200, ctx.images.list());
    case 'GET /__emu/held':
      return sendJson(res, 200, ctx.holds.list());
    case 'POST /__emu/release':
      return sendJson(res, 200, { released: ctx.holds.releaseAll() });
    case 'POST /__emu/reset': {
      // {"aws": true} also forgets every AWS resource: moto's, the agents', the disks'.
      const body = await jsonBody(req);
      ctx.state.reset();
      ctx.transitions.clear();
      ctx.faults.reset();
      ctx.holds.releaseAll();
      ctx.holds.arm();
      ctx.spot.reset(body.aws === true);
      if (body.aws === true) {
        ctx.tokens.clear();
        ctx.commands.clear();
        ctx.agents.clear();
        await ctx.moto.reset();
        await ctx.moto.seedAccount();
        ctx.dirs.clear(); // the image store with them
        ctx.images.reset();
        ctx.route53?.reset();
        ctx.acme?.reset();
      }
      return sendJson(res, 200, { ok: true, scenario: ctx.state.scenario });
    }
    default:
      return sendJson(res, 404, { error: `no emulator route ${route}` });
  }
}
