// Runs the bundled action (dist/index.js) the way GitHub's runner does for `runs: node24`:
// inputs as INPUT_<NAME> variables (defaults from action.yml applied), GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, and AWS pointed at the emulator's front.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionDefaults } from './action-defaults.ts';
import { ACTION_ACCESS_KEY, ACTION_SECRET_KEY, RUNS_JOURNAL, append } from './journal.ts';
import { frontUrl } from './emulator.ts';
import { inputVariable, parseOutputFile } from './github-files.ts';
import { NODE24, REPO_ROOT, TLS_CERT, TMP_DIR, TRUSTED_CA_BUNDLE } from './paths.ts';

export interface RunOptions {
  /** Extra or overriding environment variables (e.g. AWS_ENDPOINT_URL_SSM). */
  env?: Record<string, string>;
  /** GITHUB_EVENT_NAME (default workflow_dispatch) and the event payload. */
  eventName?: string;
  event?: Record<string, unknown>;
  /** Kill the action after this long (default 10 min: a real TLJH install takes minutes here). */
  timeoutMs?: number;
  /** The script to run instead of dist/index.js (to test the harness itself). */
  entry?: string;
  /**
   * Polled every 25 ms while the action runs; once it resolves true the action is killed
   * with SIGKILL, as a cancelled or crashed runner would (e.g. when getHeld() finds a call).
   */
  killWhen?: () => Promise<boolean>;
}

export interface ActionResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** The run's directory (GITHUB_OUTPUT, summary, event file), kept for diagnosis. */
  dir: string;
  /** True when killWhen killed it. */
  killed: boolean;
}

export const ACTION_ENTRY = join(REPO_ROOT, 'dist', 'index.js');

export async function runAction(
  inputs: Record<string, string>,
  opts: RunOptions = {},
): Promise<ActionResult> {
  const entry = opts.entry ?? ACTION_ENTRY;
  if (!existsSync(entry)) {
    throw new Error(`${entry} does not exist: run \`npm run build\` first`);
  }
  mkdirSync(join(TMP_DIR, 'runs'), { recursive: true });
  const dir = mkdtempSync(join(TMP_DIR, 'runs', 'run-'));
  const files = {
    output: join(dir, 'output'),
    summary: join(dir, 'step_summary.md'),
    state: join(dir, 'state'),
    env: join(dir, 'env'),
    path: join(dir, 'path'),
    event: join(dir, 'event.json'),
  };
  for (const file of [files.output, files.summary, files.state, files.env, files.path]) {
    writeFileSync(file, '');
  }
  writeFileSync(files.event, JSON.stringify(opts.event ?? {}));
  const runnerTemp = join(dir, 'runner_temp');
  mkdirSync(runnerTemp);

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'octo-org/tljh-e2e',
    GITHUB_REPOSITORY_OWNER: 'octo-org',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKFLOW: 'e2e',
    GITHUB_JOB: 'hub',
    GITHUB_ACTION: 'hub',
    GITHUB_ACTOR: 'octocat',
    GITHUB_EVENT_NAME: opts.eventName ?? 'workflow_dispatch',
    GITHUB_EVENT_PATH: files.event,
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKSPACE: dir,
    // Never reachable: a test must not depend on (or reach) GitHub.
    GITHUB_SERVER_URL: 'http://127.0.0.1:9/',
    GITHUB_API_URL: 'http://127.0.0.1:9/api',
    GITHUB_GRAPHQL_URL: 'http://127.0.0.1:9/api/graphql',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_STATE: files.state,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_NAME: 'emulator',
    RUNNER_TEMP: runnerTemp,
    AWS_ENDPOINT_URL: frontUrl(),
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: ACTION_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: ACTION_SECRET_KEY,
    AWS_EC2_METADATA_DISABLED: 'true',
    TLJH_POLL_INTERVAL_MS: '50',
    // The hubs' *.example.org certificate and the Let's Encrypt stand-in's production root.
    NODE_EXTRA_CA_CERTS: existsSync(TRUSTED_CA_BUNDLE) ? TRUSTED_CA_BUNDLE : TLS_CERT,
  };
  for (const [name, value] of Object.entries({ ...actionDefaults(), ...inputs })) {
    env[inputVariable(name)] = value;
  }
  Object.assign(env, opts.env);

  const { exitCode, stdout, stderr, killed } = await spawnCollect(
    NODE24,
    [entry],
    env,
    dir,
    opts.timeoutMs ?? 600_000,
    opts.killWhen,
  );
  const result = {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(files.output, 'utf8')),
    summary: readFileSync(files.summary, 'utf8'),
    dir,
    killed,
  };
  if (entry === ACTION_ENTRY) {
    const allInputs = { ...actionDefaults(), ...inputs };
    append(RUNS_JOURNAL, {
      inputs: allInputs,
      outputs: result.outputs,
      stdout,
      stderr,
      summary: result.summary,
    });
  }
  return result;
}

function spawnCollect(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
  killWhen?: () => Promise<boolean>,
): Promise<{ exitCode: number; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let exited = false;
    const poll = async (): Promise<void> => {
      while (killWhen && !exited && !killed) {
        if (await killWhen().catch(() => false)) {
          if (!exited) {
            killed = true;
            child.kill('SIGKILL');
          }
          return;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    void poll();
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      // The tail first: where the run was when it was stopped (a report may be cut short).
      const tail = stdout.trimEnd().split('\n').slice(-40).join('\n');
      reject(
        new Error(
          `the action ran longer than ${timeoutMs} ms; its last lines:\n${tail}\n--- all of its output:\n${stdout}\n--- stderr:\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', () => (exited = true));
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr, killed });
    });
  });
}
