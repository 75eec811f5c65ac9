// traefik's ACME store: the acme.json its `letsencrypt` resolver keeps. TLJH 2.0's static config
// says `storage = "acme.json"`, relative to traefik's working directory /opt/tljh/state
// (tljh/traefik.toml.tpl, systemd-units/traefik.service), and tljh/traefik.py
// ensure_traefik_config creates the file empty (0600) at each proxy reload if it is missing.
// The shape is traefik v3.1's LocalStore (pkg/provider/acme/local_store.go, store.go,
// account.go): one StoredData per resolver,
//   { "letsencrypt": { "Account": { "Email", "Registration": { "body", "uri" }, "PrivateKey",
//     "KeyType" }, "Certificates": [ { "domain": { "main", "sans" }, "certificate": <base64 of
//     the PEM chain>, "key": <base64 of the PEM key>, "Store": "default" } ] } }
// An empty file is no data; certificates without a certificate or key are dropped on reading.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** TLJH's resolver name (tljh/traefik.toml.tpl). */
export const RESOLVER = 'letsencrypt';

/** A certificate traefik keeps, decoded. */
export interface StoredCertificate {
  /** main first, then the SANs (lower case). */
  domains: string[];
  /** The leaf and its intermediate, PEM. */
  chain: string;
  key: string;
}

interface StoredData {
  Account?: { Email?: string; Registration?: { uri?: string }; KeyType?: string } | null;
  Certificates?:
    | {
        domain?: { main?: string; sans?: string[] };
        certificate?: string;
        key?: string;
        Store?: string;
      }[]
    | null;
}

function readStore(path: string): Record<string, StoredData> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  if (!text.trim()) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, StoredData>) : {};
  } catch {
    return {}; // traefik would fail to start its resolver; nothing is served from it either way
  }
}

/** The resolver's certificates in the acme.json at `path` (none when it is missing or empty). */
export function storedCertificates(path: string): StoredCertificate[] {
  return (readStore(path)[RESOLVER]?.Certificates ?? []).flatMap((c) => {
    if (!c.certificate || !c.key || !c.domain?.main) return [];
    const domains = [c.domain.main, ...(c.domain.sans ?? [])].map((d) => d.toLowerCase());
    return [
      {
        domains,
        chain: Buffer.from(c.certificate, 'base64').toString('utf8'),
        key: Buffer.from(c.key, 'base64').toString('utf8'),
      },
    ];
  });
}

/**
 * Adds a certificate obtained from the CA whose directory is `caServer` (replacing one for the
 * same domains), and the account traefik registered there, as traefik's LocalStore saves them.
 */
export function storeCertificate(
  path: string,
  cert: StoredCertificate,
  account: { email: string; caServer: string },
): void {
  const all = readStore(path);
  const data = all[RESOLVER] ?? {};
  const same = (domains: string[]) =>
    [...domains].sort().join(',') === [...cert.domains].sort().join(',');
  const kept = (data.Certificates ?? []).filter(
    (c) => !same([c.domain?.main ?? '', ...(c.domain?.sans ?? [])].map((d) => d.toLowerCase())),
  );
  const [main, ...sans] = cert.domains;
  const registration = new URL('/acme/acct/1', account.caServer).href;
  all[RESOLVER] = {
    Account: {
      Email: account.email,
      Registration: { uri: registration },
      KeyType: '4096',
    },
    Certificates: [
      ...kept,
      {
        domain: { main: main!, ...(sans.length ? { sans } : {}) },
        certificate: Buffer.from(cert.chain).toString('base64'),
        key: Buffer.from(cert.key).toString('base64'),
        Store: 'default',
      },
    ],
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
}

/** The certificate traefik presents for the SNI `name` (pkg/tls certificate_store.go matching). */
export function certificateFor(
  certs: StoredCertificate[],
  name: string,
): StoredCertificate | undefined {
  const wanted = name.toLowerCase().replace(/\.$/, '');
  const matches = (domain: string) =>
    domain === wanted ||
    (domain.startsWith('*.') && wanted.split('.').slice(1).join('.') === domain.slice(2));
  return certs.find((c) => c.domains.some(matches));
}

/** The certificate for exactly these domains (traefik's certExists / defaultGeneratedCert). */
export function certificateForDomains(
  certs: StoredCertificate[],
  domains: string[],
): StoredCertificate | undefined {
  const key = [...domains].sort().join(',');
  return certs.find((c) => [...c.domains].sort().join(',') === key);
}
