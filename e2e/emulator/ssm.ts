// The SSM operations the front answers itself (moto lacks them or gets them wrong); the
// rest go on to moto. Requests use the AWS JSON 1.1 protocol (X-Amz-Target: AmazonSSM.<Op>).
import type {
  DescribeInstanceInformationRequest,
  GetCommandInvocationRequest,
  GetParameterRequest,
  GetParametersRequest,
  SendCommandRequest,
} from '@aws-sdk/client-ssm';
import type { ServerResponse } from 'node:http';
import type { Agents, InstanceFilter } from './agents.ts';
import { invocationView, isInstallScript, type Commands } from './commands.ts';
import { isRecord, sendSsm, sendSsmError } from './http-util.ts';
import { authorizeInstanceCall, signerOf } from './instance-role.ts';
import type { Moto } from './moto.ts';
import { awsParameter, isAwsParameter } from './parameters.ts';
import type { EmulatorState } from './state.ts';

export interface SsmContext {
  state: EmulatorState;
  moto: Moto;
  agents: Agents;
  commands: Commands;
}

/** An SSM request: its operation, its parsed body, and a way to hand it to moto unchanged. */
export interface SsmRequest {
  operation: string;
  params: Record<string, unknown>;
  region: string;
  forward: (body?: string) => Promise<void>;
}

/** The request body as the SDK's input type (moto-style trust: the fields are checked below). */
function input<T>(req: SsmRequest): Partial<T> {
  return req.params as unknown as Partial<T>;
}

/**
 * Answers the request, or forwards it to moto. A request an instance signed with its role's
 * credentials is first held to the instance role's policy (instance-role.ts). AddTagsToResource
 * (the action tags each settings parameter with the instance that may read it) goes to moto,
 * which keeps parameter tags as AWS does (replaced per key, dropped with the parameter).
 */
export async function handleSsm(ctx: SsmContext, req: SsmRequest, res: ServerResponse) {
  const signer = signerOf(res.req);
  if (signer.kind === 'instance') {
    const refusal = await authorizeInstanceCall(ctx.moto, req, signer.instanceId);
    if (refusal) return sendSsmError(res, refusal.type, refusal.message);
  }
  switch (req.operation) {
    case 'GetParameter':
      return getParameter(ctx, req, res);
    case 'GetParameters':
      return getParameters(ctx, req, res);
    case 'DescribeInstanceInformation':
      return describeInstanceInformation(ctx, req, res);
    case 'SendCommand':
      return sendCommand(ctx, req, res);
    case 'GetCommandInvocation':
      return getCommandInvocation(ctx, req, res);
    default:
      return req.forward();
  }
}

async function getParameter(ctx: SsmContext, req: SsmRequest, res: ServerResponse) {
  const { Name } = input<GetParameterRequest>(req);
  if (typeof Name !== 'string' || !isAwsParameter(Name)) return req.forward();
  const parameter = await awsParameter(ctx.moto, req.region, Name);
  if (!parameter) return sendSsmError(res, 'ParameterNotFound', `Parameter ${Name} not found.`);
  sendSsm(res, { Parameter: parameter });
}

async function getParameters(ctx: SsmContext, req: SsmRequest, res: ServerResponse) {
  const names = input<GetParametersRequest>(req).Names ?? [];
  const aws = names.filter(isAwsParameter);
  if (aws.length === 0) return req.forward();
  const parameters: unknown[] = [];
  const invalid: string[] = [];
  for (const name of aws) {
    const parameter = await awsParameter(ctx.moto, req.region, name);
    if (parameter) parameters.push(parameter);
    else invalid.push(name);
  }
  sendSsm(res, { Parameters: parameters, InvalidParameters: invalid });
}

const FILTER_KEYS = new Set(['InstanceIds', 'PingStatus']);

async function describeInstanceInformation(ctx: SsmContext, req: SsmRequest, res: ServerResponse) {
  const p = input<DescribeInstanceInformationRequest>(req);
  const filters: InstanceFilter[] = [
    ...(p.Filters ?? []).map((f) => ({ key: f.Key ?? '', values: f.Values ?? [] })),
    ...(p.InstanceInformationFilterList ?? []).map((f) => ({
      key: String(f.key ?? ''),
      values: f.valueSet ?? [],
    })),
  ];
  const unsupported = filters.find((f) => !FILTER_KEYS.has(f.key));
  if (unsupported) {
    return sendSsmError(
      res,
      'InvalidFilterKey',
      `emulator: filter key '${unsupported.key}' is not emulated (only InstanceIds, PingStatus)`,
    );
  }
  const instances = await ctx.moto.listInstances(req.region);
  const { agentDelayPolls, agentDelayMs } = ctx.state.scenario;
  const list = ctx.agents.describe(instances, filters, agentDelayPolls, agentDelayMs);
  sendSsm(res, { InstanceInformationList: list });
}

async function sendCommand(ctx: SsmContext, req: SsmRequest, res: ServerResponse) {
  const p = input<SendCommandRequest>(req);
  if (p.DocumentName !== 'AWS-RunShellScript') {
    return sendSsmError(
      res,
      'InvalidDocument',
      `emulator: only AWS-RunShellScript is emulated, got ${String(p.DocumentName)}`,
    );
  }
  const ids = p.InstanceIds ?? [];
  if (ids.length === 0 || (p.Targets ?? []).length > 0) {
    return sendSsmError(res, 'ValidationException', 'emulator: give InstanceIds (not Targets)');
  }
  const commands = p.Parameters?.commands;
  if (!Array.isArray(commands) || commands.length === 0) {
    return sendSsmError(res, 'InvalidParameters', 'Parameters.commands must be a non-empty list');
  }
  const instances = await ctx.moto.listInstances(req.region, ids);
  const { scenario } = ctx.state;
  const offline = ids.filter((id) => {
    const instance = instances.find((i) => i.id === id);
    return (
      !instance || !ctx.agents.isOnline(instance, scenario.agentDelayPolls, scenario.agentDelayMs)
    );
  });
  if (offline.length > 0) {
    return sendSsmError(
      res,
      'InvalidInstanceId',
      `Instances [[${offline.join(', ')}]] not in a valid state for account (emulator: agent not Online)`,
    );
  }
  const script = commands.join('\n');
  const failIfInstall = isInstallScript(script) && scenario.failNextInstalls > 0;
  if (failIfInstall) scenario.failNextInstalls -= 1;
  const comment = p.Comment ?? '';
  const commandId = ctx.commands.start(ids, script, comment, {
    hubVersion: scenario.hubVersion,
    installDelayMs: scenario.installDelayMs,
    failIfInstall,
    real: scenario.tljh === 'real',
  });
  const now = Date.now() / 1000;
  sendSsm(res, {
    Command: {
      CommandId: commandId,
      DocumentName: p.DocumentName,
      DocumentVersion: '$DEFAULT',
      Comment: comment,
      ExpiresAfter: now + (p.TimeoutSeconds ?? 3600),
      Parameters: p.Parameters,
      InstanceIds: ids,
      Targets: [],
      RequestedDateTime: now,
      Status: 'Pending',
      StatusDetails: 'Pending',
      MaxConcurrency: '50',
      MaxErrors: '0',
      TargetCount: ids.length,
      CompletedCount: 0,
      ErrorCount: 0,
      DeliveryTimedOutCount: 0,
      TimeoutSeconds: p.TimeoutSeconds ?? 3600,
    },
  });
}

async function getCommandInvocation(ctx: SsmContext, req: SsmRequest, res: ServerResponse) {
  const p = input<GetCommandInvocationRequest>(req);
  const inv = ctx.commands.get(String(p.CommandId), String(p.InstanceId));
  // Right after SendCommand, real SSM may not know the invocation yet.
  if (!inv || ++inv.polls <= ctx.state.scenario.invocationMissingPolls) {
    return sendSsmError(res, 'InvocationDoesNotExist', '');
  }
  sendSsm(res, invocationView(inv));
}

export function parseSsmBody(text: string): Record<string, unknown> {
  const parsed: unknown = text.trim() === '' ? {} : JSON.parse(text);
  if (!isRecord(parsed)) throw new Error('the request body is not a JSON object');
  return parsed;
}
