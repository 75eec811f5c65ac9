// The audit of the whole end-to-end suite; the sequencer runs this file last.
//  1. No password or token appears in any AWS request (but the PutParameter that carries it
//     encrypted), any line the action logged (but the runner's ::add-mask:: commands), any
//     job summary, or any request body the action sent to GitHub's API (PR comments: GitHub
//     masks log lines, never API bodies).
//  2. Every AWS request the action made is allowed by docs/iam/caller-policy.json, as a real IAM
//     policy evaluator (@cloud-copilot/iam-simulate, e2e/harness/iam-audit.ts) decides with
//     the request's resources, tags and conditions; the policy's actions nothing used are
//     listed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WORKFLOW_TOKEN } from './harness/action-defaults.ts';
import { evaluateRecordedRequests } from './harness/iam-audit.ts';
import {
  ACTION_ACCESS_KEY,
  ACTION_SECRET_KEY,
  AWS_JOURNAL,
  GITHUB_JOURNAL,
  INSTANCE_ACCESS_KEY,
  RUNS_JOURNAL,
  readJournal,
  type AwsEntry,
  type GitHubEntry,
  type RunEntry,
} from './harness/journal.ts';
import { REPO_ROOT } from './harness/paths.ts';

const aws = readJournal<AwsEntry>(AWS_JOURNAL);
const runs = readJournal<RunEntry>(RUNS_JOURNAL);
const githubBodies = readJournal<GitHubEntry>(GITHUB_JOURNAL);

/** The body as sent, and its JSON strings decoded (a secret with " or \ is escaped in JSON). */
function githubTexts(entry: GitHubEntry): string[] {
  try {
    const parsed = JSON.parse(entry.body) as Record<string, unknown>;
    return [entry.body, ...Object.values(parsed).filter((v): v is string => typeof v === 'string')];
  } catch {
    return [entry.body];
  }
}

// Its own list, not the action's (src/inputs.ts SECRET_SETTING_WORDS), so a word dropped there shows.
const SECRET_SETTING = /secret|passw(or)?d|token|api_?key|private_?key|credential/i;

/** Every secret the suite handed the action or the action generated. */
function secrets(): Set<string> {
  const found = new Set([WORKFLOW_TOKEN, ACTION_SECRET_KEY]);
  for (const run of runs) {
    for (const name of ['admin-password', 'github-token']) {
      if (run.inputs[name]) found.add(run.inputs[name]);
    }
    if (run.outputs['admin-password']) found.add(run.outputs['admin-password']);
    for (const line of (run.inputs['tljh-config'] ?? '').split('\n')) {
      const [key, ...rest] = line.split('=');
      const value = rest.join('=').trim();
      if (key && SECRET_SETTING.test(key) && value.length >= 6) found.add(value);
    }
  }
  return found;
}

test('the journals cover the suite (so the checks below can fail)', () => {
  expect(runs.length).toBeGreaterThan(20);
  expect(aws.some((e) => e.operation === 'SendCommand' && e.accessKey === ACTION_ACCESS_KEY)).toBe(
    true,
  );
  expect(aws.some((e) => e.operation === 'PutParameter')).toBe(true);
  expect(runs.some((r) => r.outputs['admin-password'])).toBe(true);
  // Comment bodies, a failure's among them, from runs that were given secrets.
  const comments = githubBodies.flatMap(githubTexts);
  expect(comments.some((b) => b.includes('JupyterHub is ready'))).toBe(true);
  expect(comments.some((b) => b.includes('JupyterHub failed'))).toBe(true);
  expect(runs.some((r) => r.inputs['admin-password'] && r.inputs['tljh-config'])).toBe(true);
});

test('no password or token appears in any AWS request, log line, summary or GitHub API body', () => {
  const all = secrets();
  const leaks: string[] = [];
  for (const entry of aws) {
    const params =
      entry.operation === 'PutParameter' ? { ...entry.params, Value: '(encrypted)' } : entry.params;
    const text = JSON.stringify(params);
    for (const secret of all)
      if (text.includes(secret)) leaks.push(`${entry.service} ${entry.operation}`);
  }
  for (const run of runs) {
    for (const line of `${run.stdout}\n${run.stderr}`.split('\n')) {
      if (line.startsWith('::add-mask::')) continue;
      for (const secret of all)
        if (line.includes(secret)) leaks.push(`log line: ${line.slice(0, 120)}`);
    }
    for (const secret of all) if (run.summary.includes(secret)) leaks.push('job summary');
  }
  for (const entry of githubBodies) {
    for (const text of githubTexts(entry)) {
      for (const secret of all)
        if (text.includes(secret)) leaks.push(`GitHub ${entry.method} ${entry.path}`);
    }
  }
  expect(all.size).toBeGreaterThan(3);
  expect(leaks).toEqual([]);
});

interface Statement {
  Action: string | string[];
}

function policyActions(file: string): string[] {
  const policy = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'iam', file), 'utf8')) as {
    Statement: Statement[];
  };
  return [
    ...new Set(policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))),
  ];
}

function allows(actions: string[], action: string): boolean {
  return actions.some((a) =>
    new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(
      action,
    ),
  );
}

test('every AWS operation the action performed is in the documented caller policy', () => {
  const policy = policyActions('caller-policy.json');
  const used = [
    ...new Set(
      aws
        .filter((e) => e.accessKey === ACTION_ACCESS_KEY)
        .map((e) => `${e.service}:${e.operation}`),
    ),
  ].sort();
  const missing = used.filter((action) => !allows(policy, action));
  const unused = policy.filter((action) => !used.some((u) => allows([action], u)));
  console.log(
    `Caller policy: ${used.length} operations used: ${used.join(', ')}\nPolicy actions nothing used: ${unused.join(', ') || 'none'}`,
  );
  expect(missing).toEqual([]);
});

test('the caller policy, evaluated request by request, allows everything the action did', async () => {
  const own = aws.filter((e) => e.accessKey === ACTION_ACCESS_KEY);
  // The settings parameter's tag is part of what is evaluated (ssm:AddTagsToResource).
  expect(own.some((e) => e.operation === 'AddTagsToResource')).toBe(true);
  const denied = await evaluateRecordedRequests(own);
  expect(denied).toEqual([]);
});

test('the instance itself only reads its settings parameter', () => {
  const byInstance = [
    ...new Set(
      aws
        .filter((e) => e.accessKey === INSTANCE_ACCESS_KEY)
        .map((e) => `${e.service}:${e.operation}`),
    ),
  ];
  expect(byInstance).toEqual(['ssm:GetParameter']);
});
