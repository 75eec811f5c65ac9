// Reconcile with market-type: spot: a Spot hub created, interrupted (EC2 stops it) and brought
// back by a re-run once EC2 starts it again; no Spot capacity with and without spot-fallback;
// its terminate cancelling the Spot request; a hub of the other market left as it is.
import {
  CancelSpotInstanceRequestsCommand,
  RunInstancesCommand,
  StartInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ActionError } from '../../src/errors.ts';
import { reconcile } from '../../src/reconcile.ts';
import { rejection } from '../helpers/fakes.ts';
import { NEW_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();
const SPOT = { 'market-type': 'spot' };

describe('a Spot hub', () => {
  test('is launched as a persistent Spot request that stops on interruption, and verified', async () => {
    const outcome = await reconcile(w.ctx(), spec(SPOT));
    const [run] = w.aws.inputs(RunInstancesCommand);
    expect(run!.InstanceMarketOptions).toEqual({
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop' },
    });
    expect(outcome).toMatchObject({
      state: 'running',
      instanceId: NEW_ID,
      launchedType: 't3.small (Spot)',
    });
    expect(w.aws.ec2.instance(NEW_ID).Tags).toContainEqual({ Key: 'tljh:market', Value: 'spot' });
  });

  test('interrupted (stopped by EC2): a re-run waits for EC2 to start it, then checks it answers', async () => {
    await reconcile(w.ctx(), spec(SPOT));
    w.aws.ec2.spot.capacity = false;
    w.aws.ec2.spot.interrupt(NEW_ID);
    w.aws.calls.length = 0;
    w.hub.hits.length = 0;
    let looks = 0;
    w.aws.ec2.meanwhile = () => {
      if (++looks === 4) w.aws.ec2.spot.restoreCapacity();
    };

    const outcome = await reconcile(w.ctx(), spec(SPOT));
    expect(outcome).toMatchObject({ state: 'running', instanceId: NEW_ID, hubUrl: w.hub.url });
    // EC2 refused our start (only EC2 starts an interrupted Spot Instance): no second launch.
    expect(w.aws.inputs(StartInstancesCommand)).toHaveLength(1);
    expect(w.aws.inputs(RunInstancesCommand)).toEqual([]);
    expect(w.log.infos.join('\n')).toContain('is a Spot Instance EC2 does not let us start now');
    // Installed and verified before: once running, its public URL is probed.
    expect(w.hub.hits).toContain('GET /hub/api');
  });

  test('interrupted, and Spot capacity does not come back in time: a clear failure, the hub kept', async () => {
    await reconcile(w.ctx(), spec(SPOT));
    w.aws.ec2.spot.capacity = false;
    w.aws.ec2.spot.interrupt(NEW_ID);
    const err = await rejection(reconcile(w.ctx(), spec(SPOT)));
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toContain("Spot capacity is not available now for hub 'workshop'");
    expect(err.hint).toContain('Its disk is kept: run again later');
    expect(w.aws.ec2.state(NEW_ID)).toBe('stopped');
    expect(w.aws.ec2.instances.size).toBe(1);
  });

  test('no Spot capacity, spot-fallback: an On-Demand hub, said so', async () => {
    w.aws.ec2.spot.capacity = false;
    const outcome = await reconcile(w.ctx(), spec({ ...SPOT, 'spot-fallback': 'true' }));
    expect(outcome).toMatchObject({ state: 'running', launchedType: 't3.small' });
    expect(w.aws.ec2.instance(outcome.instanceId!).InstanceLifecycle).toBeUndefined();
    expect(w.log.warnings.join('\n')).toContain(
      'launching On-Demand instead (spot-fallback: true)',
    );
  });

  test('no Spot capacity, no fallback: a failure naming market-type; nothing left running', async () => {
    w.aws.ec2.spot.capacity = false;
    const err = await rejection(reconcile(w.ctx(), spec(SPOT)));
    expect(err.message).toContain('market-type: spot');
    expect(err.hint).toContain('spot-fallback');
    expect(w.aws.ec2.instances.size).toBe(0);
  });

  test('terminated: its Spot request cancelled first, and EC2 launches nothing again', async () => {
    await reconcile(w.ctx(), spec(SPOT));
    const requestId = w.aws.ec2.instance(NEW_ID).SpotInstanceRequestId!;
    w.aws.calls.length = 0;
    const outcome = await reconcile(w.ctx(), spec({ ...SPOT, state: 'terminated' }));
    expect(outcome.state).toBe('terminated');
    expect(w.aws.inputs(CancelSpotInstanceRequestsCommand)).toEqual([
      { SpotInstanceRequestIds: [requestId] },
    ]);
    const mutating = w.aws.mutating();
    expect(mutating.indexOf('CancelSpotInstanceRequestsCommand')).toBeLessThan(
      mutating.indexOf('TerminateInstancesCommand'),
    );
    expect(w.aws.ec2.spot.relaunched).toEqual([]);
    expect(w.aws.ec2.spot.requests.get(requestId)!.request.State).toBe('cancelled');
  });

  test('an On-Demand hub asked to be Spot stays On-Demand, with a warning; it is not relaunched', async () => {
    await reconcile(w.ctx(), spec());
    w.aws.calls.length = 0;
    const outcome = await reconcile(w.ctx(), spec(SPOT));
    expect(outcome).toMatchObject({ state: 'running', instanceId: NEW_ID });
    expect(w.aws.inputs(RunInstancesCommand)).toEqual([]);
    expect(w.log.warnings.join('\n')).toContain(
      "is On-Demand: 'market-type: spot' applies to a new launch only",
    );
  });
});
