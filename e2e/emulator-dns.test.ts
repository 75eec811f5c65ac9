// About 900 lines: the emulator's three new parts and their audit mapping, each checked end to end.
// The emulator's Route 53, Elastic IPs and Let's Encrypt stand-in (no dist/ needed): the calls
// the action makes for a hub's address and DNS name, sent straight through the SDK to the
// front, behave as the action expects from AWS; the hubs' traefik obtains a certificate when it
// starts (a proxy reload, a boot) while DNS points at the hub and port 443 is open to the
// internet, and keeps it; and the IAM audit maps each of these calls.
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstancesCommand,
  DisassociateAddressCommand,
  ReleaseAddressCommand,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type RRType,
} from '@aws-sdk/client-route-53';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { buildInstallScript } from '../src/bootstrap.ts';
import {
  frontUrl,
  getCalls,
  hubApiUrl,
  resetEmulator,
  setScenario,
  useLightInstances,
} from './harness/emulator.ts';
import { readOnInstance } from './harness/instance.ts';
import { createHostedZone, hubCertificate, listRecords, putRecord } from './harness/dns.ts';
import { getAddresses, runCommand, useFrontClients } from './harness/ec2.ts';
import { evaluate, type PolicyDocument } from './harness/iam-audit.ts';
import { recordedRequests } from './harness/iam-requests.ts';
import { ACME_PRODUCTION_ROOT } from './harness/paths.ts';

useLightInstances();

const aws = useFrontClients();
let route53: Route53Client;
beforeAll(() => {
  route53 = new Route53Client({
    region: 'us-east-1',
    endpoint: frontUrl(),
    credentials: { accessKeyId: 'AKIAEMULATOREXAMPLE1', secretAccessKey: 'emulator' },
    maxAttempts: 1,
  });
});
afterAll(() => route53.destroy());

beforeEach(async () => {
  await resetEmulator({ aws: true });
});

const AMI_PARAMETER =
  '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';
const ZONE = 'example.net';
const NAME = 'hub.example.net';
const TRAEFIK_DEFAULT = 'TRAEFIK DEFAULT CERT';

/** A security group letting tcp `ports` in from `cidrs` (IPv4) and `cidrsV6`. */
async function group(
  name: string,
  ports: number[],
  cidrs: string[] = ['0.0.0.0/0'],
  cidrsV6: string[] = ['::/0'],
): Promise<string> {
  const { GroupId } = await aws.ec2.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name }),
  );
  if (ports.length) await allow(GroupId!, ports, cidrs, cidrsV6);
  return GroupId!;
}

function allow(groupId: string, ports: number[], cidrs: string[], cidrsV6: string[] = []) {
  return aws.ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: ports.map((port) => ({
        IpProtocol: 'tcp',
        FromPort: port,
        ToPort: port,
        IpRanges: cidrs.map((CidrIp) => ({ CidrIp })),
        Ipv6Ranges: cidrsV6.map((CidrIpv6) => ({ CidrIpv6 })),
      })),
    }),
  );
}

async function launch(groups?: string[]): Promise<{ id: string; ip: string }> {
  const ami = (await aws.ssm.send(new GetParameterCommand({ Name: AMI_PARAMETER }))).Parameter!
    .Value!;
  const out = await aws.ec2.send(
    new RunInstancesCommand({
      ImageId: ami,
      InstanceType: 't3.small',
      MinCount: 1,
      MaxCount: 1,
      ...(groups && { SecurityGroupIds: groups }),
    }),
  );
  const instance = out.Instances![0]!;
  return { id: instance.InstanceId!, ip: instance.PublicIpAddress! };
}

/** Runs a script on the instance through Run Command; returns its output (it must succeed). */
async function run(instanceId: string, script: string): Promise<string> {
  const out = await runCommand(aws.ssm, instanceId, script);
  expect(out.status).toBe('Success');
  return out.stdout;
}

/**
 * A hub (light, or real TLJH when the scenario says so), installed; by default in a group with
 * 80 and 443 open to the internet, as the action makes it.
 */
async function hub(groups?: string[]): Promise<{ id: string; ip: string }> {
  const launched = await launch(groups ?? [await group(`tljh-${Date.now()}`, [80, 443])]);
  await run(
    launched.id,
    buildInstallScript({ tljhVersion: '2.0.0', adminUser: 'naomi', region: 'us-east-1' }),
  );
  return launched;
}

/** What the action's settings step does for HTTPS: tljh-config, then TLJH's proxy reload. */
function turnHttpsOn(instanceId: string, opts: { staging?: boolean } = {}) {
  return run(
    instanceId,
    [
      'set -e',
      'tljh-config set https.enabled true',
      'tljh-config set https.letsencrypt.email admin@example.net',
      ...(opts.staging ? ['tljh-config set https.letsencrypt.staging true'] : []),
      `tljh-config add-item https.letsencrypt.domains ${NAME}`,
      'tljh-config reload proxy',
      'tljh-config reload hub',
    ].join('\n'),
  );
}

/** TLJH's proxy reload (traefik restarts), after `before` (shell). */
function reloadProxy(instanceId: string, before = ''): Promise<string> {
  return run(instanceId, `set -e\n${before}\ntljh-config reload proxy`);
}

/** The hub's acme.json, as traefik keeps it ('' when it has none). */
async function acmeJson(instanceId: string): Promise<string> {
  return run(instanceId, 'cat /opt/tljh/state/acme.json 2>/dev/null || true');
}

function upsert(name: string, type: RRType, values: string[], ttl = 60): Change {
  return {
    Action: 'UPSERT',
    ResourceRecordSet: {
      Name: name,
      Type: type,
      TTL: ttl,
      ResourceRecords: values.map((Value) => ({ Value })),
    },
  };
}

function remove(name: string, type: RRType, values: string[], ttl = 60): Change {
  return { ...upsert(name, type, values, ttl), Action: 'DELETE' };
}

function create(name: string, type: RRType, values: string[], ttl = 60): Change {
  return { ...upsert(name, type, values, ttl), Action: 'CREATE' };
}

function change(HostedZoneId: string, Changes: Change[]) {
  return route53.send(
    new ChangeResourceRecordSetsCommand({ HostedZoneId, ChangeBatch: { Changes } }),
  );
}

/** The public IP DescribeInstances shows for the instance. */
/** Allocates an Elastic IP tagged as hub 'dns' (as the action does); its id and address. */
async function allocateAddress(): Promise<{ allocationId: string; publicIp: string }> {
  const out = await aws.ec2.send(
    new AllocateAddressCommand({
      Domain: 'vpc',
      TagSpecifications: [
        {
          ResourceType: 'elastic-ip',
          Tags: [
            { Key: 'tljh:hub', Value: 'dns' },
            { Key: 'tljh:managed-by', Value: 'tljh-ec2-action' },
            { Key: 'Name', Value: 'tljh-dns' },
          ],
        },
      ],
    }),
  );
  return { allocationId: out.AllocationId!, publicIp: out.PublicIp! };
}

async function publicIp(id: string): Promise<string | undefined> {
  const out = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0]?.PublicIpAddress;
}

test('Route 53 calls are journalled by operation, with their changes; a change is PENDING, then INSYNC', async () => {
  const zoneId = await createHostedZone(ZONE);
  const zone = await route53.send(new GetHostedZoneCommand({ Id: zoneId }));
  expect(zone.HostedZone?.Name).toBe(`${ZONE}.`);

  const owner = '"owner=tljh-ec2-action/hub"';
  const made = await change(zoneId, [
    upsert(NAME, 'A', ['127.3.4.5']),
    upsert(`_tljh-ec2-action.${NAME}`, 'TXT', [owner]),
  ]);
  expect(made.ChangeInfo?.Status).toBe('PENDING');
  const changeId = made.ChangeInfo!.Id!;
  expect(changeId).toMatch(/^\/change\/C[0-9A-Z]+$/);
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await route53.send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Status);
  }
  expect(statuses).toEqual(['PENDING', 'INSYNC', 'INSYNC']);
  // Each change has its own id; an id Route 53 never gave is NoSuchChange.
  const next = await change(zoneId, [upsert(NAME, 'A', ['127.3.4.6'])]);
  expect(next.ChangeInfo!.Id).not.toBe(changeId);
  await expect(route53.send(new GetChangeCommand({ Id: 'C2682N5HXP0BZ4' }))).rejects.toHaveProperty(
    'name',
    'NoSuchChange',
  );

  // The action's look-up of its two records: from the name, A first.
  const listed = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: NAME,
      StartRecordType: 'A',
      MaxItems: 2,
    }),
  );
  expect(listed.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual([
    `${NAME}. A`,
    `_tljh-ec2-action.${NAME}. TXT`,
  ]);
  expect(await listRecords(zoneId)).toEqual(
    expect.arrayContaining([
      { name: NAME, type: 'A', ttl: 60, values: ['127.3.4.6'] },
      { name: `_tljh-ec2-action.${NAME}`, type: 'TXT', ttl: 60, values: [owner] },
    ]),
  );

  const calls = (await getCalls()).filter((c) => c.service === 'route53');
  expect(calls.map((c) => `${c.operation} ${c.status}`)).toEqual([
    'CreateHostedZone 201',
    'GetHostedZone 200',
    'ChangeResourceRecordSets 200',
    'GetChange 200',
    'GetChange 200',
    'GetChange 200',
    'ChangeResourceRecordSets 200',
    'GetChange 404',
    'ListResourceRecordSets 200',
    'ListResourceRecordSets 200',
  ]);
  expect(calls[2]!.params).toEqual({
    HostedZoneId: zoneId,
    Changes: [
      { Action: 'UPSERT', Name: NAME, Type: 'A', TTL: 60, Values: ['127.3.4.5'] },
      { Action: 'UPSERT', Name: `_tljh-ec2-action.${NAME}`, Type: 'TXT', TTL: 60, Values: [owner] },
    ],
  });
  expect(calls[3]!.params).toEqual({ Id: changeId.replace('/change/', '') });
  expect(calls[8]!.params).toEqual({
    HostedZoneId: zoneId,
    StartRecordName: NAME,
    StartRecordType: 'A',
    MaxItems: '2',
  });
});

test('a DELETE must name the record set as it is now, and a refused batch changes nothing', async () => {
  const zoneId = await createHostedZone(ZONE);
  await change(zoneId, [upsert(NAME, 'A', ['127.3.4.5'])]);
  await change(zoneId, [upsert(NAME, 'A', ['127.3.4.6'])]); // someone else moved it

  // Values that were, but are no longer: refused (moto deleted the record).
  await expect(change(zoneId, [remove(NAME, 'A', ['127.3.4.5'])])).rejects.toMatchObject({
    name: 'InvalidChangeBatch',
    message: `[Tried to delete resource record set [name='${NAME}.', type='A'] but the values provided do not match the current values]`,
  });
  // Atomic: the UPSERT of a batch with a bad DELETE is not applied either.
  await expect(
    change(zoneId, [
      upsert(NAME, 'A', ['127.9.9.9']),
      remove(`_tljh-ec2-action.${NAME}`, 'TXT', ['"owner=x"']),
    ]),
  ).rejects.toMatchObject({
    name: 'InvalidChangeBatch',
    message: `[Tried to delete resource record set [name='_tljh-ec2-action.${NAME}.', type='TXT'] but it was not found]`,
  });
  // Another TTL is another record set.
  await expect(change(zoneId, [remove(NAME, 'A', ['127.3.4.6'], 300)])).rejects.toHaveProperty(
    'name',
    'InvalidChangeBatch',
  );
  expect((await listRecords(zoneId)).filter((r) => r.type === 'A')).toEqual([
    { name: NAME, type: 'A', ttl: 60, values: ['127.3.4.6'] },
  ]);

  // As it is now, with the name in any case and a trailing dot: deleted.
  await change(zoneId, [remove(`HUB.example.net.`, 'A', ['127.3.4.6'])]);
  expect((await listRecords(zoneId)).filter((r) => r.type === 'A')).toEqual([]);
});

test('a CREATE of a set that exists is refused, and a CNAME shares its name with no other set', async () => {
  const zoneId = await createHostedZone(ZONE);
  await change(zoneId, [create(NAME, 'A', ['127.3.4.5'])]);
  await expect(change(zoneId, [create(NAME, 'A', ['127.3.4.6'])])).rejects.toMatchObject({
    name: 'InvalidChangeBatch',
    message: `[Tried to create resource record set [name='${NAME}.', type='A'] but it already exists]`,
  });

  // An A (CREATE or UPSERT), or any other type, where a CNAME is.
  const www = `www.${ZONE}`;
  await change(zoneId, [upsert(www, 'CNAME', ['hubs.example.com'])]);
  for (const refused of [create(www, 'A', ['127.3.4.7']), upsert(www, 'A', ['127.3.4.7'])]) {
    await expect(change(zoneId, [refused])).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: `[RRSet of type A with DNS name ${www}. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${ZONE}.]`,
    });
  }
  await expect(change(zoneId, [upsert(www, 'TXT', ['"x"'])])).rejects.toHaveProperty(
    'name',
    'InvalidChangeBatch',
  );
  // A CNAME where another set is, and at the apex.
  await expect(change(zoneId, [upsert(NAME, 'CNAME', ['hubs.example.com'])])).rejects.toMatchObject(
    {
      name: 'InvalidChangeBatch',
      message: `[RRSet of type CNAME with DNS name ${NAME}. is not permitted as it conflicts with other records with the same DNS name in zone ${ZONE}.]`,
    },
  );
  await expect(change(zoneId, [upsert(ZONE, 'CNAME', ['hubs.example.com'])])).rejects.toMatchObject(
    {
      name: 'InvalidChangeBatch',
      message: `[RRSet of type CNAME with DNS name ${ZONE}. is not permitted at apex in zone ${ZONE}.]`,
    },
  );
  // The same CNAME again is fine; and in one batch, the CNAME's DELETE first lets the A in.
  await change(zoneId, [upsert(www, 'CNAME', ['hubs.example.com'])]);
  await change(zoneId, [
    remove(www, 'CNAME', ['hubs.example.com']),
    create(www, 'A', ['127.3.4.7']),
  ]);
  expect((await listRecords(zoneId)).filter((r) => r.type === 'A' || r.type === 'CNAME')).toEqual(
    expect.arrayContaining([
      { name: NAME, type: 'A', ttl: 60, values: ['127.3.4.5'] },
      { name: www, type: 'A', ttl: 60, values: ['127.3.4.7'] },
    ]),
  );
  expect((await listRecords(zoneId)).filter((r) => r.type === 'CNAME')).toEqual([]);
});

test('an Elastic IP stays the instance’s public IP across a stop and start, and the hub answers at it', async () => {
  const { id, ip } = await hub();
  const allocated = await allocateAddress();
  const eip = allocated.publicIp;
  const allocationId = allocated.allocationId;
  expect(eip).toMatch(/^127\./);
  expect(eip).not.toBe(ip);
  const { AssociationId } = await aws.ec2.send(
    new AssociateAddressCommand({
      AllocationId: allocationId,
      InstanceId: id,
      AllowReassociation: true,
    }),
  );
  expect(await publicIp(id)).toBe(eip);
  expect(await getAddresses()).toEqual([
    {
      allocationId,
      publicIp: eip,
      instanceId: id,
      associationId: AssociationId,
      tags: { 'tljh:hub': 'dns', 'tljh:managed-by': 'tljh-ec2-action', Name: 'tljh-dns' },
    },
  ]);
  // The action's probe finds the hub at its Elastic IP; nothing answers at its old address.
  expect((await fetch(hubApiUrl(eip))).status).toBe(200);
  expect((await fetch(hubApiUrl(ip))).status).toBe(503);

  // An associated address is not released.
  await expect(
    aws.ec2.send(new ReleaseAddressCommand({ AllocationId: allocationId })),
  ).rejects.toMatchObject({ name: 'InvalidIPAddress.InUse', message: `Address ${eip} is in use.` });

  // Kept while stopped, and after the start (moto drew a new public IP there).
  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  expect(await publicIp(id)).toBe(eip);
  expect((await fetch(hubApiUrl(eip))).status).toBe(503);
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  expect(await publicIp(id)).toBe(eip);
  expect((await getAddresses())[0]).toMatchObject({ instanceId: id, associationId: AssociationId });
  expect((await fetch(hubApiUrl(eip))).status).toBe(200);

  // Disassociated: the instance gets another public IP; the address stays allocated.
  await aws.ec2.send(new DisassociateAddressCommand({ AssociationId }));
  const other = await publicIp(id);
  expect(other).toMatch(/^127\./);
  expect(other).not.toBe(eip);
  expect(await getAddresses()).toEqual([expect.not.objectContaining({ instanceId: id })]);

  // A terminate disassociates it too.
  await aws.ec2.send(new AssociateAddressCommand({ AllocationId: allocationId, InstanceId: id }));
  await aws.ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  const [left] = await getAddresses();
  expect(left).toEqual({ allocationId, publicIp: eip, tags: expect.any(Object) });
  await aws.ec2.send(new ReleaseAddressCommand({ AllocationId: allocationId }));
  expect(await getAddresses()).toEqual([]);

  // The journal keeps the address each call named, with its tags, for the audit.
  const release = (await getCalls()).find((c) => c.operation === 'ReleaseAddress');
  expect(release?.address).toMatchObject({
    allocationId,
    associationId: AssociationId,
    tags: { 'tljh:managed-by': 'tljh-ec2-action' },
  });
});

/** GET https://<name>/hub/api at `address`, trusting the stand-in's production CA only. */
function hubApiOverTls(address: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: address,
        servername: name,
        headers: { host: name },
        path: '/hub/api',
        ca: [readFileSync(ACME_PRODUCTION_ROOT)],
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('traefik obtains its certificate when it starts while the A record points at it, stores it, and keeps serving it', async () => {
  const { id, ip } = await hub();
  const zoneId = await createHostedZone(ZONE);

  // Nothing yet: traefik's own certificate.
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  // DNS points elsewhere at the proxy reload: Let's Encrypt's challenge reaches someone else.
  await putRecord(zoneId, NAME, 'A', ['127.9.9.9']);
  await turnHttpsOn(id);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  // traefik does not try again by itself once DNS is right: only at its next start.
  await putRecord(zoneId, NAME, 'A', [ip]);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  expect(await acmeJson(id)).toBe('');

  await reloadProxy(id);
  const issued = await hubCertificate(ip, NAME);
  expect(issued).toEqual({
    subjectCN: NAME,
    altNames: [NAME],
    issuerO: "Let's Encrypt stand-in",
    issuerCN: "Let's Encrypt stand-in E1",
    verifiesWithProductionCa: true,
  });
  expect(await hubApiOverTls(ip, NAME)).toBe(200);
  // Stored as traefik stores it.
  const stored = JSON.parse(await acmeJson(id)) as Record<string, unknown>;
  expect(stored).toEqual({
    letsencrypt: {
      Account: {
        Email: 'admin@example.net',
        Registration: {
          uri: expect.stringMatching(/^https:\/\/acme-v02\.api\.letsencrypt\.org\//),
        },
        KeyType: '4096',
      },
      Certificates: [
        {
          domain: { main: NAME },
          certificate: expect.any(String),
          key: expect.any(String),
          Store: 'default',
        },
      ],
    },
  });
  // A name the hub's traefik has no certificate for: the store's default, which is the one
  // obtained for the defaultGeneratedCert domains (not valid for that name).
  await putRecord(zoneId, `other.${ZONE}`, 'A', [ip]);
  expect(await hubCertificate(ip, `other.${ZONE}`)).toMatchObject({
    subjectCN: NAME,
    verifiesWithProductionCa: false,
  });

  // Served whatever the record says from then on; a reload with it stored orders nothing.
  await putRecord(zoneId, NAME, 'A', ['127.9.9.9']);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(NAME);
  await reloadProxy(id);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(NAME);
  expect(await acmeJson(id)).toBe(JSON.stringify(stored, null, 2) + '\n');

  // Across a stop and start, at the hub's new public IP: traefik loads acme.json.
  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await expect(hubCertificate(ip, NAME)).resolves.toHaveProperty('subjectCN', TRAEFIK_DEFAULT);
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  const next = (await publicIp(id))!;
  expect(next).not.toBe(ip);
  expect((await hubCertificate(next, NAME)).subjectCN).toBe(NAME);

  // Without acme.json (the action deletes it when the CA or the names change), the reload
  // orders one: DNS points elsewhere, so none.
  await reloadProxy(id, 'rm -f /opt/tljh/state/acme.json');
  expect((await hubCertificate(next, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  // A start of the stopped hub is traefik's next try: at an Elastic IP the record names.
  const allocated = await allocateAddress();
  await aws.ec2.send(
    new AssociateAddressCommand({ AllocationId: allocated.allocationId, InstanceId: id }),
  );
  const eip = allocated.publicIp;
  await putRecord(zoneId, NAME, 'A', [eip]);
  expect((await hubCertificate(eip, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  expect(await hubCertificate(eip, NAME)).toMatchObject({
    subjectCN: NAME,
    verifiesWithProductionCa: true,
  });

  // Names in no hosted zone keep the scenario's *.example.org certificate, or traefik's.
  expect((await hubCertificate(ip, 'hub.example.org')).subjectCN).toBe('example.org');
  await setScenario({ certificateIssued: false });
  expect((await hubCertificate(ip, 'hub.example.org')).subjectCN).toBe(TRAEFIK_DEFAULT);
});

test("Let's Encrypt must reach the hub's port 443 from the internet (IPv4: the name has no AAAA)", async () => {
  const closed = await group('tljh-closed', [80]);
  const { id, ip } = await hub([closed]);
  const zoneId = await createHostedZone(ZONE);
  await putRecord(zoneId, NAME, 'A', [ip]);
  await turnHttpsOn(id);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  // Open to a range Let's Encrypt does not validate from, and to all of IPv6: still none.
  await allow(closed, [443], ['203.0.113.0/24'], ['::/0']);
  await reloadProxy(id);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  await allow(closed, [443], ['0.0.0.0/0']);
  await reloadProxy(id);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(NAME);
});

test('with https.letsencrypt.staging the certificate comes from the untrusted staging CA, and stays until acme.json goes', async () => {
  const { id, ip } = await hub();
  const zoneId = await createHostedZone(ZONE);
  await putRecord(zoneId, NAME, 'A', [ip]);
  await turnHttpsOn(id, { staging: true });
  const cert = await hubCertificate(ip, NAME);
  expect(cert).toEqual({
    subjectCN: NAME,
    altNames: [NAME],
    issuerO: "(STAGING) Let's Encrypt",
    issuerCN: '(STAGING) Emulator Ersatz E1',
    verifiesWithProductionCa: false,
    error: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  });
  expect(JSON.parse(await acmeJson(id))).toMatchObject({
    letsencrypt: { Account: { Registration: { uri: expect.stringMatching(/acme-staging-v02/) } } },
  });
  // At an Elastic IP, the same: traefik serves what it holds.
  const allocated = await allocateAddress();
  await aws.ec2.send(
    new AssociateAddressCommand({ AllocationId: allocated.allocationId, InstanceId: id }),
  );
  const eip = allocated.publicIp;
  expect((await hubCertificate(eip, NAME)).issuerO).toBe("(STAGING) Let's Encrypt");
  await putRecord(zoneId, NAME, 'A', [eip]);
  // The production CA from the next reload: traefik resets its account, keeps the certificate.
  await reloadProxy(id, 'tljh-config set https.letsencrypt.staging false');
  expect((await hubCertificate(eip, NAME)).issuerO).toBe("(STAGING) Let's Encrypt");
  // Without acme.json, the reload orders one from production.
  await reloadProxy(id, 'rm -f /opt/tljh/state/acme.json');
  expect(await hubCertificate(eip, NAME)).toMatchObject({
    issuerO: "Let's Encrypt stand-in",
    verifiesWithProductionCa: true,
  });
});

test('a real TLJH hub: its traefik obtains the certificate at the proxy reload and keeps it in acme.json', async () => {
  await setScenario({ tljh: 'real' });
  const { id, ip } = await hub();
  const zoneId = await createHostedZone(ZONE);
  await putRecord(zoneId, NAME, 'A', [ip]);
  expect((await hubCertificate(ip, NAME)).subjectCN).toBe(TRAEFIK_DEFAULT);
  // TLJH's own tljh-config: traefik gets the resolver at the proxy reload, the domains in its
  // dynamic config.
  await turnHttpsOn(id);
  expect(readOnInstance(id, 'opt/tljh/state/rules/dynamic.toml')).toContain(`main = "${NAME}"`);
  expect(await hubCertificate(ip, NAME)).toMatchObject({
    subjectCN: NAME,
    issuerO: "Let's Encrypt stand-in",
    verifiesWithProductionCa: true,
  });
  expect(await hubApiOverTls(ip, NAME)).toBe(200);
  const stored = JSON.parse(readOnInstance(id, 'opt/tljh/state/acme.json') ?? '{}') as {
    letsencrypt?: { Certificates?: { domain?: { main?: string } }[] };
  };
  expect(stored.letsencrypt?.Certificates?.map((c) => c.domain?.main)).toEqual([NAME]);
  // Staging from the next proxy reload? traefik keeps the certificate it holds...
  await reloadProxy(id, 'tljh-config set https.letsencrypt.staging true');
  expect((await hubCertificate(ip, NAME)).issuerO).toBe("Let's Encrypt stand-in");
  // ...until acme.json goes (TLJH's reload makes it again, empty).
  await reloadProxy(id, 'rm -f /opt/tljh/state/acme.json');
  expect((await hubCertificate(ip, NAME)).issuerO).toBe("(STAGING) Let's Encrypt");
});

/** A policy as docs/iam/caller-policy.json would grant the calls for a hub's address and name. */
const POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['ec2:AllocateAddress', 'ec2:CreateTags'],
      Resource: 'arn:aws:ec2:*:*:elastic-ip/*',
      Condition: { StringEquals: { 'aws:RequestTag/tljh:managed-by': 'tljh-ec2-action' } },
    },
    {
      Effect: 'Allow',
      Action: ['ec2:AssociateAddress', 'ec2:DisassociateAddress', 'ec2:ReleaseAddress'],
      Resource: ['arn:aws:ec2:*:*:elastic-ip/*', 'arn:aws:ec2:*:*:instance/*'],
      Condition: { StringEquals: { 'aws:ResourceTag/tljh:managed-by': 'tljh-ec2-action' } },
    },
    {
      Effect: 'Allow',
      Action: ['ec2:AssociateAddress', 'ec2:DisassociateAddress'],
      Resource: 'arn:aws:ec2:*:*:network-interface/*',
    },
    { Effect: 'Allow', Action: 'ec2:DescribeAddresses', Resource: '*' },
    {
      Effect: 'Allow',
      Action: ['route53:GetHostedZone', 'route53:ListResourceRecordSets', 'route53:GetChange'],
      Resource: ['arn:aws:route53:::hostedzone/*', 'arn:aws:route53:::change/*'],
    },
    {
      Effect: 'Allow',
      Action: 'route53:ChangeResourceRecordSets',
      Resource: 'arn:aws:route53:::hostedzone/*',
      Condition: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsActions': ['CREATE', 'UPSERT', 'DELETE'],
          'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'TXT'],
        },
        'ForAllValues:StringLike': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
            'hub.example.net',
            '_tljh-ec2-action.hub.example.net',
          ],
        },
      },
    },
  ],
};

test('the IAM audit maps every Elastic IP and Route 53 call, with its resources and conditions', async () => {
  const { id } = await launch();
  const allocated = await allocateAddress();
  const alloc = allocated.allocationId;
  const { AssociationId } = await aws.ec2.send(
    new AssociateAddressCommand({ AllocationId: alloc, InstanceId: id, AllowReassociation: true }),
  );
  await getAddresses();
  await aws.ec2.send(new DisassociateAddressCommand({ AssociationId }));
  await aws.ec2.send(new ReleaseAddressCommand({ AllocationId: alloc }));
  const zoneId = await createHostedZone(ZONE);
  await route53.send(new GetHostedZoneCommand({ Id: zoneId }));
  await route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: NAME }),
  );
  const made = await change(zoneId, [
    upsert(`Hub.Example.net.`, 'A', ['127.3.4.5']),
    upsert(`_tljh-ec2-action.${NAME}`, 'TXT', ['"owner"']),
  ]);
  await route53.send(new GetChangeCommand({ Id: made.ChangeInfo!.Id! }));
  await change(zoneId, [remove(NAME, 'A', ['127.3.4.5'])]);
  // A name nobody has: created, so that a record someone else made meanwhile is not replaced.
  await change(zoneId, [create(NAME, 'A', ['127.3.4.5'])]);
  const described = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const eni = described.Reservations![0]!.Instances![0]!.NetworkInterfaces![0]!.NetworkInterfaceId!;
  expect(eni).toMatch(/^eni-/);

  const at = { account: '123456789012', region: 'us-east-1' };
  const mapped = (await getCalls())
    .filter((c) =>
      /Address|^(GetHostedZone|ListResourceRecordSets|ChangeResourceRecordSets|GetChange)$/.test(
        c.operation,
      ),
    )
    .map((c) => ({ operation: c.operation, requests: recordedRequests(c, at) }));
  const ec2Arn = (resource: string) => `arn:aws:ec2:us-east-1:123456789012:${resource}`;
  const managed = { 'aws:ResourceTag/tljh:managed-by': 'tljh-ec2-action' };
  const addressTags = {
    'aws:ResourceTag/Name': 'tljh-dns',
    'aws:ResourceTag/tljh:hub': 'dns',
    ...managed,
  };
  const zone = `arn:aws:route53:::hostedzone/${zoneId}`;
  const requestTags = {
    'aws:RequestTag/Name': 'tljh-dns',
    'aws:RequestTag/tljh:hub': 'dns',
    'aws:RequestTag/tljh:managed-by': 'tljh-ec2-action',
    'aws:TagKeys': ['tljh:hub', 'tljh:managed-by', 'Name'],
  };
  expect(mapped).toEqual([
    {
      operation: 'AllocateAddress',
      requests: [
        {
          action: 'ec2:AllocateAddress',
          resource: ec2Arn('elastic-ip/eipalloc-allocating'),
          context: requestTags,
        },
        {
          action: 'ec2:CreateTags',
          resource: ec2Arn('elastic-ip/eipalloc-allocating'),
          context: { ...requestTags, 'ec2:CreateAction': 'AllocateAddress' },
        },
      ],
    },
    {
      operation: 'AssociateAddress',
      requests: [
        {
          action: 'ec2:AssociateAddress',
          resource: ec2Arn(`elastic-ip/${alloc}`),
          context: addressTags,
        },
        { action: 'ec2:AssociateAddress', resource: ec2Arn(`instance/${id}`), context: managed },
        // The instance's network interface (the action does not tag it).
        { action: 'ec2:AssociateAddress', resource: ec2Arn(`network-interface/${eni}`) },
      ],
    },
    {
      operation: 'DescribeAddresses',
      requests: [{ action: 'ec2:DescribeAddresses', resource: '*' }],
    },
    {
      operation: 'DisassociateAddress',
      // The journal's address gives the allocation the association belonged to.
      requests: [
        {
          action: 'ec2:DisassociateAddress',
          resource: ec2Arn(`elastic-ip/${alloc}`),
          context: addressTags,
        },
        { action: 'ec2:DisassociateAddress', resource: ec2Arn(`network-interface/${eni}`) },
      ],
    },
    {
      operation: 'ReleaseAddress',
      requests: [
        {
          action: 'ec2:ReleaseAddress',
          resource: ec2Arn(`elastic-ip/${alloc}`),
          context: addressTags,
        },
      ],
    },
    { operation: 'GetHostedZone', requests: [{ action: 'route53:GetHostedZone', resource: zone }] },
    {
      operation: 'ListResourceRecordSets',
      requests: [{ action: 'route53:ListResourceRecordSets', resource: zone }],
    },
    {
      operation: 'ChangeResourceRecordSets',
      requests: [
        {
          action: 'route53:ChangeResourceRecordSets',
          resource: zone,
          context: {
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'TXT'],
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': [
              NAME,
              `_tljh-ec2-action.${NAME}`,
            ],
          },
        },
      ],
    },
    {
      operation: 'GetChange',
      requests: [
        {
          action: 'route53:GetChange',
          resource: `arn:aws:route53:::change/${made.ChangeInfo!.Id!.replace('/change/', '')}`,
        },
      ],
    },
    {
      operation: 'ChangeResourceRecordSets',
      requests: [
        {
          action: 'route53:ChangeResourceRecordSets',
          resource: zone,
          context: {
            'route53:ChangeResourceRecordSetsActions': ['DELETE'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': [NAME],
          },
        },
      ],
    },
    {
      operation: 'ChangeResourceRecordSets',
      requests: [
        {
          action: 'route53:ChangeResourceRecordSets',
          resource: zone,
          context: {
            'route53:ChangeResourceRecordSetsActions': ['CREATE'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': [NAME],
          },
        },
      ],
    },
  ]);

  // A real IAM evaluator accepts every mapped request (no context key foreign to its action),
  // and the conditions decide.
  const principal = 'arn:aws:sts::123456789012:assumed-role/tljh-ec2-action-caller/GitHubActions';
  const decide = (request: Parameters<typeof evaluate>[0]) =>
    evaluate(request, { principal, identityPolicies: [POLICY] });
  for (const { requests } of mapped) {
    for (const request of requests!)
      expect([request, await decide(request)]).toEqual([request, 'Allowed']);
  }
  const foreign = recordedRequests(
    {
      service: 'route53',
      operation: 'ChangeResourceRecordSets',
      params: {
        HostedZoneId: zoneId,
        Changes: [{ Action: 'UPSERT', Name: `www.${ZONE}`, Type: 'A', Values: ['1.2.3.4'] }],
      },
    },
    at,
  )!;
  expect(await decide(foreign[0]!)).toBe('ImplicitlyDenied');
  const untagged = recordedRequests(
    {
      service: 'ec2',
      operation: 'ReleaseAddress',
      params: { AllocationId: alloc },
      address: { allocationId: alloc, tags: {} },
    },
    at,
  )!;
  expect(await decide(untagged[0]!)).toBe('ImplicitlyDenied');
});
