// About 460 lines: the one request router of the emulator; each gap it fills lives in its own module.
// The local AWS endpoint the action talks to (AWS_ENDPOINT_URL). EC2 goes to moto verbatim
// (but RunInstances is idempotent per ClientToken here, see idempotency.ts, Spot requests
// are kept here, see spot.ts, images made from instances follow EC2, with the instance's
// disk, see images.ts, and an associated Elastic IP is not released, see addresses.ts); SSM
// is answered here where moto falls short (see ssm.ts); Route 53 goes to moto with its changes
// and batches as Route 53 has them (route53.ts); /__emu/ is the tests' control API. Every AWS
// call can be hit by an injected fault (faults.ts) or held (holds.ts), as the scenario says.
// The hubs' web front (hub.ts) answers on port 80 and 443, with the Let's Encrypt stand-in
// (acme.ts) when --acme-dir holds its authorities.
//
//   node e2e/emulator/front.ts --port 4566 --moto http://127.0.0.1:5000 [--hub-port 80]
//        [--state-dir e2e/.tmp/instances] [--tls-cert F --tls-key F] [--acme-dir D]
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LetsEncryptStandIn } from './acme.ts';
import { addressRefusal, namedAddress, targetInterface } from './addresses.ts';
import { Agents } from './agents.ts';
import { Commands } from './commands.ts';
import { DOWNLOADS_PREFIX, handleDownload } from './downloads.ts';
import { handleControl } from './control.ts';
import { FaultInjector, sendEc2Error, sendFault } from './faults.ts';
import {
  OneAtATime,
  SERIAL_STATE_CHANGES,
  STATE_CHANGES,
  VolumeLookup,
  recordRootVolumeSize,
  refusal,
  requestedInstances,
  rewriteAnswer,
  volumeRefusal,
} from './state-rules.ts';
import { Holds } from './holds.ts';
import { hubLookups, startHub, startHubTls } from './hub.ts';
import { readBody, sendText, signedAccessKey, signedRegion, signedService } from './http-util.ts';
import { ClientTokens } from './idempotency.ts';
import { InstanceDirs } from './instance-dirs.ts';
import { mountRealDisk } from './real-instance.ts';
import { Moto, type ForwardedResponse } from './moto.ts';
import { handleImds, imdsEndpoint } from './imds.ts';
import { Images } from './images.ts';
import { isRoute53, parseRoute53Request, Route53Front } from './route53.ts';
import { SpotRequests } from './spot.ts';
import { handleSsm, parseSsmBody, type SsmContext } from './ssm.ts';
import { EmulatorState, type RecordedCall } from './state.ts';
import { Transitions } from './transitions.ts';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    moto: { type: 'string' },
    'hub-port': { type: 'string', default: '80' },
    'tls-cert': { type: 'string' },
    journal: { type: 'string' },
    'tls-key': { type: 'string' },
    'acme-dir': { type: 'string' },
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

// Answers that start an instance booting (scenario.bootDelayMs).
const BOOTING = new Set(['RunInstances', 'StartInstances']);

const stateDir = resolve(args['state-dir']);
const dirs = new InstanceDirs(stateDir);
dirs.clear(); // moto starts empty, so do the disks
const moto = new Moto(args.moto);
const state = new EmulatorState(args.journal);
const agents = new Agents();
const frontUrl = `http://127.0.0.1:${args.port}`;
// The stubs hand the action's own helper (real Python code) to the real interpreter.
const realPython = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();
const commands = new Commands(
  dirs,
  join(import.meta.dirname, 'light'),
  (instanceId) => ({
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint(frontUrl, instanceId),
    AWS_ENDPOINT_URL_SSM: frontUrl,
    EMU_REAL_PYTHON: realPython,
  }),
  `${frontUrl}${DOWNLOADS_PREFIX.slice(0, -1)}`,
  // A command that (re)started the hub's traefik: its ACME resolver's attempt (acme.ts).
  (instanceId) => acme?.afterCommand(instanceId) ?? Promise.resolve(),
);
const regions = new Set([DEFAULT_REGION]);
const transitions = new Transitions();
const ssmContext: SsmContext = { state, moto, agents, commands };
const faults = new FaultInjector();
const holds = new Holds();
const tokens = new ClientTokens();
const volumes = new VolumeLookup(moto.url.origin);
const spot = new SpotRequests(moto, agents, log);
const images = new Images({ moto, dirs, agents, scenario: () => state.scenario, log });
const stateChanges = new OneAtATime();
const route53 = new Route53Front(moto);
const hubContext = { state, moto, dirs, regions };
const acme = args['acme-dir']
  ? new LetsEncryptStandIn(
      resolve(args['acme-dir']),
      hubLookups(hubContext, (name) => route53.addressesOf(name)),
      log,
    )
  : undefined;
const controlContext = {
  state,
  moto,
  agents,
  commands,
  dirs,
  transitions,
  faults,
  holds,
  tokens,
  spot,
  images,
  route53,
  acme,
};

/** Sends moto's answer for this request (a RunInstances is idempotent per ClientToken). */
async function forwardToMoto(
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
  region: string,
  form?: Record<string, string>,
): Promise<void> {
  const forward = () => moto.forward(req.method ?? 'POST', req.url ?? '/', req.headers, body);
  let answer: ForwardedResponse;
  if (form?.Action === 'RunInstances') {
    const outcome = await tokens.runInstances(region, form, forward);
    if (outcome.kind === 'mismatch') {
      return sendEc2Error(
        res,
        400,
        'IdempotentParameterMismatch',
        `Arguments on this idempotent request are inconsistent with arguments used in previous request(s) (ClientToken ${form.ClientToken}).`,
      );
    }
    answer = outcome.answer;
  } else {
    answer = await forward();
  }
  // moto's state changes are instant; a test may ask to see them in transition. Some other
  // answers differ from EC2's (state-rules.ts).
  let shown = answer.body;
  if (answer.status === 200 && form?.Action === 'DescribeInstances') {
    shown = Buffer.from(transitions.rewrite(answer.body.toString('utf8')));
  } else if (answer.status === 200 && form?.Action) {
    const text = answer.body.toString('utf8');
    const rewritten = rewriteAnswer(form.Action, text);
    if (rewritten !== text) shown = Buffer.from(rewritten);
  }
  if (answer.status === 200 && form?.Action) {
    const text = shown.toString('utf8');
    let rewritten = await spot.answered(form.Action, form, region, text);
    // A launched instance's disk is ready before its launch is answered (images.ts).
    rewritten = await images.answered(form.Action, form, region, rewritten);
    if (rewritten !== text) shown = Buffer.from(rewritten);
  }
  // A launched, started or rebooted instance's traefik starts: its ACME resolver's attempt
  // (acme.ts), before the answer, with the instance as moto now has it.
  if (answer.status === 200 && form && acme) await bootTraefik(form, shown.toString('utf8'));
  // A launched or started instance boots for scenario.bootDelayMs from its answer
  // (transitions.ts).
  const bootMs = state.scenario.bootDelayMs;
  if (bootMs > 0 && answer.status === 200 && form && BOOTING.has(form.Action ?? '')) {
    const start = form.Action === 'StartInstances';
    const ids = start
      ? requestedInstances(form)
      : [...answer.body.toString('utf8').matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)].map(
          (m) => m[1]!,
        );
    transitions.boot(ids, bootMs, start);
  }
  res.writeHead(answer.status, answer.headers);
  res.end(shown);
}

/** The instances a RunInstances, StartInstances or RebootInstances answer booted. */
async function bootTraefik(form: Record<string, string>, xml: string): Promise<void> {
  let ids: string[] = [];
  if (form.Action === 'RunInstances') {
    ids = [...xml.matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)].map((m) => m[1]!);
  } else if (form.Action === 'StartInstances') {
    // Only those that were stopped boot (a running instance's start changes nothing).
    ids = [...xml.matchAll(/<item>([\s\S]*?)<\/item>/g)].flatMap(([, item]) => {
      const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(item!)?.[1];
      const before = /<previousState>[\s\S]*?<name>([a-z-]+)<\/name>/.exec(item!)?.[1];
      return id && before === 'stopped' ? [id] : [];
    });
  } else if (form.Action === 'RebootInstances') {
    ids = requestedInstances(form);
  }
  if (!ids.length) return;
  acme?.forget();
  for (const id of ids) await acme?.booted(id, form.Action === 'RunInstances');
}

/** The SDK's attempt number, from its `amz-sdk-request: attempt=N; max=M` header. */
function sdkAttempt(req: IncomingMessage): number | undefined {
  const match = /attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''));
  return match ? Number(match[1]) : undefined;
}

/**
 * Lets the answer go out, or (pauseOn 'after', or an injected dropped answer) holds or drops
 * it: the call has been handled either way.
 */
function interceptAnswer(res: ServerResponse, call: RecordedCall, dropAnswer: boolean): void {
  const end = res.end.bind(res);
  res.end = ((chunk?: unknown) => {
    call.status = res.statusCode;
    const send = () => {
      if (dropAnswer) res.destroy();
      else end(chunk as Buffer);
    };
    const text = Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk ?? '');
    if (holds.shouldHold(state.scenario.pauseOn, call.operation, 'after', text)) {
      log(`holding the answer to ${call.operation}`);
      void holds.hold(call).then(send);
    } else {
      send();
    }
    return res;
  }) as typeof res.end;
}

/**
 * Faults first (faults.ts), then a 'before' hold (holds.ts); true when the call must go on to
 * be handled.
 */
async function preflight(
  req: IncomingMessage,
  res: ServerResponse,
  call: RecordedCall,
  params: Record<string, string>,
  body: string,
): Promise<boolean> {
  const fault = faults.decide(state.scenario.faults, call.service, call.operation, params);
  if (fault) {
    call.injected = fault.kind;
    log(`injected ${fault.kind} ${fault.code} into ${call.service} ${call.operation}`);
    if (fault.kind === 'drop') {
      req.socket.destroy();
      return false;
    }
    if (fault.kind !== 'drop-response') {
      sendFault(res, fault, call.service, params);
      call.status = res.statusCode;
      return false;
    }
  }
  interceptAnswer(res, call, fault?.kind === 'drop-response');
  if (holds.shouldHold(state.scenario.pauseOn, call.operation, 'before', body)) {
    let gone = false;
    res.once('close', () => (gone = true));
    log(`holding the request ${call.operation}`);
    await holds.hold(call);
    if (gone) {
      log(`the caller of the held ${call.operation} has gone: not handled`);
      return false;
    }
  }
  return true;
}

async function handleAws(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const region = signedRegion(req) ?? DEFAULT_REGION;
  regions.add(region);
  const target = req.headers['x-amz-target'];
  const attempt = sdkAttempt(req);
  const accessKey = signedAccessKey(req);
  const flat = (params: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(params).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  if (typeof target === 'string' && target.startsWith('AmazonSSM.')) {
    const operation = target.slice('AmazonSSM.'.length);
    const params = parseSsmBody(body);
    const call = state.record({ service: 'ssm', operation, params, attempt, accessKey });
    log(`ssm ${operation}`);
    if (!(await preflight(req, res, call, flat(params), body))) return;
    await handleSsm(
      ssmContext,
      {
        operation,
        params,
        region,
        forward: async () => {
          await forwardToMoto(req, res, body, region);
        },
      },
      res,
    );
    return;
  }
  if (isRoute53(req.url ?? '', signedService(req))) {
    const r53 = parseRoute53Request(req.method ?? 'GET', req.url ?? '/', body);
    const { operation, params } = r53;
    const call = state.record({ service: 'route53', operation, params, attempt, accessKey });
    log(`route53 ${operation}`);
    if (!(await preflight(req, res, call, flat(params), body))) return;
    await route53.handle(req, res, body, r53);
    if (!/^(Get|List)/.test(operation)) acme?.forget();
    return;
  }
  const form = Object.fromEntries(new URLSearchParams(body));
  const operation = form.Action ?? (typeof target === 'string' ? target : 'unknown');
  const service = signedService(req) === 'ec2' || (form.Action && !target) ? 'ec2' : 'other';
  // The Elastic IP a call names, as it was before the call (the audit's resource tags).
  const address = service === 'ec2' ? await namedAddress(moto, region, form) : undefined;
  const networkInterfaceId =
    service === 'ec2' ? await targetInterface(moto, region, form) : undefined;
  const call = state.record({
    service,
    operation,
    params: form,
    attempt,
    accessKey,
    ...(address && { address }),
    ...(networkInterfaceId && { networkInterfaceId }),
  });
  log(`${service} ${operation}`);
  if (!(await preflight(req, res, call, form, body))) return;
  const handle = () => handleEc2(req, res, body, region, service, operation, form);
  if (service === 'ec2' && SERIAL_STATE_CHANGES.has(operation)) await stateChanges.run(handle);
  else await handle();
  // Instances and addresses the hubs' CA looked up may have changed.
  if (service === 'ec2' && !/^(Describe|Get)/.test(operation)) acme?.forget();
}

/** An EC2 (or other query-protocol) call past its faults and holds. */
async function handleEc2(
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
  region: string,
  service: string,
  operation: string,
  form: Record<string, string>,
): Promise<void> {
  if (service === 'ec2' && (await spot.intercept(operation, form, region, res))) return;
  if (service === 'ec2' && (await images.intercept(operation, form, region, req, res))) return;
  if (service === 'ec2' && operation === 'RunInstances') {
    // A launch from an image the front made gets the image's block device mapping.
    const launch = images.launchForm(form);
    if ('code' in launch) return sendEc2Error(res, 400, launch.code, launch.message);
    if (launch !== form) {
      return forwardToMoto(req, res, new URLSearchParams(launch).toString(), region, launch);
    }
  }
  if (service === 'ec2' && operation === 'ReleaseAddress') {
    const refused = addressRefusal(operation, await namedAddress(moto, region, form));
    if (refused) return sendEc2Error(res, 400, refused.code, refused.message);
  }
  if (service === 'ec2' && STATE_CHANGES.has(operation)) {
    const ids = requestedInstances(form);
    const refused = refusal(operation, await moto.listInstances(region, ids), form);
    if (refused) return sendEc2Error(res, 400, 'IncorrectInstanceState', refused);
  }
  if (service === 'ec2' && operation === 'ModifyVolume') {
    const volume = await volumes.find(region, form.VolumeId);
    const refused = volume && volumeRefusal(form, volume);
    if (refused) return sendEc2Error(res, 400, refused.code, refused.message);
    await forwardToMoto(req, res, body, region, form);
    // EBS grew the instance's root disk: its growpart and resize2fs now see the new size.
    if (res.statusCode === 200 && volume?.rootOf && form.Size !== undefined) {
      recordRootVolumeSize(ebsDir(volume.rootOf), volume.size, Number(form.Size));
    }
    return;
  }
  if (service === 'ec2' && RESTARTING.has(operation)) {
    for (const id of requestedInstances(form)) agents.forget(id);
  }
  await forwardToMoto(req, res, body, region, service === 'ec2' ? form : undefined);
}

/**
 * The instance's disk state its stand-ins read (instance/lib/disk.sh): on a real instance's
 * own disk, on a light one in its directory. An instance that ran no command yet becomes the
 * kind its first command would make it.
 */
function ebsDir(instanceId: string): string {
  const dir = dirs.ensure(instanceId);
  if (dirs.chooseKind(instanceId, state.scenario.tljh === 'real')) {
    return join(mountRealDisk(dir).merged, 'var', 'lib', 'emu-ebs');
  }
  return join(dir, 'ebs');
}

function log(line: string): void {
  console.log(`${new Date().toISOString()} ${line}`);
}

const front = createServer((req, res) => {
  if ((req.url ?? '').startsWith('/__imds/')) return handleImds(req, res);
  if ((req.url ?? '').startsWith(DOWNLOADS_PREFIX)) return handleDownload(req, res);
  const handler = (req.url ?? '').startsWith('/__emu/')
    ? handleControl(controlContext, req, res)
    : handleAws(req, res);
  handler.catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    log(`error: ${message}`);
    if (!res.headersSent) sendText(res, 500, `emulator front: ${message}\n`, 'text/plain');
    else res.destroy();
  });
});

const hub = await startHub(hubContext, Number(args['hub-port'])).catch((err: unknown) => {
  console.error(`emulator: cannot listen for hubs on port ${args['hub-port']}: ${String(err)}`);
  process.exit(1);
});
const hubTls =
  args['tls-cert'] && args['tls-key']
    ? await startHubTls({ ...hubContext, acme }, 443, args['tls-cert'], args['tls-key'])
    : undefined;
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
  hubTls?.close();
  front.closeAllConnections();
  hub.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
