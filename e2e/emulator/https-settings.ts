// The HTTPS settings a hub's traefik runs with, read from the instance as the hub fake reads
// it (hub.ts): what decides whether traefik asks Let's Encrypt for a certificate (acme.ts).
// TLJH 2.0 (tljh/traefik.py and its templates) renders them at `tljh-config reload proxy`:
//  - the static config (/opt/tljh/state/traefik.toml, read by traefik at its start) gets an
//    `https` entrypoint when https.enabled, and the `letsencrypt` certificate resolver, with
//    tlsChallenge, when https.letsencrypt.email and .domains are both set; its caServer is
//    Let's Encrypt's staging directory when https.letsencrypt.staging;
//  - the dynamic config (/opt/tljh/state/rules/dynamic.toml, watched by traefik) names the
//    certificate's domains: main = domains[0], sans = the rest.
// A light instance (e2e/emulator/light/) has no traefik: its tljh-config stub records each call
// in tljh-config.calls, and the settings are those in force at its last `reload proxy`.
// traefikStarts counts the starts of an instance's traefik (acme.ts acts on each new one).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceDirs } from './instance-dirs.ts';

export interface HttpsSettings {
  /** traefik serves HTTPS (its `https` entrypoint). */
  enabled: boolean;
  /** traefik has the `letsencrypt` resolver (an email and domains were set). */
  letsencrypt: boolean;
  /** The names the certificate is asked for (lower case). */
  domains: string[];
  /** The resolver asks Let's Encrypt's staging CA. */
  staging: boolean;
  /** The account's email (https.letsencrypt.email). */
  email: string;
}

const OFF: HttpsSettings = {
  enabled: false,
  letsencrypt: false,
  domains: [],
  staging: false,
  email: '',
};

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** What tljh-config's parse_value makes of a value: `true` in any case is the boolean. */
function isTrue(value: string | string[] | undefined): boolean {
  return typeof value === 'string' && value.toLowerCase() === 'true';
}

/** The settings at the last `reload proxy` of a light instance's recorded tljh-config calls. */
export function lightHttpsSettings(calls: string): HttpsSettings {
  const config = new Map<string, string | string[]>();
  let loaded: Map<string, string | string[]> | undefined;
  const drop = (key: string) => {
    for (const k of [...config.keys()]) if (k === key || k.startsWith(`${key}.`)) config.delete(k);
  };
  for (const line of calls.split('\n')) {
    const [verb, key = '', value = ''] = line.split('\t');
    if (verb === 'set') {
      drop(key);
      config.set(key, value);
    } else if (verb === 'unset') {
      drop(key);
    } else if (verb === 'add-item') {
      const list = config.get(key);
      config.set(key, [...(Array.isArray(list) ? list : []), value]);
    } else if (verb === 'remove-item') {
      const list = config.get(key);
      if (Array.isArray(list))
        config.set(
          key,
          list.filter((v) => v !== value),
        );
    } else if (verb === 'reload' && key === 'proxy') {
      loaded = new Map(config);
    }
  }
  if (!loaded) return OFF;
  const enabled = isTrue(loaded.get('https.enabled'));
  const list = loaded.get('https.letsencrypt.domains');
  const domains = (Array.isArray(list) ? list : []).map((d) => d.toLowerCase());
  const email = loaded.get('https.letsencrypt.email');
  const letsencrypt = enabled && typeof email === 'string' && email !== '' && domains.length > 0;
  return {
    enabled,
    letsencrypt,
    domains: letsencrypt ? domains : [],
    staging: letsencrypt && isTrue(loaded.get('https.letsencrypt.staging')),
    email: letsencrypt ? (email as string) : '',
  };
}

/**
 * The settings of the traefik running on a real instance whose disk is `root` (the systemctl
 * stand-in keeps the static config traefik last started with, see instance/systemctl).
 */
export function realHttpsSettings(root: string): HttpsSettings {
  const state = join(root, 'var', 'lib', 'emu-systemd');
  if (!existsSync(join(state, 'traefik.active'))) return OFF;
  const traefik = read(join(state, 'traefik.loaded.toml')) ?? '';
  const enabled = /^\[entryPoints\.https\]/m.test(traefik);
  const resolver = /^\[certificatesResolvers\.letsencrypt\.acme\]\s*\n((?:(?!\[).*\n?)*)/m.exec(
    traefik,
  );
  if (!enabled || !resolver) return { ...OFF, enabled };
  const dynamic = read(join(root, 'opt', 'tljh', 'state', 'rules', 'dynamic.toml')) ?? '';
  const domain =
    /\[tls\.stores\.default\.defaultGeneratedCert\.domain\]([\s\S]*?)(?:\n\s*\[|$)/.exec(
      dynamic,
    )?.[1];
  const main = /^\s*main\s*=\s*"([^"]*)"/m.exec(domain ?? '')?.[1];
  const sans = /^\s*sans\s*=\s*\[([\s\S]*?)\]/m.exec(domain ?? '')?.[1] ?? '';
  const domains = [main, ...[...sans.matchAll(/"([^"]*)"/g)].map((m) => m[1])]
    .filter((d): d is string => Boolean(d))
    .map((d) => d.toLowerCase());
  return {
    enabled,
    letsencrypt: true,
    domains,
    staging: /^\s*caServer\s*=\s*"[^"]*acme-staging[^"]*"/m.test(resolver[1] ?? ''),
    email: /^\s*email\s*=\s*"([^"]*)"/m.exec(resolver[1] ?? '')?.[1] ?? '',
  };
}

/** The HTTPS settings of an emulated instance, light or real. */
export function httpsSettings(dirs: InstanceDirs, instanceId: string): HttpsSettings {
  if (dirs.isReal(instanceId)) return realHttpsSettings(dirs.diskRoot(instanceId));
  return lightHttpsSettings(read(join(dirs.dir(instanceId), 'tljh-config.calls')) ?? '');
}

/**
 * How many times the instance's traefik has started: a real instance's systemctl stand-in
 * counts them (var/lib/emu-systemd/traefik.starts); a light instance's are its `reload proxy`s.
 */
export function traefikStarts(dirs: InstanceDirs, instanceId: string): number {
  if (dirs.isReal(instanceId)) {
    const starts = read(
      join(dirs.diskRoot(instanceId), 'var', 'lib', 'emu-systemd', 'traefik.starts'),
    );
    return (starts ?? '').split('\n').filter(Boolean).length;
  }
  const calls = read(join(dirs.dir(instanceId), 'tljh-config.calls')) ?? '';
  return calls.split('\n').filter((line) => line === 'reload\tproxy').length;
}
