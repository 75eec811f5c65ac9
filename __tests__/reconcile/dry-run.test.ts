// Reconcile with dry-run: only read-only calls, and the plan is returned.
import { reconcile } from '../../src/reconcile.ts';
import { OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();

describe('dry run', () => {
  test('create: read-only checks only, the plan is returned', async () => {
    const outcome = await reconcile(w.ctx(), spec({ 'dry-run': 'true' }));
    expect(w.aws.mutating()).toEqual([]);
    expect(w.aws.names()).toEqual([
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
    expect(w.log.infos).toContain('Plan (dry run, nothing will change):');
    expect(w.log.infos).toContain('  1. launch a new instance');
  });

  test.each(['stopped', 'terminated'])('%s: nothing is changed', async (state) => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.deadIp });
    w.addOwnedGroup();
    const outcome = await reconcile(w.ctx(), spec({ state, 'dry-run': 'true' }));
    expect(w.aws.mutating()).toEqual([]);
    expect(outcome.state).toBe('running');
    expect(outcome.changed).toBe(false);
    expect(outcome.plan.steps.length).toBeGreaterThan(0);
  });
});
