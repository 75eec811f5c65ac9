// EC2's XML for what spot.ts keeps: its answers to DescribeSpotInstanceRequests and
// CancelSpotInstanceRequests, its NotFound error, and the Spot fields of an instance in a
// RunInstances or DescribeInstances answer (spotInstanceRequestId; an interrupted instance's
// stateReason, Server.SpotInstanceShutdown, as the EC2 API reference's StateReason lists it).
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendEc2Error } from './faults.ts';
import { sendText } from './http-util.ts';
import type { SpotRequest } from './spot.ts';

export const SPOT_INTERRUPTED = 'Server.SpotInstanceShutdown';

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function sendAnswer(res: ServerResponse, action: string, inner: string): void {
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}">` +
    `<requestId>${randomBytes(8).toString('hex')}</requestId>${inner}</${action}Response>`;
  sendText(res, 200, xml, 'text/xml;charset=UTF-8');
}

export function notFound(res: ServerResponse, requestId: string): void {
  sendEc2Error(
    res,
    400,
    'InvalidSpotInstanceRequestID.NotFound',
    `The spot instance request ID '${requestId}' does not exist`,
  );
}

export function cancelledSet(requestIds: string[]): string {
  const items = requestIds.map(
    (id) =>
      `<item><spotInstanceRequestId>${id}</spotInstanceRequestId><state>cancelled</state></item>`,
  );
  return `<spotInstanceRequestSet>${items.join('')}</spotInstanceRequestSet>`;
}

export function requestSet(requests: SpotRequest[]): string {
  const items = requests.map(
    (r) =>
      `<item><spotInstanceRequestId>${r.id}</spotInstanceRequestId>` +
      `<type>${r.type}</type><state>${r.state}</state>` +
      `<status><code>${r.code}</code><updateTime>${r.updated}</updateTime></status>` +
      `<instanceId>${r.instanceId}</instanceId><createTime>${r.created}</createTime>` +
      `<productDescription>Linux/UNIX</productDescription>` +
      `<instanceInterruptionBehavior>${r.behavior}</instanceInterruptionBehavior>` +
      `<launchSpecification><imageId>${esc(r.launch.ImageId ?? '')}</imageId>` +
      `<instanceType>${esc(r.launch.InstanceType ?? '')}</instanceType></launchSpecification>` +
      `<tagSet>${r.tags.map(([k, v]) => `<item><key>${esc(k)}</key><value>${esc(v)}</value></item>`).join('')}</tagSet></item>`,
  );
  return `<spotInstanceRequestSet>${items.join('')}</spotInstanceRequestSet>`;
}

/**
 * Adds each Spot Instance's spotInstanceRequestId to an instances answer, and an interrupted
 * one's stateReason. moto writes an instance's stateReason before its instanceId, so what lies
 * between one instanceId and the next is the next instance's.
 */
export function withSpotFields(
  xml: string,
  spotOf: (instanceId: string) => { requestId: string; interrupted: boolean } | undefined,
): string {
  const reason = `<stateReason><code>${SPOT_INTERRUPTED}</code><message>${SPOT_INTERRUPTED}: Spot instance interruption</message></stateReason>`;
  let out = '';
  let from = 0;
  for (const m of xml.matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)) {
    const spot = spotOf(m[1]!);
    let before = xml.slice(from, m.index);
    if (spot?.interrupted) {
      const own = /<stateReason>[\s\S]*?<\/stateReason>/;
      before = own.test(before) ? before.replace(own, reason) : before + reason;
    }
    out += before + m[0];
    if (spot) out += `<spotInstanceRequestId>${spot.requestId}</spotInstanceRequestId>`;
    from = m.index + m[0].length;
  }
  return out + xml.slice(from);
}
