// The documented IAM policies, evaluated by a real IAM policy evaluator (@cloud-copilot/iam-simulate,
// through e2e/harness/iam-audit.ts) rather than read: the instance role reads only its own hub's
// settings, and the caller policy allows every request the action makes, as the AWS SDK
// serializes them, on tagged resources only.
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import {
  AuthorizeSecurityGroupIngressCommand,
  CancelSpotInstanceRequestsCommand,
  CreateImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeVolumesCommand,
  DescribeVolumesModificationsCommand,
  ModifyInstanceAttributeCommand,
  ModifyVolumeCommand,
  RevokeSecurityGroupIngressCommand,
  DeleteSecurityGroupCommand,
  DescribeInstancesCommand,
  EC2Client,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  evaluate,
  evaluateRecordedRequests,
  loadPolicy,
  type Evaluation,
  type IamRequest,
  type PolicyDocument,
} from '../e2e/harness/iam-audit.ts';
import { recordedRequests } from '../e2e/harness/iam-requests.ts';
import type { AwsEntry } from '../e2e/harness/journal.ts';
import { runInstancesInput, type LaunchRequest } from '../src/aws/launch-request.ts';
import { settingsParameterName, settingsParameterTags } from '../src/settings-parameter.ts';
import { hubTags } from '../src/tags.ts';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const arnOf = (id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`;
const parameterArn = (name: string, account = ACCOUNT) =>
  `arn:aws:ssm:${REGION}:${account}:parameter${name}`;

// ---------------------------------------------------------------------------------------------
// The instance role
// ---------------------------------------------------------------------------------------------

const HUB_A = {
  id: 'i-0aaaaaaaaaaaaaaaa',
  settings: '/tljh-ec2-action/alpha/i-0aaaaaaaaaaaaaaaa/settings',
};
const HUB_B = {
  id: 'i-0bbbbbbbbbbbbbbbb',
  settings: '/tljh-ec2-action/beta/i-0bbbbbbbbbbbbbbbb/settings',
};

/** How AWS sees a call signed with hub A's instance-role credentials. */
const asHubA = (policy: PolicyDocument, resourcePolicy?: PolicyDocument): Evaluation => ({
  principal: `arn:aws:sts::${ACCOUNT}:assumed-role/tljh-ssm/${HUB_A.id}`,
  identityPolicies: [policy],
  ...(resourcePolicy ? { resourcePolicy } : {}),
});
const fromHubA = (context: Record<string, string> = {}) => ({
  'ec2:SourceInstanceARN': arnOf(HUB_A.id),
  'aws:userid': `AROAEXAMPLEROLEID0001:${HUB_A.id}`,
  ...context,
});
/** A settings parameter as the action writes it: tagged with the instance that may read it. */
const readSettings = (
  name: string,
  taggedFor?: string,
  action = 'ssm:GetParameter',
): IamRequest => ({
  action,
  resource: parameterArn(name),
  context: fromHubA(taggedFor ? { 'aws:ResourceTag/tljh:instance-id': taggedFor } : {}),
});

// AmazonSSMManagedInstanceCore (v2), which the README told users to attach before.
const MANAGED_INSTANCE_CORE: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: [
        'ssm:DescribeAssociation',
        'ssm:GetDeployablePatchSnapshotForInstance',
        'ssm:GetDocument',
        'ssm:DescribeDocument',
        'ssm:GetManifest',
        'ssm:GetParameter',
        'ssm:GetParameters',
        'ssm:ListAssociations',
        'ssm:ListInstanceAssociations',
        'ssm:PutInventory',
        'ssm:PutComplianceItems',
        'ssm:PutConfigurePackageResult',
        'ssm:UpdateAssociationStatus',
        'ssm:UpdateInstanceAssociationStatus',
        'ssm:UpdateInstanceInformation',
      ],
      Resource: '*',
    },
    {
      Effect: 'Allow',
      Action: [
        'ssmmessages:CreateControlChannel',
        'ssmmessages:CreateDataChannel',
        'ssmmessages:OpenControlChannel',
        'ssmmessages:OpenDataChannel',
      ],
      Resource: '*',
    },
    {
      Effect: 'Allow',
      Action: [
        'ec2messages:AcknowledgeMessage',
        'ec2messages:DeleteMessage',
        'ec2messages:FailMessage',
        'ec2messages:GetEndpoint',
        'ec2messages:GetMessages',
        'ec2messages:SendReply',
      ],
      Resource: '*',
    },
  ],
};

// The key policy of the account's AWS managed key aws/ssm: every principal of the account, but
// only through Systems Manager in that region.
const AWS_SSM_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: [
        'kms:Encrypt',
        'kms:Decrypt',
        'kms:ReEncrypt*',
        'kms:GenerateDataKey*',
        'kms:CreateGrant',
        'kms:DescribeKey',
      ],
      Resource: '*',
      Condition: {
        StringEquals: {
          'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
          'kms:CallerAccount': ACCOUNT,
        },
      },
    },
  ],
};
// A customer managed key with the default key policy: IAM policies decide.
const DEFAULT_KEY_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const decrypt = (context: Record<string, string>): IamRequest => ({
  action: 'kms:Decrypt',
  resource: KEY,
  context: fromHubA({ 'kms:CallerAccount': ACCOUNT, ...context }),
});
const viaSsm = (parameter: string) => ({
  'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
  'kms:EncryptionContext:PARAMETER_ARN': parameterArn(parameter),
});

describe('the instance role policy (docs/iam/instance-role-policy.json)', () => {
  const policy = loadPolicy('instance-role-policy.json');

  test("the managed policy it replaces lets one hub read another hub's settings", async () => {
    expect(
      await evaluate(readSettings(HUB_B.settings, HUB_B.id), asHubA(MANAGED_INSTANCE_CORE)),
    ).toBe('Allowed');
  });

  test('a hub reads and deletes its own settings parameter', async () => {
    expect(await evaluate(readSettings(HUB_A.settings, HUB_A.id), asHubA(policy))).toBe('Allowed');
    expect(
      await evaluate(readSettings(HUB_A.settings, HUB_A.id, 'ssm:DeleteParameter'), asHubA(policy)),
    ).toBe('Allowed');
  });

  test.each([
    ["another hub's settings", readSettings(HUB_B.settings, HUB_B.id)],
    [
      "another hub's settings, deleting",
      readSettings(HUB_B.settings, HUB_B.id, 'ssm:DeleteParameter'),
    ],
    ['its own path, tagged for another instance', readSettings(HUB_A.settings, HUB_B.id)],
    ['its own settings, untagged', readSettings(HUB_A.settings)],
    ['a parameter outside the action, even tagged for it', readSettings('/other/secret', HUB_A.id)],
    [
      'a settings-like name outside the path',
      readSettings('/other/alpha/i-0aaaaaaaaaaaaaaaa/settings', HUB_A.id),
    ],
    [
      'its own settings by GetParameters',
      readSettings(HUB_A.settings, HUB_A.id, 'ssm:GetParameters'),
    ],
    [
      'the action path by GetParametersByPath',
      readSettings('/tljh-ec2-action', HUB_A.id, 'ssm:GetParametersByPath'),
    ],
    [
      'a public AWS parameter',
      {
        action: 'ssm:GetParameter',
        resource: parameterArn('/aws/service/global-infrastructure/regions', ''),
        context: fromHubA(),
      },
    ],
    [
      'a secret through the /aws/reference path',
      {
        action: 'ssm:GetParameter',
        resource: parameterArn('/aws/reference/secretsmanager/db-password'),
        context: fromHubA(),
      },
    ],
  ])('denies %s', async (_name, request) => {
    expect(await evaluate(request as IamRequest, asHubA(policy))).toBe('ImplicitlyDenied');
  });

  test('keeps every SSM agent permission of AmazonSSMManagedInstanceCore but parameter reads', async () => {
    const agentActions = MANAGED_INSTANCE_CORE.Statement.flatMap(
      (s) => (s as { Action: string[] }).Action,
    ).filter((a) => !/^ssm:GetParameters?$/.test(a));
    const missing: string[] = [];
    for (const action of agentActions) {
      if (
        (await evaluate({ action, resource: '*', context: fromHubA() }, asHubA(policy))) !==
        'Allowed'
      ) {
        missing.push(action);
      }
    }
    expect(agentActions.length).toBe(23);
    expect(missing).toEqual([]);
  });

  test('the tags the action puts on a settings parameter open it to its instance, and no other', async () => {
    const name = settingsParameterName('beta', HUB_B.id);
    const tags = Object.entries(settingsParameterTags('beta', HUB_B.id)).map(
      ([key, value]) => [`aws:ResourceTag/${key}`, value] as const,
    );
    const asInstance = (id: string): Evaluation => ({
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/tljh-ssm/${id}`,
      identityPolicies: [policy],
    });
    const byInstance = (id: string, action = 'ssm:GetParameter'): IamRequest => ({
      action,
      resource: parameterArn(name),
      context: { 'ec2:SourceInstanceARN': arnOf(id), ...Object.fromEntries(tags) },
    });
    expect(name).toBe(HUB_B.settings);
    expect(await evaluate(byInstance(HUB_B.id), asInstance(HUB_B.id))).toBe('Allowed');
    expect(await evaluate(byInstance(HUB_A.id), asInstance(HUB_A.id))).toBe('ImplicitlyDenied');
    expect(await evaluate(byInstance(HUB_A.id, 'ssm:DeleteParameter'), asInstance(HUB_A.id))).toBe(
      'ImplicitlyDenied',
    );
  });

  describe('decrypting the SecureString', () => {
    test('with aws/ssm, the key policy allows it through Systems Manager only', async () => {
      const evaluation = asHubA(policy, AWS_SSM_KEY_POLICY);
      expect(await evaluate(decrypt(viaSsm(HUB_A.settings)), evaluation)).toBe('Allowed');
      expect(await evaluate(decrypt({}), evaluation)).toBe('ImplicitlyDenied');
    });

    test('with a customer managed key, the role allows it only through SSM, for the action path', async () => {
      const evaluation = asHubA(policy, DEFAULT_KEY_POLICY);
      expect(await evaluate(decrypt(viaSsm(HUB_A.settings)), evaluation)).toBe('Allowed');
      expect(await evaluate(decrypt(viaSsm('/other/secret')), evaluation)).toBe('ImplicitlyDenied');
      expect(
        await evaluate(
          decrypt({
            ...viaSsm(HUB_A.settings),
            'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
          }),
          evaluation,
        ),
      ).toBe('ImplicitlyDenied');
      expect(await evaluate(decrypt({}), evaluation)).toBe('ImplicitlyDenied');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The caller policy, against the requests as the AWS SDK serializes them
// ---------------------------------------------------------------------------------------------

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' };

/** Thrown by the capture middleware: the request as it would go on the wire. */
class Captured extends Error {
  readonly operation: string;
  readonly body: string;
  constructor(operation: string, body: string) {
    super('captured');
    this.operation = operation;
    this.body = body;
  }
}

function capturing<C extends EC2Client | SSMClient>(client: C): C {
  const middleware =
    (_next: unknown, context: { commandName?: string }) =>
    async (args: { request: unknown }): Promise<never> => {
      const body = (args.request as { body?: unknown }).body;
      const text = body instanceof Uint8Array ? new TextDecoder().decode(body) : String(body ?? '');
      throw new Captured((context.commandName ?? '').replace(/Command$/, ''), text);
    };
  // The two clients' stacks have incompatible generic signatures; the middleware fits both.
  const stack = client.middlewareStack as { add(m: unknown, o: object): void };
  stack.add(middleware, { step: 'build', name: 'captureRequest' });
  return client;
}
const ec2 = capturing(new EC2Client({ region: REGION, credentials }));
const ssm = capturing(new SSMClient({ region: REGION, credentials }));

/** The journal entry the emulator records for this command: its parsed wire form. */
async function wire(send: () => Promise<unknown>, service: 'ec2' | 'ssm'): Promise<AwsEntry> {
  try {
    await send();
  } catch (err) {
    if (!(err instanceof Captured)) throw err;
    const params =
      service === 'ec2'
        ? Object.fromEntries(new URLSearchParams(err.body))
        : (JSON.parse(err.body) as Record<string, unknown>);
    return { service, operation: err.operation, params };
  }
  throw new Error('the request was not captured');
}
// Any command of the client's service (their union type rejects each command's own stack type).
const onEc2 = (command: object) => wire(() => ec2.send(command as never), 'ec2');
const onSsm = (command: object) => wire(() => ssm.send(command as never), 'ssm');

const LAUNCH: LaunchRequest = {
  hubName: 'alpha',
  imageId: 'ami-0123456789abcdef0',
  rootDeviceName: '/dev/sda1',
  instanceType: 't3.medium',
  rootVolumeSizeGiB: 30,
  iamInstanceProfile: 'tljh-ssm',
  subnetId: 'subnet-0123456789abcdef0',
  securityGroupIds: ['sg-0123456789abcdef0'],
  extraTags: { 'tljh:expires-at': '2030-01-01T00:00:00Z' },
  clientToken: 'token',
};
const launch = (over: Partial<LaunchRequest> = {}) =>
  onEc2(new RunInstancesCommand(runInstancesInput({ ...LAUNCH, ...over })));
const terminate = (id = HUB_A.id) => onEc2(new TerminateInstancesCommand({ InstanceIds: [id] }));

/** One request of each kind the action makes. */
async function actionRequests(): Promise<AwsEntry[]> {
  const group = 'sg-0123456789abcdef0';
  return Promise.all([
    onEc2(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:tljh:hub', Values: ['alpha'] }] })),
    launch(),
    launch({
      subnetId: undefined,
      iamInstanceProfile: `arn:aws:iam::${ACCOUNT}:instance-profile/tljh-ssm`,
    }),
    launch({ market: 'spot' }),
    onEc2(
      new CreateSecurityGroupCommand({
        GroupName: 'tljh-alpha',
        Description: 'JupyterHub alpha',
        VpcId: 'vpc-0123456789abcdef0',
        TagSpecifications: [{ ResourceType: 'security-group', Tags: hubTags('alpha') }],
      }),
    ),
    onEc2(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    ),
    onEc2(
      new CreateTagsCommand({
        Resources: [HUB_A.id],
        Tags: [{ Key: 'tljh:installed-version', Value: '2.0.0' }],
      }),
    ),
    onEc2(
      new CreateTagsCommand({ Resources: [group], Tags: [{ Key: 'tljh:hub', Value: 'alpha' }] }),
    ),
    onEc2(new StopInstancesCommand({ InstanceIds: [HUB_A.id] })),
    onEc2(
      new ModifyInstanceAttributeCommand({
        InstanceId: HUB_A.id,
        InstanceType: { Value: 't3.medium' },
      }),
    ),
    onEc2(new StartInstancesCommand({ InstanceIds: [HUB_A.id] })),
    onEc2(new DescribeVolumesCommand({ VolumeIds: ['vol-0123456789abcdef0'] })),
    onEc2(new ModifyVolumeCommand({ VolumeId: 'vol-0123456789abcdef0', Size: 40 })),
    onEc2(new DescribeVolumesModificationsCommand({ VolumeIds: ['vol-0123456789abcdef0'] })),
    onEc2(
      new RevokeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    ),
    onEc2(
      new CreateTagsCommand({
        Resources: [HUB_A.id, 'vol-0123456789abcdef0'],
        Tags: [{ Key: 'course', Value: 'cs101' }],
      }),
    ),
    onEc2(
      new DeleteTagsCommand({
        Resources: [HUB_A.id, 'vol-0123456789abcdef0'],
        Tags: [{ Key: 'course' }, { Key: 'tljh:expires-at' }],
      }),
    ),
    onEc2(new GetConsoleOutputCommand({ InstanceId: HUB_A.id, Latest: true })),
    onEc2(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: ['sir-0123abcd'] })),
    bake(),
    onEc2(
      new CreateTagsCommand({
        Resources: ['ami-0123456789abcdef0'],
        Tags: [{ Key: 'tljh:last-used', Value: '2026-12-03T10:00:00Z' }],
      }),
    ),
    onEc2(new DeregisterImageCommand({ ImageId: 'ami-0123456789abcdef0' })),
    onEc2(new DeleteSnapshotCommand({ SnapshotId: 'snap-0123456789abcdef0' })),
    terminate(),
    onEc2(new DeleteSecurityGroupCommand({ GroupId: group })),
    onSsm(
      new GetParameterCommand({
        Name: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      }),
    ),
    onSsm(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'InstanceIds', Values: [HUB_A.id] }],
      }),
    ),
    onSsm(
      new PutParameterCommand({
        Name: HUB_A.settings,
        Value: '{}',
        Type: 'SecureString',
        Overwrite: true,
      }),
    ),
    onSsm(
      new AddTagsToResourceCommand({
        ResourceType: 'Parameter',
        ResourceId: HUB_A.settings,
        Tags: Object.entries(settingsParameterTags('alpha', HUB_A.id)).map(([Key, Value]) => ({
          Key,
          Value,
        })),
      }),
    ),
    onSsm(
      new SendCommandCommand({
        InstanceIds: [HUB_A.id],
        DocumentName: 'AWS-RunShellScript',
        Parameters: { commands: ['true'] },
      }),
    ),
    onSsm(new GetCommandInvocationCommand({ CommandId: 'c0ffee', InstanceId: HUB_A.id })),
    onSsm(new DeleteParameterCommand({ Name: HUB_A.settings })),
    onSsm(new DeleteParametersCommand({ Names: [HUB_A.settings, HUB_B.settings] })),
    onSsm(new GetParametersByPathCommand({ Path: '/tljh-ec2-action/alpha/', Recursive: true })),
  ]);
}

/** The image cache's CreateImage of a builder, tagged at creation (image-cache.ts). */
function bake(tags: Record<string, string> = { 'tljh:managed-by': 'tljh-ec2-action' }) {
  const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  return onEc2(
    new CreateImageCommand({
      InstanceId: HUB_A.id,
      Name: 'tljh-cache-0123456789abcdef-i-0123',
      TagSpecifications: [
        { ResourceType: 'image', Tags },
        { ResourceType: 'snapshot', Tags },
      ],
    }),
  );
}

describe('the caller policy (docs/iam/caller-policy.json)', () => {
  const caller: Evaluation = {
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/gh-deploy/GitHubActions`,
    identityPolicies: [loadPolicy('caller-policy.json', ACCOUNT)],
  };
  const at = { account: ACCOUNT, region: REGION };

  test('allows every request the action makes on its tagged resources', async () => {
    const entries = await actionRequests();
    const denied: string[] = [];
    let checked = 0;
    for (const e of entries) {
      const requests = recordedRequests(e, at);
      expect(requests?.length).toBeGreaterThan(0);
      for (const request of requests!) {
        checked++;
        const decision = await evaluate(request, caller);
        if (decision !== 'Allowed')
          denied.push(`${e.operation}: ${request.action} ${request.resource} ${decision}`);
      }
    }
    // RunInstances alone is 9 authorizations (instance, volume, interface, subnet, group, image,
    // two tag-on-create, PassRole), 11 for Spot (its request, and its tags), CreateImage 5 (image,
    // snapshot, instance, two tag-on-create): the mapping is not silently empty.
    expect(checked).toBe(70);
    expect(denied).toEqual([]);
    expect(await evaluateRecordedRequests(entries, at)).toEqual([]);
  });

  test('denies terminating an instance without the managed-by tag', async () => {
    const entries = [await terminate('i-0ccccccccccccccc0')];
    const tagSets: Record<string, string>[] = [{}, { 'tljh:managed-by': 'another-tool' }];
    for (const tags of tagSets) {
      expect(await evaluateRecordedRequests(entries, { ...at, resourceTags: () => tags })).toEqual([
        {
          service: 'ec2',
          operation: 'TerminateInstances',
          action: 'ec2:TerminateInstances',
          resource: arnOf('i-0ccccccccccccccc0'),
          decision: 'ImplicitlyDenied',
        },
      ]);
    }
  });

  test('denies launching an instance without the managed-by tag', async () => {
    const launched = await launch();
    const untagged: AwsEntry = {
      ...launched,
      params: Object.fromEntries(
        Object.entries(launched.params).filter(([key]) => !key.startsWith('TagSpecification.')),
      ),
    };
    const denied = await evaluateRecordedRequests([untagged], at);
    expect(denied.map((d) => `${d.action} ${d.resource.split(':').pop()}`)).toEqual([
      'ec2:RunInstances instance/i-launching',
      'ec2:RunInstances volume/vol-launching',
    ]);
  });

  test('denies a Spot launch whose request lacks the managed-by tag', async () => {
    const launched = await launch({ market: 'spot' });
    const spec = Object.entries(launched.params)
      .find(
        ([key, value]) =>
          /^TagSpecification\.\d+\.ResourceType$/.test(key) && value === 'spot-instances-request',
      )![0]
      .replace(/ResourceType$/, '');
    const untagged: AwsEntry = {
      ...launched,
      params: Object.fromEntries(
        Object.entries(launched.params).filter(([key]) => !key.startsWith(`${spec}Tag.`)),
      ),
    };
    const denied = await evaluateRecordedRequests([untagged], at);
    expect(denied.map((d) => `${d.action} ${d.resource.split(':').pop()}`)).toEqual([
      'ec2:RunInstances spot-instances-request/sir-launching',
    ]);
  });

  test.each([
    [
      'cancelling an untagged Spot request',
      () =>
        onEc2(
          new CancelSpotInstanceRequestsCommand({
            SpotInstanceRequestIds: ['sir-0ddddddddddddddd0'],
          }),
        ),
      'ec2:CancelSpotInstanceRequests',
    ],
    [
      'a command on an untagged instance',
      () =>
        onSsm(
          new SendCommandCommand({
            InstanceIds: ['i-0ddddddddddddddd0'],
            DocumentName: 'AWS-RunShellScript',
          }),
        ),
      'ssm:SendCommand',
    ],
    [
      'another document',
      () =>
        onSsm(
          new SendCommandCommand({ InstanceIds: [HUB_A.id], DocumentName: 'AWS-RunRemoteScript' }),
        ),
      'ssm:SendCommand',
    ],
    [
      'a parameter outside the action path',
      () =>
        onSsm(new PutParameterCommand({ Name: '/other/secret', Value: 'x', Type: 'SecureString' })),
      'ssm:PutParameter',
    ],
    [
      'deleting a parameter outside the action path',
      () => onSsm(new DeleteParameterCommand({ Name: '/other/secret' })),
      'ssm:DeleteParameter',
    ],
    ['passing another role', () => launch({ iamInstanceProfile: 'admin' }), 'iam:PassRole'],
    [
      'changing the type of an untagged instance',
      () =>
        onEc2(
          new ModifyInstanceAttributeCommand({
            InstanceId: 'i-0ddddddddddddddd0',
            InstanceType: { Value: 't3.large' },
          }),
        ),
      'ec2:ModifyInstanceAttribute',
    ],
    [
      'growing an untagged volume',
      () => onEc2(new ModifyVolumeCommand({ VolumeId: 'vol-0ddddddddddddddd0', Size: 100 })),
      'ec2:ModifyVolume',
    ],
    [
      'removing the tags of an untagged instance',
      () =>
        onEc2(
          new DeleteTagsCommand({ Resources: ['i-0ddddddddddddddd0'], Tags: [{ Key: 'owner' }] }),
        ),
      'ec2:DeleteTags',
    ],
  ])('denies %s', async (_name, make, action) => {
    const untagged = (arn: string): Record<string, string> =>
      /(i|vol|sir)-0ddddddddddddddd0$/.test(arn) ? {} : { 'tljh:managed-by': 'tljh-ec2-action' };
    const denied = await evaluateRecordedRequests([await make()], {
      ...at,
      resourceTags: untagged,
    });
    expect(denied.map((d) => d.action)).toEqual([action]);
    expect(denied[0]!.decision).toBe('ImplicitlyDenied');
  });

  test("denies baking an image that is not tagged as the action's at creation", async () => {
    const denied = await evaluateRecordedRequests([await bake({ course: 'x' })], at);
    expect(denied.map((d) => `${d.action} ${d.resource.split('::').pop()}`)).toEqual([
      'ec2:CreateImage image/ami-creating',
      'ec2:CreateImage snapshot/snap-creating',
    ]);
  });

  test("denies deregistering an image or deleting a snapshot not tagged as the action's", async () => {
    const entries = [
      await onEc2(new DeregisterImageCommand({ ImageId: 'ami-0ddddddddddddddd0' })),
      await onEc2(new DeleteSnapshotCommand({ SnapshotId: 'snap-0ddddddddddddddd0' })),
      await onEc2(
        new CreateTagsCommand({
          Resources: ['ami-0ddddddddddddddd0'],
          Tags: [{ Key: 'tljh:last-used', Value: '2026-12-03T10:00:00Z' }],
        }),
      ),
    ];
    const denied = await evaluateRecordedRequests(entries, { ...at, resourceTags: () => ({}) });
    expect(denied.map((d) => d.action)).toEqual([
      'ec2:DeregisterImage',
      'ec2:DeleteSnapshot',
      'ec2:CreateTags',
    ]);
  });

  test('reports an operation it cannot map instead of passing it', async () => {
    const entry: AwsEntry = {
      service: 'ec2',
      operation: 'ModifyInstanceMetadataOptions',
      params: { InstanceId: HUB_A.id },
    };
    expect(await evaluateRecordedRequests([entry], at)).toEqual([
      {
        service: 'ec2',
        operation: 'ModifyInstanceMetadataOptions',
        action: '',
        resource: '',
        decision: 'Unmapped',
      },
    ]);
  });
});
