// The hubs' certificates for names in Route 53's hosted zones: TLJH 2.0's traefik and its
// `letsencrypt` resolver (tljh/traefik.toml.tpl: tlsChallenge, storage acme.json; the domains
// in the dynamic config's tls.stores.default.defaultGeneratedCert), with the Let's Encrypt
// stand-in (acme-ca.ts) as its CA. What traefik v3.1 (TLJH 2.0 installs 3.1.4) does, from its
// source (pkg/provider/acme/provider.go, pkg/tls/tlsmanager.go), and how it is modelled:
//  - At its start, the resolver loads acme.json (Init: Store.GetCertificates) and serves those
//    certificates from memory until it stops; a CA change (staging <-> production) resets the
//    account only ("Account URI does not match the current CAServer. The account will be
//    reset."): the stored certificates stay and are served.
//  - At each new dynamic configuration (the first one at its start), for the
//    defaultGeneratedCert domains: if a stored certificate has exactly those domains
//    (certExists), nothing ("Default ACME certificate generation is not required."); else it
//    orders one, and on success stores it in acme.json and serves it. On failure it logs
//    "Unable to obtain ACME certificate for domain" and does not retry: only a later
//    configuration change does (watchNewDomains), or a restart. TLJH's `tljh-config reload
//    proxy` restarts traefik (tljh/config.py reload_component), as a boot does.
//    Here a traefik start is an attempt: the systemctl stand-in's traefik starts (real
//    instances), the light tljh-config stub's `reload proxy`, and a start or reboot of the
//    instance. The attempt is made when the Run Command that started traefik ends (traefik
//    orders its certificate within seconds of its start; the action waits for that command),
//    or when the start or reboot is answered, with DNS, the instance and its security groups
//    as they are then. Not modelled: the other configuration changes that retry in traefik
//    (jupyterhub-traefik-proxy writing a route when a user's server starts or stops).
//  - A connection's certificate (tlsmanager Get): a loaded certificate for the SNI name; else
//    the store's default: the loaded certificate for exactly the defaultGeneratedCert domains,
//    or traefik's own "TRAEFIK DEFAULT CERT".
// Names in no hosted zone with no stored certificate are left to the scenario (hub.ts).
import { createSecureContext, type SecureContext } from 'node:tls';
import {
  CA_SERVERS,
  challengeFailure,
  signCertificate,
  type Authority,
  type IngressRule,
} from './acme-ca.ts';
import {
  certificateFor,
  certificateForDomains,
  storeCertificate,
  storedCertificates,
  type StoredCertificate,
} from './acme-store.ts';
import type { HttpsSettings } from './https-settings.ts';

export {
  AUTHORITY_SUBJECTS,
  authorityFiles,
  createAuthorities,
  type Authority,
} from './acme-ca.ts';

export interface InstanceFacts {
  id: string;
  state: string;
  publicIp?: string;
}

/** What the stand-in needs to know of the world (hub.ts gives it moto's and the disks'). */
export interface AcmeLookups {
  /** The values of the A records `name` in Route 53; undefined when no hosted zone holds it. */
  addressesOf(name: string): Promise<string[] | undefined>;
  /**
   * The instance a connection reached: at `address`, or, at 127.0.0.1, the instance whose
   * process connected from `remotePort`.
   */
  instanceAt(address: string, remotePort: number | undefined): Promise<InstanceFacts | undefined>;
  instance(instanceId: string): Promise<InstanceFacts | undefined>;
  /** The ingress rules of the instance's security groups. */
  ingress(instanceId: string): Promise<IngressRule[]>;
  /** The HTTPS settings its traefik runs with (https-settings.ts). */
  settings(instanceId: string): HttpsSettings;
  /** Where its acme.json is: /opt/tljh/state/acme.json on its disk. */
  acmeJson(instanceId: string): string;
  /** How many times its traefik has started so far (a light instance: `reload proxy`s). */
  traefikStarts(instanceId: string): number;
  /** Drops whatever the lookups keep for a while (something changed in EC2 or Route 53). */
  forget?(): void;
}

export type CertificateChoice =
  | { kind: 'issued'; context: SecureContext }
  | { kind: 'traefik-default' }
  /** No hosted zone holds the name, and the hub has no certificate for it. */
  | { kind: 'not-in-route53' };

export class LetsEncryptStandIn {
  private readonly dir: string;
  private readonly lookups: AcmeLookups;
  private readonly log: (line: string) => void;
  /** Per instance, the certificates its running traefik loaded or obtained. */
  private readonly loaded = new Map<string, StoredCertificate[]>();
  /** Per instance, the traefik starts already acted on. */
  private readonly seenStarts = new Map<string, number>();
  /** Per instance, the attempt under way (one at a time). */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly contexts = new Map<string, SecureContext>();

  constructor(dir: string, lookups: AcmeLookups, log: (line: string) => void = () => {}) {
    this.dir = dir;
    this.lookups = lookups;
    this.log = log;
  }

  /** A Run Command on the instance ended: acts on the traefik starts it made (see the top). */
  afterCommand(instanceId: string): Promise<void> {
    return this.serially(instanceId, async () => {
      const starts = this.lookups.traefikStarts(instanceId);
      if (starts <= (this.seenStarts.get(instanceId) ?? 0)) return;
      this.seenStarts.set(instanceId, starts);
      await this.traefikStarted(instanceId, 'its traefik (re)started');
    });
  }

  /**
   * The instance was launched (`launched`: a repeated RunInstances answer boots nothing),
   * started or rebooted: its traefik starts with it, if it has one.
   */
  booted(instanceId: string, launched = false): Promise<void> {
    return this.serially(instanceId, async () => {
      if (launched && this.seenStarts.has(instanceId)) return;
      this.seenStarts.set(instanceId, this.lookups.traefikStarts(instanceId));
      await this.traefikStarted(instanceId, 'it booted');
    });
  }

  private serially(instanceId: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.pending.get(instanceId) ?? Promise.resolve()).then(fn).catch((err) => {
      this.log(`acme: ${instanceId}: ${err instanceof Error ? err.message : String(err)}`);
    });
    this.pending.set(instanceId, next);
    return next;
  }

  /** traefik's Init and its first configuration, with the world as it is now. */
  private async traefikStarted(instanceId: string, why: string): Promise<void> {
    const settings = this.lookups.settings(instanceId);
    if (!settings.letsencrypt) {
      this.loaded.delete(instanceId); // no resolver: acme.json is not read
      return;
    }
    const path = this.lookups.acmeJson(instanceId);
    const certs = storedCertificates(path);
    this.loaded.set(instanceId, certs);
    const domains = settings.domains;
    if (certificateForDomains(certs, domains)) return; // certExists
    this.lookups.forget?.();
    const instance = await this.lookups.instance(instanceId);
    const failure = await challengeFailure(
      domains,
      {
        state: instance?.state ?? 'gone',
        publicIp: instance?.publicIp,
        ingress: instance ? await this.lookups.ingress(instanceId) : [],
      },
      (name) => this.lookups.addressesOf(name),
    );
    const ca: Authority = settings.staging ? 'staging' : 'production';
    if (failure) {
      this.log(
        `acme: ${instanceId} (${why}): Unable to obtain ACME certificate for ${domains.join(', ')} from the ${ca} CA: ${failure}`,
      );
      return;
    }
    const signed = await signCertificate(this.dir, domains, ca);
    const cert: StoredCertificate = { domains, ...signed };
    storeCertificate(path, cert, { email: settings.email, caServer: CA_SERVERS[ca] });
    this.loaded.set(instanceId, [...certs, cert]);
    this.log(`acme: ${instanceId} (${why}): ${ca} certificate for ${domains.join(', ')} stored`);
  }

  /** The certificate a hub presents for `name` on a connection to `address` (see the top). */
  async choose(
    name: string,
    address: string,
    remotePort: number | undefined,
  ): Promise<CertificateChoice> {
    const instance = await this.lookups.instanceAt(address, remotePort);
    let certs: StoredCertificate[] = [];
    let settings: HttpsSettings | undefined;
    if (instance?.state === 'running') {
      settings = this.lookups.settings(instance.id);
      if (settings.letsencrypt) certs = this.loaded.get(instance.id) ?? [];
    }
    const match = certificateFor(certs, name);
    if (match) return this.issued(match);
    if (!(await this.lookups.addressesOf(name))) return { kind: 'not-in-route53' };
    const fallback = settings && certificateForDomains(certs, settings.domains);
    return fallback ? this.issued(fallback) : { kind: 'traefik-default' };
  }

  private issued(cert: StoredCertificate): CertificateChoice {
    let context = this.contexts.get(cert.chain);
    if (!context) {
      context = createSecureContext({ cert: cert.chain, key: cert.key });
      this.contexts.set(cert.chain, context);
    }
    return { kind: 'issued', context };
  }

  /** Looks everything up afresh at the next connection (EC2 or Route 53 changed). */
  forget(): void {
    this.lookups.forget?.();
  }

  /** Forgets every running traefik's certificates (a reset of the emulator: disks go too). */
  reset(): void {
    this.forget();
    this.loaded.clear();
    this.seenStarts.clear();
    this.contexts.clear();
  }
}
