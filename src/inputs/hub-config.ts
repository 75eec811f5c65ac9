// The inputs that reach the hub itself: the admin password, tljh-config settings, plugins, the
// user requirements URL and HTTPS. Values reach the instance as argument lists or single-quoted
// words (src/bootstrap.ts, src/instance-helper.ts), never through a shell's parsing.
import { InputError } from '../errors.ts';
import { DNS_NAME } from './endpoint.ts';
import { boolean, integer, keyValueLines, match, printable } from './fields.ts';
import { parsePlugins } from './plugins.ts';
import { isSecretSetting } from './secret-settings.ts';
import type { HubSpec, InputGetter } from './spec.ts';

const ADMIN_PASSWORD = /^[\x21-\x39\x3b-\x7e]{8,128}$/;
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+){0,8}$/;
// Any text without control characters: values reach tljh-config as one argv entry, never a shell.
// `--` alone is the one value argparse (tljh-config) can never take as a value.
const CONFIG_VALUE = /^(?!--$)[^\p{Cc}\p{Cs}]{0,1024}$/u;
const HTTPS_URL = /^https:\/\/[A-Za-z0-9.-]{1,253}(?::\d{1,5})?(?:\/[A-Za-z0-9._~%/+=-]{0,500})?$/;
const EMAIL = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;

/** SSM standard parameters hold 4 KB: the admin password and the settings travel in one. */
export const SETTINGS_LIMIT_BYTES = 4096;

function parseSettings(raw: string): [string, string][] {
  return [
    ...keyValueLines(
      'tljh-config',
      raw,
      "one 'key=value' per line: a dotted tljh-config key such as user_environment.default_app, and a value without control characters (at most 1024)",
      (key, value) => CONFIG_KEY.test(key) && CONFIG_VALUE.test(value),
      // A rejected secret (client_secret=...) is not echoed: this message is not masked, and
      // the printable form of a value would not match its mask anyway.
      (line, key) =>
        isSecretSetting(line)
          ? `the line of key '${printable(key)}' (it holds a secret, not shown)`
          : `line '${printable(line)}'`,
    ),
  ];
}

type HubConfig = Pick<
  HubSpec,
  | 'adminPassword'
  | 'generatePassword'
  | 'tljhSettings'
  | 'plugins'
  | 'userRequirementsUrl'
  | 'https'
>;

/**
 * Admin credentials, tljh-config settings, plugins and HTTPS. `get` trims and applies defaults.
 * `dnsName`: the record the action keeps (dns-name), which is also the HTTPS name.
 */
export function parseHubConfig(
  getInput: InputGetter,
  get: (name: string) => string,
  dnsName?: string,
): HubConfig {
  const passwordRaw = getInput('admin-password');
  if (passwordRaw && !ADMIN_PASSWORD.test(passwordRaw)) {
    // Never echo a password, even a rejected one.
    throw new InputError(
      'admin-password',
      'is not valid',
      '8 to 128 printable ASCII characters without spaces or colons',
    );
  }
  const tljhSettings = parseSettings(getInput('tljh-config'));
  const plugins = parsePlugins(get('tljh-plugins'));
  const requirementsRaw = get('user-requirements-url');
  const userRequirementsUrl = requirementsRaw
    ? match(
        'user-requirements-url',
        requirementsRaw,
        HTTPS_URL,
        'an https:// URL of a requirements.txt, without query string',
      )
    : undefined;
  const givenDomain = get('https-domain').toLowerCase();
  const emailRaw = get('https-email');
  if (dnsName && givenDomain && givenDomain !== dnsName) {
    throw new InputError(
      'https-domain',
      `'${printable(givenDomain)}' differs from dns-name '${dnsName}'`,
      'https-domain left empty (with dns-name, HTTPS is for dns-name), or the same name as dns-name',
    );
  }
  // With dns-name, https-email alone turns HTTPS on for that name.
  const domainRaw = givenDomain || (emailRaw ? (dnsName ?? '') : '');
  if (Boolean(domainRaw) !== Boolean(emailRaw)) {
    throw new InputError(
      domainRaw ? 'https-email' : 'https-domain',
      'is required with the other',
      'both https-domain and https-email, or neither (with dns-name, https-email alone)',
    );
  }
  const staging = boolean('https-staging', get('https-staging'));
  if (staging && !domainRaw) {
    throw new InputError(
      'https-staging',
      'is true but HTTPS is off',
      'https-staging: true together with https-email (and dns-name or https-domain), or https-staging left false',
    );
  }
  const https = domainRaw
    ? {
        domain: match('https-domain', domainRaw, DNS_NAME, 'a DNS name such as hub.example.org'),
        email: match('https-email', emailRaw, EMAIL, "an e-mail address for Let's Encrypt"),
        waitMinutes: integer('https-wait', get('https-wait'), 0, 60),
        staging,
      }
    : undefined;
  const hasAuthenticator = tljhSettings.some(([k]) => k === 'auth.type');
  const size = Buffer.byteLength(
    JSON.stringify({ adminPassword: passwordRaw || 'x'.repeat(32), settings: tljhSettings }),
  );
  if (size > SETTINGS_LIMIT_BYTES - 512) {
    throw new InputError(
      'tljh-config',
      `the settings take ${size} bytes`,
      `at most ${SETTINGS_LIMIT_BYTES - 512} bytes in all`,
    );
  }
  return {
    adminPassword: passwordRaw || undefined,
    generatePassword: !passwordRaw && !hasAuthenticator,
    tljhSettings,
    plugins,
    userRequirementsUrl,
    https,
  };
}
