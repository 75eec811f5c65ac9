// Route 53's REST-XML API as the front reads and answers it: which operation a request calls
// (method and path under /2013-04-01/), the changes of a ChangeResourceRecordSets body, the
// checks Route 53 makes of a change batch before applying it, and its error answers.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendText } from './http-util.ts';

const API_PREFIX = '/2013-04-01/';
export const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

/** One change of a ChangeResourceRecordSets batch, as journalled. */
export interface RecordChange {
  Action: string;
  Name: string;
  Type: string;
  TTL?: number;
  Values: string[];
}

/** A record set as Route 53 lists it (the name without its trailing dot). */
export interface RecordView {
  name: string;
  type: string;
  ttl?: number;
  values: string[];
}

export interface Route53Call {
  operation: string;
  params: Record<string, unknown>;
}

const ROUTES: [string, RegExp, string][] = [
  ['POST', /^hostedzone$/, 'CreateHostedZone'],
  ['GET', /^hostedzone$/, 'ListHostedZones'],
  ['GET', /^hostedzonesbyname$/, 'ListHostedZonesByName'],
  ['GET', /^hostedzone\/([^/]+)$/, 'GetHostedZone'],
  ['DELETE', /^hostedzone\/([^/]+)$/, 'DeleteHostedZone'],
  ['GET', /^hostedzone\/([^/]+)\/rrset\/?$/, 'ListResourceRecordSets'],
  ['POST', /^hostedzone\/([^/]+)\/rrset\/?$/, 'ChangeResourceRecordSets'],
  ['GET', /^change\/([^/]+)$/, 'GetChange'],
];

/** The query parameters of the calls above, by their names in the API. */
const QUERY_NAMES: Record<string, string> = {
  name: 'StartRecordName',
  type: 'StartRecordType',
  identifier: 'StartRecordIdentifier',
  maxitems: 'MaxItems',
  marker: 'Marker',
  dnsname: 'DNSName',
  hostedzoneid: 'HostedZoneId',
};

/** Whether a request is for Route 53 (by its signature, or its API path). */
export function isRoute53(url: string, signedService: string | undefined): boolean {
  return signedService === 'route53' || url.startsWith(API_PREFIX);
}

function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_m, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (e[0] !== '#') return named[e.toLowerCase()]!;
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function element(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return match ? decodeXml(match[1]!) : undefined;
}

/** The changes of a ChangeResourceRecordSets request body. */
export function parseChanges(xml: string): RecordChange[] {
  return [...xml.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map(([, change]) => {
    const set = /<ResourceRecordSet>([\s\S]*?)<\/ResourceRecordSet>/.exec(change!)?.[1] ?? '';
    const ttl = element(set, 'TTL');
    return {
      Action: element(change!, 'Action') ?? '',
      Name: element(set.replace(/<AliasTarget>[\s\S]*?<\/AliasTarget>/, ''), 'Name') ?? '',
      Type: element(set, 'Type') ?? '',
      ...(ttl !== undefined ? { TTL: Number(ttl) } : {}),
      Values: [...set.matchAll(/<ResourceRecord>\s*<Value>([\s\S]*?)<\/Value>/g)].map((m) =>
        decodeXml(m[1]!),
      ),
    };
  });
}

/** The operation a Route 53 request calls, and what the journal keeps of it. */
export function parseRoute53Request(method: string, url: string, body: string): Route53Call {
  const parsed = new URL(url, 'http://route53.invalid');
  const path = parsed.pathname.startsWith(API_PREFIX)
    ? parsed.pathname.slice(API_PREFIX.length)
    : parsed.pathname;
  const params: Record<string, unknown> = Object.fromEntries(
    [...parsed.searchParams].map(([k, v]) => [QUERY_NAMES[k] ?? k, v]),
  );
  for (const [verb, pattern, operation] of ROUTES) {
    const match = verb === method ? pattern.exec(path) : null;
    if (!match) continue;
    const id = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    if (operation === 'GetChange') params.Id = id;
    else if (id !== undefined) params.HostedZoneId = id;
    if (operation === 'CreateHostedZone') {
      params.Name = element(body, 'Name');
      params.CallerReference = element(body, 'CallerReference');
    }
    if (operation === 'ChangeResourceRecordSets') params.Changes = parseChanges(body);
    return { operation, params };
  }
  return { operation: 'unknown', params: { method, path: parsed.pathname } };
}

/** A DNS name as Route 53 compares it: lower case, without the trailing dot. */
export function normalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function sameSet(current: RecordView, change: RecordChange): boolean {
  const sorted = (values: string[]) => [...values].sort().join('\n');
  return current.ttl === change.TTL && sorted(current.values) === sorted(change.Values);
}

/**
 * Why Route 53 refuses to have a record set of `type` at `name` beside those in `sets`: a CNAME
 * shares its name with no other record set (RFC 1034 3.6.2), so neither is allowed where the
 * other is, and none is allowed at the zone's apex (its SOA and NS are there).
 */
function conflict(name: string, type: string, sets: Map<string, RecordView>, zone: string) {
  const shown = `RRSet of type ${type} with DNS name ${name}.`;
  const others = [...sets.values()].filter(
    (r) => normalName(r.name) === name && r.type.toUpperCase() !== type,
  );
  if (type === 'CNAME' && name === zone)
    return `${shown} is not permitted at apex in zone ${zone}.`;
  if (type === 'CNAME' && others.length) {
    return `${shown} is not permitted as it conflicts with other records with the same DNS name in zone ${zone}.`;
  }
  if (type !== 'CNAME' && others.some((r) => r.type.toUpperCase() === 'CNAME')) {
    return `${shown} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zone}.`;
  }
  return undefined;
}

/**
 * Route 53's messages for the changes of a batch it would refuse (none: it applies them), the
 * changes taken in order, each on the record sets the ones before it left: `current` is the
 * zone's record sets, `zone` its name (lower case, without the trailing dot).
 */
export function batchErrors(
  changes: RecordChange[],
  current: RecordView[],
  zone: string,
): string[] {
  const key = (name: string, type: string) => `${normalName(name)} ${type.toUpperCase()}`;
  const sets = new Map(current.map((r) => [key(r.name, r.type), r]));
  const errors: string[] = [];
  for (const change of changes) {
    const k = key(change.Name, change.Type);
    const name = normalName(change.Name);
    const shown = `[name='${name}.', type='${change.Type}']`;
    const found = sets.get(k);
    const asSet = { name: change.Name, type: change.Type, ttl: change.TTL, values: change.Values };
    if (change.Action === 'CREATE' || change.Action === 'UPSERT') {
      const refused = conflict(name, change.Type.toUpperCase(), sets, normalName(zone));
      if (refused) errors.push(refused);
      else if (change.Action === 'CREATE' && found) {
        errors.push(`Tried to create resource record set ${shown} but it already exists`);
      } else sets.set(k, asSet);
    } else if (change.Action === 'DELETE') {
      if (!found) errors.push(`Tried to delete resource record set ${shown} but it was not found`);
      else if (!sameSet(found, change)) {
        errors.push(
          `Tried to delete resource record set ${shown} but the values provided do not match the current values`,
        );
      } else sets.delete(k);
    }
  }
  return errors;
}

/** A Route 53 error answer, in the shape Route 53 (and the SDK) use. */
export function sendRoute53Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  const requestId = randomUUID();
  const xml =
    `<?xml version="1.0"?>\n<ErrorResponse xmlns="${XMLNS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
    `<Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.setHeader('x-amzn-requestid', requestId);
  sendText(res, status, xml, 'text/xml');
}
