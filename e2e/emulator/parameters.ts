// Canonical's public SSM parameters for Ubuntu AMIs, which moto does not have (and where
// `/aws/...` cannot be written). Canonical publishes 24.04 on ebs-gp3 and 22.04 on ebs-gp2,
// so only those pairs exist here, as in AWS.
import type { Moto } from './moto.ts';

const CANONICAL =
  /^\/aws\/service\/canonical\/ubuntu\/server\/(24\.04|22\.04)\/stable\/current\/(amd64|arm64)\/hvm\/(ebs-gp3|ebs-gp2)\/ami-id$/;

const VOLUME_OF: Record<string, string> = { '24.04': 'ebs-gp3', '22.04': 'ebs-gp2' };

export function isAwsParameter(name: string): boolean {
  return name.startsWith('/aws/');
}

/** The parameter in GetParameter's shape, or undefined when AWS would say ParameterNotFound. */
export async function awsParameter(
  moto: Moto,
  region: string,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  const match = CANONICAL.exec(name);
  if (!match || VOLUME_OF[match[1]!] !== match[3]) return undefined;
  const ami = await moto.amiFor(region, match[2] === 'arm64' ? 'arm64' : 'x86_64');
  return {
    Name: name,
    Type: 'String',
    Value: ami,
    Version: 1,
    LastModifiedDate: Date.now() / 1000,
    ARN: `arn:aws:ssm:${region}::parameter${name}`,
    DataType: 'aws:ec2:image',
  };
}
