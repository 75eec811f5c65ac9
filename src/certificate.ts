// What certificate a hub presented to the runner's probe, and whether it is the one asked for:
// trusted and for the hub's name, or (https-staging) from Let's Encrypt's staging CA, which no
// one trusts, but still for the hub's name. traefik presents its own self-signed "TRAEFIK
// DEFAULT CERT" until Let's Encrypt has issued one.
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';

export interface PresentedCertificate {
  /** The subject's CN (the name the certificate is for). */
  subject: string;
  /** The issuer's organisation and CN. */
  issuer: string;
  validFrom?: string;
  validTo?: string;
  /** Node verified it: trusted chain, valid dates, for the name connected to. */
  authorized: boolean;
  /** Why Node did not (its code: UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_TLS_CERT_ALTNAME_INVALID...). */
  error?: string;
  /** The certificate names the host (its SAN or CN): checked even when the chain is untrusted. */
  namesHost: boolean;
}

/** traefik's own certificate, shown while no ACME certificate exists for the name. */
export const TRAEFIK_DEFAULT = 'TRAEFIK DEFAULT CERT';

// The chain errors of a certificate whose root is not in the trust store (staging's is not).
const UNTRUSTED_CHAIN = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function field(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

export function describeCertificate(socket: TLSSocket, host: string): PresentedCertificate {
  const cert = socket.getPeerCertificate() as PeerCertificate | undefined;
  const subject = field(cert?.subject?.CN);
  const issuer = [field(cert?.issuer?.O), field(cert?.issuer?.CN)].filter(Boolean).join(' / ');
  const error = socket.authorizationError
    ? String(
        (socket.authorizationError as unknown as { code?: string }).code ??
          socket.authorizationError,
      )
    : undefined;
  return {
    subject,
    issuer,
    validFrom: cert?.valid_from,
    validTo: cert?.valid_to,
    authorized: socket.authorized,
    error,
    namesHost: Boolean(cert?.subject) && checkServerIdentity(host, cert!) === undefined,
  };
}

/** Let's Encrypt's staging hierarchy: every name in it starts "(STAGING)". */
export function isStagingIssuer(issuer: string): boolean {
  return /\(STAGING\)/.test(issuer);
}

/**
 * Whether the certificate is the one the hub should present: trusted (Node checked the chain,
 * dates and name), or with `staging`, one from the staging CA for the host whose only fault is
 * its untrusted root.
 */
export function acceptable(
  cert: PresentedCertificate,
  staging: boolean,
  now = Date.now(),
): boolean {
  if (cert.authorized) return true;
  // The chain error hides the others: the dates are checked here.
  const current = Date.parse(cert.validFrom ?? '') <= now && now <= Date.parse(cert.validTo ?? '');
  return (
    staging &&
    cert.namesHost &&
    current &&
    isStagingIssuer(cert.issuer) &&
    UNTRUSTED_CHAIN.has(cert.error ?? '')
  );
}

export function describePresented(cert: PresentedCertificate): string {
  if (cert.subject === TRAEFIK_DEFAULT) return `traefik's default certificate (none issued yet)`;
  return `a certificate for ${cert.subject || '?'} from ${cert.issuer || '?'}`;
}
