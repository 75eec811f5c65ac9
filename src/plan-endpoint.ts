// The plan's steps for where a hub is reached (elastic-ip, dns-name), read from the hub's tags
// alone (pure): its Elastic IP attached and its record pointed once it runs, nothing asked of
// AWS when the tags say both hold; a record moved at every start without an Elastic IP, and
// deleted when dns-name is no longer given.
import { refTag, type DnsRef } from './dns-record.ts';
import type { ObservedInstance } from './model.ts';
import { TAG_DNS_ADDRESS, TAG_DNS_RECORD, TAG_ELASTIC_IP } from './tags.ts';

/** The steps planned here (part of plan.ts's Step). */
export type EndpointStep =
  | { kind: 'attach-address' }
  | { kind: 'point-record'; name: string }
  | { kind: 'delete-record'; name: string };

/** Where the hub is to be reached (elastic-ip, dns-name): the parts of the spec planned here. */
export interface EndpointSpec {
  elasticIp: boolean;
  dns?: { zoneId: string; name: string };
}

/** The hub's tag says its Elastic IP is its public IP now: nothing to attach. */
export function addressAttached(i: ObservedInstance | undefined): boolean {
  const ip = i?.tags?.[TAG_ELASTIC_IP]?.split(' ')[1];
  return Boolean(ip && i?.publicIp === ip);
}

/** The hub's tags say its record points at its public IP now. */
export function recordCurrent(i: ObservedInstance | undefined, ref: DnsRef): boolean {
  return (
    i?.tags?.[TAG_DNS_RECORD] === refTag(ref) &&
    Boolean(i.publicIp) &&
    i.tags[TAG_DNS_ADDRESS] === i.publicIp
  );
}

/**
 * Once the instance runs: its Elastic IP, then its record (at the address it will keep), both
 * before TLJH is installed or its settings applied (Let's Encrypt validates the name as soon
 * as traefik starts with HTTPS on). The tags say when there is nothing to do; a restart without
 * an Elastic IP always moves the record (a start gives a new public IP).
 */
export function endpointSteps(
  instance: ObservedInstance | undefined,
  endpoint: EndpointSpec,
  restarts: boolean,
): EndpointStep[] {
  const steps: EndpointStep[] = [];
  const attach = endpoint.elasticIp && !addressAttached(instance);
  if (attach) steps.push({ kind: 'attach-address' });
  // The hub's address changes when its Elastic IP is attached, or at a start without one.
  const moves = attach || (restarts && !endpoint.elasticIp);
  if (endpoint.dns && (moves || !recordCurrent(instance, endpoint.dns)))
    steps.push({ kind: 'point-record', name: endpoint.dns.name });
  // dns-name no longer given: the hub's record goes (it would dangle after the next stop).
  const former = instance?.tags?.[TAG_DNS_RECORD]?.split('/')[1];
  if (!endpoint.dns && former) steps.push({ kind: 'delete-record', name: former });
  return steps;
}
