import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type CreateTagsCommandInput,
  type DescribeInstancesCommandInput,
  type Instance,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DeleteParametersCommand,
  GetParametersByPathCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  PutParameterCommand,
  GetParameterCommand,
  SSMClient,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ubuntuAmiParameter } from '../src/aws/ssm.ts';
import { shQuote } from '../src/bootstrap.ts';
import { ActionError, InstanceGoneError } from '../src/errors.ts';
import { parseInputs, type HubSpec } from '../src/inputs.ts';
import {
  launchClientToken,
  reconcile,
  type ReconcileContext,
  type Reporter,
} from '../src/reconcile.ts';
import { writeSummary } from '../src/summary.ts';
import { COMMAND_END_GRACE_MS, RELEASED, formatLease } from '../src/lease.ts';
import { TAG_HUB, TAG_INSTALL_LEASE, TAG_INSTALLED_VERSION, TAG_MANAGED_BY } from '../src/tags.ts';
import {
  FAILED_INSTALL,
  FakeClock,
  awsError,
  liveHub,
  reportStdout,
  startPublicHub,
  type TestServer,
} from './helpers/fakes.ts';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };
const clients = {
  ec2: new EC2Client({ region: 'eu-west-1', credentials }),
  ssm: new SSMClient({ region: 'eu-west-1', credentials }),
};

const NEW_ID = 'i-0000000000000000a';
const OLD_ID = 'i-0000000000000000b';
const AMI = 'ami-0123456789abcdef0';
const RUN_KEY = 'octo/hubs/123/1';

const MUTATING = [
  'PutParameterCommand',
  'AddTagsToResourceCommand',
  'DeleteParameterCommand',
  'RunInstancesCommand',
  'StartInstancesCommand',
  'StopInstancesCommand',
  'TerminateInstancesCommand',
  'CreateTagsCommand',
  'CreateSecurityGroupCommand',
  'AuthorizeSecurityGroupIngressCommand',
  'DeleteSecurityGroupCommand',
  'SendCommandCommand',
];

// ----- the public hub the runner probes (loopback only) ---------------------------------------

let hub: TestServer & { publicIp: string };
/** A hub whose public address answers 503 until flakyHealthy is set. */
let flaky: TestServer & { publicIp: string };
let flakyHealthy = false;
/** A 127.x "public IP" with nothing listening: the runner's probe is refused. */
let deadIp: string;

beforeAll(async () => {
  hub = await startPublicHub('127.77.0.1', liveHub('5.3.0'));
  flaky = await startPublicHub('127.77.0.2', (req, res) => {
    if (flakyHealthy) return liveHub('5.3.0')(req, res);
    res.writeHead(503);
    res.end('Service Unavailable');
  });
  const free = createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.77.0.9', resolve));
  deadIp = `127.77.0.9:${(free.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => free.close(() => resolve()));
});
afterAll(async () => {
  await hub.close();
  await flaky.close();
});

// ----- a small world behind the mocks ----------------------------------------------------------

interface World {
  /** What the tag-filtered DescribeInstances finds. */
  found: Instance[];
  /** What DescribeInstances by id answers (the waiter, and the re-read after a wait). */
  byId: Record<string, Instance>;
  ownedGroup?: string;
  invocation: {
    Status: string;
    ResponseCode: number;
    StandardOutputContent: string;
    StandardErrorContent?: string;
  };
  /** Runs before every DescribeInstances: what other runs (or people) do meanwhile. */
  meanwhile?: () => void;
}

let world: World;
let clock: FakeClock;
let log: { infos: string[]; warnings: string[]; groups: string[]; masked: string[] };
/** What ctx.onAdminPassword was told, in order, and whether each was masked by then. */
let reported: { password: string; masked: boolean }[];

function instance(id: string, state: string, extra: Partial<Instance> = {}): Instance {
  return {
    InstanceId: id,
    State: { Name: state as never },
    LaunchTime: new Date('2026-01-01T00:00:00Z'),
    Tags: [
      { Key: 'Name', Value: 'tljh-workshop' },
      { Key: TAG_HUB, Value: 'workshop' },
      { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
    ],
    ...extra,
  };
}

const installedTag = (v = '2.0.0') => [
  { Key: TAG_HUB, Value: 'workshop' },
  { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
  { Key: TAG_INSTALLED_VERSION, Value: v },
];

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  hub.hits.length = 0;
  flaky.hits.length = 0;
  flakyHealthy = false;
  clock = new FakeClock();
  log = { infos: [], warnings: [], groups: [], masked: [] };
  reported = [];
  world = {
    found: [],
    byId: {},
    invocation: {
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportStdout({ installerExit: 0, installerOutput: ['Done!'] }),
    },
  };

  ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
    world.meanwhile?.();
    if (input.Filters) return { Reservations: [{ Instances: world.found }] };
    const found = (input.InstanceIds ?? []).map((id) => world.byId[id]).filter(Boolean);
    if (!found.length) throw awsError('InvalidInstanceID.NotFound');
    return { Reservations: [{ Instances: found }] };
  });
  ec2Mock.on(DescribeInstanceTypesCommand).resolves({
    InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: ['x86_64'] } }],
  });
  ec2Mock
    .on(DescribeImagesCommand)
    .resolves({ Images: [{ RootDeviceName: '/dev/sda1', Architecture: 'x86_64' }] });
  ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-default' }] });
  ec2Mock.on(DescribeSecurityGroupsCommand).callsFake(() => ({
    SecurityGroups: world.ownedGroup ? [{ GroupId: world.ownedGroup }] : [],
  }));
  ec2Mock.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-0000000000000000e' });
  ec2Mock.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
  ec2Mock.on(RunInstancesCommand).callsFake(() => {
    world.byId[NEW_ID] = instance(NEW_ID, 'running', { PublicIpAddress: hub.publicIp });
    return { Instances: [{ InstanceId: NEW_ID }] };
  });
  ec2Mock.on(StartInstancesCommand).resolves({});
  ec2Mock.on(StopInstancesCommand).resolves({});
  ec2Mock.on(TerminateInstancesCommand).resolves({});
  // Tags land on the instance DescribeInstances by id answers (the install lease is read back).
  ec2Mock.on(CreateTagsCommand).callsFake((input: CreateTagsCommandInput) => {
    for (const id of input.Resources ?? []) {
      const target = world.byId[id];
      if (!target) continue;
      const keys = new Set((input.Tags ?? []).map((t) => t.Key));
      target.Tags = [...(target.Tags ?? []).filter((t) => !keys.has(t.Key)), ...(input.Tags ?? [])];
    }
    return {};
  });
  ec2Mock.on(DeleteSecurityGroupCommand).resolves({});

  ssmMock
    .on(GetParameterCommand, { Name: ubuntuAmiParameter('24.04', 'amd64') })
    .resolves({ Parameter: { Value: AMI } });
  ssmMock.on(DescribeInstanceInformationCommand).callsFake(() => ({
    InstanceInformationList: Object.keys(world.byId).map((InstanceId) => ({
      InstanceId,
      PingStatus: 'Online',
    })),
  }));
  ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
  ssmMock.on(AddTagsToResourceCommand).resolves({});
  ssmMock.on(DeleteParameterCommand).resolves({});
  ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
  ssmMock.on(GetCommandInvocationCommand).callsFake(() => world.invocation);
});

function spec(inputs: Record<string, string> = {}): HubSpec {
  const all: Record<string, string> = {
    'hub-name': 'workshop',
    'admin-user': 'naomi',
    'iam-instance-profile': 'tljh-ssm',
    ...inputs,
  };
  return parseInputs((name) => all[name] ?? '', { AWS_REGION: 'eu-west-1' });
}

function ctx(runOwner = 'run-owner-1'): ReconcileContext {
  const reporter: Reporter = {
    group: async (name, fn) => {
      log.groups.push(name);
      return fn();
    },
    info: (m) => log.infos.push(m),
    warning: (m) => log.warnings.push(m),
    mask: (secret) => log.masked.push(secret),
  };
  return {
    ...clients,
    clock,
    pollMs: 10_000,
    log: reporter,
    runKey: RUN_KEY,
    runOwner,
    onAdminPassword: (password) =>
      reported.push({ password, masked: !password || log.masked.includes(password) }),
  };
}

/** Every AWS call of both clients, in the order they were made. */
function callOrder(): string[] {
  const calls = [...ec2Mock.calls(), ...ssmMock.calls()].map((c) => ({
    id: (c as unknown as { callId: number }).callId,
    name: (c.args[0] as object).constructor.name,
  }));
  expect(calls.every((c) => typeof c.id === 'number')).toBe(true);
  return calls.sort((a, b) => a.id - b.id).map((c) => c.name);
}

const mutatingCalls = () => callOrder().filter((name) => MUTATING.includes(name));

/** Every tag written with CreateTags, as `key=value`, in order. */
const tagWrites = (): string[] =>
  ec2Mock
    .commandCalls(CreateTagsCommand)
    .flatMap((c) => (c.args[0].input.Tags ?? []).map((t) => `${t.Key}=${t.Value}`));

/** The CreateTags calls that mark a hub installed (tljh:installed-version). */
const installedTagWrites = () =>
  ec2Mock
    .commandCalls(CreateTagsCommand)
    .filter((c) => c.args[0].input.Tags?.some((t) => t.Key === TAG_INSTALLED_VERSION));

/** How each DescribeInstances asked: 'tags' (find the hub's instances) or 'id' (one instance). */
const describeKinds = (): string[] =>
  ec2Mock
    .commandCalls(DescribeInstancesCommand)
    .map((c) => (c.args[0].input.Filters ? 'tags' : 'id'));

/** The install lease tag this test run (run-owner-1) writes, before and after SendCommand. */
const OWN_LEASE = new RegExp(
  `^${TAG_INSTALL_LEASE}=run-owner-1\\|\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`,
);
const OWN_LEASE_WITH_COMMAND = new RegExp(`${OWN_LEASE.source.slice(0, -1)}\\|cmd-1$`);
/** The lease a finished or failed install gives up, so a waiting run acts at once. */
const OWN_LEASE_RELEASED = new RegExp(`${OWN_LEASE.source.slice(0, -1)}\\|${RELEASED}$`);
/** The one CreateTags of a successful install: marked installed, lease released. */
const MARKED_INSTALLED = [
  `${TAG_INSTALLED_VERSION}=2.0.0`,
  expect.stringMatching(OWN_LEASE_RELEASED),
];

async function rejection(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise;
  } catch (err) {
    return err as ActionError;
  }
  throw new Error('expected a rejection');
}

// ----- tests -------------------------------------------------------------------------------

describe('create', () => {
  test('launches, installs, verifies, tags, in this order of calls', async () => {
    const outcome = await reconcile(ctx(), spec());

    expect(callOrder()).toEqual([
      'DescribeInstancesCommand', // find the hub by tags
      'DescribeInstanceTypesCommand',
      'DescribeVpcsCommand', // resolved with the other read-only checks, before any change
      'GetParameterCommand',
      'DescribeImagesCommand',
      'DescribeSecurityGroupsCommand',
      'CreateSecurityGroupCommand',
      'AuthorizeSecurityGroupIngressCommand',
      'RunInstancesCommand',
      'DescribeInstancesCommand', // by tags: did a concurrent run launch this hub first?
      'DescribeInstancesCommand', // the waiter
      'DescribeInstancesCommand', // re-read (public IP)
      'DescribeInstanceInformationCommand',
      'DescribeInstancesCommand', // by tags: the race again, before the install
      'DescribeInstancesCommand', // the install lease: is another run installing this hub?
      'CreateTagsCommand', // take the lease
      'DescribeInstancesCommand', // read the lease back (after the settle sleep)
      'GetParametersByPathCommand', // settings parameters an interrupted install left (none)
      'PutParameterCommand', // the generated admin password, as a SecureString
      'AddTagsToResourceCommand', // tagged with the instance: its role may read only that
      'SendCommandCommand',
      'CreateTagsCommand', // the lease names the command
      'GetCommandInvocationCommand',
      'DeleteParameterCommand',
      'CreateTagsCommand', // tljh:installed-version, and the lease released
      'DescribeInstancesCommand', // by tags: a last look for a concurrent launch before reporting
    ]);
    expect(describeKinds()).toEqual(['tags', 'tags', 'id', 'id', 'tags', 'id', 'id', 'tags']);
    expect(tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
    // Between writing the lease and reading it back: two polls (at least LEASE_SETTLE_MS).
    expect(clock.sleeps).toContain(20_000);
    expect(outcome).toMatchObject({
      plan: {
        steps: [
          { kind: 'launch' },
          { kind: 'wait', until: 'running' },
          { kind: 'wait-agent' },
          { kind: 'install' },
        ],
        finalState: 'running',
      },
      state: 'running',
      changed: true,
      done: [
        `launched ${NEW_ID} (t3.small, ${AMI})`,
        'installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)',
      ],
      instanceId: NEW_ID,
      publicIp: hub.publicIp,
      hubUrl: `http://${hub.publicIp}/`,
      hubVersion: '5.3.0',
    });
    // The runner probed the public URL itself.
    expect(hub.hits).toEqual(['GET /hub/api']);
  });

  test('what is sent: the launch request, the script, the tag', async () => {
    await reconcile(ctx(), spec({ tags: 'project=cs101', 'install-timeout': '20' }));
    const run = ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input;
    expect(run).toMatchObject({
      ImageId: AMI,
      InstanceType: 't3.small',
      ClientToken: launchClientToken('workshop', 'eu-west-1', RUN_KEY),
      SecurityGroupIds: ['sg-0000000000000000e'],
      IamInstanceProfile: { Name: 'tljh-ssm' },
      MetadataOptions: { HttpTokens: 'required' },
    });
    expect(run.TagSpecifications![0]!.Tags).toContainEqual({ Key: 'project', Value: 'cs101' });

    const send = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(send.InstanceIds).toEqual([NEW_ID]);
    expect(send.Parameters!.executionTimeout).toEqual(['1200']);
    const script = send.Parameters!.commands![0]!;
    expect(script).toContain("admin_user='naomi'");
    expect(script).toContain("tljh_version='2.0.0'");

    const tags = ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input);
    expect(tags).toHaveLength(3);
    expect(tags.every((t) => t.Resources?.length === 1 && t.Resources[0] === NEW_ID)).toBe(true);
    // The lease: this run, then this run and its command (when it was sent).
    expect(tags[0]!.Tags).toEqual([
      { Key: TAG_INSTALL_LEASE, Value: expect.stringMatching(/^run-owner-1\|[^|]+Z$/) as string },
    ]);
    expect(tags[1]!.Tags).toEqual([
      {
        Key: TAG_INSTALL_LEASE,
        Value: expect.stringMatching(/^run-owner-1\|[^|]+Z\|cmd-1$/) as string,
      },
    ]);
    expect(tags[2]).toEqual({
      Resources: [NEW_ID],
      Tags: [
        { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' },
        {
          Key: TAG_INSTALL_LEASE,
          Value: expect.stringMatching(/^run-owner-1\|[^|]+Z\|released$/) as string,
        },
      ],
    });
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)[0]!.args[0].input.VpcId).toBe(
      'vpc-default',
    );
  });

  test('launching without an instance profile warns about SSM registration', async () => {
    await reconcile(ctx(), spec({ 'iam-instance-profile': '' }));
    expect(ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input.IamInstanceProfile).toBe(
      undefined,
    );
    expect(log.warnings.join('\n')).toContain("No 'iam-instance-profile'");
  });

  test('the admin password travels only in a SecureString parameter, deleted after use', async () => {
    const outcome = await reconcile(ctx(), spec());
    const put = ssmMock.commandCalls(PutParameterCommand);
    expect(put).toHaveLength(1);
    const param = put[0]!.args[0].input;
    expect(param.Type).toBe('SecureString');
    const password = (JSON.parse(param.Value!) as { adminPassword?: string }).adminPassword!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // Masked in the log, and nowhere in what SendCommand carries (readable with ListCommands).
    expect(log.masked).toContain(password);
    const send = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(JSON.stringify(send)).not.toContain(password);
    expect(send.Parameters!.commands![0]).toContain(shQuote(param.Name!));
    expect(ssmMock.commandCalls(DeleteParameterCommand)[0]!.args[0].input).toEqual({
      Name: param.Name,
    });
    // Tagged with the one instance whose role may read it (docs/iam/instance-role-policy.json),
    // before the command that makes the instance read it.
    expect(ssmMock.commandCalls(AddTagsToResourceCommand).map((c) => c.args[0].input)).toEqual([
      {
        ResourceType: 'Parameter',
        ResourceId: param.Name,
        Tags: [
          { Key: 'tljh:instance-id', Value: NEW_ID },
          { Key: TAG_HUB, Value: 'workshop' },
          { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
        ],
      },
    ]);
    expect(param.Name).toBe(`/tljh-ec2-action/workshop/${NEW_ID}/settings`);
    const order = callOrder();
    expect(order.indexOf('AddTagsToResourceCommand')).toBeLessThan(
      order.indexOf('SendCommandCommand'),
    );
    expect(outcome.generatedPassword).toBe(password);
  });

  test('user-given security groups are checked, and no group is created', async () => {
    await reconcile(ctx(), spec({ 'security-group-ids': 'sg-0123456789abcdef0' }));
    expect(ec2Mock.commandCalls(DescribeSecurityGroupsCommand)[0]!.args[0].input).toEqual({
      GroupIds: ['sg-0123456789abcdef0'],
    });
    expect(ec2Mock.commandCalls(CreateSecurityGroupCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input.SecurityGroupIds).toEqual([
      'sg-0123456789abcdef0',
    ]);
  });

  test('the same run attempt gives the same ClientToken; another attempt another one', () => {
    const a = launchClientToken('workshop', 'eu-west-1', RUN_KEY);
    expect(a).toBe(launchClientToken('workshop', 'eu-west-1', RUN_KEY));
    expect(a).not.toBe(launchClientToken('workshop', 'eu-west-1', 'octo/hubs/123/2'));
    expect(a).not.toBe(launchClientToken('other', 'eu-west-1', RUN_KEY));
    expect(a).toMatch(/^tljh-[0-9a-f]{48}$/);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(launchClientToken('w', 'r', undefined)).not.toBe(launchClientToken('w', 'r', undefined));
  });

  test('public URL unreachable from the runner -> ActionError about allowed-cidrs', async () => {
    ec2Mock.on(RunInstancesCommand).callsFake(() => {
      world.byId[NEW_ID] = instance(NEW_ID, 'running', { PublicIpAddress: deadIp });
      return { Instances: [{ InstanceId: NEW_ID }] };
    });
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain(`http://${deadIp}/hub/api does not answer from this runner`);
    expect(err.message).toContain('no answer (ECONNREFUSED)');
    expect(err.hint).toContain("'allowed-cidrs'");
    // The instance itself was verified, so it is tagged as installed.
    expect(installedTagWrites()).toHaveLength(1);
    // It kept trying for the 3 minutes after an install.
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(180_000);
  });

  /** The admin password this run sent to the hub (in the settings SecureString). */
  const sentPassword = () =>
    (
      JSON.parse(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input.Value!) as {
        adminPassword: string;
      }
    ).adminPassword;

  // Defect 4: the hub is marked installed before the public probe; a probe that fails after it
  // must not lose the generated password (later runs never generate another).
  test('the public probe fails after the install: the password set on the hub is still reported, masked', async () => {
    ec2Mock.on(RunInstancesCommand).callsFake(() => {
      world.byId[NEW_ID] = instance(NEW_ID, 'running', { PublicIpAddress: deadIp });
      return { Instances: [{ InstanceId: NEW_ID }] };
    });
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err.message).toContain('does not answer from this runner');
    expect(installedTagWrites()).toHaveLength(1);
    expect(reported).toEqual([{ password: sentPassword(), masked: true }]);
    expect(sentPassword()).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  test('a step after the install fails (the last race check): the password is still reported', async () => {
    let byTags = 0;
    ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
      if (input.Filters && ++byTags === 4) throw awsError('UnauthorizedOperation');
      if (input.Filters) return { Reservations: [{ Instances: world.found }] };
      return { Reservations: [{ Instances: [world.byId[input.InstanceIds![0]!]!] }] };
    });
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err.message).toMatch(/^Checking for a concurrent launch failed/);
    expect(installedTagWrites()).toHaveLength(1);
    expect(reported).toEqual([{ password: sentPassword(), masked: true }]);
  });

  // TLJH's installer sets the admin password early (ensure_admins, before the user environment):
  // a failed install has usually set it already.
  test('a failed install still reports the password it sent', async () => {
    world.invocation = {
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: reportStdout({ installerExit: 1, installerLog: 'incomplete' }),
    };
    await rejection(reconcile(ctx(), spec()));
    expect(reported).toEqual([{ password: sentPassword(), masked: true }]);
  });

  test('no password is reported when the install command was never sent', async () => {
    ssmMock.on(SendCommandCommand).rejects(awsError('AccessDeniedException'));
    await rejection(reconcile(ctx(), spec()));
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(1);
    expect(reported).toEqual([]);
  });

  // Defect 9: configure-aws-credentials' default one-hour session ends mid-install.
  test('credentials expire during the install: a clear error, and the password still reported', async () => {
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejects(
        awsError('ExpiredTokenException', 'The security token included in the request is expired'),
      );
    ssmMock.on(DeleteParameterCommand).rejects(awsError('ExpiredTokenException'));
    ec2Mock.on(CreateTagsCommand).callsFake((input: CreateTagsCommandInput) => {
      if (input.Tags?.some((t) => t.Value?.endsWith(`|${RELEASED}`))) {
        throw awsError('RequestExpired', 'Request has expired.');
      }
      return {};
    });
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain('the AWS session expired during the run');
    expect(err.message).toContain('ExpiredTokenException');
    expect(err.hint).toContain("'role-duration-seconds'");
    expect(err.hint).toContain('7200 for the default install-timeout of 30');
    // The settings parameter could not be deleted: the warning says who deletes it.
    const param = ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input.Name!;
    expect(log.warnings.join('\n')).toContain(
      `Could not delete ${param} (ExpiredTokenException (test)): the next install on hub 'workshop' (or terminating it) deletes it.`,
    );
    expect(reported).toEqual([{ password: sentPassword(), masked: true }]);
  });

  test('a failed install: ActionError with the installer lines and log tail, no installed tag', async () => {
    world.invocation = {
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: reportStdout({
        installerExit: 1,
        installerOutput: FAILED_INSTALL.output,
        installerLog: 'incomplete',
        services: ['inactive', 'inactive'],
        apiStatus: '000',
        apiBody: '',
        logTail: FAILED_INSTALL.logTail,
      }),
      StandardErrorContent: 'failed to run commands: exit status 1',
    };
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain(
      `The TLJH install on ${NEW_ID} failed (SSM status Failed, exit code 1).`,
    );
    expect(err.message).toContain('  - the TLJH installer exited with code 1');
    expect(err.message).toContain(FAILED_INSTALL.ranLine);
    expect(err.message).toContain("Installer's own output (last lines):");
    expect(err.message).toContain('/opt/tljh/installer.log (tail):');
    for (const line of FAILED_INSTALL.logTail) expect(err.message).toContain(`  ${line}`);
    expect(err.hint).toContain('left running and tagged');
    expect(installedTagWrites()).toHaveLength(0);
    // Only the install lease was written: before and after SendCommand, then released.
    expect(tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      expect.stringMatching(OWN_LEASE_RELEASED),
    ]);
    expect(hub.hits).toEqual([]);
  });

  test('an install reported Success but unhealthy (403 progress page) is a failure', async () => {
    world.invocation = {
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportStdout({ installerExit: 0, apiStatus: '403', apiBody: '' }),
    };
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err.message).toContain('403 on the instance (the install progress page');
    expect(installedTagWrites()).toHaveLength(0);
    expect(tagWrites().at(-1)).toMatch(OWN_LEASE_RELEASED);
  });

  test('a failure without a report shows stderr', async () => {
    world.invocation = {
      Status: 'Failed',
      ResponseCode: 127,
      StandardOutputContent: '',
      StandardErrorContent: 'sh: 1: curl: not found\n',
    };
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err.message).toContain('exit code 127');
    expect(err.message).toContain('stderr:\nsh: 1: curl: not found');
  });

  test('a bad instance type fails before any mutating call', async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).rejects(awsError('InvalidInstanceType'));
    const err = await rejection(reconcile(ctx(), spec({ 'instance-type': 't9.huge' })));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain("Input 'instance-type': 't9.huge'");
    expect(callOrder()).toEqual(['DescribeInstancesCommand', 'DescribeInstanceTypesCommand']);
  });

  test('an image of the wrong architecture fails before any mutating call', async () => {
    ec2Mock.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: ['arm64'] } }],
    });
    const err = await rejection(
      reconcile(ctx(), spec({ 'instance-type': 't4g.small', 'image-id': AMI })),
    );
    expect(err.message).toContain(`Image ${AMI} is amd64 but instance type t4g.small is arm64`);
    expect(mutatingCalls()).toEqual([]);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(0);
  });

  test('AWS errors during apply carry the step and a hint', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('InstanceLimitExceeded'));
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err.message).toMatch(/^Launch a new instance failed: InstanceLimitExceeded/);
    expect(err.hint).toContain('quota');
  });

  test('without capacity for any choice, the error lists each and says what to add', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('InsufficientInstanceCapacity'));
    const err = await rejection(reconcile(ctx(), spec({ 'instance-type': 't3.small, t3a.small' })));
    expect(err.message).toMatch(/^No instance type and subnet had capacity/);
    expect(err.message).toContain('t3.small: InsufficientInstanceCapacity');
    expect(err.message).toContain('t3a.small: InsufficientInstanceCapacity');
    expect(err.hint).toContain("fallbacks to 'instance-type'");
  });

  test('AWS errors while observing say what was being done', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err.message).toMatch(/^Looking up the hub \(DescribeInstances\) failed/);
    expect(err.hint).toContain('lacks a permission');
  });
});

describe('re-run on an existing hub', () => {
  test('a verified running hub: no mutating call, no SSM call', async () => {
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag() }),
    ];
    const outcome = await reconcile(ctx(), spec());
    expect(callOrder()).toEqual(['DescribeInstancesCommand', 'DescribeInstanceTypesCommand']);
    expect(outcome).toMatchObject({
      state: 'running',
      changed: false,
      done: [],
      instanceId: OLD_ID,
      hubUrl: `http://${hub.publicIp}/`,
      hubVersion: '5.3.0',
    });
    expect(outcome.plan.steps).toEqual([{ kind: 'check-health' }]);
    expect(hub.hits).toEqual(['GET /hub/api']);
    // No waiting at all: nothing changed, so one probe is enough.
    expect(clock.sleeps).toEqual([]);
  });

  test('the oldest of several tagged instances is the hub, with a warning', async () => {
    world.found = [
      instance('i-0000000000000000c', 'running', {
        PublicIpAddress: deadIp,
        LaunchTime: new Date('2026-02-01T00:00:00Z'),
      }),
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag() }),
    ];
    const outcome = await reconcile(ctx(), spec());
    expect(outcome.instanceId).toBe(OLD_ID);
    expect(log.warnings[0]).toContain(`2 live instances carry hub 'workshop'`);
    expect(log.warnings[0]).toContain(`the oldest, ${OLD_ID}, is the hub`);
    expect(mutatingCalls()).toEqual([]);
  });

  test('a verified hub that does not answer publicly is asked over SSM, then reported', async () => {
    world.found = [instance(OLD_ID, 'running', { PublicIpAddress: deadIp, Tags: installedTag() })];
    world.byId[OLD_ID] = world.found[0]!;
    world.invocation.StandardOutputContent = reportStdout({});
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err.hint).toContain("'allowed-cidrs'");
    const send = ssmMock.commandCalls(SendCommandCommand);
    expect(send).toHaveLength(1);
    expect(send[0]!.args[0].input.Parameters!.commands![0]).not.toContain('bootstrap.py');
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
  });

  test('an unhealthy hub is installed again, then verified publicly', async () => {
    // The hub's public address answers 503 until the reinstall has run.
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: flaky.publicIp, Tags: installedTag() }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolvesOnce({
        Status: 'Success',
        ResponseCode: 0,
        StandardOutputContent: reportStdout({ services: ['failed', 'active'] }),
      })
      .callsFake(() => {
        flakyHealthy = true;
        return world.invocation;
      });
    const outcome = await reconcile(ctx(), spec());
    const scripts = ssmMock
      .commandCalls(SendCommandCommand)
      .map((c) => c.args[0].input.Parameters!.commands![0]!);
    expect(scripts).toHaveLength(2);
    expect(scripts[0]).not.toContain('bootstrap.py'); // the verify script
    expect(scripts[1]).toContain('bootstrap.py'); // the install script
    expect(log.warnings.join('\n')).toContain('service jupyterhub is failed');
    expect(installedTagWrites()).toHaveLength(1);
    expect(outcome).toMatchObject({
      state: 'running',
      changed: true,
      done: ['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)'],
      hubVersion: '5.3.0',
    });
    expect(flaky.hits).toEqual(['GET /hub/api', 'GET /hub/api']);
  });

  test('a stopped hub is started and its new public IP re-read before probing', async () => {
    // The old address is dead: probing it (instead of the re-read one) would fail the run.
    world.found = [instance(OLD_ID, 'stopped', { PublicIpAddress: deadIp, Tags: installedTag() })];
    world.byId[OLD_ID] = instance(OLD_ID, 'running', {
      PublicIpAddress: hub.publicIp,
      Tags: installedTag(),
    });
    const outcome = await reconcile(ctx(), spec());
    expect(mutatingCalls()).toEqual(['StartInstancesCommand']);
    expect(outcome).toMatchObject({
      state: 'running',
      changed: true,
      publicIp: hub.publicIp,
      hubUrl: `http://${hub.publicIp}/`,
      done: [`started ${OLD_ID}`],
    });
    expect(hub.hits).toEqual(['GET /hub/api']);
  });

  test('an installed version other than tljh-version is installed again', async () => {
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag('1.0.0') }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    const outcome = await reconcile(ctx(), spec());
    expect(mutatingCalls()).toContain('SendCommandCommand');
    expect(installedTagWrites().map((c) => c.args[0].input)).toEqual([
      {
        Resources: [OLD_ID],
        Tags: [
          { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' },
          { Key: TAG_INSTALL_LEASE, Value: expect.stringMatching(/\|released$/) as string },
        ],
      },
    ]);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });

  // TLJH writes `--admin user:password` into its password store: a reinstall (upgrade, repair)
  // must not reset the password the admin already has.
  test('reinstalling an existing hub does not reset the admin password', async () => {
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag('1.0.0') }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    const outcome = await reconcile(ctx(), spec());
    expect(outcome.generatedPassword).toBeUndefined();
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(mutatingCalls()).toEqual([
      'CreateTagsCommand', // the install lease
      'SendCommandCommand',
      'CreateTagsCommand', // the lease names the command
      'CreateTagsCommand', // tljh:installed-version
    ]);
    expect(tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
  });
});

describe('capacity fallbacks', () => {
  type Summary = Parameters<typeof writeSummary>[0];
  /** The rows of the job summary's table (a stand-in for core.summary). */
  function summaryRows(outcome: Awaited<ReturnType<typeof reconcile>>, s: HubSpec): string[][] {
    const rows: string[][] = [];
    const fake: Record<string, unknown> = {};
    for (const m of ['addHeading', 'addList', 'addRaw']) fake[m] = () => fake;
    fake.addTable = (table: unknown[][]) => {
      for (const row of table) rows.push(row.map((c) => (typeof c === 'string' ? c : '')));
      return fake;
    };
    writeSummary(fake as unknown as Summary, s, outcome);
    return rows;
  }

  test('no capacity for the first instance type: the next one is launched, and reported', async () => {
    ec2Mock.on(RunInstancesCommand).callsFake((input: RunInstancesCommandInput) => {
      if (input.InstanceType === 't3.small') {
        throw awsError('InsufficientInstanceCapacity', 'We currently do not have capacity');
      }
      world.byId[NEW_ID] = instance(NEW_ID, 'running', { PublicIpAddress: hub.publicIp });
      return { Instances: [{ InstanceId: NEW_ID }] };
    });
    const s = spec({ 'instance-type': 't3.small, t3a.small' });
    const outcome = await reconcile(ctx(), s);

    const runs = ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
    expect(runs.map((r) => r.InstanceType)).toEqual(['t3.small', 't3a.small']);
    expect(runs[0]!.ClientToken).toBe(launchClientToken('workshop', 'eu-west-1', RUN_KEY));
    expect(runs[1]!.ClientToken).not.toBe(runs[0]!.ClientToken);
    // Both types were checked (one architecture) before anything was changed.
    expect(
      ec2Mock.commandCalls(DescribeInstanceTypesCommand).map((c) => c.args[0].input.InstanceTypes),
    ).toEqual([['t3.small'], ['t3a.small']]);
    expect(log.warnings.join('\n')).toMatch(
      /No launch of t3\.small \(InsufficientInstanceCapacity: .*\)\. Trying t3a\.small\./,
    );
    expect(outcome).toMatchObject({
      state: 'running',
      instanceId: NEW_ID,
      launchedType: 't3a.small',
      done: [
        `launched ${NEW_ID} (t3a.small, ${AMI})`,
        'installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)',
      ],
    });
    expect(summaryRows(outcome, s)).toContainEqual(['Instance type', 't3a.small']);
  });

  test('fallback instance types of another architecture are refused before any change', async () => {
    ec2Mock
      .on(DescribeInstanceTypesCommand, { InstanceTypes: ['t4g.small'] })
      .resolves({ InstanceTypes: [{ ProcessorInfo: { SupportedArchitectures: ['arm64'] } }] });
    const err = await rejection(reconcile(ctx(), spec({ 'instance-type': 't3.small, t4g.small' })));
    expect(err.message).toContain("Input 'instance-type': t4g.small is not amd64 like t3.small");
    expect(mutatingCalls()).toEqual([]);
  });
});

describe('concurrent runs for the same hub', () => {
  const OTHER_RUN = 'other-run-9';
  const otherLease = (commandId?: string) =>
    formatLease({ owner: OTHER_RUN, at: clock.now(), commandId });
  const leaseTag = (value: string) => ({ Key: TAG_INSTALL_LEASE, Value: value });
  const hubTagsWith = (...extra: { Key: string; Value: string }[]) => [
    { Key: TAG_HUB, Value: 'workshop' },
    { Key: TAG_MANAGED_BY, Value: 'tljh-ec2-action' },
    ...extra,
  ];
  /** The other run's install command (cmd-other): still running, or ended. */
  let otherStatus: 'InProgress' | 'Success' | 'Failed';
  function otherCommand(status: typeof otherStatus) {
    otherStatus = status;
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-other' })
      .callsFake(() => ({ Status: otherStatus, ResponseCode: otherStatus === 'Failed' ? 1 : 0 }));
  }
  /**
   * The other run's command ends `afterMs` from now, and the run marks the hub installed (seen
   * by the next DescribeInstances).
   */
  function otherRunFinishesAfter(id: string, afterMs: number) {
    const at = clock.now() + afterMs;
    world.meanwhile = () => {
      const target = world.byId[id]!;
      if (clock.now() < at) return;
      otherStatus = 'Success';
      const others = (target.Tags ?? []).filter((t) => t.Key !== TAG_INSTALLED_VERSION);
      target.Tags = [...others, { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' }];
    };
  }
  /**
   * The other run as this code runs it: its command has ended (Success), and it marks the hub
   * installed and releases its lease (one CreateTags) `afterMs` from now, a poll or two later.
   */
  function otherRunMarksAfter(id: string, afterMs: number) {
    otherCommand('Success');
    const at = clock.now() + afterMs;
    world.meanwhile = () => {
      const target = world.byId[id]!;
      if (clock.now() < at) return;
      const keep = (target.Tags ?? []).filter(
        (t) => t.Key !== TAG_INSTALLED_VERSION && t.Key !== TAG_INSTALL_LEASE,
      );
      target.Tags = [
        ...keep,
        { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' },
        leaseTag(formatLease({ owner: OTHER_RUN, at, commandId: RELEASED })),
      ];
    };
  }
  const sentTo = () =>
    ssmMock.commandCalls(SendCommandCommand).map((c) => c.args[0].input.InstanceIds);

  /**
   * This run's RunInstances answers NEW_ID, but a concurrent run launched OLD_ID a second
   * earlier: from then on the tag-filtered DescribeInstances lists both.
   */
  function loseLaunchRace(older: Partial<Instance>) {
    ec2Mock.on(RunInstancesCommand).callsFake(() => {
      const ours = instance(NEW_ID, 'pending', {
        LaunchTime: new Date('2026-01-01T00:00:01Z'),
        PublicIpAddress: deadIp,
      });
      const theirs = instance(OLD_ID, 'running', {
        LaunchTime: new Date('2026-01-01T00:00:00Z'),
        PublicIpAddress: hub.publicIp,
        ...older,
      });
      world.found = [ours, theirs];
      world.byId[NEW_ID] = ours;
      world.byId[OLD_ID] = theirs;
      return { Instances: [{ InstanceId: NEW_ID }] };
    });
    ec2Mock.on(TerminateInstancesCommand).callsFake(() => {
      world.byId[NEW_ID]!.State = { Name: 'shutting-down' };
      return {};
    });
  }

  function expectLostRace(outcome: Awaited<ReturnType<typeof reconcile>>) {
    expect(
      ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds),
    ).toEqual([[NEW_ID]]);
    expect(log.warnings.join('\n')).toContain(
      `Another run launched ${OLD_ID} for hub 'workshop' first; terminated ${NEW_ID}`,
    );
    expect(outcome).toMatchObject({
      state: 'running',
      instanceId: OLD_ID,
      publicIp: hub.publicIp,
      hubUrl: `http://${hub.publicIp}/`,
      hubVersion: '5.3.0',
    });
    expect(outcome.done.slice(0, 2)).toEqual([
      `launched ${NEW_ID} (t3.small, ${AMI})`,
      `terminated ${NEW_ID} (a concurrent run's ${OLD_ID} was older)`,
    ]);
  }

  test('a lost launch race: ours is terminated, and the winning run install is awaited', async () => {
    loseLaunchRace({ Tags: hubTagsWith(leaseTag(otherLease('cmd-other'))) });
    otherCommand('InProgress');
    otherRunFinishesAfter(OLD_ID, 4 * 60_000);
    const outcome = await reconcile(ctx(), spec());
    expectLostRace(outcome);
    // Nothing of its own was installed: no command, no password, no tag of this run.
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    expect(outcome.generatedPassword).toBeUndefined();
    expect(outcome.done).toHaveLength(2);
    expect(log.infos).toContain(`Waiting for the run that is installing TLJH on ${OLD_ID}...`);
    expect(clock.now()).toBeGreaterThanOrEqual(1_000_000 + 4 * 60_000);
    expect(hub.hits).toEqual(['GET /hub/api']);
  });

  test("a lost launch race whose winner's install failed (lease released): this run installs the winner", async () => {
    loseLaunchRace({ Tags: hubTagsWith(leaseTag(otherLease(RELEASED))) });
    const outcome = await reconcile(ctx(), spec());
    expectLostRace(outcome);
    expect(log.infos).toContain(
      `No other run is installing ${OLD_ID} any more: installing it here.`,
    );
    expect(sentTo()).toEqual([[OLD_ID]]);
    expect(
      ec2Mock
        .commandCalls(CreateTagsCommand)
        .every((c) => c.args[0].input.Resources![0] === OLD_ID),
    ).toBe(true);
    expect(tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
    expect(outcome.done[2]).toBe('installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)');
  });

  test('our launch terminated meanwhile by a concurrent run: continue with the live instance', async () => {
    // Our launch is not listed yet after RunInstances; the other run (which saw it) terminated
    // it while this run waited for its agent.
    ec2Mock.on(RunInstancesCommand).callsFake(() => {
      world.byId[NEW_ID] = instance(NEW_ID, 'running', { PublicIpAddress: deadIp });
      return { Instances: [{ InstanceId: NEW_ID }] };
    });
    let agentPolls = 0;
    ssmMock.on(DescribeInstanceInformationCommand).callsFake(() => {
      if (++agentPolls === 2) {
        world.byId[NEW_ID] = instance(NEW_ID, 'terminated');
        world.byId[OLD_ID] = instance(OLD_ID, 'running', {
          PublicIpAddress: hub.publicIp,
          Tags: installedTag(),
        });
        world.found = [world.byId[OLD_ID]];
      }
      const online = Object.keys(world.byId).filter((id) => id !== NEW_ID);
      return {
        InstanceInformationList: online.map((InstanceId) => ({ InstanceId, PingStatus: 'Online' })),
      };
    });
    const outcome = await reconcile(ctx(), spec());
    expect(outcome).toMatchObject({ state: 'running', instanceId: OLD_ID, hubVersion: '5.3.0' });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(hub.hits).toEqual(['GET /hub/api']);
  });

  test('install lease of another run with a running command: wait for its tag, then only check', async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: hub.publicIp,
        Tags: [...installedTag('1.0.0'), leaseTag(otherLease('cmd-other'))],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    otherCommand('InProgress');
    otherRunFinishesAfter(OLD_ID, 6 * 60_000);
    const t0 = clock.now();
    const outcome = await reconcile(ctx(), spec());

    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(mutatingCalls()).toEqual([]);
    // It asked SSM whether the other run's command was still running, and waited in polls.
    expect(
      ssmMock.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input.CommandId),
    ).toEqual(expect.arrayContaining(['cmd-other']));
    expect(clock.now() - t0).toBeGreaterThanOrEqual(6 * 60_000);
    expect(clock.now() - t0).toBeLessThan(8 * 60_000);
    expect(log.infos).toContain(`Waiting for the run that is installing TLJH on ${OLD_ID}...`);
    expect(outcome).toMatchObject({ state: 'running', instanceId: OLD_ID, hubVersion: '5.3.0' });
    expect(hub.hits).toEqual(['GET /hub/api']);
  });

  // Defect 11: a command that has just ended is not a run that is over; one whose run neither
  // marks nor releases within COMMAND_END_GRACE_MS died (a cancelled job, expired credentials).
  test('the other run died after its command ended (no mark, no release): this run installs after the grace', async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: hub.publicIp,
        Tags: [...installedTag('1.0.0'), leaseTag(otherLease('cmd-other'))],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    otherCommand('Failed');
    const t0 = clock.now();
    const outcome = await reconcile(ctx(), spec());
    expect(sentTo()).toEqual([[OLD_ID]]);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(COMMAND_END_GRACE_MS);
    expect(log.infos).toContain(
      `The run installing ${OLD_ID} ended its command 5m00s ago without marking the hub: installing it here.`,
    );
    expect(tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });

  // Defect 11: the winner's command ended, but its run marks the hub only a poll later. Today's
  // code installed the winner a second time (and set a second generated password).
  test("a lost launch race: the winner's command has ended, its mark comes a poll later: no second install", async () => {
    loseLaunchRace({ Tags: hubTagsWith(leaseTag(otherLease('cmd-other'))) });
    otherRunMarksAfter(OLD_ID, 60_000);
    const outcome = await reconcile(ctx(), spec());
    expectLostRace(outcome);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    expect(outcome.generatedPassword).toBeUndefined();
    expect(reported).toEqual([]);
    expect(hub.hits).toEqual(['GET /hub/api']);
  });

  test('an upgrade by another run whose command has just ended: this run waits for its mark', async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: hub.publicIp,
        Tags: [...installedTag('1.0.0'), leaseTag(otherLease('cmd-other'))],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    otherRunMarksAfter(OLD_ID, 60_000);
    const t0 = clock.now();
    const outcome = await reconcile(ctx(), spec());
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(mutatingCalls()).toEqual([]);
    expect(clock.now() - t0).toBeLessThan(2 * 60_000);
    expect(outcome).toMatchObject({ instanceId: OLD_ID, hubVersion: '5.3.0', changed: false });
  });

  // Defect 11: right after SendCommand, SSM answers InvocationDoesNotExist for a while. Today's
  // code read that as "ended" and installed alongside the other run.
  test("SSM does not know the other run's fresh command yet: this run waits for it", async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: hub.publicIp,
        Tags: [...installedTag('1.0.0'), leaseTag(otherLease('cmd-other'))],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    otherCommand('InProgress');
    let unknown = 3;
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-other' }).callsFake(() => {
      if (unknown-- > 0) throw new InvocationDoesNotExist({ $metadata: {}, message: '' });
      return { Status: otherStatus };
    });
    otherRunFinishesAfter(OLD_ID, 4 * 60_000);
    const outcome = await reconcile(ctx(), spec());
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(mutatingCalls()).toEqual([]);
    expect(outcome).toMatchObject({ instanceId: OLD_ID, hubVersion: '5.3.0' });
  });

  // Defect 9: a run that died mid-install (expired credentials) leaves its settings SecureString
  // behind; the next install on the hub deletes it, but not one another run's install still needs.
  test('an install first deletes settings parameters that interrupted installs left', async () => {
    const LIVE_ID = 'i-0000000000000000e';
    const GONE_ID = 'i-0000000000000000d';
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag('1.0.0') }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    // Another instance of the hub (a launch-race loser) that another run is installing now.
    world.byId[LIVE_ID] = instance(LIVE_ID, 'running', {
      Tags: hubTagsWith(leaseTag(otherLease('cmd-other'))),
    });
    otherCommand('InProgress');
    const param = (id: string) => `/tljh-ec2-action/workshop/${id}/settings`;
    ssmMock.on(GetParametersByPathCommand).resolves({
      Parameters: [OLD_ID, GONE_ID, LIVE_ID].map((id) => ({ Name: param(id) })),
    });
    const outcome = await reconcile(ctx(), spec());
    expect(ssmMock.commandCalls(DeleteParametersCommand).map((c) => c.args[0].input.Names)).toEqual(
      [[param(OLD_ID), param(GONE_ID)]],
    );
    const order = callOrder();
    expect(order.indexOf('DeleteParametersCommand')).toBeLessThan(
      order.indexOf('SendCommandCommand'),
    );
    expect(outcome.done).toEqual([
      'deleted 2 leftover settings parameter(s) of an interrupted install',
      'installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)',
    ]);
  });

  test('the leftover sweep is best effort: a refusal is a warning, the install goes on', async () => {
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag('1.0.0') }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    ssmMock.on(GetParametersByPathCommand).rejects(awsError('AccessDeniedException'));
    const outcome = await reconcile(ctx(), spec());
    expect(log.warnings.join('\n')).toContain(
      'Could not look for settings parameters left by an interrupted install',
    );
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });

  test('a lease another run released (its install failed): this run installs at once', async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: hub.publicIp,
        Tags: [...installedTag('1.0.0'), leaseTag(otherLease(RELEASED))],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    const t0 = clock.now();
    const outcome = await reconcile(ctx(), spec());
    expect(sentTo()).toEqual([[OLD_ID]]);
    // SSM was not asked about a command named 'released'.
    expect(
      ssmMock.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input.CommandId),
    ).toEqual(['cmd-1']);
    expect(clock.now() - t0).toBeLessThan(5 * 60_000);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });

  test('a lease of another run without a command lapses after 15 minutes', async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: hub.publicIp,
        Tags: [...installedTag('1.0.0'), leaseTag(otherLease())],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    const t0 = clock.now();
    const outcome = await reconcile(ctx(), spec());
    expect(sentTo()).toEqual([[OLD_ID]]);
    expect(clock.now() - t0).toBeGreaterThan(15 * 60_000);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });

  test("this run's own lease (a re-run attempt) does not make it wait", async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: hub.publicIp,
        Tags: [
          ...installedTag('1.0.0'),
          leaseTag(formatLease({ owner: 'run-owner-1', at: clock.now(), commandId: 'cmd-0' })),
        ],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    await reconcile(ctx(), spec());
    expect(sentTo()).toEqual([[OLD_ID]]);
    expect(
      ssmMock.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input.CommandId),
    ).not.toContain('cmd-0');
  });

  test('two runs tag the lease at once: the one whose tag is read back waits', async () => {
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag('1.0.0') }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    // The other run's tag lands after ours (last writer wins), with its command soon after.
    ec2Mock.on(CreateTagsCommand).callsFake((input: CreateTagsCommandInput) => {
      const target = world.byId[OLD_ID]!;
      const others = (target.Tags ?? []).filter((t) => t.Key !== TAG_INSTALL_LEASE);
      target.Tags = [...others, ...(input.Tags ?? [])];
      if (input.Tags?.[0]?.Key === TAG_INSTALL_LEASE) {
        target.Tags = [...others, leaseTag(otherLease('cmd-other'))];
      }
      return {};
    });
    otherCommand('InProgress');
    otherRunFinishesAfter(OLD_ID, 3 * 60_000);
    const outcome = await reconcile(ctx(), spec());
    expect(tagWrites()).toEqual([expect.stringMatching(OWN_LEASE)]);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(outcome).toMatchObject({ instanceId: OLD_ID, hubVersion: '5.3.0' });
  });

  /**
   * A same-second rival (LaunchTime has one-second resolution) that becomes visible only at the
   * last look, after this run installed its own launch: it is older, so it wins.
   */
  function rivalSeenOnlyAtTheEnd() {
    ec2Mock.on(TerminateInstancesCommand).callsFake(() => {
      world.byId[NEW_ID]!.State = { Name: 'shutting-down' };
      return {};
    });
    world.meanwhile = () => {
      if (!installedTagWrites().length || world.found.length) return;
      world.byId[OLD_ID] = instance(OLD_ID, 'running', {
        LaunchTime: new Date('2025-12-31T23:59:59Z'),
        PublicIpAddress: hub.publicIp,
        Tags: installedTag(),
      });
      world.found = [world.byId[NEW_ID]!, world.byId[OLD_ID]];
    };
  }

  test('a rival seen only at the last look: ours is terminated and the winner reported', async () => {
    rivalSeenOnlyAtTheEnd();
    const outcome = await reconcile(ctx(), spec());
    expect(
      ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds),
    ).toEqual([[NEW_ID]]);
    expect(log.groups).toContain('Check no concurrent run launched this hub too');
    expect(outcome).toMatchObject({ state: 'running', instanceId: OLD_ID, hubVersion: '5.3.0' });
    expect(sentTo()).toEqual([[NEW_ID]]);
  });

  // The password generated for our own launch, terminated after a late-seen rival, is not reported.
  test('a rival seen only at the last look: no generated password of our launch is reported', async () => {
    rivalSeenOnlyAtTheEnd();
    const outcome = await reconcile(ctx(), spec());
    expect(outcome.instanceId).toBe(OLD_ID);
    expect(outcome.generatedPassword).toBeUndefined();
    // Reported when it was sent to our instance, withdrawn once that instance was terminated.
    expect(reported.map((r) => r.password)).toEqual([expect.stringMatching(/^.{24}$/), '']);
  });

  // While another run repairs a hub already tagged at this version, this run waits for its command.
  test('a hub repaired by another run (tag already at this version): wait for its command', async () => {
    world.found = [
      instance(OLD_ID, 'running', {
        PublicIpAddress: flaky.publicIp,
        Tags: [...installedTag(), leaseTag(otherLease('cmd-other'))],
      }),
    ];
    world.byId[OLD_ID] = world.found[0]!;
    world.invocation.StandardOutputContent = reportStdout({ services: ['failed', 'active'] });
    otherCommand('InProgress');
    const repairedAt = clock.now() + 10 * 60_000;
    world.meanwhile = () => {
      if (clock.now() < repairedAt) return;
      otherStatus = 'Success';
      flakyHealthy = true;
    };
    const outcome = await reconcile(ctx(), spec());
    expect(outcome.instanceId).toBe(OLD_ID);
    // One verify (this run's own health check), then a wait for the other run's command.
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  test('an instance terminated while waiting for its agent: InstanceGoneError, not a 10-minute wait', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).callsFake(() => {
      // Someone terminates the new instance before its agent registers.
      world.byId[NEW_ID] = instance(NEW_ID, 'terminated');
      return { InstanceInformationList: [] };
    });
    const t0 = clock.now();
    const err = await rejection(reconcile(ctx(), spec()));
    expect(err).toBeInstanceOf(InstanceGoneError);
    expect(err.message).toContain(`Instance ${NEW_ID} is terminated`);
    expect(err.hint).toContain('Run again');
    expect((err as InstanceGoneError).state).toBe('terminated');
    // Noticed at the first presence check (6 polls), far from the agent's 10-minute time-out.
    expect(clock.now() - t0).toBeLessThanOrEqual(2 * 60_000);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
  });
});

describe('time to live', () => {
  // FakeClock starts at 1,000,000 ms after the epoch: 1970-01-01T00:16:40Z.
  const expires = '1970-01-01T08:16:40Z';

  test('a new hub is launched with tljh:expires-at, and the run reports it', async () => {
    const outcome = await reconcile(ctx(), spec({ ttl: '8h' }));
    const tags = ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input.TagSpecifications!;
    for (const t of tags) expect(t.Tags).toContainEqual({ Key: 'tljh:expires-at', Value: expires });
    // Re-tagged at the end of the run, counted from then (the install took virtual time).
    const end = new Date(clock.now() + 8 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(outcome.expiresAt).toBe(end);
    expect(ec2Mock.commandCalls(CreateTagsCommand).at(-1)!.args[0].input).toEqual({
      Resources: [NEW_ID],
      Tags: [{ Key: 'tljh:expires-at', Value: end }],
    });
  });

  test('a re-run refreshes the expiry (its only change)', async () => {
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag() }),
    ];
    const outcome = await reconcile(ctx(), spec({ ttl: '3d' }));
    expect(mutatingCalls()).toEqual(['CreateTagsCommand']);
    expect(ec2Mock.commandCalls(CreateTagsCommand)[0]!.args[0].input).toEqual({
      Resources: [OLD_ID],
      Tags: [{ Key: 'tljh:expires-at', Value: '1970-01-04T00:16:40Z' }],
    });
    expect(outcome.expiresAt).toBe('1970-01-04T00:16:40Z');
  });

  test('a dry run does not tag', async () => {
    world.found = [
      instance(OLD_ID, 'running', { PublicIpAddress: hub.publicIp, Tags: installedTag() }),
    ];
    await reconcile(ctx(), spec({ ttl: '3d', 'dry-run': 'true' }));
    expect(mutatingCalls()).toEqual([]);
  });

  test('stopping does not tag', async () => {
    world.found = [instance(OLD_ID, 'stopped')];
    const outcome = await reconcile(ctx(), spec({ ttl: '3d', state: 'stopped' }));
    expect(mutatingCalls()).toEqual([]);
    expect(outcome.expiresAt).toBeUndefined();
  });
});

describe('stop and terminate', () => {
  test('stop: StopInstances, wait, no SSM, no instance-type check', async () => {
    world.found = [instance(OLD_ID, 'running', { PublicIpAddress: deadIp, Tags: installedTag() })];
    world.byId[OLD_ID] = instance(OLD_ID, 'stopped');
    const outcome = await reconcile(ctx(), spec({ state: 'stopped', 'admin-user': '' }));
    expect(callOrder()).toEqual([
      'DescribeInstancesCommand',
      'StopInstancesCommand',
      'DescribeInstancesCommand',
      'DescribeInstancesCommand',
    ]);
    expect(ec2Mock.commandCalls(StopInstancesCommand)[0]!.args[0].input).toEqual({
      InstanceIds: [OLD_ID],
    });
    expect(outcome).toMatchObject({
      state: 'stopped',
      changed: true,
      done: [`stopped ${OLD_ID}`],
      instanceId: OLD_ID,
      hubUrl: undefined,
    });
  });

  test('stop on a stopped hub changes nothing', async () => {
    world.found = [instance(OLD_ID, 'stopped')];
    const outcome = await reconcile(ctx(), spec({ state: 'stopped' }));
    expect(callOrder()).toEqual(['DescribeInstancesCommand']);
    expect(outcome).toMatchObject({ state: 'stopped', changed: false, instanceId: OLD_ID });
  });

  test('terminate sweeps settings parameters left by an interrupted install', async () => {
    world.found = [instance(OLD_ID, 'running', { PublicIpAddress: deadIp })];
    world.byId[OLD_ID] = instance(OLD_ID, 'terminated');
    const names = Array.from({ length: 12 }, (_, i) => `/tljh-ec2-action/workshop/i-${i}/settings`);
    ssmMock
      .on(GetParametersByPathCommand)
      .resolves({ Parameters: names.map((Name) => ({ Name })) });
    const outcome = await reconcile(ctx(), spec({ state: 'terminated' }));
    expect(ssmMock.commandCalls(GetParametersByPathCommand)[0]!.args[0].input).toMatchObject({
      Path: '/tljh-ec2-action/workshop/',
      Recursive: true,
    });
    const deleted = ssmMock.commandCalls(DeleteParametersCommand).map((c) => c.args[0].input.Names);
    expect(deleted).toEqual([names.slice(0, 10), names.slice(10)]);
    expect(outcome.done).toContain(
      'deleted 12 leftover settings parameter(s) of an interrupted install',
    );
  });

  test('terminate: an expired session while sweeping fails the run, saying so', async () => {
    world.found = [instance(OLD_ID, 'running', { PublicIpAddress: deadIp })];
    world.byId[OLD_ID] = instance(OLD_ID, 'terminated');
    ssmMock.on(GetParametersByPathCommand).rejects(awsError('ExpiredTokenException'));
    const err = await rejection(reconcile(ctx(), spec({ state: 'terminated' })));
    expect(err.message).toContain('the AWS session expired during the run');
    expect(err.hint).toContain("'role-duration-seconds'");
  });

  test('terminate: TerminateInstances, wait, then delete the owned security group', async () => {
    world.found = [instance(OLD_ID, 'running', { PublicIpAddress: deadIp })];
    world.byId[OLD_ID] = instance(OLD_ID, 'terminated');
    world.ownedGroup = 'sg-0000000000000000e';
    const outcome = await reconcile(ctx(), spec({ state: 'terminated' }));
    expect(callOrder()).toEqual([
      'DescribeInstancesCommand',
      'DescribeSecurityGroupsCommand',
      'TerminateInstancesCommand',
      'DescribeInstancesCommand',
      'DeleteSecurityGroupCommand',
      'GetParametersByPathCommand', // settings left by an interrupted install (none here)
    ]);
    expect(ec2Mock.commandCalls(DeleteSecurityGroupCommand)[0]!.args[0].input).toEqual({
      GroupId: 'sg-0000000000000000e',
    });
    expect(outcome).toMatchObject({
      state: 'terminated',
      changed: true,
      done: [`terminated ${OLD_ID}`, 'deleted security group sg-0000000000000000e'],
      instanceId: OLD_ID,
      publicIp: undefined,
      hubUrl: undefined,
    });
  });

  test('terminate with the group still in use: warning, the next run deletes it', async () => {
    world.ownedGroup = 'sg-0000000000000000e';
    ec2Mock.on(DeleteSecurityGroupCommand).rejects(awsError('DependencyViolation'));
    const outcome = await reconcile(ctx(), spec({ state: 'terminated' }));
    expect(outcome).toMatchObject({ state: 'terminated', changed: false, done: [] });
    expect(log.warnings[0]).toContain('sg-0000000000000000e is still in use');
  });

  test('terminate on nothing left changes nothing', async () => {
    const outcome = await reconcile(ctx(), spec({ state: 'terminated' }));
    expect(mutatingCalls()).toEqual([]);
    expect(outcome).toMatchObject({ state: 'terminated', changed: false, instanceId: undefined });
  });
});

describe('dry run', () => {
  test('create: read-only checks only, the plan is returned', async () => {
    const outcome = await reconcile(ctx(), spec({ 'dry-run': 'true' }));
    expect(mutatingCalls()).toEqual([]);
    expect(callOrder()).toEqual([
      'DescribeInstancesCommand',
      'DescribeInstanceTypesCommand',
      'DescribeVpcsCommand',
      'GetParameterCommand',
      'DescribeImagesCommand',
    ]);
    expect(outcome).toMatchObject({ state: 'absent', changed: false, done: [] });
    expect(outcome.plan.steps.map((s) => s.kind)).toEqual([
      'launch',
      'wait',
      'wait-agent',
      'install',
    ]);
    expect(log.infos).toContain('Plan (dry run, nothing will change):');
    expect(log.infos).toContain('  1. launch a new instance');
  });

  test.each(['stopped', 'terminated'])('%s: nothing is changed', async (state) => {
    world.found = [instance(OLD_ID, 'running', { PublicIpAddress: deadIp })];
    world.ownedGroup = 'sg-0000000000000000e';
    const outcome = await reconcile(ctx(), spec({ state, 'dry-run': 'true' }));
    expect(mutatingCalls()).toEqual([]);
    expect(outcome.state).toBe('running');
    expect(outcome.changed).toBe(false);
    expect(outcome.plan.steps.length).toBeGreaterThan(0);
  });
});
