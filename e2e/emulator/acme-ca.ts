// The Let's Encrypt stand-in's CA side: its two authorities, the certificates it signs, and
// whether the ACME challenge TLJH's traefik uses would pass.
// Two authorities, each a root and an intermediate, as Let's Encrypt's: "production" (O=Let's
// Encrypt stand-in), whose root the tests' action trusts (NODE_EXTRA_CA_CERTS), and "staging"
// (https.letsencrypt.staging), named like Let's Encrypt's staging hierarchy ("(STAGING) ..."),
// which nobody trusts. A hub presents its certificate with the intermediate, not the root.
// The challenge: TLJH 2.0's resolver uses tlsChallenge (TLS-ALPN-01, tljh/traefik.toml.tpl):
// Let's Encrypt resolves each name of the order and connects to port 443 at its address, from
// the internet, expecting the hub asking for the certificate to answer there. Here:
//  - every name must be in a Route 53 hosted zone (no other DNS exists here) with A records
//    whose values are all the hub's public IP (Let's Encrypt validates at one of a name's
//    addresses, which one is not promised; the action writes one);
//  - the hub's security groups must let tcp/443 in from LETS_ENCRYPT_VALIDATION_ADDRESS (a
//    stand-in for Let's Encrypt's validation servers, whose addresses are not published and
//    change: in practice only 0.0.0.0/0 lets them in), over IPv4: the hubs have no IPv6
//    address here, so ::/0 does not count. Not modelled: an AAAA record at a name (Let's
//    Encrypt tries its IPv6 address first, and IPv4 only when that connection fails).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** The ACME directories traefik's caServer names (tljh/traefik.toml.tpl; traefik's default). */
export const CA_SERVERS: Record<Authority, string> = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
};

/**
 * Where Let's Encrypt's validation connects from, here (TEST-NET-2, RFC 5737; not in the
 * 203.0.113.0/24 the suites narrow allowed-cidrs to).
 */
export const LETS_ENCRYPT_VALIDATION_ADDRESS = '198.51.100.25';

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

const execFileAsync = promisify(execFile);
let serial = 0;

/**
 * A 90-day certificate for `domains` (CN the first, SAN all), as Let's Encrypt's are: the PEM
 * chain (leaf, then intermediate) and key.
 */
export async function signCertificate(
  dir: string,
  domains: string[],
  ca: Authority,
): Promise<{ chain: string; key: string }> {
  for (const name of domains) {
    if (!/^[a-z0-9*]([a-z0-9.-]*[a-z0-9])?$/.test(name)) throw new Error(`bad name ${name}`);
  }
  const files = authorityFiles(dir, ca);
  const out = join(dir, 'issued');
  mkdirSync(out, { recursive: true });
  const base = join(out, `${ca}-${domains[0]}-${process.pid}-${++serial}`);
  await execFileAsync('openssl', [
    ...['req', '-x509', '-CA', files.intermediateCert, '-CAkey', files.intermediateKey],
    ...[...EC_KEY, '-days', '90', '-subj', `/CN=${domains[0]}`],
    ...['-keyout', `${base}.key`, '-out', `${base}.pem`],
    ...['-addext', `subjectAltName=${domains.map((d) => `DNS:${d}`).join(',')}`],
    ...['-addext', 'basicConstraints=critical,CA:FALSE'],
    ...['-addext', 'keyUsage=critical,digitalSignature'],
    ...['-addext', 'extendedKeyUsage=serverAuth'],
  ]);
  return {
    chain: readFileSync(`${base}.pem`, 'utf8') + readFileSync(files.intermediateCert, 'utf8'),
    key: readFileSync(`${base}.key`, 'utf8'),
  };
}

/** An ingress rule of a security group, as EC2 describes it (IPv4 ranges only matter here). */
export interface IngressRule {
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrs: string[];
}

function ipv4(address: string): number | undefined {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    return undefined;
  }
  return parts.reduce((n, p) => n * 256 + p, 0);
}

/** Whether the IPv4 CIDR contains the address. */
export function cidrContains(cidr: string, address: string): boolean {
  const [base = '', bitsText = '32'] = cidr.split('/');
  const bits = Number(bitsText);
  const net = ipv4(base);
  const ip = ipv4(address);
  if (net === undefined || ip === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    return false;
  }
  const size = 2 ** (32 - bits);
  return Math.floor(net / size) === Math.floor(ip / size);
}

/** Whether these rules let tcp `port` in from `address`. */
export function admits(rules: IngressRule[], port: number, address: string): boolean {
  return rules.some((r) => {
    const tcp = r.protocol === '-1' || r.protocol === 'tcp' || r.protocol === '6';
    const ports = r.protocol === '-1' || ((r.fromPort ?? 0) <= port && port <= (r.toPort ?? 65535));
    return tcp && ports && r.cidrs.some((c) => cidrContains(c, address));
  });
}

/** What the challenge of an order for `domains` sees of the hub asking for it. */
export interface ChallengeTarget {
  state: string;
  publicIp?: string;
  /** The ingress rules of the hub's security groups. */
  ingress: IngressRule[];
}

/**
 * Why Let's Encrypt would refuse the order (its words, shortened), or undefined when every
 * name's challenge passes. `addressesOf` is Route 53's (undefined: no hosted zone holds it).
 */
export async function challengeFailure(
  domains: string[],
  target: ChallengeTarget,
  addressesOf: (name: string) => Promise<string[] | undefined>,
): Promise<string | undefined> {
  if (target.state !== 'running' || !target.publicIp) {
    return `the hub is ${target.state}, without a public IP`;
  }
  for (const name of domains) {
    const values = await addressesOf(name);
    if (!values) return `${name}: DNS problem: NXDOMAIN looking up A (no hosted zone holds it)`;
    if (!values.length) return `${name}: DNS problem: no valid A records found`;
    const elsewhere = values.filter((v) => v !== target.publicIp);
    if (elsewhere.length) {
      return `${name}: the A record points at ${elsewhere.join(', ')}, not at the hub (${target.publicIp})`;
    }
  }
  if (!admits(target.ingress, 443, LETS_ENCRYPT_VALIDATION_ADDRESS)) {
    return `${target.publicIp}: Timeout during connect (likely firewall problem): the hub's security groups do not let tcp/443 in from ${LETS_ENCRYPT_VALIDATION_ADDRESS}`;
  }
  return undefined;
}
