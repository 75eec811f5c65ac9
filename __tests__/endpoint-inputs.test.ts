// The inputs of where a hub is reached: elastic-ip, dns-zone-id with dns-name, and HTTPS for
// dns-name from https-email alone; https-staging only with HTTPS.
import { InputError } from '../src/errors.ts';
import { spec } from './helpers/hub-spec.ts';

const ZONE = 'Z0123456789ABCDEFGHIJ';

test('dns-name with https-email turns HTTPS on for that name', () => {
  const s = spec({ 'dns-zone-id': ZONE, 'dns-name': 'Hub.Example.org.', 'https-email': 'a@b.org' });
  expect(s.dns).toEqual({ zoneId: ZONE, name: 'hub.example.org' });
  expect(s.https).toMatchObject({ domain: 'hub.example.org', email: 'a@b.org', staging: false });
});

test('a zone id in its /hostedzone/ form is accepted', () => {
  expect(spec({ 'dns-zone-id': `/hostedzone/${ZONE}`, 'dns-name': 'h.example.org' }).dns).toEqual({
    zoneId: ZONE,
    name: 'h.example.org',
  });
});

test.each([
  [{ 'dns-zone-id': ZONE }, 'dns-name'],
  [{ 'dns-name': 'h.example.org' }, 'dns-zone-id'],
  [{ 'dns-zone-id': 'z123', 'dns-name': 'h.example.org' }, 'dns-zone-id'],
  [{ 'dns-zone-id': ZONE, 'dns-name': '*.example.org' }, 'dns-name'],
  [{ 'dns-zone-id': ZONE, 'dns-name': 'h.example.org; rm -rf /' }, 'dns-name'],
  [
    {
      'dns-zone-id': ZONE,
      'dns-name': 'h.example.org',
      'https-domain': 'x.example.org',
      'https-email': 'a@b.org',
    },
    'https-domain',
  ],
  [{ 'https-staging': 'true' }, 'https-staging'],
  // Its tag (<zone>/<name>) would pass EC2's 256 characters.
  [
    {
      'dns-zone-id': ZONE,
      'dns-name': `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.org`,
    },
    'dns-name',
  ],
  [{ 'elastic-ip': 'yes please' }, 'elastic-ip'],
])('%j is refused naming %s', (inputs, name) => {
  let err: unknown;
  try {
    spec(inputs as Record<string, string>);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  expect((err as Error).message).toContain(`'${name}'`);
});

test('https-staging with HTTPS is parsed', () => {
  const s = spec({
    'dns-zone-id': ZONE,
    'dns-name': 'h.example.org',
    'https-email': 'a@b.org',
    'https-staging': 'true',
    'elastic-ip': 'true',
  });
  expect(s.https?.staging).toBe(true);
  expect(s.elasticIp).toBe(true);
});
