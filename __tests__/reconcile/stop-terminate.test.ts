// Reconcile to state stopped or terminated: the calls, the waits, the security group and the
// settings parameters left behind.
import { DeleteSecurityGroupCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { DeleteParametersCommand, GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { reconcile } from '../../src/reconcile.ts';
import { awsError, rejection } from '../helpers/fakes.ts';
import { installedTag } from '../helpers/hub-tags.ts';
import { OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();

describe('stop and terminate', () => {
  test('stop: StopInstances, wait, no SSM, no instance-type check', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.deadIp, Tags: installedTag() });
    const outcome = await reconcile(w.ctx(), spec({ state: 'stopped', 'admin-user': '' }));
    expect(w.aws.names()).toEqual([
      'DescribeInstancesCommand',
      'StopInstancesCommand',
      // The wait; the old path re-read the instance after it, one call more.
      'DescribeInstancesCommand',
    ]);
    expect(w.aws.inputs(StopInstancesCommand)[0]!).toEqual({
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
    w.addHub(OLD_ID, 'stopped');
    const outcome = await reconcile(w.ctx(), spec({ state: 'stopped' }));
    expect(w.aws.names()).toEqual(['DescribeInstancesCommand']);
    expect(outcome).toMatchObject({ state: 'stopped', changed: false, instanceId: OLD_ID });
  });

  test('terminate sweeps settings parameters left by an interrupted install', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.deadIp });
    const names = Array.from({ length: 12 }, (_, i) => `/tljh-ec2-action/workshop/i-${i}/settings`);
    for (const Name of names) w.aws.ssm.putParameter({ Name, Value: '{}', Type: 'SecureString' });
    const outcome = await reconcile(w.ctx(), spec({ state: 'terminated' }));
    expect(w.aws.inputs(GetParametersByPathCommand)[0]!).toMatchObject({
      Path: '/tljh-ec2-action/workshop/',
      Recursive: true,
    });
    const deleted = w.aws.inputs(DeleteParametersCommand).map((c) => c.Names);
    expect(deleted).toEqual([names.slice(0, 10), names.slice(10)]);
    expect(outcome.done).toContain(
      'deleted 12 leftover settings parameter(s) of an interrupted install',
    );
  });

  test('terminate: an expired session while sweeping fails the run, saying so', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.deadIp });
    w.aws.fail(GetParametersByPathCommand, awsError('ExpiredTokenException'));
    const err = await rejection(reconcile(w.ctx(), spec({ state: 'terminated' })));
    expect(err.message).toContain('the AWS session expired during the run');
    expect(err.hint).toContain("'role-duration-seconds'");
  });

  test('terminate: TerminateInstances, wait, then delete the owned security group', async () => {
    const group = w.addOwnedGroup();
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.deadIp,
      SecurityGroups: [{ GroupId: group }],
    });
    const outcome = await reconcile(w.ctx(), spec({ state: 'terminated' }));
    expect(w.aws.names()).toEqual([
      'DescribeInstancesCommand',
      'DescribeSecurityGroupsCommand',
      'TerminateInstancesCommand',
      'DescribeInstancesCommand',
      'DeleteSecurityGroupCommand',
      'GetParametersByPathCommand', // settings left by an interrupted install (none here)
      'DescribeAddressesCommand', // Elastic IPs of the hub, an interrupted run's too (none here)
    ]);
    expect(w.aws.inputs(DeleteSecurityGroupCommand)[0]!).toEqual({
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
    // No hub instance is left, but an instance of someone else's still uses the hub's group.
    const group = w.addOwnedGroup();
    w.aws.ec2.addInstance('i-0000000000000000f', 'running', {
      SecurityGroups: [{ GroupId: group }],
    });
    const outcome = await reconcile(w.ctx(), spec({ state: 'terminated' }));
    expect(outcome).toMatchObject({ state: 'terminated', changed: false, done: [] });
    expect(w.log.warnings[0]).toContain('sg-0000000000000000e is still in use');
  });

  test('terminate on nothing left changes nothing', async () => {
    const outcome = await reconcile(w.ctx(), spec({ state: 'terminated' }));
    expect(w.aws.mutating()).toEqual([]);
    expect(outcome).toMatchObject({ state: 'terminated', changed: false, instanceId: undefined });
  });
});
