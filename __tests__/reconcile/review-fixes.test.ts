// Reconcile on a verified hub, for the fixes of a review: a new admin's generated password, the
// password sent only when it (or the admin) changed, a start that EC2 has no capacity for after
// a type change, a stop that never changes the spec, and a smaller volume refused before
// anything changes. Each test failed before its fix.
import {
  ModifyInstanceAttributeCommand,
  StartInstancesCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { InputError } from '../../src/errors.ts';
import { reconcile } from '../../src/reconcile.ts';
import { TAG_APPLIED } from '../../src/spec-record.ts';
import { TAG_EXPIRES_AT, TAG_INSTALLED_VERSION } from '../../src/tags.ts';
import { awsError, rejection } from '../helpers/fakes.ts';
import { appliedTag, hubTagsWith } from '../helpers/hub-tags.ts';
import { OLD_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';
import { webRules } from '../helpers/web-rules.ts';

const w = useReconcileWorld();

const OWN_GROUP = 'sg-0000000000000000e';
const EVERYONE = ['0.0.0.0/0', '::/0'];
const NARROW = '203.0.113.0/24';

/**
 * Hub 'workshop' as a former run with `inputs` left it (as in spec-changes.test.ts): verified at
 * TLJH 2.0.0, in its own group that allows everyone on 80 and 443, a 20 GiB root volume. With
 * `record: false`, an older version's hub: no tljh:applied tag.
 */
function addHub(
  opts: {
    state?: 'running' | 'stopped';
    inputs?: Record<string, string>;
    record?: boolean;
    tags?: Tag[];
  } = {},
): string {
  w.addOwnedGroup(OWN_GROUP);
  w.aws.ec2.authorizeIngress(OWN_GROUP, webRules(EVERYONE));
  const tags = hubTagsWith(
    { Key: TAG_INSTALLED_VERSION, Value: '2.0.0' },
    ...(opts.record === false ? [] : [appliedTag(opts.inputs)]),
    ...(opts.tags ?? []),
  );
  const state = opts.state ?? 'running';
  w.addHub(OLD_ID, state, {
    Tags: tags,
    SecurityGroups: [{ GroupId: OWN_GROUP }],
    ...(state === 'running' ? { PublicIpAddress: w.hub.publicIp } : {}),
  });
  return w.aws.ec2.addRootVolume(OLD_ID, 20, hubTagsWith(...(opts.tags ?? []))).VolumeId!;
}

/** The scripts this run sent, in order. */
const scripts = () => w.aws.inputs(SendCommandCommand).map((c) => c.Parameters!.commands![0]!);

/** The settings this run put in the SecureString parameter (one put). */
function sentSettings(): { adminPassword?: string; settings: [string, string][] } {
  const puts = w.aws.inputs(PutParameterCommand);
  expect(puts).toHaveLength(1);
  return JSON.parse(puts[0]!.Value!) as { adminPassword?: string; settings: [string, string][] };
}

/** The hub's tag of this key now. */
const tagOf = (key: string) => w.aws.ec2.instance(OLD_ID).Tags!.find((t) => t.Key === key)?.Value;

/** The CIDR blocks the hub's group allows, per web port. */
function allowed(): Record<number, string[]> {
  const rules: Record<number, string[]> = {};
  for (const p of w.aws.ec2.groups.get(OWN_GROUP)!.IpPermissions ?? []) {
    rules[p.FromPort!] = [
      ...(p.IpRanges ?? []).map((r) => r.CidrIp!),
      ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6!),
    ];
  }
  return rules;
}

describe('a new admin: a generated password, as at a first install', () => {
  test('the settings command: admin-user changed (the record had naomi), no password, no authenticator', async () => {
    addHub();
    const outcome = await reconcile(w.ctx(), spec({ 'admin-user': 'ada' }));
    expect(outcome.plan.steps).toContainEqual({ kind: 'apply-settings', groups: ['admins'] });
    expect(scripts()).toHaveLength(1);
    expect(scripts()[0]).toContain('--whole');
    // Reported once, masked by then, and the one the hub got (in the SecureString only).
    expect(w.reported).toHaveLength(1);
    const [{ password, masked }] = w.reported as [{ password: string; masked: boolean }];
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(masked).toBe(true);
    expect(sentSettings().adminPassword).toBe(password);
    expect(JSON.stringify(w.aws.inputs(SendCommandCommand))).not.toContain(password);
    expect(w.log.infos.join('\n')).not.toContain(password);
  });

  test('an installer run (plugins changed) with a new admin: a generated password too', async () => {
    addHub();
    const outcome = await reconcile(
      w.ctx(),
      spec({ 'admin-user': 'ada', 'tljh-plugins': 'tljh-repo2docker==1.0.0' }),
    );
    expect(outcome.plan.steps).toContainEqual({ kind: 'install', why: 'plugins changed' });
    expect(scripts()[0]).toContain('bootstrap.py');
    expect(w.reported).toHaveLength(1);
    expect(w.reported[0]!.masked).toBe(true);
    expect(sentSettings().adminPassword).toBe(w.reported[0]!.password);
    expect(outcome.generatedPassword).toBe(w.reported[0]!.password);
  });

  test('an installer run (plugins changed) with the same admin: no password', async () => {
    addHub();
    await reconcile(w.ctx(), spec({ 'tljh-plugins': 'tljh-repo2docker==1.0.0' }));
    expect(scripts()[0]).toContain('bootstrap.py');
    expect(w.reported).toEqual([]);
    // Nothing to carry: no parameter (and so no password).
    expect(w.aws.inputs(PutParameterCommand)).toEqual([]);
  });

  test('a new admin with an authenticator (auth.type): no password', async () => {
    addHub();
    await reconcile(
      w.ctx(),
      spec({
        'admin-user': 'ada',
        'tljh-config': 'auth.type=oauthenticator.github.GitHubOAuthenticator',
      }),
    );
    expect(w.reported).toEqual([]);
    expect(sentSettings().adminPassword).toBeUndefined();
  });

  test('a hub without a record (an older version): admins reads changed, no password generated', async () => {
    addHub({ record: false });
    expect(tagOf(TAG_APPLIED)).toBeUndefined();
    const outcome = await reconcile(w.ctx(), spec());
    expect(outcome.plan.steps).toContainEqual({ kind: 'apply-settings', groups: ['admins'] });
    expect(w.reported).toEqual([]);
    expect(w.log.masked).toEqual([]);
    expect(outcome.generatedPassword).toBeUndefined();
    // Nothing else to carry: no parameter, or one without a password.
    for (const put of w.aws.inputs(PutParameterCommand)) {
      expect(JSON.parse(put.Value!)).not.toHaveProperty('adminPassword');
    }
  });
});

describe('the admin-password is sent only when it (or the admin) changed', () => {
  const PASSWORD = 'correct-horse-9';

  test('a tljh-config-only change: the parameter carries no adminPassword', async () => {
    addHub({ inputs: { 'admin-password': PASSWORD } });
    const inputs = { 'admin-password': PASSWORD, 'tljh-config': 'limits.memory=1G' };
    const outcome = await reconcile(w.ctx(), spec(inputs));
    expect(outcome.plan.steps).toContainEqual({ kind: 'apply-settings', groups: ['tljh-config'] });
    const sent = sentSettings();
    expect(sent.settings).toEqual([['limits.memory', '1G']]);
    expect(sent).not.toHaveProperty('adminPassword');
    expect(w.reported).toEqual([]);
  });

  test('the admin changed, the password the same: sent (the new admin gets it)', async () => {
    addHub({ inputs: { 'admin-password': PASSWORD } });
    await reconcile(w.ctx(), spec({ 'admin-password': PASSWORD, 'admin-user': 'ada' }));
    expect(sentSettings().adminPassword).toBe(PASSWORD);
    // The user's own password: never reported as generated.
    expect(w.reported).toEqual([]);
  });
});

describe('a start EC2 has no capacity for, after this run changed the type', () => {
  test('InsufficientInstanceCapacity: back to the old type, started again, the run fails saying so', async () => {
    addHub();
    w.aws.fail(StartInstancesCommand, awsError('InsufficientInstanceCapacity'), 1);
    const err = await rejection(reconcile(w.ctx(), spec({ 'instance-type': 't3.medium' })));
    expect(err.message).toContain('t3.medium');
    expect(err.message).toContain('started again as t3.small');
    expect(w.aws.mutating()).toEqual([
      'StopInstancesCommand',
      'ModifyInstanceAttributeCommand',
      'StartInstancesCommand',
      'ModifyInstanceAttributeCommand',
      'StartInstancesCommand',
    ]);
    expect(w.aws.inputs(ModifyInstanceAttributeCommand).map((i) => i.InstanceType?.Value)).toEqual([
      't3.medium',
      't3.small',
    ]);
    expect(w.aws.ec2.instance(OLD_ID)).toMatchObject({
      InstanceType: 't3.small',
      State: { Name: 'running' },
    });
    // Not recorded: the next run tries the type again.
    expect(tagOf(TAG_APPLIED)).toBe(appliedTag().Value);
  });

  test('no type change in this run (a stopped hub started): the error as is, nothing reverted', async () => {
    addHub({ state: 'stopped' });
    w.aws.fail(StartInstancesCommand, awsError('InsufficientInstanceCapacity'), 1);
    const err = await rejection(reconcile(w.ctx(), spec()));
    expect(err.message).toContain('InsufficientInstanceCapacity');
    expect(err.message).not.toContain('started again');
    expect(w.aws.mutating()).toEqual(['StartInstancesCommand']);
    expect(w.aws.ec2.instance(OLD_ID).State!.Name).toBe('stopped');
  });

  test('another error (UnauthorizedOperation) after a type change: not reverted', async () => {
    addHub();
    w.aws.fail(StartInstancesCommand, awsError('UnauthorizedOperation'), 1);
    const err = await rejection(reconcile(w.ctx(), spec({ 'instance-type': 't3.medium' })));
    expect(err.message).toContain('UnauthorizedOperation');
    expect(err.message).not.toContain('started again');
    expect(w.aws.mutating()).toEqual([
      'StopInstancesCommand',
      'ModifyInstanceAttributeCommand',
      'StartInstancesCommand',
    ]);
    expect(w.aws.ec2.instance(OLD_ID).InstanceType).toBe('t3.medium');
  });
});

describe('a stop never changes the spec', () => {
  test('type, allowed-cidrs, tags and no ttl on a ttl-tagged hub: only StopInstances, all pending', async () => {
    const expires = '2026-01-02T00:00:00Z';
    const volumeId = addHub({ tags: [{ Key: TAG_EXPIRES_AT, Value: expires }] });
    const recorded = tagOf(TAG_APPLIED);
    const outcome = await reconcile(
      w.ctx(),
      spec({
        state: 'stopped',
        'instance-type': 't3.medium',
        'allowed-cidrs': NARROW,
        tags: 'team=data',
      }),
    );
    expect(w.aws.mutating()).toEqual(['StopInstancesCommand']);
    expect(outcome.plan.steps.map((s) => s.kind)).toEqual(['stop', 'wait']);
    expect(outcome).toMatchObject({ state: 'stopped', changed: true });
    expect(outcome.pending).toEqual(['instance-type', 'allowed-cidrs', 'tags', 'ttl']);
    for (const group of outcome.pending!) {
      expect(w.log.infos).toContain(`Pending until the next run with state running: ${group}.`);
    }
    expect(w.aws.ec2.instance(OLD_ID).InstanceType).toBe('t3.small');
    expect(allowed()).toEqual({ 80: EVERYONE, 443: EVERYONE });
    expect(tagOf('team')).toBeUndefined();
    expect(tagOf(TAG_EXPIRES_AT)).toBe(expires);
    expect(tagOf(TAG_APPLIED)).toBe(recorded);
    expect(w.aws.ec2.volume(volumeId).Tags?.some((t) => t.Key === 'team')).toBe(false);
  });
});

describe('a smaller root-volume-size', () => {
  test('a running run (a stopped hub to start, its tags changed too): InputError before any mutating call', async () => {
    const volumeId = addHub({ state: 'stopped', inputs: { 'root-volume-size': '50' } });
    w.aws.ec2.volume(volumeId).Size = 50;
    const err = await rejection(reconcile(w.ctx(), spec({ tags: 'team=data' })));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain("Input 'root-volume-size'");
    expect(err.message).toContain('50 GiB');
    expect(w.aws.mutating()).toEqual([]);
    expect(w.aws.ec2.instance(OLD_ID).State!.Name).toBe('stopped');
  });
});
