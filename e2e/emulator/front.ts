// The local AWS endpoint the action talks to (AWS_ENDPOINT_URL). EC2 goes to moto verbatim;
// SSM is answered here where moto falls short (see ssm.ts); /__emu/ is the tests' control API.
//
//   node e2e/emulator/front.ts --port 4566 --moto http://127.0.0.1:5000 [--hub-port 80]
//        [--state-dir e2e/.tmp/instances]
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agents } from './agents.ts';
import { Commands } from './commands.ts';
import { handleControl } from './control.ts';
import { startHub } from './hub.ts';
import { readBody, sendText, signedRegion, signedService } from './http-util.ts';
import { InstanceDirs } from './instance-dirs.ts';
import { Moto } from './moto.ts';
import { handleSsm, parseSsmBody, type SsmContext } from './ssm.ts';
import { EmulatorState } from './state.ts';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    moto: { type: 'string' },
    'hub-port': { type: 'string', default: '80' },
    'state-dir': { type: 'string', default: join(import.meta.dirname, '..', '.tmp', 'instances') },
  },
});
if (!args.port || !args.moto) {
  console.error('usage: node front.ts --port N --moto http://127.0.0.1:M [--hub-port 80]');
  process.exit(2);
}

const DEFAULT_REGION = 'us-east-1';
// Instance state changes that make the SSM agent go away and register again.
const RESTARTING = new Set([
  'RunInstances',
  'StartInstances',
  'StopInstances',
  'RebootInstances',
  'TerminateInstances',
]);

const stateDir = resolve(args['state-dir']);
rmSync(stateDir, { recursive: true, force: true }); // moto starts empty, so do the disks
const dirs = new InstanceDirs(stateDir);
const moto = new Moto(args.moto);
const state = new EmulatorState();
const agents = new Agents();
const commands = new Commands(dirs, join(import.meta.dirname, 'stubs'));
const regions = new Set([DEFAULT_REGION]);
const ssmContext: SsmContext = { state, moto, agents, commands };

async function forwardToMoto(
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
): Promise<number> {
  const answer = await moto.forward(req.method ?? 'POST', req.url ?? '/', req.headers, body);
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
  return answer.status;
}

async function handleAws(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const region = signedRegion(req) ?? DEFAULT_REGION;
  regions.add(region);
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('AmazonSSM.')) {
    const operation = target.slice('AmazonSSM.'.length);
    const params = parseSsmBody(body);
    const call = state.record({ service: 'ssm', operation, params });
    log(`ssm ${operation}`);
    await handleSsm(
      ssmContext,
      {
        operation,
        params,
        region,
        forward: async () => {
          await forwardToMoto(req, res, body);
        },
      },
      res,
    );
    call.status = res.statusCode;
    return;
  }
  const form = Object.fromEntries(new URLSearchParams(body));
  const operation = form.Action ?? (typeof target === 'string' ? target : 'unknown');
  const service = signedService(req) === 'ec2' || (form.Action && !target) ? 'ec2' : 'other';
  const call = state.record({ service, operation, params: form });
  log(`${service} ${operation}`);
  if (service === 'ec2' && RESTARTING.has(operation)) {
    for (const [key, id] of Object.entries(form)) {
      if (/^InstanceId\.\d+$/.test(key)) agents.forget(id);
    }
  }
  call.status = await forwardToMoto(req, res, body);
}

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

const front = createServer((req, res) => {
  const handler = (req.url ?? '').startsWith('/__emu/')
    ? handleControl({ state, moto, agents, commands, dirs }, req, res)
    : handleAws(req, res);
  handler.catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    log(`error: ${message}`);
    if (!res.headersSent) sendText(res, 500, `emulator front: ${message}\n`, 'text/plain');
    else res.destroy();
  });
});

const hub = await startHub({ state, moto, dirs, regions }, Number(args['hub-port'])).catch(
  (err: unknown) => {
    console.error(`emulator: cannot listen for hubs on port ${args['hub-port']}: ${String(err)}`);
    process.exit(1);
  },
);
front.once('error', (err) => {
  console.error(`emulator: cannot listen on 127.0.0.1:${args.port}: ${err.message}`);
  process.exit(1);
});
front.listen(Number(args.port), '127.0.0.1', () => {
  log(
    `front on http://127.0.0.1:${args.port}, moto ${moto.url.origin}, hubs on :${args['hub-port']}`,
  );
});

function shutdown(signal: string): void {
  log(`${signal}: stopping`);
  commands.killAll();
  front.close();
  hub.close();
  front.closeAllConnections();
  hub.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
