// The web rules of a hub's own group as EC2 stores them (tcp 80 and 443 from each block), for
// seeding the fake's groups. Not a test file.
import type { IpPermission } from '@aws-sdk/client-ec2';

const permission = (port: number, cidrs: string[]): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: port,
  IpRanges: cidrs.filter((c) => !c.includes(':')).map((CidrIp) => ({ CidrIp })),
  Ipv6Ranges: cidrs.filter((c) => c.includes(':')).map((CidrIpv6) => ({ CidrIpv6 })),
});

export const webRules = (cidrs: string[]): IpPermission[] =>
  [80, 443].map((port) => permission(port, cidrs));
