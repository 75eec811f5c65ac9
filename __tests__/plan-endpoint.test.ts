// The plan's address and record steps (elastic-ip, dns-name), read from the hub's tags alone:
// attached and pointed before TLJH is installed, skipped when the tags say they hold, the record
// moved at every start without an Elastic IP, withdrawn at a stop, and both removed at terminate.
import type { InstanceState, ObservedInstance } from '../src/model.ts';
import { planSteps, type EndpointSpec, type Step } from '../src/plan.ts';
import { TAG_DNS_ADDRESS, TAG_DNS_RECORD, TAG_ELASTIC_IP } from '../src/tags.ts';

const V = '2.0.0';
const ZONE = 'Z0123456789ABCDEFGHIJ';
const NAME = 'hub.example.org';
const BOTH: EndpointSpec = { elasticIp: true, dns: { zoneId: ZONE, name: NAME } };
const DNS_ONLY: EndpointSpec = { elasticIp: false, dns: { zoneId: ZONE, name: NAME } };
const EIP = '198.51.100.7';

function hub(state: InstanceState, tags: Record<string, string>, publicIp?: string) {
  const instance: ObservedInstance = {
    instanceId: 'i-1',
    state,
    installedVersion: V,
    publicIp,
    tags,
  };
  return { instance };
}
const attached = { [TAG_ELASTIC_IP]: `eipalloc-1 ${EIP}` };
const pointed = (ip: string) => ({ [TAG_DNS_RECORD]: `${ZONE}/${NAME}`, [TAG_DNS_ADDRESS]: ip });
const kinds = (steps: Step[]) => steps.map((s) => s.kind);

test('a new hub: launch, running, address, record, then the agent and the install', () => {
  expect(kinds(planSteps({}, 'running', V, undefined, BOTH).steps)).toEqual([
    'launch',
    'wait',
    'attach-address',
    'point-record',
    'wait-agent',
    'install',
  ]);
});

test.each([
  [
    'running, address and record as tagged',
    hub('running', { ...attached, ...pointed(EIP) }, EIP),
    BOTH,
    ['check-health'],
  ],
  [
    'running, record at another address',
    hub('running', { ...attached, ...pointed('192.0.2.1') }, EIP),
    BOTH,
    ['point-record', 'check-health'],
  ],
  [
    'running, no address yet',
    hub('running', pointed('192.0.2.1'), '192.0.2.1'),
    BOTH,
    ['attach-address', 'point-record', 'check-health'],
  ],
  [
    'stopped with its Elastic IP: the start changes neither',
    hub('stopped', { ...attached, ...pointed(EIP) }, EIP),
    BOTH,
    ['start', 'wait', 'check-health'],
  ],
  [
    'stopped without one: the record follows the new address',
    hub('stopped', { [TAG_DNS_RECORD]: `${ZONE}/${NAME}` }),
    DNS_ONLY,
    ['start', 'wait', 'point-record', 'check-health'],
  ],
  [
    'running without one, as tagged',
    hub('running', pointed('192.0.2.1'), '192.0.2.1'),
    DNS_ONLY,
    ['check-health'],
  ],
])('%s', (_name, observed, endpoint, want) => {
  expect(kinds(planSteps(observed, 'running', V, undefined, endpoint).steps)).toEqual(want);
});

test('dns-name no longer given on a running hub: its record is deleted', () => {
  const tagged = hub('running', pointed('192.0.2.1'), '192.0.2.1');
  expect(planSteps(tagged, 'running', V, undefined, { elasticIp: false }).steps).toEqual([
    { kind: 'delete-record', name: NAME },
    { kind: 'check-health' },
  ]);
});

test('a stop withdraws the A record only without an Elastic IP', () => {
  const noEip = hub('running', pointed('192.0.2.1'), '192.0.2.1');
  expect(planSteps(noEip, 'stopped', V, undefined, DNS_ONLY).steps).toContainEqual({
    kind: 'withdraw-record',
    name: NAME,
  });
  const withEip = hub('running', { ...attached, ...pointed(EIP) }, EIP);
  expect(kinds(planSteps(withEip, 'stopped', V, undefined, BOTH).steps)).not.toContain(
    'withdraw-record',
  );
});

test('a terminate releases the address and deletes the record, from the tags alone', () => {
  const tagged = hub('stopped', { ...attached, ...pointed(EIP) }, EIP);
  expect(planSteps(tagged, 'terminated', V).steps).toEqual([
    { kind: 'terminate' },
    { kind: 'wait', until: 'terminated' },
    { kind: 'release-address' },
    { kind: 'delete-record', name: NAME },
  ]);
});
