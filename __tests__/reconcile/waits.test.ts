// The waits of one hub's run, through reconcile(): a start that EC2 drops back to stopped, a
// stop that never ends, and another run starting a hub this run found stopping.
import { StartInstancesCommand } from '@aws-sdk/client-ec2';
import { InstanceGoneError } from '../../src/errors.ts';
import { reconcile } from '../../src/reconcile.ts';
import { installedTag } from '../helpers/hub-tags.ts';
import { OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();

test('a start that EC2 drops back to stopped ends the run at once, not after the 10-minute wait', async () => {
  w.addHub(OLD_ID, 'stopped', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
  w.aws.ec2.settle = 'manual';
  let looks = 0;
  w.aws.ec2.meanwhile = () => {
    // Seen pending once after the start, then stopped again (e.g. no capacity to boot it).
    if (w.aws.ec2.state(OLD_ID) === 'pending' && ++looks === 2)
      w.aws.ec2.setState(OLD_ID, 'stopped');
  };
  const start = w.clock.now();
  const err = await reconcile(w.ctx(), spec()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InstanceGoneError);
  expect((err as Error).message).toContain(`Instance ${OLD_ID} is stopped`);
  expect(w.clock.now() - start).toBeLessThan(60_000);
});

test('a stop that never ends: the error names the state last seen, not "no answer"', async () => {
  w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
  w.aws.ec2.settle = 'manual';
  const err = await reconcile(w.ctx(), spec({ state: 'stopped' })).catch((e: unknown) => e);
  expect((err as Error).message).toContain(`${OLD_ID} timed out (last seen: stopping)`);
  expect((err as Error).message).not.toContain('no answer');
});

test('a hub found stopping and started by another run meanwhile: no failed wait for stopped', async () => {
  w.addHub(OLD_ID, 'stopping', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
  w.aws.ec2.settle = 'manual';
  // After this run found it stopping, the other run saw it stopped first and started it: this
  // run's next look sees it running.
  let looks = 0;
  w.aws.ec2.meanwhile = () => {
    if (++looks === 2) w.aws.ec2.setState(OLD_ID, 'running');
  };
  const outcome = await reconcile(w.ctx(), spec());
  expect(outcome).toMatchObject({ state: 'running', instanceId: OLD_ID });
  // The start this run sends then changes nothing (EC2 accepts it for a running instance).
  expect(w.aws.inputs(StartInstancesCommand)).toHaveLength(1);
});
