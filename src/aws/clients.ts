// SDK clients. They honour AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (EC2, SSM, ROUTE_53) by
// themselves, which is how the emulator suite (and a trial without an AWS account) runs.
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';

export interface Clients {
  ec2: EC2Client;
  ssm: SSMClient;
  /** Route 53 is global: the SDK sends it to the partition's one endpoint whatever the region. */
  route53: Route53Client;
}

/**
 * The HTTP handler's limits. The SDK sets none by default: an answer that never comes (a
 * connection dropped without a reset) would hold the run until the job's own time-out. A
 * request with no answer after REQUEST_TIMEOUT_MS fails with TimeoutError, which the retry mode
 * sends again. Every call the action makes answers in seconds.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
export const HTTP_LIMITS = {
  connectionTimeout: 5_000,
  requestTimeout: REQUEST_TIMEOUT_MS,
  throwOnRequestTimeout: true,
} as const;

export function createClients(region: string): Clients {
  // The SDK's adaptive retry mode backs off with jitter on throttling (RequestLimitExceeded,
  // ThrottlingException), 5xx and timeouts, and rate-limits itself client-side.
  const config = {
    region,
    retryMode: 'adaptive',
    maxAttempts: 8,
    requestHandler: HTTP_LIMITS,
  } as const;
  return {
    ec2: new EC2Client(config),
    ssm: new SSMClient(config),
    route53: new Route53Client(config),
  };
}
