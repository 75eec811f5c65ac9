// The SSM adapter: one call per function, no waiting.
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
  SendCommandCommand,
  type AddTagsToResourceCommandInput,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FINAL_STATUSES,
  agentPingStatus,
  commandEnded,
  commandInvocation,
  deleteParameter,
  deleteParameters,
  listParameterNames,
  putSecureParameter,
  resolveUbuntuAmi,
  sendShellScript,
  ubuntuAmiParameter,
} from '../src/aws/ssm.ts';
import { ActionError } from '../src/errors.ts';
import { awsError, rejection } from './helpers/fakes.ts';
import { useMockedSsm } from './helpers/mocked-clients.ts';

const { ssmMock, ssm } = useMockedSsm();
const ID = 'i-0123456789abcdef0';
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

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

describe('agentPingStatus: one DescribeInstanceInformation', () => {
  test.each<[PingStatus | undefined, { InstanceId: string; PingStatus?: PingStatus }[]]>([
    ['Online', [{ InstanceId: ID, PingStatus: 'Online' }]],
    ['ConnectionLost', [{ InstanceId: ID, PingStatus: 'ConnectionLost' }]],
    [undefined, []],
    // Another instance's answer is not this one's.
    [undefined, [{ InstanceId: 'i-other', PingStatus: 'Online' }]],
  ])('%s', async (expected, list) => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: list });
    expect(await agentPingStatus(ssm, ID)).toBe(expected);
    const calls = ssmMock.commandCalls(DescribeInstanceInformationCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({ Filters: [{ Key: 'InstanceIds', Values: [ID] }] });
  });

  test('errors are thrown as they are (the caller decides what is transient)', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).rejects(awsError('ThrottlingException'));
    await expect(agentPingStatus(ssm, ID)).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(1);
  });
});

describe('sendShellScript: one SendCommand', () => {
  test('AWS-RunShellScript with the script and its execution timeout, nothing else', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    expect(await sendShellScript(ssm, ID, 'echo hi', 'x'.repeat(150), 900)).toBe('cmd-1');
    const calls = ssmMock.commandCalls(SendCommandCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      InstanceIds: [ID],
      DocumentName: 'AWS-RunShellScript',
      Comment: 'x'.repeat(100),
      TimeoutSeconds: 600,
      Parameters: { commands: ['echo hi'], executionTimeout: ['900'] },
    });
  });

  test('InvalidInstanceId is thrown, not retried here', async () => {
    ssmMock.on(SendCommandCommand).rejects(new InvalidInstanceId({ ...meta, message: 'unknown' }));
    await expect(sendShellScript(ssm, ID, 'echo', 'c', 60)).rejects.toMatchObject({
      name: 'InvalidInstanceId',
    });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
  });
});

describe('commandInvocation: one GetCommandInvocation', () => {
  test('status, final, exit code and output', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Failed',
      ResponseCode: 2,
      StandardOutputContent: 'out',
      StandardErrorContent: 'err',
    });
    expect(await commandInvocation(ssm, 'cmd-1', ID)).toEqual({
      commandId: 'cmd-1',
      status: 'Failed',
      final: true,
      exitCode: 2,
      stdout: 'out',
      stderr: 'err',
    });
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({
      CommandId: 'cmd-1',
      InstanceId: ID,
    });
  });

  test('no status yet is Pending, not final; no response code is -1', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({});
    expect(await commandInvocation(ssm, 'cmd-1', ID)).toEqual({
      commandId: 'cmd-1',
      status: 'Pending',
      final: false,
      exitCode: -1,
      stdout: '',
      stderr: '',
    });
  });

  test('InvocationDoesNotExist (not registered yet): undefined', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejects(new InvocationDoesNotExist({ ...meta, message: '' }));
    expect(await commandInvocation(ssm, 'cmd-1', ID)).toBeUndefined();
  });

  test.each(['ThrottlingException', 'AccessDeniedException', 'InvalidCommandId'])(
    '%s is thrown',
    async (code) => {
      ssmMock.on(GetCommandInvocationCommand).rejects(awsError(code));
      await expect(commandInvocation(ssm, 'cmd-1', ID)).rejects.toMatchObject({ name: code });
    },
  );

  // Cancelling: the agent has not ended the script yet.
  test.each<CommandInvocationStatus>(['Pending', 'InProgress', 'Delayed', 'Cancelling'])(
    '%s is not final',
    async (Status) => {
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status });
      expect((await commandInvocation(ssm, 'cmd-1', ID))?.final).toBe(false);
      expect(FINAL_STATUSES.has(Status)).toBe(false);
    },
  );

  test.each<CommandInvocationStatus>(['Success', 'Failed', 'Cancelled', 'TimedOut'])(
    '%s is final',
    async (Status) => {
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status });
      expect((await commandInvocation(ssm, 'cmd-1', ID))?.final).toBe(true);
      expect(FINAL_STATUSES.has(Status)).toBe(true);
    },
  );
});

describe('the adapter holds no policy', () => {
  test('src/aws/ssm.ts imports only SDK and leaf modules, and neither waits nor sleeps', () => {
    const source = readFileSync(join(REPO, 'src', 'aws', 'ssm.ts'), 'utf8');
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    const leaves = ['@aws-sdk/client-ssm', '../errors.ts', '../model.ts', '../tags.ts'];
    expect(imports.filter((i) => !leaves.includes(i!) && !/^\.\/[\w-]+\.ts$/.test(i!))).toEqual([]);
    expect(imports).toContain('@aws-sdk/client-ssm');
    expect(source).not.toMatch(/\bsleep\(|\bclock\b|for \(;;\)|while \(/i);
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

describe('parameters', () => {
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

  test('listed across pages, recursively under a path', async () => {
    ssmMock
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [{ Name: 'a' }], NextToken: 't' })
      .resolvesOnce({ Parameters: [{ Name: 'b' }, {}] });
    expect(await listParameterNames(ssm, '/p/')).toEqual(['a', 'b']);
    const calls = ssmMock.commandCalls(GetParametersByPathCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    for (const input of calls) expect(input).toMatchObject({ Path: '/p/', Recursive: true });
  });

  test('deleteParameter: one already gone is fine, other errors are thrown', async () => {
    ssmMock
      .on(DeleteParameterCommand)
      .rejectsOnce(new ParameterNotFound({ ...meta, message: 'gone' }))
      .rejects(awsError('AccessDeniedException'));
    await expect(deleteParameter(ssm, '/p/x')).resolves.toBeUndefined();
    await expect(deleteParameter(ssm, '/p/x')).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    expect(ssmMock.commandCalls(DeleteParameterCommand)[0]!.args[0].input).toEqual({
      Name: '/p/x',
    });
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
