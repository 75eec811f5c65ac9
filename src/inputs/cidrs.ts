// allowed-cidrs: IPv4 and IPv6 blocks, deduplicated, within EC2's security group rule quota.
import { InputError } from '../errors.ts';
import { list, printable } from './fields.ts';

export function isCidr(raw: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
  if (v4) {
    return v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 32;
  }
  const v6 = /^([0-9a-f:]+)\/(\d{1,3})$/i.exec(raw);
  if (!v6 || Number(v6[2]) > 128) return false;
  const addr = v6[1]!;
  const halves = addr.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  const okGroups = groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g));
  return okGroups && (halves.length === 2 ? groups.length < 8 : groups.length === 8);
}

/** One key per distinct block: EC2 refuses a request that names the same rule twice. */
export function cidrKey(cidr: string): string {
  const [addr, bits] = cidr.split('/') as [string, string];
  if (!addr.includes(':')) return `${addr.split('.').map(Number).join('.')}/${Number(bits)}`;
  const [head, tail] = addr.toLowerCase().split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const fill =
    tail === undefined
      ? []
      : Array<string>(8 - groups(head).length - groups(tail).length).fill('0');
  const all = [...groups(head), ...fill, ...groups(tail)].map((g) => parseInt(g, 16).toString(16));
  return `${all.join(':')}/${Number(bits)}`;
}

/**
 * EC2's default quota is 60 inbound rules per security group, counted apart for IPv4 and IPv6,
 * and the hub's own group needs two rules per block (ports 80 and 443, src/aws/ec2.ts).
 */
export const INBOUND_RULES_QUOTA = 60;
const RULES_PER_CIDR = 2;
const MAX_CIDRS_PER_FAMILY = INBOUND_RULES_QUOTA / RULES_PER_CIDR;

export function parseCidrs(raw: string): string[] {
  const seen = new Set<string>();
  const cidrs: string[] = [];
  for (const cidr of list(raw)) {
    if (!isCidr(cidr)) {
      throw new InputError(
        'allowed-cidrs',
        `'${printable(cidr)}' is not a CIDR block`,
        'IPv4 or IPv6 CIDR blocks such as 203.0.113.0/24 or ::/0, separated by commas or new lines',
      );
    }
    const key = cidrKey(cidr);
    if (!seen.has(key)) cidrs.push(cidr);
    seen.add(key);
  }
  for (const [family, blocks] of [
    ['IPv4', cidrs.filter((c) => !c.includes(':'))],
    ['IPv6', cidrs.filter((c) => c.includes(':'))],
  ] as const) {
    if (blocks.length > MAX_CIDRS_PER_FAMILY) {
      throw new InputError(
        'allowed-cidrs',
        `${blocks.length} ${family} blocks need ${blocks.length * RULES_PER_CIDR} inbound rules (one for port 80 and one for 443 each), more than EC2's default quota of ${INBOUND_RULES_QUOTA} inbound rules per security group`,
        `at most ${MAX_CIDRS_PER_FAMILY} IPv4 and ${MAX_CIDRS_PER_FAMILY} IPv6 blocks (the quota counts each family apart); for more, pass security-group-ids with groups of your own`,
      );
    }
  }
  return cidrs;
}
