// Reconcile while another run installs the same hub: its install lease (running, ended, died,
// released, lapsed), two leases at once, and the settings parameters interrupted installs left.
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import {
  DeleteParametersCommand,
  GetCommandInvocationCommand,
  GetParametersByPathCommand,
  InvocationDoesNotExist,
  SendCommandCommand,
} from '@aws-sdk/client-ssm';
import { COMMAND_END_GRACE_MS, RELEASED, formatLease } from '../../src/lease.ts';
import { reconcile } from '../../src/reconcile.ts';
import { TAG_INSTALL_LEASE } from '../../src/tags.ts';
import { awsError, reportStdout } from '../helpers/fakes.ts';
import { hubTagsWith, installedTag, leaseTag } from '../helpers/hub-tags.ts';
import { OtherRun } from '../helpers/other-run.ts';
import { MARKED_INSTALLED, OWN_LEASE, OWN_LEASE_WITH_COMMAND } from '../helpers/own-lease.ts';
import { LAUNCHED, OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();
const other = new OtherRun(w);

describe('concurrent runs for the same hub', () => {
  test('install lease of another run with a running command: wait for its tag, then only check', async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.hub.publicIp,
      Tags: [...installedTag('1.0.0'), leaseTag(other.lease('cmd-other'))],
    });
    other.command('InProgress');
    other.finishesAfter(OLD_ID, 6 * 60_000);
    const t0 = w.clock.now();
    const outcome = await reconcile(w.ctx(), spec());

    expect(w.aws.inputs(SendCommandCommand)).toHaveLength(0);
    expect(w.aws.mutating()).toEqual([]);
    // It asked SSM whether the other run's command was still running, and waited in polls.
    expect(w.aws.inputs(GetCommandInvocationCommand).map((c) => c.CommandId)).toEqual(
      expect.arrayContaining(['cmd-other']),
    );
    expect(w.clock.now() - t0).toBeGreaterThanOrEqual(6 * 60_000);
    expect(w.clock.now() - t0).toBeLessThan(8 * 60_000);
    expect(w.log.infos).toContain(`Waiting for the run that is installing TLJH on ${OLD_ID}...`);
    expect(outcome).toMatchObject({ state: 'running', instanceId: OLD_ID, hubVersion: '5.3.0' });
    expect(w.hub.hits).toEqual(['GET /hub/api']);
  });
  // Defect 11: a command that has just ended is not a run that is over; one whose run neither
  // marks nor releases within COMMAND_END_GRACE_MS died (a cancelled job, expired credentials).
  test('the other run died after its command ended (no mark, no release): this run installs after the grace', async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.hub.publicIp,
      Tags: [...installedTag('1.0.0'), leaseTag(other.lease('cmd-other'))],
    });
    other.command('Failed');
    const t0 = w.clock.now();
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.sentTo()).toEqual([[OLD_ID]]);
    expect(w.clock.now() - t0).toBeGreaterThanOrEqual(COMMAND_END_GRACE_MS);
    expect(w.log.infos).toContain(
      `The run installing ${OLD_ID} ended its command 5m00s ago without marking the hub: installing it here.`,
    );
    expect(w.tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });
  test('an upgrade by another run whose command has just ended: this run waits for its mark', async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.hub.publicIp,
      Tags: [...installedTag('1.0.0'), leaseTag(other.lease('cmd-other'))],
    });
    other.marksAfter(OLD_ID, 60_000);
    const t0 = w.clock.now();
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.aws.inputs(SendCommandCommand)).toHaveLength(0);
    expect(w.aws.mutating()).toEqual([]);
    expect(w.clock.now() - t0).toBeLessThan(2 * 60_000);
    expect(outcome).toMatchObject({ instanceId: OLD_ID, hubVersion: '5.3.0', changed: false });
  });
  // Defect 11: right after SendCommand, SSM answers InvocationDoesNotExist for a while. Today's
  // code read that as "ended" and installed alongside the other run.
  test("SSM does not know the other run's fresh command yet: this run waits for it", async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.hub.publicIp,
      Tags: [...installedTag('1.0.0'), leaseTag(other.lease('cmd-other'))],
    });
    other.command('InProgress');
    let unknown = 3;
    w.aws.on(GetCommandInvocationCommand, (input, next) => {
      if (input.CommandId === 'cmd-other' && unknown-- > 0) {
        throw new InvocationDoesNotExist({ $metadata: {}, message: '' });
      }
      return next();
    });
    other.finishesAfter(OLD_ID, 4 * 60_000);
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.aws.inputs(SendCommandCommand)).toHaveLength(0);
    expect(w.aws.mutating()).toEqual([]);
    expect(outcome).toMatchObject({ instanceId: OLD_ID, hubVersion: '5.3.0' });
  });
  // Defect 9: a run that died mid-install (expired credentials) leaves its settings SecureString
  // behind; the next install on the hub deletes it, but not one another run's install still needs.
  test('an install first deletes settings parameters that interrupted installs left', async () => {
    const LIVE_ID = 'i-0000000000000000e';
    const GONE_ID = 'i-0000000000000000d';
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag('1.0.0') });
    // Another instance of the hub (a launch-race loser) that another run is installing now.
    w.addHub(LIVE_ID, 'running', {
      LaunchTime: new Date(LAUNCHED.getTime() + 1000),
      Tags: hubTagsWith(leaseTag(other.lease('cmd-other'))),
    });
    other.command('InProgress', LIVE_ID);
    const param = (id: string) => `/tljh-ec2-action/workshop/${id}/settings`;
    for (const id of [OLD_ID, GONE_ID, LIVE_ID]) {
      w.aws.ssm.putParameter({ Name: param(id), Value: '{}', Type: 'SecureString' });
    }
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.aws.inputs(DeleteParametersCommand).map((c) => c.Names)).toEqual([
      [param(OLD_ID), param(GONE_ID)],
    ]);
    const order = w.aws.names();
    expect(order.indexOf('DeleteParametersCommand')).toBeLessThan(
      order.indexOf('SendCommandCommand'),
    );
    expect(outcome.done).toEqual([
      'deleted 2 leftover settings parameter(s) of an interrupted install',
      'installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)',
    ]);
  });
  test('the leftover sweep is best effort: a refusal is a warning, the install goes on', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag('1.0.0') });
    w.aws.fail(GetParametersByPathCommand, awsError('AccessDeniedException'));
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.log.warnings.join('\n')).toContain(
      'Could not look for settings parameters left by an interrupted install',
    );
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });
  test('a lease another run released (its install failed): this run installs at once', async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.hub.publicIp,
      Tags: [...installedTag('1.0.0'), leaseTag(other.lease(RELEASED))],
    });
    const t0 = w.clock.now();
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.sentTo()).toEqual([[OLD_ID]]);
    // SSM was not asked about a command named 'released'.
    expect(w.aws.inputs(GetCommandInvocationCommand).map((c) => c.CommandId)).toEqual(['cmd-1']);
    expect(w.clock.now() - t0).toBeLessThan(5 * 60_000);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });
  test('a lease of another run without a command lapses after 15 minutes', async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.hub.publicIp,
      Tags: [...installedTag('1.0.0'), leaseTag(other.lease())],
    });
    const t0 = w.clock.now();
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.sentTo()).toEqual([[OLD_ID]]);
    expect(w.clock.now() - t0).toBeGreaterThan(15 * 60_000);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
  });
  test("this run's own lease (a re-run attempt) does not make it wait", async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.hub.publicIp,
      Tags: [
        ...installedTag('1.0.0'),
        leaseTag(formatLease({ owner: 'run-owner-1', at: w.clock.now(), commandId: 'cmd-0' })),
      ],
    });
    await reconcile(w.ctx(), spec());
    expect(w.sentTo()).toEqual([[OLD_ID]]);
    expect(w.aws.inputs(GetCommandInvocationCommand).map((c) => c.CommandId)).not.toContain(
      'cmd-0',
    );
  });
  test('two runs tag the lease at once: the one whose tag is read back waits', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag('1.0.0') });
    // The other run's tag lands after ours (last writer wins), with its command soon after.
    w.aws.on(CreateTagsCommand, async (input, next) => {
      await next();
      if (input.Tags?.[0]?.Key === TAG_INSTALL_LEASE) {
        const target = w.aws.ec2.instance(OLD_ID);
        const others = (target.Tags ?? []).filter((t) => t.Key !== TAG_INSTALL_LEASE);
        target.Tags = [...others, leaseTag(other.lease('cmd-other'))];
      }
      return {};
    });
    other.command('InProgress');
    other.finishesAfter(OLD_ID, 3 * 60_000);
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.tagWrites()).toEqual([expect.stringMatching(OWN_LEASE)]);
    expect(w.aws.inputs(SendCommandCommand)).toHaveLength(0);
    expect(outcome).toMatchObject({ instanceId: OLD_ID, hubVersion: '5.3.0' });
  });
  // While another run repairs a hub already tagged at this version, this run waits for its command.
  test('a hub repaired by another run (tag already at this version): wait for its command', async () => {
    w.addHub(OLD_ID, 'running', {
      PublicIpAddress: w.flaky.publicIp,
      Tags: [...installedTag(), leaseTag(other.lease('cmd-other'))],
    });
    w.invocation.StandardOutputContent = reportStdout({ services: ['failed', 'active'] });
    other.command('InProgress');
    const repairedAt = w.clock.now() + 10 * 60_000;
    w.aws.ec2.meanwhile = () => {
      if (w.clock.now() < repairedAt) return;
      other.setStatus('Success');
      w.flakyHealthy = true;
    };
    const outcome = await reconcile(w.ctx(), spec());
    expect(outcome.instanceId).toBe(OLD_ID);
    // One verify (this run's own health check), then a wait for the other run's command.
    expect(w.aws.inputs(SendCommandCommand)).toHaveLength(1);
  });
});
