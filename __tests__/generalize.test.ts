import { spawnSync } from 'node:child_process';
import { buildSettingsScript } from '../src/bootstrap.ts';
import { GENERALIZED_AWAY, buildGeneralizeScript } from '../src/scripts/generalize.ts';

const script = buildGeneralizeScript('i-0123456789abcdef0');

describe('the generalise script', () => {
  test('is valid POSIX sh (dash -n)', () => {
    const out = spawnSync('sh', ['-n'], { input: script });
    expect(out.status).toBe(0);
  });

  test.each(GENERALIZED_AWAY.map((p) => [p]))('removes %s and checks it is gone', (path) => {
    const removal = script.split('\n').filter((l) => /^rm |^ {2}\/opt|\/home\/jupyter-\*$/.test(l));
    const words = removal.join(' ').split(/\s+/);
    const globs = path.endsWith('*') ? [path, path.replace(/\/[^/]*\*$/, '/*')] : [path];
    expect(globs.some((g) => words.includes(g)) || words.includes(path.replace('/*', ''))).toBe(
      true,
    );
    expect(script).toContain(`for path in ${GENERALIZED_AWAY.join(' ')}; do`);
  });

  test('empties the machine id, stops and disables the hub, deletes the jupyter-* users', () => {
    expect(script).toContain(': >/etc/machine-id');
    expect(script).toContain('systemctl disable jupyterhub traefik');
    expect(script).toMatch(/userdel -r "\$user"/);
  });

  test('keeps only the directory of its own command among the SSM agent state', () => {
    expect(script).toContain("builder='i-0123456789abcdef0'");
    expect(script).toContain('! -name "$builder" -exec rm -rf {} +');
  });

  test('refuses anything but an instance id', () => {
    expect(() => buildGeneralizeScript("i-1; rm -rf /'")).toThrow('not an instance id');
  });
});

describe("a hub's first boot from a cached image", () => {
  const opts = { adminUser: 'naomi', region: 'us-east-1', settingsParameter: '/tljh/x/settings' };
  const firstBoot = buildSettingsScript({ ...opts, firstBoot: true });
  const settings = buildSettingsScript(opts);

  test("makes the hub's secrets with TLJH's own installer functions, before the settings", () => {
    for (const call of [
      'installer.ensure_config_yaml(plugins)',
      'installer.ensure_usergroups()',
      'installer.ensure_jupyterhub_service(installer.HUB_ENV_PREFIX)',
      'installer.ensure_jupyterhub_running()',
    ]) {
      expect(firstBoot).toContain(call);
    }
    expect(firstBoot.indexOf('phase=first-boot')).toBeLessThan(
      firstBoot.indexOf('phase=configure'),
    );
    expect(spawnSync('sh', ['-n'], { input: firstBoot }).status).toBe(0);
  });

  test('runs no installer: no bootstrap.py download, no pip', () => {
    expect(firstBoot).not.toContain('bootstrap.py');
    expect(firstBoot).not.toContain('phase=install');
  });

  test('a settings command on an installed hub makes no new secrets', () => {
    expect(settings).not.toContain('first-boot');
    expect(settings).not.toContain('ensure_jupyterhub_service');
  });
});
