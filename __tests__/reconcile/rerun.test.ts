// Reconcile on a hub that exists: verified, unhealthy, stopped, at another version.
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { reconcile } from '../../src/reconcile.ts';
import { TAG_INSTALL_LEASE, TAG_INSTALLED_VERSION } from '../../src/tags.ts';
import { rejection, reportStdout } from '../helpers/fakes.ts';
import { appliedTag, installedTag } from '../helpers/hub-tags.ts';
import { MARKED_INSTALLED, OWN_LEASE, OWN_LEASE_WITH_COMMAND } from '../helpers/own-lease.ts';
import { OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();

describe('re-run on an existing hub', () => {
  test('a verified running hub: no mutating call, no SSM call', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.aws.names()).toEqual(['DescribeInstancesCommand', 'DescribeInstanceTypesCommand']);
    expect(outcome).toMatchObject({
      state: 'running',
      changed: false,
      done: [],
      instanceId: OLD_ID,
      hubUrl: `http://${w.hub.publicIp}/`,
      hubVersion: '5.3.0',
    });
    expect(outcome.plan.steps).toEqual([{ kind: 'check-health' }]);
    expect(w.hub.hits).toEqual(['GET /hub/api']);
    // No waiting at all: nothing changed, so one probe is enough.
    expect(w.clock.sleeps).toEqual([]);
  });

  test('the oldest of several tagged instances is the hub, with a warning', async () => {
    w.addHub('i-0000000000000000c', 'running', {
      PublicIpAddress: w.deadIp,
      LaunchTime: new Date('2026-02-01T00:00:00Z'),
    });
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag() });
    const outcome = await reconcile(w.ctx(), spec());
    expect(outcome.instanceId).toBe(OLD_ID);
    expect(w.log.warnings[0]).toContain(`2 live instances carry hub 'workshop'`);
    expect(w.log.warnings[0]).toContain(`the oldest, ${OLD_ID}, is the hub`);
    expect(w.aws.mutating()).toEqual([]);
  });

  test('a verified hub that does not answer publicly is asked over SSM, then reported', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.deadIp, Tags: installedTag() });
    w.invocation.StandardOutputContent = reportStdout({});
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.hint).toContain("'allowed-cidrs'");
    const send = w.aws.inputs(SendCommandCommand);
    expect(send).toHaveLength(1);
    expect(send[0]!.Parameters!.commands![0]).not.toContain('bootstrap.py');
    expect(w.aws.inputs(CreateTagsCommand)).toHaveLength(0);
  });

  test('an unhealthy hub is installed again, then verified publicly', async () => {
    // The hub's public address answers 503 until the reinstall has run.
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.flaky.publicIp, Tags: installedTag() });
    // The first command (the verify script) finds jupyterhub failed; the hub is healthy once
    // the second (the install) has run.
    w.aws.ssm.commandResult = (command) => {
      if (command.commandId === 'cmd-1') {
        return {
          Status: 'Success',
          ResponseCode: 0,
          StandardOutputContent: reportStdout({ services: ['failed', 'active'] }),
        };
      }
      w.flakyHealthy = true;
      return w.invocation;
    };
    const outcome = await reconcile(w.ctx(), spec());
    const scripts = w.aws.inputs(SendCommandCommand).map((c) => c.Parameters!.commands![0]!);
    expect(scripts).toHaveLength(2);
    expect(scripts[0]).not.toContain('bootstrap.py'); // the verify script
    expect(scripts[1]).toContain('bootstrap.py'); // the install script
    expect(w.log.warnings.join('\n')).toContain('service jupyterhub is failed');
    expect(w.installedTagWrites()).toHaveLength(1);
    expect(outcome).toMatchObject({
      state: 'running',
      changed: true,
      done: ['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)'],
      hubVersion: '5.3.0',
    });
    expect(w.flaky.hits).toEqual(['GET /hub/api', 'GET /hub/api']);
  });

  test('a stopped hub is started and its new public IP re-read before probing', async () => {
    // The old address is dead: probing it (instead of the re-read one) would fail the run.
    w.addHub(OLD_ID, 'stopped', { PublicIpAddress: w.deadIp, Tags: installedTag() });
    // Started, it comes up at the live hub's address (publicIpFor).
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.aws.mutating()).toEqual(['StartInstancesCommand']);
    expect(outcome).toMatchObject({
      state: 'running',
      changed: true,
      publicIp: w.hub.publicIp,
      hubUrl: `http://${w.hub.publicIp}/`,
      done: [`started ${OLD_ID}`],
    });
    expect(w.hub.hits).toEqual(['GET /hub/api']);
  });

  test('an installed version other than tljh-version is installed again', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag('1.0.0') });
    const outcome = await reconcile(w.ctx(), spec());
    expect(w.aws.mutating()).toContain('SendCommandCommand');
    expect(w.installedTagWrites()).toEqual([
      {
        Resources: [OLD_ID],
        Tags: [
          { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' },
          { Key: TAG_INSTALL_LEASE, Value: expect.stringMatching(/\|released$/) as string },
          // The upgrade applied the whole spec again: recorded with the mark (same salt).
          appliedTag(),
        ],
      },
    ]);
    expect(outcome.done).toEqual(['installed and verified TLJH 2.0.0 (JupyterHub 5.3.0)']);
    // An upgrade: the hub serves port 80 itself, TLJH shows no progress page.
    expect(w.log.infos.join('\n')).not.toContain("Watch the install's progress");
  });

  // TLJH writes `--admin user:password` into its password store: a reinstall (upgrade, repair)
  // must not reset the password the admin already has.
  test('reinstalling an existing hub does not reset the admin password', async () => {
    w.addHub(OLD_ID, 'running', { PublicIpAddress: w.hub.publicIp, Tags: installedTag('1.0.0') });
    const outcome = await reconcile(w.ctx(), spec());
    expect(outcome.generatedPassword).toBeUndefined();
    expect(w.aws.inputs(PutParameterCommand)).toHaveLength(0);
    expect(w.aws.mutating()).toEqual([
      'CreateTagsCommand', // the install lease
      'SendCommandCommand',
      'CreateTagsCommand', // the lease names the command
      'CreateTagsCommand', // tljh:installed-version
    ]);
    expect(w.tagWrites()).toEqual([
      expect.stringMatching(OWN_LEASE),
      expect.stringMatching(OWN_LEASE_WITH_COMMAND),
      ...MARKED_INSTALLED,
    ]);
  });
});
