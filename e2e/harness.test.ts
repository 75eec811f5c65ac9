// Tests of the harness itself: runAction hands an action what GitHub's runner would.
import { join } from 'node:path';
import { actionDefaults } from './harness/action-defaults.ts';
import { frontUrl } from './harness/emulator.ts';
import { inputVariable, parseOutputFile } from './harness/github-files.ts';
import { REPO_ROOT } from './harness/paths.ts';
import { runAction } from './harness/run-action.ts';

const fixtures = join(REPO_ROOT, 'e2e', 'harness', 'fixtures');

test('input variables keep hyphens, as the runner does', () => {
  expect(inputVariable('hub-name')).toBe('INPUT_HUB-NAME');
});

test('GITHUB_OUTPUT heredocs and plain lines are parsed', () => {
  const text = 'a<<ghadelimiter_1\none\ntwo\nghadelimiter_1\nb=x=y\nc<<EOF\n\nEOF\n';
  expect(parseOutputFile(text)).toEqual({ a: 'one\ntwo', b: 'x=y', c: '' });
});

test('action.yml defaults are read (only for inputs that have one)', () => {
  expect(actionDefaults(join(fixtures, 'action.yml'))).toEqual({
    'hub-name': 'tljh',
    state: 'running',
    'instance-type': 't3.small',
    fail: 'false',
  });
  expect(actionDefaults(join(fixtures, 'missing.yml'))).toEqual({});
});

test('runAction passes inputs and environment, and collects outputs and summary', async () => {
  const entry = join(fixtures, 'echo-action.ts');
  const ok = await runAction({ 'hub-name': 'workshop' }, { entry });
  expect(ok.exitCode).toBe(0);
  expect(ok.outputs).toMatchObject({
    'hub-name': 'workshop',
    endpoint: frontUrl(),
    poll: '50',
    multi: 'line one\nline two',
  });
  expect(ok.summary).toContain('name workshop');

  const failed = await runAction({ fail: 'true' }, { entry });
  expect(failed.exitCode).toBe(1);
  expect(failed.stdout).toContain('::error::asked to fail');
});
