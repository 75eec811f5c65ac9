// Where the hub is reached: an Elastic IP of its own, and a Route 53 record the action keeps
// pointing at it (which also names the certificate when HTTPS is on).
import { InputError } from '../errors.ts';
import { boolean, match } from './fields.ts';
import type { HubSpec } from './spec.ts';

// Route 53's hosted zone ids (upper-case letters and digits, Z... on AWS); the console and the API
// also show them as /hostedzone/<id>.
const ZONE_ID = /^[A-Z0-9]{1,32}$/;
export const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function parseEndpoint(get: (name: string) => string): Pick<HubSpec, 'elasticIp' | 'dns'> {
  const elasticIp = boolean('elastic-ip', get('elastic-ip'));
  const zoneRaw = get('dns-zone-id').replace(/^\/hostedzone\//, '');
  const nameRaw = get('dns-name').toLowerCase().replace(/\.$/, '');
  if (Boolean(zoneRaw) !== Boolean(nameRaw)) {
    throw new InputError(
      zoneRaw ? 'dns-name' : 'dns-zone-id',
      'is required with the other',
      'both dns-zone-id (a Route 53 hosted zone such as Z0123456789ABCDEFGHIJ) and dns-name (a name in that zone such as hub.example.org), or neither',
    );
  }
  if (!zoneRaw) return { elasticIp };
  // The instance's tljh:dns-record tag holds `<zone id>/<name>`: EC2 tag values hold 256.
  if (zoneRaw.length + 1 + nameRaw.length > 256) {
    throw new InputError(
      'dns-name',
      `is ${nameRaw.length} characters long`,
      `a DNS name of at most ${255 - zoneRaw.length} characters with this dns-zone-id`,
    );
  }
  return {
    elasticIp,
    dns: {
      zoneId: match(
        'dns-zone-id',
        zoneRaw,
        ZONE_ID,
        'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ',
      ),
      name: match(
        'dns-name',
        nameRaw,
        DNS_NAME,
        'a DNS name such as hub.example.org or pr-12.hubs.example.org (no wildcard)',
      ),
    },
  };
}
