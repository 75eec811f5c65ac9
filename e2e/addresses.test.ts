// A stable address and HTTPS in one run, against the emulator: moto's Elastic IPs and Route 53
// through the front, and a Let's Encrypt stand-in that issues a certificate for a name only
// once that name's A record points at the hub that asks for it (e2e/emulator/acme.ts).
// Light instances: the hubs' TLJH is the emulator's stand-in (see useLightInstances).
import {
  getCalls,
  getHeld,
  releaseHeld,
  resetEmulator,
  setScenario,
  useLightInstances,
} from './harness/emulator.ts';
import { getAddresses } from './harness/ec2.ts';
import { createHostedZone, hubCertificate, listRecords, putRecord } from './harness/dns.ts';
import { runAction, type ActionResult } from './harness/run-action.ts';

useLightInstances();

const ZONE_NAME = 'hubs.example.org';
let zoneId: string;

beforeAll(async () => {
  await resetEmulator({ aws: true });
  zoneId = await createHostedZone(ZONE_NAME);
});

const hubInputs = (hub: string, extra: Record<string, string> = {}) => ({
  'hub-name': hub,
  'admin-user': 'naomi',
  'iam-instance-profile': 'tljh-ssm',
  'elastic-ip': 'true',
  'dns-zone-id': zoneId,
  'dns-name': `${hub}.${ZONE_NAME}`,
  'https-email': 'ops@example.org',
  'https-wait': '1',
  ...extra,
});

function ok(r: ActionResult, what: string): ActionResult {
  if (r.exitCode !== 0)
    throw new Error(`${what} failed (${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

const addressesOf = async (hub: string) =>
  (await getAddresses()).filter((a) => a.tags['tljh:hub'] === hub);
const recordsOf = async (name: string) =>
  (await listRecords(zoneId)).filter((r) => r.name === name || r.name.endsWith(`.${name}`));

test('one run: Elastic IP, record, https://; kept across stop and start; all gone at terminate', async () => {
  const hub = 'stable';
  const name = `${hub}.${ZONE_NAME}`;
  await resetEmulator();
  const created = ok(await runAction(hubInputs(hub)), 'the create');
  expect(created.outputs['hub-url']).toBe(`https://${name}/`);
  expect(created.stdout).not.toMatch(/not ready/);
  const ip = created.outputs['public-ip']!;
  const [address, ...more] = await addressesOf(hub);
  expect(more).toEqual([]);
  expect(address).toMatchObject({
    publicIp: ip,
    instanceId: created.outputs['instance-id'],
    tags: { 'tljh:managed-by': 'tljh-ec2-action', Name: `tljh-${hub}` },
  });
  expect(await recordsOf(name)).toEqual([
    { name, type: 'A', ttl: 60, values: [ip] },
    {
      name: `_tljh-ec2-action.${name}`,
      type: 'TXT',
      ttl: 300,
      values: [`"heritage=tljh-ec2-action,hub=${hub}"`],
    },
  ]);
  // What a browser sees: a certificate for the name, from the (stand-in) production CA.
  const cert = await hubCertificate(ip, name);
  expect(cert).toMatchObject({ subjectCN: name, verifiesWithProductionCa: true });
  // The record was INSYNC before the install began.
  const ops = (await getCalls()).map((c) => c.operation);
  expect(ops.lastIndexOf('GetChange')).toBeLessThan(ops.indexOf('SendCommand'));

  ok(await runAction(hubInputs(hub, { state: 'stopped' })), 'the stop');
  await resetEmulator();
  const started = ok(await runAction(hubInputs(hub)), 'the start');
  expect(started.outputs['public-ip']).toBe(ip);
  expect(started.outputs['hub-url']).toBe(`https://${name}/`);
  const startOps = (await getCalls()).map((c) => c.operation);
  expect(startOps).not.toContain('AllocateAddress');
  expect(startOps).not.toContain('ChangeResourceRecordSets');
  expect((await hubCertificate(ip, name)).verifiesWithProductionCa).toBe(true);

  const gone = ok(await runAction(hubInputs(hub, { state: 'terminated' })), 'the terminate');
  expect(gone.stdout).toMatch(/Released Elastic IP/);
  expect(await addressesOf(hub)).toEqual([]);
  expect(await recordsOf(name)).toEqual([]);
}, 240_000);

test('without an Elastic IP: the A record goes while the hub is stopped, and follows it at the start', async () => {
  const hub = 'no-eip';
  const name = `${hub}.${ZONE_NAME}`;
  const inputs = (extra: Record<string, string> = {}) =>
    hubInputs(hub, { 'elastic-ip': 'false', ...extra });
  await resetEmulator();
  const created = ok(await runAction(inputs()), 'the create');
  expect(created.outputs['hub-url']).toBe(`https://${name}/`);
  expect(await addressesOf(hub)).toEqual([]);
  ok(await runAction(inputs({ state: 'stopped' })), 'the stop');
  // No name pointing at an address AWS may hand to someone else; the marker keeps it the hub's.
  expect((await recordsOf(name)).map((r) => r.type)).toEqual(['TXT']);
  const started = ok(await runAction(inputs()), 'the start');
  const ip = started.outputs['public-ip']!;
  expect((await recordsOf(name)).find((r) => r.type === 'A')?.values).toEqual([ip]);
  // traefik kept its certificate on the hub's disk: valid at the new address at once.
  expect(await hubCertificate(ip, name)).toMatchObject({
    subjectCN: name,
    verifiesWithProductionCa: true,
  });
  expect(started.stdout).not.toMatch(/not ready/);
  ok(await runAction(inputs({ state: 'terminated' })), 'the terminate');
  expect(await recordsOf(name)).toEqual([]);
}, 240_000);

test('a run killed right after AllocateAddress leaks nothing: the re-run uses that address', async () => {
  const hub = 'killed-eip';
  await resetEmulator();
  await setScenario({ pauseOn: { operation: 'AllocateAddress', when: 'after' } });
  const killed = await runAction(hubInputs(hub), {
    killWhen: async () => (await getHeld()).length > 0,
  });
  expect(killed.killed).toBe(true);
  await setScenario({ pauseOn: null });
  await releaseHeld();
  const [orphan] = await addressesOf(hub);
  expect(orphan?.instanceId).toBeUndefined();

  await resetEmulator();
  const rerun = ok(await runAction(hubInputs(hub), { env: { GITHUB_RUN_ATTEMPT: '2' } }), 're-run');
  expect((await getCalls()).filter((c) => c.operation === 'AllocateAddress')).toEqual([]);
  expect(await addressesOf(hub)).toEqual([
    expect.objectContaining({
      allocationId: orphan!.allocationId,
      instanceId: rerun.outputs['instance-id'],
    }),
  ]);
  ok(await runAction(hubInputs(hub, { state: 'terminated' })), 'the terminate');
  expect(await addressesOf(hub)).toEqual([]);
}, 240_000);

test('the reaper releases the addresses and deletes the records of the hubs it terminates', async () => {
  await resetEmulator();
  for (const hub of ['reap-1', 'reap-2']) ok(await runAction(hubInputs(hub)), `create ${hub}`);
  expect(
    (await getAddresses()).filter((a) => a.tags['tljh:hub']?.startsWith('reap-')),
  ).toHaveLength(2);
  const reaper = ok(await runAction({ 'hub-name': 'reap-*', state: 'terminated' }), 'the reaper');
  expect(reaper.stdout).toMatch(/Released Elastic IP/);
  expect((await getAddresses()).filter((a) => a.tags['tljh:hub']?.startsWith('reap-'))).toEqual([]);
  expect(await recordsOf(`reap-1.${ZONE_NAME}`)).toEqual([]);
  expect(await recordsOf(`reap-2.${ZONE_NAME}`)).toEqual([]);
}, 240_000);

test('a record the action does not own is left alone, and nothing is created', async () => {
  const name = `taken.${ZONE_NAME}`;
  await putRecord(zoneId, name, 'A', ['192.0.2.10']);
  await resetEmulator(); // the journal from here on: the action's calls only
  const refused = await runAction(hubInputs('taken'));
  expect(refused.exitCode).not.toBe(0);
  expect(refused.stdout + refused.stderr).toMatch(/did not create/);
  const ops = (await getCalls()).map((c) => c.operation);
  for (const op of ['RunInstances', 'AllocateAddress', 'ChangeResourceRecordSets'])
    expect(ops).not.toContain(op);
  expect(await recordsOf(name)).toEqual([{ name, type: 'A', ttl: 300, values: ['192.0.2.10'] }]);
  // A terminate with the same inputs leaves it too.
  ok(await runAction(hubInputs('taken', { state: 'terminated' })), 'the terminate');
  expect(await recordsOf(name)).toEqual([{ name, type: 'A', ttl: 300, values: ['192.0.2.10'] }]);
}, 120_000);

test('https-staging: a staging certificate for the name, accepted as such', async () => {
  const hub = 'staged';
  const name = `${hub}.${ZONE_NAME}`;
  await resetEmulator();
  const r = ok(await runAction(hubInputs(hub, { 'https-staging': 'true' })), 'the create');
  expect(r.outputs['hub-url']).toBe(`https://${name}/`);
  expect(r.stdout).toMatch(/staging CA/);
  const cert = await hubCertificate(r.outputs['public-ip']!, name);
  expect(cert.subjectCN).toBe(name);
  expect(cert.issuerO).toMatch(/\(STAGING\)/);
  expect(cert.verifiesWithProductionCa).toBe(false);
  ok(await runAction(hubInputs(hub, { state: 'terminated' })), 'the terminate');
}, 240_000);

test('from the staging CA to production in a re-run: the stored staging certificate is replaced', async () => {
  const hub = 'promoted';
  const name = `${hub}.${ZONE_NAME}`;
  await resetEmulator();
  const staged = ok(await runAction(hubInputs(hub, { 'https-staging': 'true' })), 'the create');
  const ip = staged.outputs['public-ip']!;
  expect((await hubCertificate(ip, name)).issuerO).toMatch(/\(STAGING\)/);
  // traefik would keep serving the staging certificate: the action empties acme.json first.
  const promoted = ok(await runAction(hubInputs(hub)), 'the re-run without https-staging');
  // The runner saw it: the log names the certificate and its (stand-in) production issuer.
  expect(promoted.stdout).toContain(`Certificate for ${name} from Let's Encrypt stand-in`);
  expect(promoted.stdout).not.toMatch(/not ready/);
  expect(await hubCertificate(ip, name)).toMatchObject({
    subjectCN: name,
    verifiesWithProductionCa: true,
  });
  ok(await runAction(hubInputs(hub, { state: 'terminated' })), 'the terminate');
}, 240_000);
