// The SSM half of the shared fake AWS (helpers/fake-ssm.ts) answers like Systems Manager for
// what the tests rely on: parameters, agents, Run Command.
import {
  AddTagsToResourceCommand,
  DeleteParametersCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
  paginateGetParametersByPath,
} from '@aws-sdk/client-ssm';
import { ubuntuAmiParameter } from '../src/aws/ssm.ts';
import { CANONICAL_AMIS, FakeAws } from './helpers/fake-aws.ts';
import { errorName } from './helpers/fakes.ts';

let aws: FakeAws;
beforeEach(() => {
  aws = new FakeAws();
});
const ssm = () => aws.clients.ssm;

describe('SSM', () => {
  test("Canonical's AMI parameters are there; an unknown one is ParameterNotFound", async () => {
    const name = ubuntuAmiParameter('24.04', 'amd64');
    const out = await ssm().send(new GetParameterCommand({ Name: name }));
    expect(out.Parameter!.Value).toBe(CANONICAL_AMIS['24.04/amd64']);
    const bad = new GetParameterCommand({ Name: '/nope' });
    expect(await errorName(ssm().send(bad))).toBe('ParameterNotFound');
  });

  test('parameters: no overwrite without Overwrite, tags only on a known one, 10 deletes a call', async () => {
    const put = (Overwrite: boolean) =>
      ssm().send(
        new PutParameterCommand({ Name: '/p/a', Value: 'v', Type: 'SecureString', Overwrite }),
      );
    expect((await put(false)).Version).toBe(1);
    expect(await errorName(put(false))).toBe('ParameterAlreadyExists');
    expect((await put(true)).Version).toBe(2);
    const tag = (ResourceId: string) =>
      ssm().send(
        new AddTagsToResourceCommand({
          ResourceType: 'Parameter',
          ResourceId,
          Tags: [{ Key: 'k', Value: 'v' }],
        }),
      );
    await tag('/p/a');
    expect(aws.ssm.parameters.get('/p/a')!.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
    expect(await errorName(tag('/p/b'))).toBe('InvalidResourceId');
    const names = Array.from({ length: 11 }, (_, i) => `/p/${i}`);
    expect(await errorName(ssm().send(new DeleteParametersCommand({ Names: names })))).toBe(
      'ValidationException',
    );
    const out = await ssm().send(new DeleteParametersCommand({ Names: ['/p/a', '/p/z'] }));
    expect(out).toMatchObject({ DeletedParameters: ['/p/a'], InvalidParameters: ['/p/z'] });
  });

  test('GetParametersByPath pages by 10, recursively or one level', async () => {
    for (let i = 0; i < 12; i++) aws.ssm.putParameter({ Name: `/h/i-${i}/settings` });
    aws.ssm.putParameter({ Name: '/h/top' });
    const list = async (Recursive: boolean) => {
      const pages: number[] = [];
      for await (const page of paginateGetParametersByPath(
        { client: ssm() },
        { Path: '/h/', Recursive },
      )) {
        pages.push(page.Parameters!.length);
      }
      return pages;
    };
    expect(await list(true)).toEqual([10, 3]);
    expect(await list(false)).toEqual([1]);
  });

  test('agents of running instances are Online; SendCommand needs one', async () => {
    aws.ec2.addInstance('i-1', 'running');
    aws.ec2.addInstance('i-2', 'stopped');
    const info = await ssm().send(new DescribeInstanceInformationCommand({}));
    expect(info.InstanceInformationList).toEqual([{ InstanceId: 'i-1', PingStatus: 'Online' }]);
    const send = (id: string) =>
      ssm().send(
        new SendCommandCommand({
          InstanceIds: [id],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['echo hi'] },
        }),
      );
    expect(await errorName(send('i-2'))).toBe('InvalidInstanceId');
    expect((await send('i-1')).Command!.CommandId).toBe('cmd-1');
    expect(aws.ssm.command('cmd-1').script).toBe('echo hi');
  });

  test('a command is InProgress for commandPolls looks, then ends as scripted', async () => {
    aws.ec2.addInstance('i-1', 'running');
    aws.ssm.commandPolls = 1;
    aws.ssm.commandResult = () => ({ Status: 'Failed', ResponseCode: 2 });
    await ssm().send(
      new SendCommandCommand({ InstanceIds: ['i-1'], DocumentName: 'AWS-RunShellScript' }),
    );
    const look = (CommandId: string) =>
      ssm().send(new GetCommandInvocationCommand({ CommandId, InstanceId: 'i-1' }));
    expect((await look('cmd-1')).Status).toBe('InProgress');
    expect(await look('cmd-1')).toMatchObject({ Status: 'Failed', ResponseCode: 2 });
    expect(await errorName(look('cmd-9'))).toBe('InvocationDoesNotExist');
  });
});
