// Route 53 at the front: its REST-XML API (paths under /2013-04-01/, signed for `route53`),
// journalled by operation and forwarded to moto, which keeps the zones and records, with
// what moto 5.2.1 does otherwise than Route 53 modelled here:
//  - Changes: Route 53 answers a ChangeResourceRecordSets with a change of its own id, PENDING,
//    and GetChange answers PENDING until the change has reached every Route 53 name server
//    ("generally within 60 seconds", GetChange reference), then INSYNC; an unknown id is
//    NoSuchChange (404). moto answers one fixed id (/change/C2682N5HXP0BZ4), INSYNC at once,
//    and INSYNC to GetChange for any id. Here each change moto accepted gets its own id, and
//    its first GetChange answers PENDING, every later one INSYNC.
//  - A change batch is checked whole before anything changes (it is atomic): a DELETE must
//    name a record set that exists, with exactly its TTL and values, and a CREATE one that does
//    not; else InvalidChangeBatch (HTTP 400) lists every failed change, in Route 53's words
//    ("[Tried to delete resource record set [name='x.', type='A'] but the values provided do
//    not match the current values, ...]"). moto deleted a record whose values had since
//    changed (it compares with its history of changes, not the current values) and refused a
//    bad DELETE as InvalidInput. Names are compared in lower case, as Route 53 keeps them
//    (moto compared them as given, and refused a name in another case than its zone's). A
//    CNAME shares its name with no other record set: a CREATE or UPSERT of an A (or any other
//    type) where a CNAME is, or of a CNAME where another record set is, or at the apex, is
//    refused too ("RRSet of type A with DNS name x. is not permitted because a conflicting
//    RRSet of type CNAME with the same DNS name already exists in zone y."); moto 5.2.1 does
//    not check it (it does refuse a CREATE of a set that exists, as Route 53 does).
// The zones and A records are also what the Let's Encrypt stand-in looks up (acme.ts). The
// API's parsing and Route 53's checks of a batch are in route53-api.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandOutput,
} from '@aws-sdk/client-route-53';
import { sendText } from './http-util.ts';
import type { Moto } from './moto.ts';
import {
  XMLNS,
  batchErrors,
  element,
  normalName,
  sendRoute53Error,
  type RecordChange,
  type RecordView,
  type Route53Call,
} from './route53-api.ts';
import { OneAtATime } from './state-rules.ts';

export { isRoute53, parseRoute53Request } from './route53-api.ts';
/** How long zones and records looked up for the CA are reused (the action polls). */
const LOOKUP_TTL_MS = 1000;

function changeId(): string {
  // Route 53's change ids: C and upper-case letters and digits.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `C${[...randomBytes(20)].map((b) => alphabet[b % alphabet.length]).join('')}`;
}

interface Change {
  submittedAt: string;
  polls: number;
}

export class Route53Front {
  private readonly moto: Moto;
  private readonly client: Route53Client;
  private readonly changes = new Map<string, Change>();
  /** Batches are checked and applied one at a time: Route 53 applies each whole. */
  private readonly batches = new OneAtATime();
  private zoneCache?: { at: number; zones: Promise<{ id: string; name: string }[]> };
  private readonly recordCache = new Map<string, { at: number; records: Promise<RecordView[]> }>();

  constructor(moto: Moto) {
    this.moto = moto;
    this.client = new Route53Client({
      region: 'us-east-1',
      endpoint: moto.url.origin,
      credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
      maxAttempts: 1,
    });
  }

  /** Forgets the changes (moto's reset forgets the zones). */
  reset(): void {
    this.changes.clear();
    this.forget();
  }

  /** Drops the looked-up zones and records (something changed them). */
  forget(): void {
    this.zoneCache = undefined;
    this.recordCache.clear();
  }

  /** Every hosted zone moto keeps (id without /hostedzone/, name without the trailing dot). */
  zones(): Promise<{ id: string; name: string }[]> {
    if (!this.zoneCache || Date.now() - this.zoneCache.at > LOOKUP_TTL_MS) {
      const zones = (async () => {
        const out: { id: string; name: string }[] = [];
        let Marker: string | undefined;
        do {
          const page = await this.client.send(new ListHostedZonesCommand({ Marker }));
          for (const z of page.HostedZones ?? []) {
            out.push({
              id: (z.Id ?? '').replace(/^\/hostedzone\//, ''),
              name: normalName(z.Name ?? ''),
            });
          }
          Marker = page.IsTruncated ? page.NextMarker : undefined;
        } while (Marker);
        return out;
      })();
      zones.catch(() => this.forget());
      this.zoneCache = { at: Date.now(), zones };
    }
    return this.zoneCache.zones;
  }

  /** Every record set of a zone, as moto keeps it now (fresh, when `cached` is false). */
  records(zoneId: string, cached = true): Promise<RecordView[]> {
    const hit = this.recordCache.get(zoneId);
    if (cached && hit && Date.now() - hit.at <= LOOKUP_TTL_MS) return hit.records;
    const records = (async () => {
      const out: RecordView[] = [];
      let page: ListResourceRecordSetsCommandOutput | undefined;
      do {
        page = await this.client.send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            StartRecordName: page?.NextRecordName,
            StartRecordType: page?.NextRecordType,
          }),
        );
        for (const r of page.ResourceRecordSets ?? []) {
          out.push({
            name: (r.Name ?? '').replace(/\.$/, ''),
            type: r.Type ?? '',
            ...(r.TTL !== undefined ? { ttl: r.TTL } : {}),
            values: (r.ResourceRecords ?? []).map((v) => v.Value ?? ''),
          });
        }
      } while (page.IsTruncated);
      return out;
    })();
    records.catch(() => this.recordCache.delete(zoneId));
    this.recordCache.set(zoneId, { at: Date.now(), records });
    return records;
  }

  /**
   * The values of the A records named `name` in the zones that hold the name, or undefined
   * when no zone holds it (the name is not Route 53's).
   */
  async addressesOf(name: string): Promise<string[] | undefined> {
    const wanted = normalName(name);
    const holding = (await this.zones()).filter(
      (z) => wanted === z.name || wanted.endsWith(`.${z.name}`),
    );
    if (!holding.length) return undefined;
    const found: string[] = [];
    for (const zone of holding) {
      for (const r of await this.records(zone.id).catch(() => [])) {
        if (r.type === 'A' && normalName(r.name) === wanted) found.push(...r.values);
      }
    }
    return found;
  }

  /** Answers a Route 53 call (past its faults and holds). */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    call: Route53Call,
  ): Promise<void> {
    const { operation, params } = call;
    if (operation === 'GetChange') return this.answerGetChange(res, String(params.Id ?? ''));
    if (operation === 'ChangeResourceRecordSets') {
      return this.batches.run(() => this.change(req, res, body, call));
    }
    return this.forward(req, res, body, operation);
  }

  /** A ChangeResourceRecordSets: refused whole, as Route 53 does, or forwarded to moto. */
  private async change(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    { operation, params }: Route53Call,
  ): Promise<void> {
    const zoneId = String(params.HostedZoneId ?? '').replace(/^\/?hostedzone\//, '');
    let current: RecordView[] | undefined;
    try {
      current = await this.records(zoneId, false);
    } catch {
      current = undefined; // no such zone: moto answers NoSuchHostedZone
    }
    const zone = current && (await this.zones()).find((z) => z.id === zoneId);
    const errors =
      current && zone ? batchErrors(params.Changes as RecordChange[], current, zone.name) : [];
    if (errors.length) {
      return sendRoute53Error(res, 400, 'InvalidChangeBatch', `[${errors.join(', ')}]`);
    }
    // Route 53 names are case-insensitive (kept in lower case); moto compares them as given.
    const lowered = body.replace(
      /<Name>([\s\S]*?)<\/Name>/g,
      (_m, name: string) => `<Name>${name.toLowerCase()}</Name>`,
    );
    return this.forward(req, res, lowered, operation);
  }

  private async forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: string,
    operation: string,
  ): Promise<void> {
    const answer = await this.moto.forward(req.method ?? 'GET', req.url ?? '/', req.headers, body);
    let text = answer.body.toString('utf8');
    if (answer.status >= 200 && answer.status < 300 && /<ChangeInfo>/.test(text)) {
      this.forget();
      text = this.pending(text, operation === 'ChangeResourceRecordSets');
    }
    res.writeHead(answer.status, answer.headers);
    res.end(text);
  }

  /** Shows a change moto made as Route 53 does: PENDING, with its own id when `renumber`. */
  private pending(xml: string, renumber: boolean): string {
    return xml.replace(/<ChangeInfo>([\s\S]*?)<\/ChangeInfo>/, (_all, info: string) => {
      const motoId = (element(info, 'Id') ?? '').replace(/^\/change\//, '');
      const id = renumber || !motoId ? changeId() : motoId;
      const submittedAt = element(info, 'SubmittedAt') ?? new Date().toISOString();
      this.changes.set(id, { submittedAt, polls: 0 });
      const changed = info
        .replace(/<Id>[\s\S]*?<\/Id>/, `<Id>/change/${id}</Id>`)
        .replace(/<Status>[\s\S]*?<\/Status>/, '<Status>PENDING</Status>');
      return `<ChangeInfo>${changed}</ChangeInfo>`;
    });
  }

  private answerGetChange(res: ServerResponse, rawId: string): void {
    const id = rawId.replace(/^\/change\//, '');
    const change = this.changes.get(id);
    if (!change) {
      return sendRoute53Error(
        res,
        404,
        'NoSuchChange',
        `A change with the specified change ID does not exist.`,
      );
    }
    change.polls += 1;
    const status = change.polls > 1 ? 'INSYNC' : 'PENDING';
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<GetChangeResponse xmlns="${XMLNS}"><ChangeInfo>` +
      `<Id>/change/${id}</Id><Status>${status}</Status><SubmittedAt>${change.submittedAt}</SubmittedAt>` +
      `</ChangeInfo></GetChangeResponse>`;
    res.setHeader('x-amzn-requestid', randomUUID());
    sendText(res, 200, xml, 'text/xml');
  }
}
