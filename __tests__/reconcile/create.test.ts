// Reconcile, creating a hub: what a launch sends and in which order, and how the password
// travels (the failures of a create are in create-failures.test.ts).
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DescribeSecurityGroupsCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { shQuote } from '../../src/bootstrap.ts';
import { PhaseLog } from '../../src/phases.ts';
import { reconcile } from '../../src/reconcile.ts';
import { launchClientToken } from '../../src/run-identity.ts';
import {
  TAG_HUB,
  TAG_INSTALL_LEASE,
  TAG_INSTALLED_VERSION,
  TAG_MANAGED_BY,
} from '../../src/tags.ts';
import { TAG_APPLIED, TAG_TAG_KEYS } from '../../src/spec-record.ts';
import { reportStdout } from '../helpers/fakes.ts';
import { MARKED_INSTALLED, OWN_LEASE, OWN_LEASE_WITH_COMMAND } from '../helpers/own-lease.ts';
import { AMI, NEW_ID, RUN_KEY, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();

describe('create', () => {
  test('launches, installs, verifies, tags, in this order of calls', async () => {
    const outcome = await reconcile(w.ctx(), spec());

    expect(w.aws.names()).toEqual([
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
    expect(w.describeKinds()).toEqual(['tags', 'tags', 'id', 'id', 'tags', 'id', 'id', 'tags']);
    expect(w.tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
    // Between writing the lease and reading it back: two polls (at least LEASE_SETTLE_MS).
    expect(w.clock.sleeps).toContain(20_000);
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
      publicIp: w.hub.publicIp,
      hubUrl: `http://${w.hub.publicIp}/`,
      hubVersion: '5.3.0',
    });
    // The runner probed the public URL itself.
    expect(w.hub.hits).toEqual(['GET /hub/api']);
    // While the install runs, the job log says where TLJH's progress page shows it.
    expect(w.log.infos).toContain(
      `Watch the install's progress at http://${w.hub.publicIp}/ (TLJH's progress page, showing the installer's log on a new hub until the hub starts).`,
    );
  });

  test("the PR comment is told the progress page's URL as the cold install starts", async () => {
    const told: string[] = [];
    const ctx = {
      ...w.ctx(),
      onInstallStarting: (url: string) => Promise.resolve(void told.push(url)),
    };
    await reconcile(ctx, spec());
    expect(told).toEqual([`http://${w.hub.publicIp}/`]);
  });

  test('what is sent: the launch request, the script, the tag', async () => {
    await reconcile(w.ctx(), spec({ tags: 'project=cs101', 'install-timeout': '20' }));
    const run = w.aws.inputs(RunInstancesCommand)[0]!;
    expect(run).toMatchObject({
      ImageId: AMI,
      InstanceType: 't3.small',
      ClientToken: launchClientToken('workshop', 'eu-west-1', RUN_KEY),
      SecurityGroupIds: ['sg-0000000000000000e'],
      IamInstanceProfile: { Name: 'tljh-ssm' },
      MetadataOptions: { HttpTokens: 'required' },
    });
    expect(run.TagSpecifications![0]!.Tags).toContainEqual({ Key: 'project', Value: 'cs101' });

    const send = w.aws.inputs(SendCommandCommand)[0]!;
    expect(send.InstanceIds).toEqual([NEW_ID]);
    expect(send.Parameters!.executionTimeout).toEqual(['1200']);
    const script = send.Parameters!.commands![0]!;
    expect(script).toContain("admin_user='naomi'");
    expect(script).toContain("tljh_version='2.0.0'");

    const tags = w.aws.inputs(CreateTagsCommand).map((c) => c);
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
        // What the hub now has of its spec, recorded with the mark (digests, no value).
        { Key: TAG_APPLIED, Value: expect.stringMatching(/^s=[\w-]+;cfg=[\w-]*;adm=/) as string },
        // The keys of the user's tags, so a later run removes only those.
        { Key: TAG_TAG_KEYS, Value: 'project' },
      ],
    });
    expect(w.aws.inputs(CreateSecurityGroupCommand)[0]!.VpcId).toBe('vpc-default');
  });

  test('launching without an instance profile warns about SSM registration', async () => {
    await reconcile(w.ctx(), spec({ 'iam-instance-profile': '' }));
    expect(w.aws.inputs(RunInstancesCommand)[0]!.IamInstanceProfile).toBe(undefined);
    expect(w.log.warnings.join('\n')).toContain("No 'iam-instance-profile'");
  });

  test('the admin password travels only in a SecureString parameter, deleted after use', async () => {
    const outcome = await reconcile(w.ctx(), spec());
    const put = w.aws.inputs(PutParameterCommand);
    expect(put).toHaveLength(1);
    const param = put[0]!;
    expect(param.Type).toBe('SecureString');
    const password = (JSON.parse(param.Value!) as { adminPassword?: string }).adminPassword!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // Masked in the log, and nowhere in what SendCommand carries (readable with ListCommands).
    expect(w.log.masked).toContain(password);
    const send = w.aws.inputs(SendCommandCommand)[0]!;
    expect(JSON.stringify(send)).not.toContain(password);
    expect(send.Parameters!.commands![0]).toContain(shQuote(param.Name!));
    expect(w.aws.inputs(DeleteParameterCommand)[0]!).toEqual({
      Name: param.Name,
    });
    // Tagged with the one instance whose role may read it (docs/iam/instance-role-policy.json),
    // before the command that makes the instance read it.
    expect(w.aws.inputs(AddTagsToResourceCommand).map((c) => c)).toEqual([
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
    const order = w.aws.names();
    expect(order.indexOf('AddTagsToResourceCommand')).toBeLessThan(
      order.indexOf('SendCommandCommand'),
    );
    expect(outcome.generatedPassword).toBe(password);
  });

  test('user-given security groups are checked, and no group is created', async () => {
    w.aws.ec2.addSecurityGroup({ GroupId: 'sg-0123456789abcdef0' });
    await reconcile(w.ctx(), spec({ 'security-group-ids': 'sg-0123456789abcdef0' }));
    expect(w.aws.inputs(DescribeSecurityGroupsCommand)[0]!).toEqual({
      GroupIds: ['sg-0123456789abcdef0'],
    });
    expect(w.aws.inputs(CreateSecurityGroupCommand)).toHaveLength(0);
    expect(w.aws.inputs(AuthorizeSecurityGroupIngressCommand)).toHaveLength(0);
    expect(w.aws.inputs(RunInstancesCommand)[0]!.SecurityGroupIds).toEqual([
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
});

describe('where the time goes', () => {
  test('a create: each phase the run waited on, the checks timed by the instance clock', async () => {
    w.invocation = {
      ...w.invocation,
      StandardOutputContent: reportStdout({
        installerExit: 0,
        installerOutput: ['Done!'],
        verifyMs: 5_000,
      }),
    };
    const phases = new PhaseLog(w.clock);
    const started = w.clock.now();
    const outcome = await reconcile({ ...w.ctx(), phases }, spec());
    const table = Object.fromEntries(outcome.phases ?? []);
    expect(Object.keys(table)).toEqual(
      expect.arrayContaining(['launch', 'running', 'agent online', 'install', 'verification']),
    );
    // The instance's own stamps: 5 s of checks, taken out of the install command's time.
    expect(table.verification).toBe(5_000);
    expect(table.install).toBeGreaterThan(0);
    // Phases never overlap: together they are at most the run's wall time.
    const sum = (outcome.phases ?? []).reduce((s, [, ms]) => s + ms, 0);
    expect(sum).toBeLessThanOrEqual(w.clock.now() - started);
    expect(sum).toBeGreaterThan(0);
  });

  test('a run without a phase log reports none', async () => {
    const outcome = await reconcile(w.ctx(), spec());
    expect(outcome.phases).toBeUndefined();
  });
});
