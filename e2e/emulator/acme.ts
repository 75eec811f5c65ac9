// The Let's Encrypt stand-in: the CA behind the certificates the hubs' HTTPS side presents for
// names in a Route 53 hosted zone (moto's). TLJH 2.0 has traefik obtain its certificate with
// the ACME tlsChallenge (tljh/traefik.toml.tpl): Let's Encrypt connects to the name's address
// on port 443 and checks that the server there answers for the name. So a certificate for N
// exists only while
//  (a) the instance at the address the connection arrived at is running and its traefik asks
//      for N (https-settings.ts: HTTPS on, the letsencrypt resolver, N among the domains), and
//  (b) Route 53 has an A record N whose value is that instance's public address;
// until then, and whenever either stops holding, traefik presents its own "TRAEFIK DEFAULT
// CERT". Issuance is immediate here (Let's Encrypt takes seconds).
// Two authorities, each a root and an intermediate, as Let's Encrypt's: "production" (O=Let's
// Encrypt stand-in), whose root the tests' action trusts (NODE_EXTRA_CA_CERTS), and "staging"
// (https.letsencrypt.staging), named like Let's Encrypt's staging hierarchy ("(STAGING) ..."),
// which nobody trusts. A hub presents its certificate with the intermediate, not the root.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { promisify } from 'node:util';

export type Authority = 'production' | 'staging';

/** The subjects of each authority's root and intermediate. */
export const AUTHORITY_SUBJECTS: Record<Authority, { root: string; intermediate: string }> = {
  production: {
    root: "/O=Let's Encrypt stand-in/CN=Let's Encrypt stand-in Root X1",
    intermediate: "/O=Let's Encrypt stand-in/CN=Let's Encrypt stand-in E1",
  },
  staging: {
    root: '/O=(STAGING) Internet Security Research Group/CN=(STAGING) Emulator Pretend Pear X1',
    intermediate: "/O=(STAGING) Let's Encrypt/CN=(STAGING) Emulator Ersatz E1",
  },
};

/** Where an authority's files are in the CA's directory. */
export function authorityFiles(dir: string, ca: Authority) {
  return {
    rootCert: join(dir, `${ca}-root.pem`),
    rootKey: join(dir, `${ca}-root.key`),
    intermediateCert: join(dir, `${ca}-intermediate.pem`),
    intermediateKey: join(dir, `${ca}-intermediate.key`),
  };
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes both authorities in `dir` (start-emulator.ts does, once per emulator). */
export function createAuthorities(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const ca of ['production', 'staging'] as const) {
    const files = authorityFiles(dir, ca);
    const subjects = AUTHORITY_SUBJECTS[ca];
    const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
    run([
      ...['req', '-x509', ...EC_KEY, '-days', '30', '-subj', subjects.root],
      ...['-keyout', files.rootKey, '-out', files.rootCert],
      ...['-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ]);
    run([
      ...['req', '-x509', '-CA', files.rootCert, '-CAkey', files.rootKey, ...EC_KEY],
      ...['-days', '30', '-subj', subjects.intermediate],
      ...['-keyout', files.intermediateKey, '-out', files.intermediateCert],
      ...['-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
    ]);
  }
}

/** What the stand-in needs to know of the world (hub.ts gives it moto's view). */
export interface AcmeLookups {
  /** The values of the A records `name` in Route 53; undefined when no hosted zone holds it. */
  addressesOf(name: string): Promise<string[] | undefined>;
  /**
   * The instance a connection reached: at `address`, or, at 127.0.0.1, the instance whose
   * process connected from `remotePort`.
   */
  instanceAt(
    address: string,
    remotePort: number | undefined,
  ): Promise<{ id: string; state: string; publicIp?: string } | undefined>;
  /** Whether the instance's traefik asks for a certificate for `name`, and from which CA. */
  asksFor(instanceId: string, name: string): Authority | undefined;
  /** Drops whatever the lookups keep for a while (something changed in EC2 or Route 53). */
  forget?(): void;
}

export type CertificateChoice =
  | { kind: 'issued'; context: SecureContext; ca: Authority }
  | { kind: 'traefik-default' }
  /** No hosted zone holds the name: not a name this CA is asked about. */
  | { kind: 'not-in-route53' };

const execFileAsync = promisify(execFile);

export class LetsEncryptStandIn {
  private readonly dir: string;
  private readonly lookups: AcmeLookups;
  /** Issued certificates, per CA and name. */
  private readonly issued = new Map<string, Promise<SecureContext>>();

  constructor(dir: string, lookups: AcmeLookups) {
    this.dir = dir;
    this.lookups = lookups;
  }

  /** The certificate a hub presents for `name` on a connection to `address` (see the top). */
  async choose(
    name: string,
    address: string,
    remotePort: number | undefined,
  ): Promise<CertificateChoice> {
    const pointsAt = await this.lookups.addressesOf(name);
    if (!pointsAt) return { kind: 'not-in-route53' };
    const instance = await this.lookups.instanceAt(address, remotePort);
    if (instance?.state !== 'running' || !instance.publicIp) return { kind: 'traefik-default' };
    const ca = this.lookups.asksFor(instance.id, name);
    if (!ca || !pointsAt.includes(instance.publicIp)) return { kind: 'traefik-default' };
    return { kind: 'issued', ca, context: await this.certificate(name.toLowerCase(), ca) };
  }

  /** Looks everything up afresh at the next connection (EC2 or Route 53 changed). */
  forget(): void {
    this.lookups.forget?.();
  }

  /** Forgets every issued certificate (a reset of the emulator). */
  reset(): void {
    this.forget();
    this.issued.clear();
    rmSync(join(this.dir, 'issued'), { recursive: true, force: true });
  }

  private certificate(name: string, ca: Authority): Promise<SecureContext> {
    const key = `${ca}/${name}`;
    let context = this.issued.get(key);
    if (!context) {
      context = this.issue(name, ca);
      context.catch(() => this.issued.delete(key));
      this.issued.set(key, context);
    }
    return context;
  }

  /** Issues a 90-day certificate for `name` (CN and SAN), as Let's Encrypt's are. */
  private async issue(name: string, ca: Authority): Promise<SecureContext> {
    if (!/^[a-z0-9*]([a-z0-9.-]*[a-z0-9])?$/.test(name)) throw new Error(`bad name ${name}`);
    const files = authorityFiles(this.dir, ca);
    const out = join(this.dir, 'issued');
    mkdirSync(out, { recursive: true });
    const cert = join(out, `${ca}-${name}.pem`);
    const key = join(out, `${ca}-${name}.key`);
    await execFileAsync('openssl', [
      ...['req', '-x509', '-CA', files.intermediateCert, '-CAkey', files.intermediateKey],
      ...[...EC_KEY, '-days', '90', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert],
      ...['-addext', `subjectAltName=DNS:${name}`],
      ...['-addext', 'basicConstraints=critical,CA:FALSE'],
      ...['-addext', 'keyUsage=critical,digitalSignature'],
      ...['-addext', 'extendedKeyUsage=serverAuth'],
    ]);
    return createSecureContext({
      key: readFileSync(key),
      cert: Buffer.concat([readFileSync(cert), readFileSync(files.intermediateCert)]),
    });
  }
}
