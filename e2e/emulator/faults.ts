// Fault injection: what real AWS does to a client now and then. The front consults this before
// it handles each AWS call (scenario key `faults`), so every call, injected or not, is recorded
// in one list and set up through the same control API. Faults come in per-operation bursts:
// the enabled kinds (throttle, server error, drop, dropped answer, in that order) take turns,
// so the k-th call of an operation (k = 1, 2, ...) is hit by the j-th kind (j = 0, 1, ...),
// of period N, when k - 1 - j * burst >= 0 and (k - 1 - j * burst) mod N < burst: an
// operation's first call meets every kind in a row, and then each comes back every N calls.
// No operation sees more than maxStreak faulted calls in a row, so a client that makes
// maxStreak + 1 attempts (with backoff) always gets through; the action's SDK clients make 8.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { isRecord, sendSsmError, sendText } from './http-util.ts';
import { sendRoute53Error } from './route53-api.ts';

export interface Faults {
  /** RequestLimitExceeded (EC2, HTTP 503) / ThrottlingException (SSM) / Throttling (Route 53), HTTP 400. */
  throttleEveryN?: number;
  /** InternalError (EC2, Route 53) / InternalServerError (SSM), HTTP 500. */
  serverErrorEveryN?: number;
  /** The connection is dropped before the call is handled: nothing happened. */
  dropEveryN?: number;
  /** The call is handled, then the connection is dropped: the answer is lost. */
  dropResponseEveryN?: number;
  /** Consecutive calls of an operation hit each time a period starts (default 1). */
  burst?: number;
  /** At most this many faulted calls of an operation in a row (default 3). */
  maxStreak?: number;
  /** Only these operations get the periodic faults above (default: every operation). */
  operations?: string[];
  /** RunInstances of these types answers InsufficientInstanceCapacity (HTTP 500, as EC2 does).
   *  An entry `type@subnet-id` fails that type only in that subnet. */
  capacityFailTypes?: string[];
  /** RunInstances of these types (or `type@subnet-id`) answers Unsupported (HTTP 400). */
  unsupportedTypes?: string[];
}

export type FaultKind =
  'throttle' | 'server-error' | 'drop' | 'drop-response' | 'capacity' | 'unsupported';

export interface Fault {
  kind: FaultKind;
  /** The AWS error code the client sees ('' for dropped connections). */
  code: string;
}

const PERIODIC: [keyof Faults, FaultKind][] = [
  ['throttleEveryN', 'throttle'],
  ['serverErrorEveryN', 'server-error'],
  ['dropEveryN', 'drop'],
  ['dropResponseEveryN', 'drop-response'],
];
const NUMBER_KEYS = ['burst', 'maxStreak', ...PERIODIC.map(([key]) => key)];
const LIST_KEYS = ['operations', 'capacityFailTypes', 'unsupportedTypes'];

/** Validates the scenario's `faults` object; throws a readable message. */
export function parseFaults(value: unknown): Faults {
  if (!isRecord(value)) throw new Error('scenario.faults must be an object');
  const faults: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (NUMBER_KEYS.includes(key)) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
        throw new Error(`scenario.faults.${key} must be a positive integer, got ${String(v)}`);
      }
    } else if (LIST_KEYS.includes(key)) {
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
        throw new Error(`scenario.faults.${key} must be a list of strings`);
      }
    } else {
      throw new Error(
        `unknown scenario.faults key '${key}' (known: ${[...NUMBER_KEYS, ...LIST_KEYS].join(', ')})`,
      );
    }
    faults[key] = v;
  }
  return faults as Faults;
}

function launchSubnet(params: Record<string, string>): string | undefined {
  return params['NetworkInterface.1.SubnetId'] ?? params.SubnetId;
}

function listed(entries: string[] | undefined, type: string, subnet: string | undefined): boolean {
  return (entries ?? []).some(
    (e) => e === type || (subnet !== undefined && e === `${type}@${subnet}`),
  );
}

export class FaultInjector {
  /** Per operation: calls seen, and faulted calls in a row. */
  private readonly counters = new Map<string, { calls: number; streak: number }>();

  reset(): void {
    this.counters.clear();
  }

  /** The fault for this call, if any (consumes one step of the operation's schedule). */
  decide(
    faults: Faults,
    service: string,
    operation: string,
    params: Record<string, string>,
  ): Fault | undefined {
    if (service === 'ec2' && operation === 'RunInstances') {
      const type = params.InstanceType ?? '';
      const subnet = launchSubnet(params);
      if (listed(faults.capacityFailTypes, type, subnet))
        return { kind: 'capacity', code: 'InsufficientInstanceCapacity' };
      if (listed(faults.unsupportedTypes, type, subnet))
        return { kind: 'unsupported', code: 'Unsupported' };
    }
    if (service !== 'ec2' && service !== 'ssm' && service !== 'route53') return undefined;
    if (faults.operations && !faults.operations.includes(operation)) return undefined;
    const key = `${service}:${operation}`;
    const counter = this.counters.get(key) ?? { calls: 0, streak: 0 };
    this.counters.set(key, counter);
    counter.calls += 1;
    const burst = faults.burst ?? 1;
    // The kinds take turns: the first `burst` calls get the first kind, the next `burst` the
    // second, and so on; then each kind comes back every N calls.
    const hit = PERIODIC.filter(([key]) => faults[key] !== undefined).find(([key], turn) => {
      const shifted = counter.calls - 1 - turn * burst;
      return shifted >= 0 && shifted % (faults[key] as number) < burst;
    });
    if (!hit || counter.streak >= (faults.maxStreak ?? 3)) {
      counter.streak = 0;
      return undefined;
    }
    counter.streak += 1;
    return { kind: hit[1], code: errorCode(hit[1], service) };
  }
}

function errorCode(kind: FaultKind, service: string): string {
  switch (kind) {
    case 'throttle':
      if (service === 'ec2') return 'RequestLimitExceeded';
      return service === 'route53' ? 'Throttling' : 'ThrottlingException';
    case 'server-error':
      return service === 'ssm' ? 'InternalServerError' : 'InternalError';
    default:
      return '';
  }
}

/** An EC2 (query protocol) error answer, in EC2's own XML shape. */
export function sendEc2Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  const escape = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const xml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${code}</Code><Message>${escape(message)}</Message></Error></Errors>` +
    `<RequestID>${randomUUID()}</RequestID></Response>`;
  sendText(res, status, xml, 'text/xml;charset=UTF-8');
}

/** Answers an injected error fault (not the dropped-connection kinds). */
export function sendFault(
  res: ServerResponse,
  fault: Fault,
  service: string,
  params: Record<string, string>,
): void {
  const type = params.InstanceType ?? '';
  switch (fault.kind) {
    case 'throttle':
      if (service === 'ec2') return sendEc2Error(res, 503, fault.code, 'Request limit exceeded.');
      if (service === 'route53') return sendRoute53Error(res, 400, fault.code, 'Rate exceeded');
      return sendSsmError(res, fault.code, 'Rate exceeded');
    case 'server-error':
      if (service === 'ec2')
        return sendEc2Error(res, 500, fault.code, 'An internal error has occurred');
      if (service === 'route53')
        return sendRoute53Error(res, 500, fault.code, 'An internal error has occurred');
      return sendSsmError(res, fault.code, 'An internal error has occurred', 500);
    case 'capacity':
      return sendEc2Error(
        res,
        500,
        fault.code,
        `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity. You can currently get ${type} capacity by not specifying an Availability Zone in your request or choosing us-east-1b, us-east-1c.`,
      );
    case 'unsupported':
      return sendEc2Error(
        res,
        400,
        fault.code,
        `Your requested instance type (${type}) is not supported in your requested Availability Zone (us-east-1a). Please retry your request by not specifying an Availability Zone or choosing us-east-1b, us-east-1c.`,
      );
    default:
      throw new Error(`fault ${fault.kind} has no answer`);
  }
}
