// Which certificate a probe accepts: a trusted one, or with https-staging one from the staging
// CA for the right name whose only fault is its untrusted root; never traefik's default.
import { acceptable, describePresented, type PresentedCertificate } from '../src/certificate.ts';

const staged: PresentedCertificate = {
  subject: 'hub.example.org',
  issuer: "(STAGING) Let's Encrypt / (STAGING) Ersatz Edamame E1",
  authorized: false,
  error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  namesHost: true,
  validFrom: 'Jan  1 00:00:00 2026 GMT',
  validTo: 'Dec 31 23:59:59 2099 GMT',
};

test('a trusted certificate is accepted', () => {
  expect(acceptable({ ...staged, authorized: true, error: undefined }, false)).toBe(true);
});

test('a staging certificate only with staging, and only for the host', () => {
  expect(acceptable(staged, false)).toBe(false);
  expect(acceptable(staged, true)).toBe(true);
  expect(acceptable({ ...staged, namesHost: false }, true)).toBe(false);
  expect(acceptable({ ...staged, error: 'CERT_HAS_EXPIRED' }, true)).toBe(false);
  // Expired, or not yet valid: the untrusted chain's error hides that, so it is checked apart.
  expect(acceptable({ ...staged, validTo: 'Jan  2 00:00:00 2026 GMT' }, true)).toBe(false);
  expect(acceptable({ ...staged, validFrom: 'Jan  1 00:00:00 2098 GMT' }, true)).toBe(false);
});

test("traefik's default certificate is never accepted, and is named as such", () => {
  const traefik = {
    ...staged,
    subject: 'TRAEFIK DEFAULT CERT',
    issuer: 'TRAEFIK DEFAULT CERT',
    error: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    namesHost: false,
  };
  expect(acceptable(traefik, true)).toBe(false);
  expect(describePresented(traefik)).toMatch(/traefik's default certificate/);
});
