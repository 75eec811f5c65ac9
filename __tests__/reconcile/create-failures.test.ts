// Reconcile, creating a hub, when something fails: the install, the public probe, AWS, the
// session; and which password is reported then.
import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteParameterCommand,
  GetCommandInvocationCommand,
  GetParameterCommand,
  PutParameterCommand,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { ActionError } from '../../src/errors.ts';
import { RELEASED } from '../../src/lease.ts';
import { reconcile } from '../../src/reconcile.ts';
import { TAG_HUB } from '../../src/tags.ts';
import { awsError, FAILED_INSTALL, rejection, reportStdout } from '../helpers/fakes.ts';
import { OWN_LEASE, OWN_LEASE_RELEASED, OWN_LEASE_WITH_COMMAND } from '../helpers/own-lease.ts';
import { AMI, NEW_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();

describe('create', () => {
  test('public URL unreachable from the runner -> ActionError about allowed-cidrs', async () => {
    w.aws.ec2.publicIpFor = () => w.deadIp;
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain(`http://${w.deadIp}/hub/api does not answer from this runner`);
    expect(err.message).toContain('no answer (ECONNREFUSED)');
    expect(err.hint).toContain("'allowed-cidrs'");
    // The instance itself was verified, so it is tagged as installed.
    expect(w.installedTagWrites()).toHaveLength(1);
    // It kept trying for the 3 minutes after an install.
    expect(w.clock.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(180_000);
  });

  // Defect 4: the hub is marked installed before the public probe; a probe that fails after it
  // must not lose the generated password (later runs never generate another).
  test('the public probe fails after the install: the password set on the hub is still reported, masked', async () => {
    w.aws.ec2.publicIpFor = () => w.deadIp;
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.message).toContain('does not answer from this runner');
    expect(w.installedTagWrites()).toHaveLength(1);
    expect(w.reported).toEqual([{ password: w.sentPassword(), masked: true }]);
    expect(w.sentPassword()).toMatch(/^[A-Za-z0-9_-]{24}$/);
  });

  test('a step after the install fails (the last race check): the password is still reported', async () => {
    let byTags = 0;
    w.aws.on(DescribeInstancesCommand, (input, next) => {
      const findsHub = input.Filters?.some((f) => f.Name === `tag:${TAG_HUB}`);
      if (findsHub && ++byTags === 4) throw awsError('UnauthorizedOperation');
      return next();
    });
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.message).toMatch(/^Checking for a concurrent launch failed/);
    expect(w.installedTagWrites()).toHaveLength(1);
    expect(w.reported).toEqual([{ password: w.sentPassword(), masked: true }]);
  });

  // TLJH's installer sets the admin password early (ensure_admins, before the user environment):
  // a failed install has usually set it already.
  test('a failed install still reports the password it sent', async () => {
    w.invocation = {
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: reportStdout({ installerExit: 1, installerLog: 'incomplete' }),
    };
    await rejection(reconcile(w.ctx(), spec()));
    expect(w.reported).toEqual([{ password: w.sentPassword(), masked: true }]);
  });

  test('no password is reported when the install command was never sent', async () => {
    w.aws.fail(SendCommandCommand, awsError('AccessDeniedException'));
    await rejection(reconcile(w.ctx(), spec()));
    expect(w.aws.inputs(PutParameterCommand)).toHaveLength(1);
    expect(w.reported).toEqual([]);
  });

  // Defect 9: configure-aws-credentials' default one-hour session ends mid-install.
  test('credentials expire during the install: a clear error, and the password still reported', async () => {
    w.aws.fail(
      GetCommandInvocationCommand,
      awsError('ExpiredTokenException', 'The security token included in the request is expired'),
    );
    w.aws.fail(DeleteParameterCommand, awsError('ExpiredTokenException'));
    w.aws.on(CreateTagsCommand, (input, next) => {
      if (input.Tags?.some((t) => t.Value?.endsWith(`|${RELEASED}`))) {
        throw awsError('RequestExpired', 'Request has expired.');
      }
      return next();
    });
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain('the AWS session expired during the run');
    expect(err.message).toContain('ExpiredTokenException');
    expect(err.hint).toContain("'role-duration-seconds'");
    expect(err.hint).toContain('7200 for the default install-timeout of 30');
    // The settings parameter could not be deleted: the warning says who deletes it.
    const param = w.aws.inputs(PutParameterCommand)[0]!.Name!;
    expect(w.log.warnings.join('\n')).toContain(
      `Could not delete ${param} (ExpiredTokenException (test)): the next install on hub 'workshop' (or terminating it) deletes it.`,
    );
    expect(w.reported).toEqual([{ password: w.sentPassword(), masked: true }]);
  });

  test('a failed install: ActionError with the installer lines and log tail, no installed tag', async () => {
    w.invocation = {
      Status: 'Failed',
      ResponseCode: 1,
      StandardOutputContent: reportStdout(FAILED_INSTALL.report),
      StandardErrorContent: 'failed to run commands: exit status 1',
    };
    const err = await rejection(reconcile(w.ctx(), spec()));
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
    expect(w.installedTagWrites()).toHaveLength(0);
    // Only the install lease was written: before and after SendCommand, then released.
    expect(w.tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      expect.stringMatching(OWN_LEASE_RELEASED),
    ]);
    expect(w.hub.hits).toEqual([]);
  });

  test('an install reported Success but unhealthy (403 progress page) is a failure', async () => {
    w.invocation = {
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: reportStdout({ installerExit: 0, apiStatus: '403', apiBody: '' }),
    };
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.message).toContain('403 on the instance (the install progress page');
    expect(w.installedTagWrites()).toHaveLength(0);
    expect(w.tagWrites().at(-1)).toMatch(OWN_LEASE_RELEASED);
  });

  test('a failure without a report shows stderr', async () => {
    w.invocation = {
      Status: 'Failed',
      ResponseCode: 127,
      StandardOutputContent: '',
      StandardErrorContent: 'sh: 1: curl: not found\n',
    };
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.message).toContain('exit code 127');
    expect(err.message).toContain('stderr:\nsh: 1: curl: not found');
  });

  test('a bad instance type fails before any mutating call', async () => {
    // t9.huge is not offered: EC2 answers InvalidInstanceType.
    const err = await rejection(reconcile(w.ctx(), spec({ 'instance-type': 't9.huge' })));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain("Input 'instance-type': 't9.huge'");
    expect(w.aws.names()).toEqual(['DescribeInstancesCommand', 'DescribeInstanceTypesCommand']);
  });

  test('an image of the wrong architecture fails before any mutating call', async () => {
    // t4g.small is arm64; the image is Canonical's amd64 one.
    const err = await rejection(
      reconcile(w.ctx(), spec({ 'instance-type': 't4g.small', 'image-id': AMI })),
    );
    expect(err.message).toContain(`Image ${AMI} is amd64 but instance type t4g.small is arm64`);
    expect(w.aws.mutating()).toEqual([]);
    expect(w.aws.inputs(GetParameterCommand)).toHaveLength(0);
  });

  test('AWS errors during apply carry the step and a hint', async () => {
    w.aws.fail(RunInstancesCommand, awsError('InstanceLimitExceeded'));
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.message).toMatch(/^Launch a new instance failed: InstanceLimitExceeded/);
    expect(err.hint).toContain('quota');
  });

  test('without capacity for any choice, the error lists each and says what to add', async () => {
    w.aws.fail(RunInstancesCommand, awsError('InsufficientInstanceCapacity'));
    const err = await rejection(
      reconcile(w.ctx(), spec({ 'instance-type': 't3.small, t3a.small' })),
    );
    expect(err.message).toMatch(/^No instance type and subnet had capacity/);
    expect(err.message).toContain('t3.small: InsufficientInstanceCapacity');
    expect(err.message).toContain('t3a.small: InsufficientInstanceCapacity');
    expect(err.hint).toContain("fallbacks to 'instance-type'");
  });

  test('AWS errors while observing say what was being done', async () => {
    w.aws.fail(DescribeInstancesCommand, awsError('UnauthorizedOperation'));
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.message).toMatch(/^Looking up the hub \(DescribeInstances\) failed/);
    expect(err.hint).toContain('lacks a permission');
  });
});
