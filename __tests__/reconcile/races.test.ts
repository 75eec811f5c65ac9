// Reconcile while another run launches the same hub: lost launch races, a rival seen late,
// an own launch terminated meanwhile (install leases are in leases.test.ts).
import {
  CreateTagsCommand,
  TerminateInstancesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { InstanceGoneError } from '../../src/errors.ts';
import { RELEASED } from '../../src/lease.ts';
import { reconcile } from '../../src/reconcile.ts';
import { hubTagsWith, installedTag, leaseTag } from '../helpers/hub-tags.ts';
import { OtherRun, expectLostRace, expectNoOwnInstall } from '../helpers/other-run.ts';
import { rejection } from '../helpers/fakes.ts';
import { MARKED_INSTALLED, OWN_LEASE, OWN_LEASE_WITH_COMMAND } from '../helpers/own-lease.ts';
import { NEW_ID, OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();
const other = new OtherRun(w);

describe('concurrent runs for the same hub', () => {
  test('a lost launch race: ours is terminated, and the winning run install is awaited', async () => {
    other.winsLaunchRace({ Tags: hubTagsWith(leaseTag(other.lease('cmd-other'))) });
    other.command('InProgress');
    other.finishesAfter(OLD_ID, 4 * 60_000);
    const outcome = await reconcile(w.ctx(), spec());
    expectLostRace(w, outcome);
    // Nothing of its own was installed: no command, no password, no tag of this run.
    expectNoOwnInstall(w, outcome);
    expect(outcome.done).toHaveLength(2);
    expect(w.log.infos).toContain(`Waiting for the run that is installing TLJH on ${OLD_ID}...`);
    expect(w.clock.now()).toBeGreaterThanOrEqual(1_000_000 + 4 * 60_000);
    expect(w.hub.hits).toEqual(['GET /hub/api']);
  });
  test("a lost launch race whose winner's install failed (lease released): this run installs the winner", async () => {
    other.winsLaunchRace({ Tags: hubTagsWith(leaseTag(other.lease(RELEASED))) });
    const outcome = await reconcile(w.ctx(), spec());
    expectLostRace(w, outcome);
    expect(w.log.infos).toContain(
      `No other run is installing ${OLD_ID} any more: installing it here.`,
    );
    expect(w.sentTo()).toEqual([[OLD_ID]]);
    expect(w.aws.inputs(CreateTagsCommand).every((c) => c.Resources![0] === OLD_ID)).toBe(true);
    expect(w.tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
    expect(outcome.done[2]).toBe('installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)');
  });
  test('our launch terminated meanwhile by a concurrent run: continue with the live instance', async () => {
    // Our launch is not listed yet after RunInstances; the other run (which saw it) terminated
    // it while this run waited for its agent.
    w.aws.ec2.publicIpFor = () => w.deadIp;
    w.aws.on(RunInstancesCommand, async (_input, next) => {
      const out = await next();
      w.aws.ec2.setListed(NEW_ID, false);
      return out;
    });
    // Our launch's agent never comes Online here.
    w.aws.ssm.agentOnline = (id) => id !== NEW_ID && w.aws.ec2.state(id) === 'running';
    let agentPolls = 0;
    w.aws.on(DescribeInstanceInformationCommand, (_input, next) => {
      if (++agentPolls === 2) {
        w.aws.ec2.setState(NEW_ID, 'terminated');
        w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
      }
      return next();
    });
    const outcome = await reconcile(w.ctx(), spec());
    expect(outcome).toMatchObject({ state: 'running', instanceId: OLD_ID, hubVersion: '5.3.0' });
    expect(w.aws.inputs(SendCommandCommand)).toHaveLength(0);
    expect(w.hub.hits).toEqual(['GET /hub/api']);
  });
  // Defect 11: the winner's command ended, but its run marks the hub only a poll later. Today's
  // code installed the winner a second time (and set a second generated password).
  test("a lost launch race: the winner's command has ended, its mark comes a poll later: no second install", async () => {
    other.winsLaunchRace({ Tags: hubTagsWith(leaseTag(other.lease('cmd-other'))) });
    other.marksAfter(OLD_ID, 60_000);
    const outcome = await reconcile(w.ctx(), spec());
    expectLostRace(w, outcome);
    expectNoOwnInstall(w, outcome);
    expect(w.reported).toEqual([]);
    expect(w.hub.hits).toEqual(['GET /hub/api']);
  });
  test('a rival seen only at the last look: ours is terminated and the winner reported', async () => {
    other.appearsAtTheLastLook();
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.aws.inputs(TerminateInstancesCommand).map((c) => c.InstanceIds)).toEqual([[NEW_ID]]);
    expect(w.log.groups).toContain('Check no concurrent run launched this hub too');
    expect(outcome).toMatchObject({ state: 'running', instanceId: OLD_ID, hubVersion: '5.3.0' });
    expect(w.sentTo()).toEqual([[NEW_ID]]);
  });
  // The password generated for our own launch, terminated after a late-seen rival, is not reported.
  test('a rival seen only at the last look: no generated password of our launch is reported', async () => {
    other.appearsAtTheLastLook();
    const outcome = await reconcile(w.ctx(), spec());
    expect(outcome.instanceId).toBe(OLD_ID);
    expect(outcome.generatedPassword).toBeUndefined();
    // Reported when it was sent to our instance, withdrawn once that instance was terminated.
    expect(w.reported.map((r) => r.password)).toEqual([expect.stringMatching(/^.{24}$/), '']);
  });
  test('an instance terminated while waiting for its agent: InstanceGoneError, not a 10-minute wait', async () => {
    w.aws.on(DescribeInstanceInformationCommand, (_input, next) => {
      // Someone terminates the new instance before its agent registers.
      w.aws.ec2.setState(NEW_ID, 'terminated');
      return next();
    });
    const t0 = w.clock.now();
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err).toBeInstanceOf(InstanceGoneError);
    expect(err.message).toContain(`Instance ${NEW_ID} is terminated`);
    expect(err.hint).toContain('Run again');
    expect((err as InstanceGoneError).state).toBe('terminated');
    // Noticed at the first presence check (6 polls), far from the agent's 10-minute time-out.
    expect(w.clock.now() - t0).toBeLessThanOrEqual(2 * 60_000);
    expect(w.aws.inputs(SendCommandCommand)).toHaveLength(0);
    expect(w.aws.inputs(TerminateInstancesCommand)).toHaveLength(0);
  });
});
