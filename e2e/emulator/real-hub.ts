// How a hub installed by TLJH's own installer answers on an emulated instance. TLJH runs
// traefik in front of JupyterHub; neither process runs here (both need systemd), so the
// web front answers from what the systemctl stand-in (e2e/emulator/instance/systemctl)
// recorded when each unit last started, following the upstream behaviour:
//  - traefik not started: nothing listens (the connection is refused);
//  - traefik's static config (tljh/traefik.toml.tpl, rendered by tljh/traefik.py) has an
//    `https` entrypoint when https.enabled was set at its last start, and then redirects the
//    `http` entrypoint to HTTPS;
//  - the hub registers its routes on the entrypoint tljh/configurer.py chose at the hub's last
//    start ("https" when https.enabled, else "http"); traefik answers 404 on an entrypoint
//    without them;
//  - /hub/api answers the version of the jupyterhub package pip installed in /opt/tljh/hub.
// Before all that, while bootstrap.py --show-progress-page serves TLJH's progress page on the
// instance's port 80, its own server answers (see progressPagePort).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type RealHubAnswer =
  | { kind: 'refuse' }
  | { kind: 'redirect'; location: string }
  | { kind: 'not-found' }
  | { kind: 'api'; version: string };

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The version of the jupyterhub distribution in the hub environment under `root`. */
export function installedHubVersion(root: string): string | undefined {
  const lib = join(root, 'opt', 'tljh', 'hub', 'lib');
  if (!existsSync(lib)) return undefined;
  for (const py of readdirSync(lib)) {
    const site = join(lib, py, 'site-packages');
    if (!existsSync(site)) continue;
    const dist = readdirSync(site).find((d) => /^jupyterhub-[^-]+\.dist-info$/.test(d));
    if (dist) return dist.slice('jupyterhub-'.length, -'.dist-info'.length);
  }
  return undefined;
}

/**
 * Where the progress page server of the instance whose disk is `root` listens, if it started:
 * bootstrap.py's HTTPServer(("", 80)) is bound to a loopback port instead, and the port
 * written down, by the instance's sitecustomize.py stand-in. Nothing listening there any more
 * (the installer stopped the server) means the port is traefik's again.
 */
export function progressPagePort(root: string): number | undefined {
  const port = Number(read(join(root, 'var', 'lib', 'emu-progress-page', 'port'))?.trim());
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Whether TLJH's config.yaml text has `https: enabled: true`. */
export function httpsEnabled(configYaml: string): boolean {
  const block = /^https:\s*\n((?:[ \t]+.*\n?)*)/m.exec(configYaml);
  return Boolean(block && /^[ \t]+enabled:\s*true\s*$/m.test(block[1] ?? ''));
}

/**
 * The answer for `path` on port 80 (`tls` false) or 443 of the instance whose disk is `root`
 * (the directory its writes land in), asked for by `host`.
 */
export function answerRealHub(
  root: string,
  path: string,
  tls: boolean,
  host: string,
): RealHubAnswer {
  const state = join(root, 'var', 'lib', 'emu-systemd');
  if (!existsSync(join(state, 'traefik.active'))) return { kind: 'refuse' };
  const traefik = read(join(state, 'traefik.loaded.toml')) ?? '';
  const httpsEntrypoint = /^\[entryPoints\.https\]/m.test(traefik);
  if (!tls && httpsEntrypoint && /redirections/.test(traefik)) {
    return { kind: 'redirect', location: `https://${host}${path}` };
  }
  if (tls && !httpsEntrypoint) return { kind: 'refuse' };
  if (!existsSync(join(state, 'jupyterhub.active'))) return { kind: 'not-found' };
  const hubEntrypoint = httpsEnabled(read(join(state, 'jupyterhub.loaded.yaml')) ?? '')
    ? 'https'
    : 'http';
  if (hubEntrypoint !== (tls ? 'https' : 'http')) return { kind: 'not-found' };
  const version = installedHubVersion(root);
  if (!version || !/^\/hub\/api\/?$/.test(path)) return { kind: 'not-found' };
  return { kind: 'api', version };
}
