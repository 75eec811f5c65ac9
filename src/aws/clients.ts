// SDK clients. They honour AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_EC2 and AWS_ENDPOINT_URL_SSM by
// themselves, which is how the emulator suite (and a trial without an AWS account) runs.
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';

export interface Clients {
  ec2: EC2Client;
  ssm: SSMClient;
}

export function createClients(region: string): Clients {
  // The SDK's adaptive retry mode backs off with jitter on throttling (RequestLimitExceeded,
  // ThrottlingException), 5xx and timeouts, and rate-limits itself client-side.
  const config = { region, retryMode: 'adaptive', maxAttempts: 8 } as const;
  return { ec2: new EC2Client(config), ssm: new SSMClient(config) };
}
