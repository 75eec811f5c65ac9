// Reconcile with elastic-ip and dns-name: the address allocated tagged and associated once,
// the record and its ownership marker pointed before the install and awaited until INSYNC,
// a name the hub does not own refused before any change, and both removed with the hub. The
// fake's addresses and Route 53 follow AWS's rules (helpers/fake-endpoints.ts).
import { AllocateAddressCommand, CreateTagsCommand } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { ActionError } from '../../src/errors.ts';
import { reconcileFleet } from '../../src/fleet.ts';
import { reconcile } from '../../src/reconcile.ts';
import { TAG_DNS_ADDRESS, TAG_DNS_RECORD, TAG_ELASTIC_IP, TAG_HUB } from '../../src/tags.ts';
import { awsError } from '../helpers/fakes.ts';
import { NEW_ID, spec, useReconcileWorld } from '../helpers/reconcile-world.ts';

const w = useReconcileWorld();
const ZONE = 'Z0123456789ABCDEFGHIJ';
const NAME = 'hub.hubs.example.org';
const ENDPOINT = { 'elastic-ip': 'true', 'dns-zone-id': ZONE, 'dns-name': NAME };

beforeEach(() => {
  w.aws.dns.zones.set(ZONE, 'hubs.example.org');
  // The allocated address is where the test's live hub answers.
  w.aws.addresses.ipFor = () => w.hub.publicIp;
});

const tagsOf = (id: string) =>
  Object.fromEntries(
    (w.aws.ec2.instances.get(id)?.instance.Tags ?? []).map((t) => [t.Key, t.Value]),
  );

describe('a hub with an Elastic IP and a record', () => {
  test('create: one tagged address, associated; A and TXT in one batch, INSYNC before the install', async () => {
    const outcome = await reconcile(w.ctx(), spec(ENDPOINT));
    expect(outcome.state).toBe('running');
    expect(outcome.hubUrl).toBe(`http://${NAME}/`);
    const addresses = [...w.aws.addresses.addresses.values()];
    expect(addresses).toHaveLength(1);
    expect(addresses[0]!.InstanceId).toBe(NEW_ID);
    expect(addresses[0]!.Tags).toEqual(
      expect.arrayContaining([{ Key: TAG_HUB, Value: 'workshop' }]),
    );
    expect(w.aws.dns.records.get(`${NAME}|A`)?.ResourceRecords).toEqual([
      { Value: w.hub.publicIp },
    ]);
    expect(w.aws.dns.records.get(`_tljh-ec2-action.${NAME}|TXT`)?.ResourceRecords).toEqual([
      { Value: '"heritage=tljh-ec2-action,hub=workshop"' },
    ]);
    const names = w.aws.names();
    const point = names.indexOf('ChangeResourceRecordSetsCommand');
    // Associated before the record, the record INSYNC before TLJH is installed.
    expect(names.indexOf('AssociateAddressCommand')).toBeLessThan(point);
    expect(names.lastIndexOf('GetChangeCommand')).toBeLessThan(names.indexOf('SendCommandCommand'));
    expect(names.filter((n) => n === 'GetChangeCommand').length).toBeGreaterThanOrEqual(2);
    expect(tagsOf(NEW_ID)).toMatchObject({
      [TAG_DNS_RECORD]: `${ZONE}/${NAME}`,
      [TAG_DNS_ADDRESS]: w.hub.publicIp,
      [TAG_ELASTIC_IP]: `eipalloc-1 ${w.hub.publicIp}`,
    });
  });

  test('a re-run of the running hub asks neither EC2 nor Route 53 about the address or record', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    w.aws.calls.length = 0;
    const outcome = await reconcile(w.ctx(), spec(ENDPOINT));
    expect(outcome.changed).toBe(false);
    expect(w.aws.calls.filter((c) => c.service === 'route53')).toEqual([]);
    expect(w.aws.names()).not.toContain('DescribeAddressesCommand');
  });

  test('stop and start: the address stays, the record is not written again', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    await reconcile(w.ctx(), spec({ ...ENDPOINT, state: 'stopped' }));
    w.aws.calls.length = 0;
    const outcome = await reconcile(w.ctx(), spec(ENDPOINT));
    expect(outcome.publicIp).toBe(w.hub.publicIp);
    expect(w.aws.names()).not.toContain('AllocateAddressCommand');
    expect(w.aws.names()).not.toContain('ChangeResourceRecordSetsCommand');
  });

  test('without an Elastic IP, a stop removes the A record (the address goes back to AWS) and the start writes it again', async () => {
    const dnsOnly = { 'dns-zone-id': ZONE, 'dns-name': NAME };
    await reconcile(w.ctx(), spec(dnsOnly));
    const stopped = await reconcile(w.ctx(), spec({ ...dnsOnly, state: 'stopped' }));
    expect(stopped.done).toContain(`removed the A record ${NAME} while stopped (no Elastic IP)`);
    // The name stays the hub's: only the marker is left, and the instance still names it.
    expect([...w.aws.dns.records.keys()]).toEqual([`_tljh-ec2-action.${NAME}|TXT`]);
    expect(tagsOf(NEW_ID)[TAG_DNS_RECORD]).toBe(`${ZONE}/${NAME}`);
    expect(tagsOf(NEW_ID)[TAG_DNS_ADDRESS]).toBeUndefined();
    w.aws.calls.length = 0;
    await reconcile(w.ctx(), spec(dnsOnly));
    const names = w.aws.names();
    expect(names.indexOf('ChangeResourceRecordSetsCommand')).toBeGreaterThan(
      names.indexOf('StartInstancesCommand'),
    );
    expect(w.aws.dns.records.get(`${NAME}|A`)?.ResourceRecords).toEqual([
      { Value: w.hub.publicIp },
    ]);
    expect(names).not.toContain('AllocateAddressCommand');
  });

  test('a stop of a hub already stopped (its record withdrawn) asks Route 53 nothing and changes nothing', async () => {
    const dnsOnly = { 'dns-zone-id': ZONE, 'dns-name': NAME };
    await reconcile(w.ctx(), spec(dnsOnly));
    await reconcile(w.ctx(), spec({ ...dnsOnly, state: 'stopped' }));
    w.aws.calls.length = 0;
    const again = await reconcile(w.ctx(), spec({ ...dnsOnly, state: 'stopped' }));
    expect(again.changed).toBe(false);
    expect(w.aws.mutating()).toEqual([]);
    expect(w.aws.calls.filter((c) => c.service === 'route53')).toEqual([]);
  });

  test('with an Elastic IP, a stop keeps the record', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    await reconcile(w.ctx(), spec({ ...ENDPOINT, state: 'stopped' }));
    expect(w.aws.dns.records.get(`${NAME}|A`)?.ResourceRecords).toEqual([
      { Value: w.hub.publicIp },
    ]);
  });

  test('dns-name no longer given: the running hub’s record and marker go, and the tags naming it', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    const outcome = await reconcile(w.ctx(), spec({ 'elastic-ip': 'true' }));
    expect(outcome.done).toEqual([
      expect.stringMatching(new RegExp(`^deleted the record ${NAME}.*no longer given`)),
    ]);
    expect(w.aws.dns.records.size).toBe(0);
    expect(tagsOf(NEW_ID)[TAG_DNS_RECORD]).toBeUndefined();
    expect(outcome.hubUrl).toBe(`http://${w.hub.publicIp}/`);
  });

  test('a record the action did not create is refused before anything changes', async () => {
    w.aws.dns.records.set(`${NAME}|A`, {
      Name: NAME,
      Type: 'A',
      TTL: 300,
      ResourceRecords: [{ Value: '192.0.2.1' }],
    });
    const run = reconcile(w.ctx(), spec(ENDPOINT));
    await expect(run).rejects.toThrow(ActionError);
    await expect(run).rejects.toThrow(/dns-name.*did not create.*Nothing was changed/s);
    expect(w.aws.mutating()).toEqual([]);
    expect(w.aws.dns.records.get(`${NAME}|A`)?.ResourceRecords).toEqual([{ Value: '192.0.2.1' }]);
  });

  test.each(['CNAME', 'AAAA'])(
    'a name with a %s record of someone else is refused before anything changes',
    async (type) => {
      w.aws.dns.records.set(`${NAME}|${type}`, {
        Name: NAME,
        Type: type as 'CNAME',
        TTL: 300,
        ResourceRecords: [{ Value: type === 'CNAME' ? 'elsewhere.example.org' : '2001:db8::1' }],
      });
      await expect(reconcile(w.ctx(), spec(ENDPOINT))).rejects.toThrow(
        new RegExp(`${type} elsewhere|${type} 2001`),
      );
      expect(w.aws.mutating()).toEqual([]);
    },
  );

  test('a name nobody has is claimed with CREATE (two hubs cannot both win it); its own, UPSERT', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    const [claim] = w.aws.inputs(ChangeResourceRecordSetsCommand);
    expect(claim!.ChangeBatch!.Changes!.map((c) => c.Action)).toEqual(['CREATE', 'CREATE']);
    // Its own record, moved: UPSERT.
    w.aws.dns.records.get(`${NAME}|A`)!.ResourceRecords = [{ Value: '192.0.2.9' }];
    w.aws.ec2.instances.get(NEW_ID)!.instance.Tags!.find((t) => t.Key === TAG_DNS_ADDRESS)!.Value =
      '192.0.2.9';
    await reconcile(w.ctx(), spec(ENDPOINT));
    const last = w.aws.inputs(ChangeResourceRecordSetsCommand).at(-1)!;
    expect(last.ChangeBatch!.Changes!.map((c) => c.Action)).toEqual(['UPSERT', 'UPSERT']);
  });

  test('a changed dns-name: the former record goes, the new one comes, the tag names it', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    const other = 'new.hubs.example.org';
    const outcome = await reconcile(w.ctx(), spec({ ...ENDPOINT, 'dns-name': other }));
    expect(outcome.hubUrl).toBe(`http://${other}/`);
    expect([...w.aws.dns.records.keys()].sort()).toEqual([
      `_tljh-ec2-action.${other}|TXT`,
      `${other}|A`,
    ]);
    expect(tagsOf(NEW_ID)[TAG_DNS_RECORD]).toBe(`${ZONE}/${other}`);
  });

  test('a name outside the zone is refused before anything changes', async () => {
    await expect(
      reconcile(w.ctx(), spec({ ...ENDPOINT, 'dns-name': 'hub.other.org' })),
    ).rejects.toThrow(/not in the hosted zone/);
    expect(w.aws.mutating()).toEqual([]);
  });

  test('the address quota is an error naming elastic-ip and the quota', async () => {
    w.aws.fail(AllocateAddressCommand, awsError('AddressLimitExceeded'));
    const err = (await reconcile(w.ctx(), spec(ENDPOINT)).catch((e: unknown) => e)) as ActionError;
    expect(err.message).toMatch(/^Input 'elastic-ip'.*AddressLimitExceeded/);
    expect(err.hint).toMatch(/5 by default.*L-0263D0A3/);
  });

  test('terminate: instance, then the address released and the record and marker deleted', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    const outcome = await reconcile(w.ctx(), spec({ ...ENDPOINT, state: 'terminated' }));
    expect(outcome.done).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^released Elastic IP/),
        expect.stringMatching(new RegExp(`^deleted the record ${NAME}`)),
      ]),
    );
    expect(w.aws.addresses.addresses.size).toBe(0);
    expect(w.aws.dns.records.size).toBe(0);
  });

  test('terminate leaves alone a record it does not own', async () => {
    w.aws.dns.records.set(`${NAME}|A`, {
      Name: NAME,
      Type: 'A',
      ResourceRecords: [{ Value: '192.0.2.1' }],
    });
    await reconcile(w.ctx(), spec({ ...ENDPOINT, state: 'terminated' }));
    expect(w.aws.inputs(ChangeResourceRecordSetsCommand)).toEqual([]);
    expect(w.log.infos.some((l) => l.includes(`Left ${NAME} alone`))).toBe(true);
  });

  test('a run interrupted after the allocation: the next run uses that address, never a second', async () => {
    w.aws.addresses.allocate([
      { Key: TAG_HUB, Value: 'workshop' },
      { Key: 'tljh:managed-by', Value: 'tljh-ec2-action' },
    ]);
    await reconcile(w.ctx(), spec(ENDPOINT));
    expect(w.aws.inputs(AllocateAddressCommand)).toEqual([]);
    expect([...w.aws.addresses.addresses.values()].map((a) => a.InstanceId)).toEqual([NEW_ID]);
  });

  test('a terminate with no instance left releases an interrupted run’s address', async () => {
    w.aws.addresses.allocate([
      { Key: TAG_HUB, Value: 'workshop' },
      { Key: 'tljh:managed-by', Value: 'tljh-ec2-action' },
    ]);
    await reconcile(w.ctx(), spec({ ...ENDPOINT, state: 'terminated' }));
    expect(w.aws.addresses.addresses.size).toBe(0);
  });

  test('the record is named on the instance from its launch (a terminate finds it after any failure)', async () => {
    await reconcile(w.ctx(), spec(ENDPOINT));
    const launchTags = w.aws.inputs(CreateTagsCommand);
    expect(launchTags.length).toBeGreaterThan(0);
    const run = w.aws.calls.find((c) => c.name === 'RunInstancesCommand')!;
    expect(JSON.stringify(run.input)).toContain(`${ZONE}/${NAME}`);
  });
});

test('the reaper releases an address whose hub has no instance (a run killed before its launch)', async () => {
  w.aws.addresses.allocate([
    { Key: TAG_HUB, Value: 'pr-9' },
    { Key: 'tljh:managed-by', Value: 'tljh-ec2-action' },
  ]);
  const out = await reconcileFleet(w.ctx(), {
    pattern: 'pr-9',
    desired: 'terminated',
    expiredOnly: true,
    dryRun: false,
  });
  expect(out.changed).toBe(true);
  expect(w.aws.addresses.addresses.size).toBe(0);
});

test('a terminate keeps an address a concurrent run put on its new instance', async () => {
  await reconcile(w.ctx(), spec(ENDPOINT));
  const [address] = [...w.aws.addresses.addresses.values()];
  address!.InstanceId = 'i-0concurrentlaunch0';
  address!.AssociationId = 'eipassoc-9';
  await reconcile(w.ctx(), spec({ ...ENDPOINT, state: 'terminated' }));
  expect(w.aws.addresses.addresses.size).toBe(1);
  expect(w.log.infos.some((l) => /Kept .* it is on i-0concurrentlaunch0/.test(l))).toBe(true);
});

test('the reaper releases the addresses and deletes the records of the hubs it terminates', async () => {
  await reconcile(w.ctx(), spec(ENDPOINT));
  const out = await reconcileFleet(w.ctx(), {
    pattern: '*',
    desired: 'terminated',
    expiredOnly: false,
    dryRun: false,
  });
  expect(out.failed).toBe(0);
  expect(w.aws.addresses.addresses.size).toBe(0);
  expect(w.aws.dns.records.size).toBe(0);
});
