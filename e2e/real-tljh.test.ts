// The hub as TLJH's own code builds it: every instance here runs the real bootstrap.py and
// tljh.installer at the pinned tag (from TLJH_GIT), with real pip, venv, git, useradd and
// tljh-config; only what needs the internet or PID 1 is a stand-in (e2e/emulator/instance/).
// Each test judges the install by what TLJH left on the instance, not by what the action says.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { instancesOf } from './harness/ec2.ts';
import { getCalls, hubApiUrl, resetEmulator, setScenario } from './harness/emulator.ts';
import {
  hubAdmins,
  hubPasswordMatches,
  modeOnInstance,
  readOnInstance,
  runOnInstance,
  setInstalledVersionTag,
} from './harness/instance.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

const HUB = { 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm', state: 'running' };
/** The jupyterhub that TLJH 2.0.0's requirements-hub-env.txt resolves to from the wheelhouse. */
const HUB_VERSION = /^5\.\d+\.\d+$/;

function expectSuccess(result: ActionResult): void {
  if (result.exitCode !== 0)
    throw new Error(`action failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
}

async function installRuns(): Promise<number> {
  return (await getCalls()).filter(
    (c) => c.operation === 'SendCommand' && JSON.stringify(c.params).includes('bootstrap.py'),
  ).length;
}

interface ProgressPage {
  /** GET / redirected to /index.html, which answered this. */
  page: string;
  /** GET /logs: the installer's log so far. */
  logs: string;
  /** GET /hub/api: the status the action's probes read as "not a live hub". */
  apiStatus: number;
}

/**
 * Watches a new hub's address while `running` goes on, until TLJH's progress page answers
 * there (bootstrap.py --show-progress-page): what it answered, or undefined if it never did.
 */
async function watchProgressPage(
  hubName: string,
  running: Promise<unknown>,
): Promise<ProgressPage | undefined> {
  let over = false;
  void running.finally(() => (over = true));
  let base: string | undefined;
  while (!over) {
    base ??= await instancesOf(hubName).then((found) => {
      const ip = found[0]?.PublicIpAddress;
      return ip && hubApiUrl(ip).replace(/hub\/api$/, '');
    });
    try {
      const root = base && (await fetch(base, { redirect: 'manual' }));
      if (root && root.status === 302 && root.headers.get('location') === '/index.html') {
        const seen = {
          page: await (await fetch(`${base}index.html`)).text(),
          logs: await (await fetch(`${base}logs`)).text(),
          apiStatus: (await fetch(`${base}hub/api`)).status,
        };
        // The page server starts before bootstrap.py writes its first log line.
        if (seen.logs.includes(' Setting up hub environment...')) return seen;
      }
    } catch {
      // nothing listens yet
    }
    await sleep(200);
  }
  return undefined;
}

beforeAll(() => resetEmulator({ aws: true }));
beforeEach(async () => {
  await resetEmulator();
  await setScenario({ tljh: 'real' });
});

test('a new hub: the real installer finishes, users can run servers, both plugins are installed', async () => {
  const running = runAction({
    ...HUB,
    'hub-name': 'real-plugins',
    'admin-password': 'Corr3ct-Horse-Battery',
    'tljh-plugins': 'tljh-emu-plugin-a\ntljh-emu-plugin-b',
  });
  const progress = await watchProgressPage('real-plugins', running);
  const result = await running;
  expectSuccess(result);
  const id = result.outputs['instance-id']!;
  // While it installed, the hub's address showed TLJH's progress page: bootstrap.py was given
  // --show-progress-page (it wrote the page and got the favicon only then), and its server
  // ran until the installer stopped it for traefik.
  expect(progress).toEqual({
    page: expect.stringContaining('Please wait while your TLJH is setting up...') as string,
    logs: expect.stringMatching(/ Setting up hub environment\.\.\.\n/) as string,
    apiStatus: 403,
  });
  expect(readOnInstance(id, 'run/index.html')).toContain('The Littlest Jupyterhub');
  expect(readOnInstance(id, 'run/favicon.ico')).toBeDefined();
  // The page serves installer.log to anyone: TLJH never writes the admin password there.
  expect(readOnInstance(id, 'opt/tljh/installer.log')).not.toContain('Corr3ct-Horse-Battery');
  expect(result.stdout).toMatch(/Watch the install's progress at http:\/\/127\.[\d.]+\//);
  // TLJH's own log, written by its own logger.
  expect(readOnInstance(id, 'opt/tljh/installer.log')?.trimEnd()).toMatch(/ Done!$/);
  // The hub answers with the JupyterHub version pip installed.
  const api = await fetch(`${result.outputs['hub-url']}hub/api`);
  expect(await api.json()).toEqual({ version: expect.stringMatching(HUB_VERSION) });
  // TLJH's plugin manager loaded and ran both plugins (it keeps only the last repeated --plugin).
  expect(readOnInstance(id, 'opt/tljh/state/emu-plugin-a.installed')).toBeDefined();
  expect(readOnInstance(id, 'opt/tljh/state/emu-plugin-b.installed')).toBeDefined();
  // The user environment is readable by the jupyter-* users: TLJH never widens modes itself.
  expect(modeOnInstance(id, 'opt/tljh/user') & 0o005).toBe(0o005);
  expect(result.stdout).toContain("a user's server starts from /opt/tljh/user");
  // The job summary lists each check that ran, with its answer.
  expect(result.summary).toContain("a user's server started as an unprivileged user: ok");
  expect(result.summary).toContain("installer.log ends with 'Done!': done");
  // TLJH stored the admin and the given password (bcrypt) itself.
  expect(hubAdmins(id)).toEqual(['naomi']);
  expect(hubPasswordMatches(id, 'naomi', 'Corr3ct-Horse-Battery')).toBe(true);
  // The user-server check cleaned up after itself.
  expect(runOnInstance(id, ['sh', '-c', 'getent passwd jupyter-tljh-action-probe || true'])).toBe(
    '',
  );
  expect(await installRuns()).toBe(1);
});

test('a root-only user environment fails the verification, though /hub/api answers', async () => {
  const result = await runAction({ ...HUB, 'hub-name': 'real-umask' });
  expectSuccess(result);
  const id = result.outputs['instance-id']!;
  // What a umask of 077 around the installer produced: /opt/tljh/user without read for others.
  runOnInstance(id, ['chmod', '0700', '/opt/tljh/user']);
  // The next run asks the instance again: an older version is marked, so it upgrades in place.
  await setInstalledVersionTag(id, '1.0.0');
  await resetEmulator();
  await setScenario({ tljh: 'real' });
  const again = await runAction({ ...HUB, 'hub-name': 'real-umask' });
  expect(again.exitCode).not.toBe(0);
  expect(`${again.stdout}\n${again.stderr}`).toMatch(/a user's server did not start/);
});

test('a reinstall keeps the admins added on the hub since', async () => {
  const first = await runAction({ ...HUB, 'hub-name': 'real-admins' });
  expectSuccess(first);
  const id = first.outputs['instance-id']!;
  // An admin adds a colleague with TLJH's own tool, as its docs say.
  runOnInstance(id, ['/usr/bin/tljh-config', 'add-item', 'users.admin', 'alice']);
  expect(hubAdmins(id)).toEqual(['naomi', 'alice']);
  // The next run finds an older version marked and runs the installer again (an upgrade).
  await setInstalledVersionTag(id, '1.0.0');
  await resetEmulator();
  await setScenario({ tljh: 'real' });
  const again = await runAction({ ...HUB, 'hub-name': 'real-admins' });
  expectSuccess(again);
  expect(await installRuns()).toBe(1);
  expect(hubAdmins(id).sort()).toEqual(['alice', 'naomi']);
});

test('HTTPS: tljh-config turns it on in the right order, and the hub answers over TLS', async () => {
  const result = await runAction({
    ...HUB,
    'hub-name': 'real-https',
    'https-domain': 'hub.example.org',
    'https-email': 'admin@example.org',
  });
  expectSuccess(result);
  const id = result.outputs['instance-id']!;
  expect(result.outputs['hub-url']).toBe('https://hub.example.org/');
  const config = readOnInstance(id, 'opt/tljh/config/config.yaml') ?? '';
  expect(config).toMatch(/https:\n(\s+.*\n)*\s+enabled: true/);
  // traefik got the https entrypoint at its last start (reload proxy came before reload hub).
  expect(readOnInstance(id, 'var/lib/emu-systemd/traefik.loaded.toml')).toMatch(
    /\[entryPoints\.https\]/,
  );
});

test('HTTPS before DNS points at the hub: a live hub, the URL not claimed ready, no failure', async () => {
  await setScenario({ tljh: 'real', certificateIssued: false });
  const result = await runAction({
    ...HUB,
    'hub-name': 'real-https-pending',
    'https-domain': 'pending.example.org',
    'https-email': 'admin@example.org',
    'https-wait': '0', // one look: the certificate will not come in this test
  });
  expectSuccess(result);
  expect(result.stdout).toMatch(/no valid certificate for pending\.example\.org yet/);
  expect(result.stdout).toMatch(/DNS A record/);
  expect(result.summary).toContain('(not ready: no certificate yet)');
});

test('a failed install says why in TLJH’s own words; the next run repairs it', async () => {
  await setScenario({ tljh: 'real', failNextInstalls: 1 });
  const failed = await runAction({ ...HUB, 'hub-name': 'real-fail' });
  expect(failed.exitCode).not.toBe(0);
  // bootstrap.py's own failure line: pip could not find what it needed to build TLJH.
  const text = `${failed.stdout}\n${failed.stderr}`;
  expect(text).toMatch(
    /Ran \/opt\/tljh\/hub\/bin\/pip install --upgrade git\+\S+@2\.0\.0 with exit code 1/,
  );
  expect(text).toContain('No matching distribution found for setuptools');
  await resetEmulator();
  await setScenario({ tljh: 'real' });
  const repaired = await runAction({ ...HUB, 'hub-name': 'real-fail' });
  expectSuccess(repaired);
  expect(readOnInstance(repaired.outputs['instance-id']!, 'opt/tljh/installer.log')).toMatch(
    / Done!\n$/,
  );
});

test('an unknown TLJH tag is a 404 from the download host, reported as such', async () => {
  const result = await runAction({ ...HUB, 'hub-name': 'real-no-tag', 'tljh-version': '9.9.9' });
  expect(result.exitCode).not.toBe(0);
  expect(`${result.stdout}\n${result.stderr}`).toMatch(/could not download/);
});

test('IMDS is closed to every user but root on the hub; the unit that restores it at boot is enabled', async () => {
  const result = await runAction({ ...HUB, 'hub-name': 'real-imds' });
  expectSuccess(result);
  const id = result.outputs['instance-id']!;
  // The metadata address, here on loopback: the emulator's web front answers on it (any
  // answer means connected), and the rules the install added decide who gets through.
  execFileSync('ip', ['addr', 'replace', '169.254.169.254/32', 'dev', 'lo']);
  const ask = (asUser: string | undefined): string =>
    runOnInstance(id, [
      'sh',
      '-c',
      `${asUser ? `setpriv --reuid=${asUser} --regid=${asUser} --clear-groups ` : ''}curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://169.254.169.254/latest/meta-data/ ; echo " exit=$?"`,
    ]).trim();
  expect(ask(undefined)).toMatch(/^\d{3} exit=0$/); // root: the SSM agent and the helper
  expect(ask('65534')).toBe('000 exit=7'); // nobody: refused
  // The boot unit that restores the rules is installed and enabled.
  expect(readOnInstance(id, 'etc/systemd/system/tljh-imds-guard.service')).toContain('ExecStart=');
  expect(readOnInstance(id, 'var/lib/emu-systemd/tljh-imds-guard.enabled')).toBeDefined();
});
