import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeInstanceInformationCommand,
  GetParametersByPathCommand,
  type CommandInvocationStatus,
  type PingStatus,
  GetCommandInvocationCommand,
  GetParameterCommand,
  InvalidInstanceId,
  InvocationDoesNotExist,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  SendCommandCommand,
  type AddTagsToResourceCommandInput,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  commandEnded,
  deleteParameters,
  putSecureParameter,
  resolveUbuntuAmi,
  runScript,
  ubuntuAmiParameter,
  waitForAgent,
  type PollOptions,
} from '../src/aws/ssm.ts';
import { ActionError } from '../src/errors.ts';
import {
  listSettingsParameters,
  settingsParameterInstance,
  settingsParameterName,
  settingsParameterTags,
} from '../src/settings-parameter.ts';
import { FakeClock, awsError } from './helpers/fakes.ts';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
});
const ID = 'i-0123456789abcdef0';
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

let clock: FakeClock;
beforeEach(() => {
  ssmMock.reset();
  clock = new FakeClock();
});

const poll = (timeoutMs: number, extra: Partial<PollOptions> = {}): PollOptions => ({
  clock,
  intervalMs: 5000,
  timeoutMs,
  ...extra,
});

async function rejection(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise;
  } catch (err) {
    return err as ActionError;
  }
  throw new Error('expected a rejection');
}

const meta = { $metadata: {} };

describe('Ubuntu AMI parameter', () => {
  test.each([
    ['24.04', 'amd64', 'ebs-gp3'],
    ['24.04', 'arm64', 'ebs-gp3'],
    ['22.04', 'amd64', 'ebs-gp2'],
    ['22.04', 'arm64', 'ebs-gp2'],
  ] as const)('%s %s uses %s', (version, arch, volume) => {
    expect(ubuntuAmiParameter(version, arch)).toBe(
      `/aws/service/canonical/ubuntu/server/${version}/stable/current/${arch}/hvm/${volume}/ami-id`,
    );
  });

  test('resolveUbuntuAmi reads the parameter', async () => {
    ssmMock
      .on(GetParameterCommand, { Name: ubuntuAmiParameter('24.04', 'arm64') })
      .resolves({ Parameter: { Value: 'ami-0123456789abcdef0' } });
    expect(await resolveUbuntuAmi(ssm, '24.04', 'arm64')).toBe('ami-0123456789abcdef0');
  });

  test('ParameterNotFound -> ActionError suggesting image-id', async () => {
    ssmMock.on(GetParameterCommand).rejects(new ParameterNotFound({ ...meta, message: 'nope' }));
    const err = await rejection(resolveUbuntuAmi(ssm, '22.04', 'amd64'));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain(ubuntuAmiParameter('22.04', 'amd64'));
    expect(err.hint).toContain("'image-id'");
  });

  test('an empty value is not an AMI', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: '' } });
    await expect(resolveUbuntuAmi(ssm, '24.04', 'amd64')).rejects.toBeInstanceOf(ActionError);
  });

  test('other errors propagate as they are', async () => {
    ssmMock.on(GetParameterCommand).rejects(awsError('AccessDeniedException'));
    const err = await rejection(resolveUbuntuAmi(ssm, '24.04', 'amd64'));
    expect(err.name).toBe('AccessDeniedException');
  });
});

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
    await waitForAgent(ssm, ID, poll(600_000));
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
    await waitForAgent(ssm, ID, poll(600_000));
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(2);
  });

  test('timeout -> ActionError whose hint names the instance profile', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(info());
    const err = await rejection(waitForAgent(ssm, ID, poll(60_000)));
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
    const err = await rejection(waitForAgent(ssm, ID, poll(10_000)));
    expect(err.message).toContain('last status: ConnectionLost');
  });

  test('progress is reported about once a minute', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves(info('ConnectionLost'));
    const progress: [number, string][] = [];
    await rejection(
      waitForAgent(ssm, ID, poll(200_000, { onProgress: (ms, d) => progress.push([ms, d]) })),
    );
    expect(progress).toEqual([
      [60_000, 'agent ConnectionLost'],
      [120_000, 'agent ConnectionLost'],
      [180_000, 'agent ConnectionLost'],
    ]);
  });

  test('an AWS error is not retried', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).rejects(awsError('AccessDeniedException'));
    const err = await rejection(waitForAgent(ssm, ID, poll(600_000)));
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
    const result = await runScript(ssm, ID, SCRIPT, 'tljh-ec2-action: verify TLJH', poll(300_000));
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
    await runScript(ssm, ID, SCRIPT, 'x'.repeat(150), poll(60_000));
    expect(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input.Comment).toHaveLength(100);
  });

  test('InvalidInstanceId on SendCommand (agent not registered yet) is retried', async () => {
    ssmMock
      .on(SendCommandCommand)
      .rejectsOnce(new InvalidInstanceId({ ...meta, message: 'not registered' }))
      .rejectsOnce(new InvalidInstanceId({ ...meta, message: 'not registered' }))
      .resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0 });
    const result = await runScript(ssm, ID, SCRIPT, 'c', poll(60_000));
    expect(result.status).toBe('Success');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(3);
  });

  test('InvalidInstanceId for more than two minutes is thrown', async () => {
    ssmMock.on(SendCommandCommand).rejects(new InvalidInstanceId({ ...meta, message: 'gone' }));
    const err = await rejection(runScript(ssm, ID, SCRIPT, 'c', poll(60_000)));
    expect(err.name).toBe('InvalidInstanceId');
    // 0, 5, ..., 120 s tried, then given up at 125 s.
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(26);
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
    const result = await runScript(ssm, ID, SCRIPT, 'c', poll(600_000));
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
    expect(await runScript(ssm, ID, SCRIPT, 'c', poll(60_000))).toEqual({
      commandId: 'cmd-1',
      status: 'Failed',
      exitCode: 1,
      stdout: '::tljh:: installer-exit=1\n',
      stderr: 'failed to run commands: exit status 1',
    });
  });

  test.each<CommandInvocationStatus>(['TimedOut', 'Cancelled', 'Cancelling'])(
    '%s is terminal, without a response code -> -1',
    async (Status) => {
      ssmMock.on(SendCommandCommand).resolves(sent);
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status });
      expect(await runScript(ssm, ID, SCRIPT, 'c', poll(60_000))).toMatchObject({
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
    expect((await runScript(ssm, ID, SCRIPT, 'c', poll(60_000))).status).toBe('Success');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(2);
  });

  test('throttling past the SDK retries keeps polling until the command ends', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ Status: 'Success', ResponseCode: 0 });
    expect((await runScript(ssm, ID, SCRIPT, 'c', poll(60_000))).status).toBe('Success');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(2);
  });

  test.each(['AccessDeniedException', 'AccessDenied'])(
    '%s on GetCommandInvocation is thrown, not retried',
    async (code) => {
      ssmMock.on(SendCommandCommand).resolves(sent);
      ssmMock.on(GetCommandInvocationCommand).rejects(awsError(code));
      const err = await rejection(runScript(ssm, ID, SCRIPT, 'c', poll(600_000)));
      expect(err.name).toBe(code);
      expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(1);
    },
  );

  test('AccessDeniedException on SendCommand is thrown, not retried', async () => {
    ssmMock.on(SendCommandCommand).rejects(awsError('AccessDeniedException'));
    const err = await rejection(runScript(ssm, ID, SCRIPT, 'c', poll(600_000)));
    expect(err.name).toBe('AccessDeniedException');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
  });

  test('a command that never ends -> ActionError after its timeout plus two minutes', async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const t0 = clock.now();
    const progress: string[] = [];
    const err = await rejection(
      runScript(ssm, ID, SCRIPT, 'c', poll(60_000, { onProgress: (_ms, d) => progress.push(d) })),
    );
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain(`Command cmd-1 on ${ID} did not finish`);
    expect(err.message).toContain('status InProgress');
    expect(err.hint).toContain("'install-timeout'");
    expect(clock.now() - t0).toBeGreaterThan(180_000);
    expect(clock.now() - t0).toBeLessThanOrEqual(185_000);
    expect(progress).toEqual(['command InProgress', 'command InProgress', 'command InProgress']);
  });
});

describe('waits notice an instance that went away', () => {
  const sent = { Command: { CommandId: 'cmd-1' } };
  const gone = () => new ActionError(`Instance ${ID} is terminated: gone.`);

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
    await runScript(
      ssm,
      ID,
      '#!/bin/sh\n',
      'c',
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
      runScript(ssm, ID, '#!/bin/sh\n', 'c', {
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
    const result = await runScript(ssm, ID, '#!/bin/sh\n', 'c', poll(600_000, { stillThere }));
    expect(result.status).toBe('Success');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(14);
    // After the 6th and the 12th poll (every 30 s at 5 s polls).
    expect(checks).toEqual([6, 12]);
  });

  test("runScript: stillThere's error ends the wait at once", async () => {
    ssmMock.on(SendCommandCommand).resolves(sent);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const t0 = clock.now();
    const err = await rejection(
      runScript(
        ssm,
        ID,
        '#!/bin/sh\n',
        'c',
        poll(3_600_000, { stillThere: () => Promise.reject(gone()) }),
      ),
    );
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
    const err = await rejection(waitForAgent(ssm, ID, poll(600_000, { stillThere })));
    expect(err.message).toContain('is terminated');
    expect(checks).toBe(2);
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(12);
    // Ended after a minute, not at the 10-minute time-out.
    expect(clock.now()).toBe(new FakeClock().now() + 55_000);
  });

  test('SendCommand retries (agent not registered yet) also ask stillThere', async () => {
    ssmMock.on(SendCommandCommand).rejects(new InvalidInstanceId({ ...meta, message: 'unknown' }));
    const err = await rejection(
      runScript(
        ssm,
        ID,
        '#!/bin/sh\n',
        'c',
        poll(60_000, { stillThere: () => Promise.reject(gone()) }),
      ),
    );
    expect(err.message).toContain('is terminated');
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(6);
  });

  test('without stillThere, a wait is only bounded by its time-out', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const err = await rejection(waitForAgent(ssm, ID, poll(60_000)));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).not.toContain('terminated');
  });
});

describe('commandEnded', () => {
  const ask = () => commandEnded(ssm, 'cmd-other', ID);

  test.each<CommandInvocationStatus>(['Success', 'Failed', 'TimedOut', 'Cancelled'])(
    '%s: ended',
    async (Status) => {
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status });
      expect(await ask()).toBe(true);
      expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({
        CommandId: 'cmd-other',
        InstanceId: ID,
      });
    },
  );

  test.each<CommandInvocationStatus>(['Pending', 'InProgress', 'Delayed'])(
    '%s: still running',
    async (Status) => {
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status });
      expect(await ask()).toBe(false);
    },
  );

  test('no status yet: still running', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({});
    expect(await ask()).toBe(false);
  });

  // Defect 11: SSM answers InvocationDoesNotExist right after SendCommand, before the
  // invocation is registered. Reading that as "ended" let a second run install alongside.
  test('InvocationDoesNotExist (just sent, not registered yet): still running', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(new InvocationDoesNotExist({ ...meta, message: '' }))
      .resolves({ Status: 'InProgress' });
    expect(await ask()).toBe(false);
    expect(await ask()).toBe(false);
  });

  test('a command id SSM rejects (InvalidCommandId) names nothing that runs: ended', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(awsError('InvalidCommandId'));
    expect(await ask()).toBe(true);
  });

  test.each(['AccessDenied', 'AccessDeniedException', 'ThrottlingException'])(
    '%s is thrown',
    async (code) => {
      ssmMock.on(GetCommandInvocationCommand).rejects(awsError(code));
      const err = await rejection(ask());
      expect(err.name).toBe(code);
    },
  );
});

describe('settings parameters', () => {
  test('one per instance under the hub, and the instance read back from the name', () => {
    const name = settingsParameterName('pr-12', ID);
    expect(name).toBe(`/tljh-ec2-action/pr-12/${ID}/settings`);
    expect(settingsParameterInstance(name)).toBe(ID);
    expect(settingsParameterInstance('/tljh-ec2-action/pr-12/other')).toBeUndefined();
  });

  test('tagged with the instance that may read it (the instance role policy reads this tag)', () => {
    expect(settingsParameterTags('pr-12', ID)).toEqual({
      'tljh:instance-id': ID,
      'tljh:hub': 'pr-12',
      'tljh:managed-by': 'tljh-ec2-action',
    });
    const policy = readFileSync(join(REPO, 'docs', 'iam', 'instance-role-policy.json'), 'utf8');
    expect(policy).toContain('${aws:ResourceTag/tljh:instance-id}');
  });

  test('listed across pages, recursively under each hub', async () => {
    ssmMock
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [{ Name: 'a' }], NextToken: 't' })
      .resolvesOnce({ Parameters: [{ Name: 'b' }, {}] });
    expect(await listSettingsParameters(ssm, ['w'])).toEqual(['a', 'b']);
    const calls = ssmMock.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input);
    // (The SDK's paginator reuses one input object, so only what every page shares is checked.)
    expect(calls).toHaveLength(2);
    for (const input of calls) {
      expect(input).toMatchObject({ Path: '/tljh-ec2-action/w/', Recursive: true });
    }
  });

  test('deleted ten per call, and no call for none', async () => {
    ssmMock.on(DeleteParametersCommand).resolves({});
    await deleteParameters(ssm, []);
    expect(ssmMock.commandCalls(DeleteParametersCommand)).toHaveLength(0);
    const names = Array.from({ length: 11 }, (_, i) => `p${i}`);
    await deleteParameters(ssm, names);
    expect(ssmMock.commandCalls(DeleteParametersCommand).map((c) => c.args[0].input.Names)).toEqual(
      [names.slice(0, 10), names.slice(10)],
    );
  });
});

describe('putSecureParameter: the settings parameter, tagged with the instance that may read it', () => {
  const NAME = `/tljh-ec2-action/pr-12/${ID}/settings`;
  const TAGS = { 'tljh:instance-id': ID, 'tljh:hub': 'pr-12' };

  /** Parameter Store as AWS behaves: Tags and Overwrite exclude each other, tags outlive overwrites. */
  function parameterStore(existing?: { value: string; tags: Record<string, string> }) {
    const store = new Map(existing ? [[NAME, existing]] : []);
    ssmMock.on(PutParameterCommand).callsFake((input: PutParameterCommandInput) => {
      const name = input.Name!;
      if (input.Tags?.length && input.Overwrite) {
        throw awsError('ValidationException', "tags and overwrite can't be used together");
      }
      const found = store.get(name);
      if (found && !input.Overwrite) throw awsError('ParameterAlreadyExists');
      const tags = Object.fromEntries((input.Tags ?? []).map((t) => [t.Key!, t.Value!]));
      store.set(name, { value: input.Value!, tags: found ? found.tags : tags });
      return { Version: 1 };
    });
    ssmMock.on(AddTagsToResourceCommand).callsFake((input: AddTagsToResourceCommandInput) => {
      const found = store.get(input.ResourceId!);
      if (input.ResourceType !== 'Parameter' || !found) throw awsError('InvalidResourceId');
      for (const t of input.Tags ?? []) found.tags[t.Key!] = t.Value!;
      return {};
    });
    ssmMock.on(DeleteParameterCommand).callsFake((input: { Name: string }) => {
      store.delete(input.Name);
      return {};
    });
    return store;
  }

  test('overwritten, then tagged: PutParameter cannot take Tags with Overwrite', async () => {
    parameterStore();
    await putSecureParameter(ssm, NAME, '{"adminPassword":"pw"}', 'install settings', TAGS);
    expect(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input).toEqual({
      Name: NAME,
      Value: '{"adminPassword":"pw"}',
      Type: 'SecureString',
      Overwrite: true,
      Description: 'install settings',
    });
    expect(ssmMock.commandCalls(AddTagsToResourceCommand).map((c) => c.args[0].input)).toEqual([
      {
        ResourceType: 'Parameter',
        ResourceId: NAME,
        Tags: [
          { Key: 'tljh:instance-id', Value: ID },
          { Key: 'tljh:hub', Value: 'pr-12' },
        ],
      },
    ]);
    const order = ssmMock.calls().map((c) => c.args[0].constructor.name);
    expect(order).toEqual(['PutParameterCommand', 'AddTagsToResourceCommand']);
  });

  test.each([
    ['nothing (a first install)', undefined],
    ['an untagged leftover (a run killed between the two calls)', { value: 'old', tags: {} }],
    [
      'a tagged leftover (a run killed during its install)',
      { value: 'old', tags: { 'tljh:instance-id': ID } },
    ],
    [
      'a leftover tagged for another instance (a name reused)',
      { value: 'old', tags: { 'tljh:instance-id': 'i-0ffffffffffffffff' } },
    ],
  ])('converges from %s: new value, tagged for this instance', async (_name, existing) => {
    const store = parameterStore(existing && { ...existing, tags: { ...existing.tags } });
    await putSecureParameter(ssm, NAME, 'new', 'install settings', TAGS);
    expect(store.get(NAME)).toEqual({ value: 'new', tags: TAGS });
  });

  test('a parameter that could not be tagged is deleted (no instance could read it), and the error thrown', async () => {
    const store = parameterStore();
    ssmMock
      .on(AddTagsToResourceCommand)
      .rejects(
        awsError('AccessDeniedException', 'not authorized to perform: ssm:AddTagsToResource'),
      );
    const err = await rejection(putSecureParameter(ssm, NAME, 'new', 'install settings', TAGS));
    expect(err.name).toBe('AccessDeniedException');
    expect(ssmMock.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([
      { Name: NAME },
    ]);
    expect(store.has(NAME)).toBe(false);
  });
});
