// Run Command and the SSM agent, waited for on the one wait (wait.ts): deadlines, progress
// lines, the presence check, errors looked through and errors that end the wait.
import {
  DescribeInstanceInformationCommand,
  type CommandInvocationStatus,
  type PingStatus,
  GetCommandInvocationCommand,
  InvalidInstanceId,
  InvocationDoesNotExist,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { ActionError } from '../src/errors.ts';
import {
  AGENT_TIMEOUT_MS,
  AGENT_UNKNOWN_MS,
  runScript,
  waitForAgent,
  type RunOptions,
  type SsmWaitContext,
} from '../src/run-command.ts';
import { FakeClock, awsError, rejection } from './helpers/fakes.ts';
import { useMockedSsm } from './helpers/mocked-clients.ts';
import { RecordingLog } from './helpers/recording-log.ts';

const { ssmMock, ssm } = useMockedSsm();
const ID = 'i-0123456789abcdef0';

let clock: FakeClock;
let infos: string[];
let ctx: SsmWaitContext;
beforeEach(() => {
  clock = new FakeClock();
  const log = new RecordingLog();
  ({ infos } = log);
  ctx = { ssm, clock, pollMs: 5000, log };
});

const poll = (timeoutMs: number, extra: Partial<RunOptions> = {}): RunOptions => ({
  timeoutMs,
  ...extra,
});

const meta = { $metadata: {} };
const stillWaiting = () => infos.filter((l) => l.startsWith('Still waiting'));

describe('waitForAgent', () => {
  const info = (PingStatus?: PingStatus) => ({
    InstanceInformationList: PingStatus ? [{ InstanceId: ID, PingStatus }] : [],
  });

  test('returns once the agent is Online, after N polls', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce(info())
      .resolvesOnce(info())
      .resolvesOnce(info('ConnectionLost'))
      .resolves(info('Online'));
    const t0 = clock.now();
    await waitForAgent(ctx, ID, poll(600_000));
    const calls = ssmMock.commandCalls(DescribeInstanceInformationCommand);
    expect(calls).toHaveLength(4);
    expect(calls[0]!.args[0].input).toEqual({ Filters: [{ Key: 'InstanceIds', Values: [ID] }] });
    expect(clock.sleeps).toEqual([5000, 5000, 5000]);
    expect(clock.now() - t0).toBe(15_000);
  });

  test("another instance's Online does not count", async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: 'i-other', PingStatus: 'Online' }] })
      .resolves(info('Online'));
    await waitForAgent(ctx, ID, poll(600_000));
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(2);
  });

  test('timeout -> ActionError whose hint names the instance profile', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(info());
    const err = await rejection(waitForAgent(ctx, ID, poll(60_000)));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain(`The SSM agent on ${ID} did not come Online within 1m00s`);
    expect(err.message).toContain('last status: not registered');
    expect(err.hint).toContain("'iam-instance-profile'");
    expect(err.hint).toContain('docs/iam/instance-role-policy.json');
    // Polled at 0, 5, ... 60 s: 13 polls, no further.
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(13);
  });

  test('the last status is reported', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(info('ConnectionLost'));
    const err = await rejection(waitForAgent(ctx, ID, poll(10_000)));
    expect(err.message).toContain('last status: ConnectionLost');
  });

  test('progress is reported about once a minute', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(info('ConnectionLost'));
    await rejection(waitForAgent(ctx, ID, poll(200_000)));
    expect(stillWaiting()).toEqual([
      `Still waiting for the SSM agent on ${ID} (1m00s, agent ConnectionLost)`,
      `Still waiting for the SSM agent on ${ID} (2m00s, agent ConnectionLost)`,
      `Still waiting for the SSM agent on ${ID} (3m00s, agent ConnectionLost)`,
    ]);
  });

  test('says what it waits for and for how long, by default the ten minutes of AGENT_TIMEOUT_MS', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(info());
    const t0 = clock.now();
    const err = await rejection(waitForAgent(ctx, ID));
    expect(err.message).toContain('did not come Online within 10m00s');
    expect(clock.now() - t0).toBe(AGENT_TIMEOUT_MS);
    expect(infos[0]).toBe(`Waiting for the SSM agent on ${ID} to come Online (up to 10m00s)...`);
    expect(infos).not.toContain('SSM agent is Online.');
  });

  test('says so once the agent is Online', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(info('Online'));
    await waitForAgent(ctx, ID, poll(60_000));
    expect(infos).toEqual([
      `Waiting for the SSM agent on ${ID} to come Online (up to 1m00s)...`,
      'SSM agent is Online.',
    ]);
  });

  test('throttling past the SDK retries is polled through', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves(info('Online'));
    await waitForAgent(ctx, ID, poll(60_000));
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(2);
  });

  test('throttled until the deadline: the time-out error with its hint, not the throttling', async () => {
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce(info('ConnectionLost'))
      .rejects(awsError('ThrottlingException'));
    const err = await rejection(waitForAgent(ctx, ID, poll(30_000)));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain('last status: ConnectionLost');
    expect(err.hint).toContain("'iam-instance-profile'");
  });

  test('an AWS error is not retried', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).rejects(awsError('AccessDeniedException'));
    const err = await rejection(waitForAgent(ctx, ID, poll(600_000)));
    expect(err.name).toBe('AccessDeniedException');
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(1);
  });
});

describe('runScript', () => {
  const SCRIPT = '#!/bin/sh\necho "::tljh:: phase=verify"\n';
  const sent = { Command: { CommandId: 'cmd-1' } };

  test('SendCommand carries only the script and executionTimeout, on AWS-RunShellScript', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', ResponseCode: 0, StandardOutputContent: 'ok\n' });
    const result = await runScript(ctx, ID, SCRIPT, 'tljh-ec2-action: verify TLJH', poll(300_000));
    const input = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(input.Parameters).toEqual({ commands: [SCRIPT], executionTimeout: ['300'] });
    expect(input).toMatchObject({
      InstanceIds: [ID],
      DocumentName: 'AWS-RunShellScript',
      Comment: 'tljh-ec2-action: verify TLJH',
    });
    // Nothing else that could carry data: no output bucket, no notification, no targets.
    expect(Object.keys(input).sort()).toEqual(
      ['Comment', 'DocumentName', 'InstanceIds', 'Parameters', 'TimeoutSeconds'].sort(),
    );
    expect(result).toEqual({
      commandId: 'cmd-1',
      status: 'Success',
      exitCode: 0,
      stdout: 'ok\n',
      stderr: '',
    });
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({
      CommandId: 'cmd-1',
      InstanceId: ID,
    });
  });

  test('a long comment is cut to the 100 characters SSM allows', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0 });
    await runScript(ctx, ID, SCRIPT, 'x'.repeat(150), poll(60_000));
    expect(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input.Comment).toHaveLength(100);
  });

  test('InvalidInstanceId on SendCommand (agent not registered yet) is retried', async () => {
    ssmMock
      .on(SendCommandCommand)
      .rejectsOnce(new InvalidInstanceId({ ...meta, message: 'not registered' }))
      .rejectsOnce(new InvalidInstanceId({ ...meta, message: 'not registered' }))
      .resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0 });
    const result = await runScript(ctx, ID, SCRIPT, 'c', poll(60_000));
    expect(result.status).toBe('Success');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(3);
  });

  test('InvalidInstanceId for two minutes is thrown as it is', async () => {
    ssmMock.on(SendCommandCommand).rejects(new InvalidInstanceId({ ...meta, message: 'gone' }));
    const t0 = clock.now();
    const err = await rejection(runScript(ctx, ID, SCRIPT, 'c', poll(60_000)));
    expect(err.name).toBe('InvalidInstanceId');
    expect(err.message).toBe('gone');
    // 0, 5, ..., 120 s tried, then given up at the two minutes.
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(25);
    expect(clock.now() - t0).toBe(AGENT_UNKNOWN_MS);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(0);
  });

  test('throttling on SendCommand is not sent again (a failed send may still have run)', async () => {
    ssmMock.on(SendCommandCommand).rejects(awsError('ThrottlingException'));
    const err = await rejection(runScript(ctx, ID, SCRIPT, 'c', poll(60_000)));
    expect(err.name).toBe('ThrottlingException');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  test('InvocationDoesNotExist is pending; InProgress then Success', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ ...meta, message: '' }))
      .resolvesOnce({ Status: 'Pending' })
      .resolvesOnce({ Status: 'InProgress', StandardOutputContent: '' })
      .resolves({
        Status: 'Success',
        ResponseCode: 0,
        StandardOutputContent: 'done\n',
        StandardErrorContent: 'warn\n',
      });
    const result = await runScript(ctx, ID, SCRIPT, 'c', poll(600_000));
    expect(result).toEqual({
      commandId: 'cmd-1',
      status: 'Success',
      exitCode: 0,
      stdout: 'done\n',
      stderr: 'warn\n',
    });
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(4);
    // It sleeps before every poll: the invocation never exists at once.
    expect(clock.sleeps).toEqual([5000, 5000, 5000, 5000]);
  });

  test('Failed returns the exit code and the output', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: '::tljh:: installer-exit=1\n',
      StandardErrorContent: 'failed to run commands: exit status 1',
    });
    expect(await runScript(ctx, ID, SCRIPT, 'c', poll(60_000))).toEqual({
      commandId: 'cmd-1',
      status: 'Failed',
      exitCode: 1,
      stdout: '::tljh:: installer-exit=1\n',
      stderr: 'failed to run commands: exit status 1',
    });
  });

  test.each<CommandInvocationStatus>(['TimedOut', 'Cancelled'])(
    '%s is terminal, without a response code -> -1',
    async (Status) => {
      ssmMock.on(SendCommandCommand).resolves(sent);
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status });
      expect(await runScript(ctx, ID, SCRIPT, 'c', poll(60_000))).toMatchObject({
        status: Status,
        exitCode: -1,
        stdout: '',
      });
    },
  );

  test('Delayed (the agent will retry delivery) is still pending', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolvesOnce({ Status: 'Delayed' })
      .resolves({ Status: 'Success', ResponseCode: 0 });
    expect((await runScript(ctx, ID, SCRIPT, 'c', poll(60_000))).status).toBe('Success');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(2);
  });

  test('throttling past the SDK retries keeps polling until the command ends', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ Status: 'Success', ResponseCode: 0 });
    expect((await runScript(ctx, ID, SCRIPT, 'c', poll(60_000))).status).toBe('Success');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(2);
  });

  test.each(['AccessDeniedException', 'AccessDenied'])(
    '%s on GetCommandInvocation is thrown, not retried',
    async (code) => {
      ssmMock.on(SendCommandCommand).resolves(sent);
      ssmMock.on(GetCommandInvocationCommand).rejects(awsError(code));
      const err = await rejection(runScript(ctx, ID, SCRIPT, 'c', poll(600_000)));
      expect(err.name).toBe(code);
      expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(1);
    },
  );

  test('AccessDeniedException on SendCommand is thrown, not retried', async () => {
    ssmMock.on(SendCommandCommand).rejects(awsError('AccessDeniedException'));
    const err = await rejection(runScript(ctx, ID, SCRIPT, 'c', poll(600_000)));
    expect(err.name).toBe('AccessDeniedException');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  test('a command that never ends -> ActionError after its timeout plus two minutes', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const t0 = clock.now();
    const err = await rejection(runScript(ctx, ID, SCRIPT, 'c', poll(60_000)));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toBe(
      `Command cmd-1 on ${ID} did not finish within 3m00s (status InProgress).`,
    );
    expect(err.hint).toContain("'install-timeout'");
    // Given up exactly at the command's own timeout plus two minutes (SSM says TimedOut first).
    expect(clock.now() - t0).toBe(180_000);
    expect(stillWaiting()).toEqual([
      `Still waiting for 'c' on ${ID} (1m00s, command InProgress)`,
      `Still waiting for 'c' on ${ID} (2m00s, command InProgress)`,
    ]);
  });
});

describe('waits notice an instance that went away', () => {
  const sent = { Command: { CommandId: 'cmd-1' } };
  const gone = () => new ActionError(`Instance ${ID} is terminated: gone.`);
  /** runScript of a bare script, waited for with `options`. */
  const run = (options: RunOptions) => runScript(ctx, ID, '#!/bin/sh\n', 'c', options);
  /** Polls for up to `timeoutMs`, and the instance is gone at the first presence check. */
  const pollUntilGone = (timeoutMs: number) =>
    poll(timeoutMs, { stillThere: () => Promise.reject(gone()) });

  test('runScript tells onSent the command id before it polls', async () => {
    const events: string[] = [];
    ssmMock.on(SendCommandCommand).callsFake(() => {
      events.push('send');
      return sent;
    });
    ssmMock.on(GetCommandInvocationCommand).callsFake(() => {
      events.push('poll');
      return { Status: 'Success', ResponseCode: 0 };
    });
    await run(
      poll(60_000, {
        onSent: async (commandId) => {
          events.push(`sent ${commandId} after ${clock.sleeps.length} sleeps`);
          await Promise.resolve();
        },
      }),
    );
    expect(events).toEqual(['send', 'sent cmd-1 after 0 sleeps', 'poll']);
  });

  test('a throwing onSent ends runScript before any poll', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    const err = await rejection(
      run({
        ...poll(60_000),
        onSent: () => Promise.reject(awsError('UnauthorizedOperation')),
      }),
    );
    expect(err.name).toBe('UnauthorizedOperation');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(0);
  });

  test('runScript asks stillThere every 6 polls', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    const statuses = ssmMock.on(GetCommandInvocationCommand);
    for (let n = 0; n < 13; n++) statuses.resolvesOnce({ Status: 'InProgress' });
    statuses.resolves({ Status: 'Success', ResponseCode: 0 });
    const checks: number[] = [];
    const stillThere = async () => {
      checks.push(ssmMock.commandCalls(GetCommandInvocationCommand).length);
      await Promise.resolve();
    };
    const result = await run(poll(600_000, { stillThere }));
    expect(result.status).toBe('Success');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(14);
    // After the 6th and the 12th poll (every 30 s at 5 s polls).
    expect(checks).toEqual([6, 12]);
  });

  test("runScript: stillThere's error ends the wait at once", async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const t0 = clock.now();
    const err = await rejection(run(pollUntilGone(3_600_000)));
    expect(err.message).toContain('is terminated');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(6);
    expect(clock.now() - t0).toBe(30_000);
  });

  test('waitForAgent asks stillThere every 6 polls, and its error ends the wait', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    let checks = 0;
    const stillThere = async () => {
      checks++;
      await Promise.resolve();
      if (checks === 2) throw gone();
    };
    const err = await rejection(waitForAgent(ctx, ID, poll(600_000, { stillThere })));
    expect(err.message).toContain('is terminated');
    expect(checks).toBe(2);
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(12);
    // Ended after a minute, not at the 10-minute time-out.
    expect(clock.now()).toBe(new FakeClock().now() + 55_000);
  });

  test('SendCommand retries (agent not registered yet) also ask stillThere', async () => {
    ssmMock.on(SendCommandCommand).rejects(new InvalidInstanceId({ ...meta, message: 'unknown' }));
    const err = await rejection(run(pollUntilGone(60_000)));
    expect(err.message).toContain('is terminated');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(6);
  });

  test('without stillThere, a wait is only bounded by its time-out', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const err = await rejection(waitForAgent(ctx, ID, poll(60_000)));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).not.toContain('terminated');
  });
});
