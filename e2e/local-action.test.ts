// A second client beside our harness: GitHub's own @github/local-action runs src/main.ts (via
// `npm run local-action`, with a dotenv file made from .env.example) against the emulator.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedHubs } from '../bench/seed.ts';
import { hubInstances } from './harness/ec2.ts';
import {
  frontUrl,
  getCalls,
  getMutatingCalls,
  resetEmulator,
  useLightInstances,
} from './harness/emulator.ts';
import { ACTION_ACCESS_KEY, ACTION_SECRET_KEY, RUNS_JOURNAL, append } from './harness/journal.ts';
import { networkInterfaces } from './harness/namespace.ts';
import { REPO_ROOT, TMP_DIR } from './harness/paths.ts';

// No install happens here: instances run the light model of TLJH.
useLightInstances();

interface LocalRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The "Action Outputs" table local-action prints at the end (its setOutput stub's record). */
  outputs: Record<string, string>;
  summary: string;
  env: Record<string, string>;
}

/** The KEY=value lines of .env.example, in order. */
function exampleEnv(): Map<string, string> {
  const lines = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8').split('\n');
  const entries = lines
    .filter((l) => /^[A-Z][\w.-]*=/.test(l))
    .map((l): [string, string] => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
  return new Map(entries);
}

/** Parses console.table's rows after the "Action Outputs" title: │ i │ 'name' │ 'value' │. */
function outputsTable(stdout: string): Record<string, string> {
  const at = stdout.indexOf('Action Outputs');
  if (at === -1) return {};
  const outputs: Record<string, string> = {};
  const row = /^│\s*\d+\s*│\s*(['"])(.*?)\1\s*│\s*(['"])(.*)\3\s*│$/;
  for (const line of stdout.slice(at).split('\n')) {
    const m = row.exec(line.trim());
    if (m) outputs[m[2]!] = m[4]!;
  }
  return outputs;
}

/** `npm run local-action` with .env.example's variables, `overrides` replacing some of them. */
async function localAction(overrides: Record<string, string>): Promise<LocalRun> {
  mkdirSync(join(TMP_DIR, 'runs'), { recursive: true });
  const dir = mkdtempSync(join(TMP_DIR, 'runs', 'local-action-'));
  const env = exampleEnv();
  for (const key of Object.keys(overrides)) {
    // The example must document every variable a run needs.
    if (!env.has(key)) throw new Error(`.env.example has no ${key}`);
  }
  const summaryFile = join(dir, 'step_summary.md');
  const values = { ...Object.fromEntries(env), ...overrides, GITHUB_STEP_SUMMARY: summaryFile };
  const dotenv = join(dir, '.env');
  writeFileSync(
    dotenv,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );

  const child = spawn('npm', ['run', '--silent', 'local-action'], {
    cwd: REPO_ROOT,
    // Only what a shell on a developer's machine would have, and the file to read.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      LANG: 'C.UTF-8',
      FORCE_COLOR: '0',
      npm_config_update_notifier: 'false',
      LOCAL_ACTION_ENV: dotenv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  let summary = '';
  try {
    summary = readFileSync(summaryFile, 'utf8');
  } catch {
    // No summary written: the assertions say so.
  }
  const outputs = outputsTable(stdout);
  // The suite's audit (e2e/audit.test.ts) reads this run's log for secrets too.
  append(RUNS_JOURNAL, { inputs: {}, outputs, stdout, stderr, summary });
  return { exitCode, stdout, stderr, outputs, summary, env: values };
}

function expectClean(run: LocalRun): void {
  // local-action exits 0 even after setFailed: its log is where a failure shows.
  if (run.exitCode !== 0 || /::error::|Unexpected error/.test(run.stdout + run.stderr)) {
    throw new Error(`local-action run failed (${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  }
}

const AWS = {
  AWS_ENDPOINT_URL: '',
  AWS_ACCESS_KEY_ID: ACTION_ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: ACTION_SECRET_KEY,
};

describe('@github/local-action runs src/main.ts against the emulator', () => {
  beforeAll(async () => {
    AWS.AWS_ENDPOINT_URL = frontUrl();
    await resetEmulator({ aws: true });
  });

  test('stop on a hub that does not exist: state absent, nothing changed, all on loopback', async () => {
    // Nothing can leave: this namespace holds only loopback (e2e/netns.sh).
    expect(networkInterfaces()).toEqual(['lo']);
    await resetEmulator();
    const run = await localAction({
      ...AWS,
      'INPUT_HUB-NAME': 'never-made',
      INPUT_STATE: 'stopped',
    });
    expectClean(run);
    expect(run.stdout).toContain('Running Action');
    expect(run.outputs).toMatchObject({ state: 'absent', changed: 'false' });
    expect(await getMutatingCalls()).toEqual([]);
    expect(run.summary).toContain('never-made');

    // Every endpoint it was given is loopback, and its AWS calls reached the emulator's front,
    // signed as the action (only its own: the test made none since the reset).
    const urls = Object.entries(run.env).filter(([, v]) => /^[a-z]+:\/\//.test(v));
    expect(urls.map(([k]) => k).sort()).toEqual([
      'AWS_ENDPOINT_URL',
      'GITHUB_API_URL',
      'GITHUB_SERVER_URL',
    ]);
    for (const [, url] of urls) expect(new URL(url).hostname).toBe('127.0.0.1');
    const calls = await getCalls();
    expect(calls.map((c) => c.operation)).toContain('DescribeInstances');
    expect(new Set(calls.map((c) => c.accessKey))).toEqual(new Set([ACTION_ACCESS_KEY]));
  });

  test('stop on a running hub: one StopInstances, outputs the instance, stopped', async () => {
    const [instanceId] = await seedHubs(1, { prefix: 'local-hub' }); // local-hub-000, running
    await resetEmulator();
    const run = await localAction({
      ...AWS,
      'INPUT_HUB-NAME': 'local-hub-000',
      INPUT_STATE: 'stopped',
    });
    expectClean(run);
    expect(run.outputs).toMatchObject({
      state: 'stopped',
      changed: 'true',
      'instance-id': instanceId,
      'hub-url': '',
    });
    const mutating = await getMutatingCalls();
    expect(mutating.map((c) => [c.operation, c.params['InstanceId.1']])).toEqual([
      ['StopInstances', instanceId],
    ]);
    expect((await hubInstances()).get('local-hub-000')?.State?.Name).toBe('stopped');
  });
});
