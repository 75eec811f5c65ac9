// Who is acting: the launch key (ClientToken) tells every step of every job of every attempt
// apart; the install lease owner tells jobs apart but stays with a job across attempts.
import { jest } from '@jest/globals';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { launchClientToken, runKey, runOwner } from '../src/run-identity.ts';
import { FakeAws } from './helpers/fake-aws.ts';
import { fakeCore, saveEnv } from './helpers/fake-core.ts';
import { awsError } from './helpers/fakes.ts';

const RUN = {
  GITHUB_REPOSITORY: 'octo/hubs',
  GITHUB_RUN_ID: '123',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_JOB: 'hub',
  GITHUB_ACTION: 'create',
};
const token = (env: Record<string, string | undefined>, hub = 'workshop') =>
  launchClientToken(hub, 'eu-west-1', runKey(env));

describe('runKey and the launch ClientToken', () => {
  test('every part of the run identity is in the key', () => {
    expect(runKey(RUN)).toBe('octo/hubs/123/1/hub/create');
    expect(runKey({ ...RUN, GITHUB_RUN_ATTEMPT: undefined })).toBe('octo/hubs/123/1/hub/create');
  });

  test('the same step of the same attempt: the same token (a retried launch is replayed)', () => {
    expect(token(RUN)).toBe(token({ ...RUN }));
    expect(token(RUN)).toMatch(/^tljh-[0-9a-f]{48}$/);
  });

  test.each([
    ['another attempt', { GITHUB_RUN_ATTEMPT: '2' }],
    ['another job of the run', { GITHUB_JOB: 'reaper' }],
    ['another step of the job (terminate, then create)', { GITHUB_ACTION: 'create-again' }],
    ['another run', { GITHUB_RUN_ID: '124' }],
    ['another repository', { GITHUB_REPOSITORY: 'octo/other' }],
  ])('%s: another token', (_what, change) => {
    expect(token({ ...RUN, ...change })).not.toBe(token(RUN));
  });

  test('another hub or region: another token', () => {
    expect(token(RUN, 'other')).not.toBe(token(RUN));
    expect(launchClientToken('workshop', 'us-east-1', runKey(RUN))).not.toBe(token(RUN));
  });

  test('outside a workflow run: no key, and a random token each time', () => {
    expect(runKey({})).toBeUndefined();
    expect(token({})).not.toBe(token({}));
    expect(token({})).toMatch(/^tljh-[0-9a-f]{48}$/);
  });

  test('the token fits the 64 characters RunInstances takes', () => {
    expect(token(RUN).length).toBeLessThanOrEqual(64);
  });
});

describe('runOwner (the install lease owner)', () => {
  test('the same job in another attempt: the same owner (a re-run takes over its own lease)', () => {
    expect(runOwner({ ...RUN, GITHUB_RUN_ATTEMPT: '2' })).toBe(runOwner(RUN));
    expect(runOwner({ ...RUN, GITHUB_ACTION: 'other-step' })).toBe(runOwner(RUN));
    expect(runOwner(RUN)).toMatch(/^[0-9a-f]{16}$/);
  });

  test.each([
    ['another job of the run', { GITHUB_JOB: 'reaper' }],
    ['another run', { GITHUB_RUN_ID: '124' }],
    ['another repository', { GITHUB_REPOSITORY: 'octo/other' }],
  ])('%s: another owner', (_what, change) => {
    expect(runOwner({ ...RUN, ...change })).not.toBe(runOwner(RUN));
  });

  test('outside a workflow run: a random owner each time', () => {
    expect(runOwner({})).not.toBe(runOwner({}));
  });
});

describe('run(): the ClientToken of each launch', () => {
  // The bug: the token was hub + region + run attempt only, so a second launch in the same
  // attempt (a create after a terminate in one job, or another job of the run) sent the first
  // launch's token: EC2 replays that launch (an instance now terminated) or answers
  // IdempotentParameterMismatch.
  let inputs: Record<string, string> = {};
  const setFailed = jest.fn<(message: string | Error) => void>();
  let main: typeof import('../src/main.ts');
  const KEYS = ['AWS_REGION', 'GITHUB_EVENT_NAME', 'GITHUB_EVENT_PATH', ...Object.keys(RUN)];
  const restoreEnv = saveEnv(KEYS);

  beforeAll(async () => {
    jest.unstable_mockModule('@actions/core', () =>
      fakeCore({ input: (name) => inputs[name], setFailed }),
    );
    main = await import('../src/main.ts');
  });
  afterAll(() => {
    restoreEnv();
  });

  /** Runs the action once in this environment; returns the ClientToken its launch sent. */
  async function launchToken(env: Record<string, string>): Promise<string> {
    const aws = new FakeAws();
    // Record the launch, then end the run there (no capacity anywhere).
    aws.fail(RunInstancesCommand, awsError('InsufficientInstanceCapacity'));
    Object.assign(
      process.env,
      { AWS_REGION: 'eu-west-1', GITHUB_EVENT_NAME: 'workflow_dispatch' },
      env,
    );
    Reflect.deleteProperty(process.env, 'GITHUB_EVENT_PATH');
    inputs = { 'hub-name': 'workshop', 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm' };
    setFailed.mockClear();
    await main.run();
    expect(String(setFailed.mock.calls[0]?.[0])).toContain('had capacity');
    const [launch] = aws.inputs(RunInstancesCommand);
    return launch!.ClientToken!;
  }

  test('a terminate-then-create in two steps of one job, and two jobs: three tokens', async () => {
    const first = await launchToken(RUN);
    expect(await launchToken(RUN)).toBe(first); // the same step (an SDK retry) replays
    const nextStep = await launchToken({ ...RUN, GITHUB_ACTION: 'create-again' });
    const otherJob = await launchToken({ ...RUN, GITHUB_JOB: 'other' });
    expect(new Set([first, nextStep, otherJob]).size).toBe(3);
  });
});
