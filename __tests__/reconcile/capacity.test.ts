// Reconcile with fallback instance types: no capacity for one, the next is launched.
import { DescribeInstanceTypesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { reconcile } from '../../src/reconcile.ts';
import { launchClientToken } from '../../src/run-identity.ts';
import { writeSummary } from '../../src/summary.ts';
import { awsError, rejection } from '../helpers/fakes.ts';
import { AMI, NEW_ID, RUN_KEY, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';
import { recordSummary } from '../helpers/summary-recorder.ts';

const w = useReconcileWorld();

describe('capacity fallbacks', () => {
  test('no capacity for the first instance type: the next one is launched, and reported', async () => {
    w.aws.on(RunInstancesCommand, (input, next) => {
      if (input.InstanceType === 't3.small') {
        throw awsError('InsufficientInstanceCapacity', 'We currently do not have capacity');
      }
      return next();
    });
    const s = spec({ 'instance-type': 't3.small, t3a.small' });
    const outcome = await reconcile(w.ctx(), s);

    const runs = w.aws.inputs(RunInstancesCommand);
    expect(runs.map((r) => r.InstanceType)).toEqual(['t3.small', 't3a.small']);
    expect(runs[0]!.ClientToken).toBe(launchClientToken('workshop', 'eu-west-1', RUN_KEY));
    expect(runs[1]!.ClientToken).not.toBe(runs[0]!.ClientToken);
    // Both types were checked (one architecture) before anything was changed.
    expect(w.aws.inputs(DescribeInstanceTypesCommand).map((c) => c.InstanceTypes)).toEqual([
      ['t3.small'],
      ['t3a.small'],
    ]);
    expect(w.log.warnings.join('\n')).toMatch(
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
    const summary = recordSummary();
    writeSummary(summary.summary, s, outcome);
    expect(summary.rows).toContainEqual(['Instance type', 't3a.small']);
  });

  test('fallback instance types of another architecture are refused before any change', async () => {
    // t4g.small is arm64 (the fake's instance types, as in EC2).
    const err = await rejection(
      reconcile(w.ctx(), spec({ 'instance-type': 't3.small, t4g.small' })),
    );
    expect(err.message).toContain("Input 'instance-type': t4g.small is not amd64 like t3.small");
    expect(w.aws.mutating()).toEqual([]);
  });
});
