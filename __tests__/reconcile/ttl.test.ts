// Reconcile with a time to live: the tljh:expires-at tag, set at launch and refreshed by re-runs.
import { CreateTagsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { reconcile } from '../../src/reconcile.ts';
import { installedTag } from '../helpers/hub-tags.ts';
import { NEW_ID, OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();

describe('time to live', () => {
  // FakeClock starts at 1,000,000 ms after the epoch: 1970-01-01T00:16:40Z.
  const expires = '1970-01-01T08:16:40Z';

  test('a new hub is launched with tljh:expires-at, and the run reports it', async () => {
    const outcome = await reconcile(w.ctx(), spec({ ttl: '8h' }));
    const tags = w.aws.inputs(RunInstancesCommand)[0]!.TagSpecifications!;
    for (const t of tags) expect(t.Tags).toContainEqual({ Key: 'tljh:expires-at', Value: expires });
    // Re-tagged at the end of the run, counted from then (the install took virtual time).
    const end = new Date(w.clock.now() + 8 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(outcome.expiresAt).toBe(end);
    expect(w.aws.inputs(CreateTagsCommand).at(-1)!).toEqual({
      Resources: [NEW_ID],
      Tags: [{ Key: 'tljh:expires-at', Value: end }],
    });
  });

  test('a re-run refreshes the expiry (its only change)', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
    const outcome = await reconcile(w.ctx(), spec({ ttl: '3d' }));
    expect(w.aws.mutating()).toEqual(['CreateTagsCommand']);
    expect(w.aws.inputs(CreateTagsCommand)[0]!).toEqual({
      Resources: [OLD_ID],
      Tags: [{ Key: 'tljh:expires-at', Value: '1970-01-04T00:16:40Z' }],
    });
    expect(outcome.expiresAt).toBe('1970-01-04T00:16:40Z');
  });

  test('a dry run does not tag', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
    await reconcile(w.ctx(), spec({ ttl: '3d', 'dry-run': 'true' }));
    expect(w.aws.mutating()).toEqual([]);
  });

  test('stopping does not tag', async () => {
    w.addHub(OLD_ID, 'stopped');
    const outcome = await reconcile(w.ctx(), spec({ ttl: '3d', state: 'stopped' }));
    expect(w.aws.mutating()).toEqual([]);
    expect(outcome.expiresAt).toBeUndefined();
  });
});
