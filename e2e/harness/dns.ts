// Route 53 for tests: hosted zones and records arranged as a person would (with the tests' own
// credentials, which the audit leaves out), and the certificate a hub presents for a name, as
// a browser connecting to the name's address would see it.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type PeerCertificate } from 'node:tls';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandOutput,
  type RRType,
} from '@aws-sdk/client-route-53';
import { frontUrl } from './emulator.ts';
import { ACME_PRODUCTION_ROOT } from './paths.ts';

/** A Route 53 client on the front with the tests' credentials (as emulatorEc2 in ec2.ts). */
export function emulatorRoute53(): Route53Client {
  return new Route53Client({
    region: 'us-east-1',
    endpoint: frontUrl(),
    credentials: { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' },
  });
}

async function withRoute53<T>(fn: (route53: Route53Client) => Promise<T>): Promise<T> {
  const route53 = emulatorRoute53();
  try {
    return await fn(route53);
  } finally {
    route53.destroy();
  }
}

/** Creates a public hosted zone for `name`; returns its id (without /hostedzone/). */
export function createHostedZone(name: string): Promise<string> {
  return withRoute53(async (route53) => {
    const out = await route53.send(
      new CreateHostedZoneCommand({ Name: name, CallerReference: `${name}-${randomUUID()}` }),
    );
    return out.HostedZone!.Id!.replace(/^\/hostedzone\//, '');
  });
}

/** A record set as Route 53 lists it; the name without its trailing dot. */
export interface DnsRecord {
  name: string;
  type: string;
  ttl?: number;
  values: string[];
}

/** Every record set of the zone (its NS and SOA included), in Route 53's order. */
export function listRecords(zoneId: string): Promise<DnsRecord[]> {
  return withRoute53(async (route53) => {
    const records: DnsRecord[] = [];
    let page: ListResourceRecordSetsCommandOutput | undefined;
    do {
      page = await route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          StartRecordName: page?.NextRecordName,
          StartRecordType: page?.NextRecordType,
          StartRecordIdentifier: page?.NextRecordIdentifier,
        }),
      );
      for (const r of page.ResourceRecordSets ?? []) {
        records.push({
          name: (r.Name ?? '').replace(/\.$/, ''),
          type: r.Type ?? '',
          ...(r.TTL !== undefined ? { ttl: r.TTL } : {}),
          values: (r.ResourceRecords ?? []).map((v) => v.Value ?? ''),
        });
      }
    } while (page.IsTruncated);
    return records;
  });
}

/**
 * Creates or replaces (UPSERT) a record set, as someone other than the action would (a record
 * the action must leave alone, or DNS pointed at a hub); returns the change's id.
 */
export function putRecord(
  zoneId: string,
  name: string,
  type: string,
  values: string[],
  ttl = 300,
): Promise<string> {
  return withRoute53(async (route53) => {
    const out = await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: name,
                Type: type as RRType,
                TTL: ttl,
                ResourceRecords: values.map((Value) => ({ Value })),
              },
            },
          ],
        },
      }),
    );
    return out.ChangeInfo!.Id!.replace(/^\/change\//, '');
  });
}

/** The certificate a hub presented, and whether the Let's Encrypt stand-in's production CA vouches for it. */
export interface HubCertificate {
  /** The subject's CN ("TRAEFIK DEFAULT CERT" before Let's Encrypt issued one). */
  subjectCN: string;
  /** The DNS names of its subjectAltName. */
  altNames: string[];
  issuerO: string;
  issuerCN: string;
  /** Chain (to the production root only), dates and name all check out. */
  verifiesWithProductionCa: boolean;
  /** Why not (Node's code: UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_TLS_CERT_ALTNAME_INVALID...). */
  error?: string;
}

function field(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/**
 * Connects to `address`:`port` asking for `name` (SNI), as a browser does once DNS gives it the
 * address, and describes the certificate presented.
 */
export function hubCertificate(address: string, name: string, port = 443): Promise<HubCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: address,
      port,
      servername: name,
      ca: [readFileSync(ACME_PRODUCTION_ROOT)],
      rejectUnauthorized: false,
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no TLS answer from ${address}`)));
    socket.once('error', reject);
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate() as PeerCertificate;
      const error = socket.authorizationError;
      resolve({
        subjectCN: field(cert.subject?.CN),
        altNames: (cert.subjectaltname ?? '')
          .split(', ')
          .filter((n) => n.startsWith('DNS:'))
          .map((n) => n.slice('DNS:'.length)),
        issuerO: field(cert.issuer?.O),
        issuerCN: field(cert.issuer?.CN),
        verifiesWithProductionCa: socket.authorized,
        ...(error ? { error: String((error as { code?: string }).code ?? error) } : {}),
      });
      socket.end();
    });
  });
}
