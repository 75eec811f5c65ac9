// EC2Client and SSMClient for tests that script AWS's answers call by call with aws-sdk-client-mock
// (the modelled fake AWS is fake-aws.ts): test credentials, and each mock reset before every test.
// Not a test file.
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';

/** Credentials no AWS account accepts: a mocked client never signs for real. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' };

/** An EC2Client, an SSMClient and a Route53Client in `region` with the test credentials. */
export function testClients(region = 'eu-west-1'): {
  ec2: EC2Client;
  ssm: SSMClient;
  route53: Route53Client;
} {
  return {
    ec2: new EC2Client({ region, credentials: TEST_CREDENTIALS }),
    ssm: new SSMClient({ region, credentials: TEST_CREDENTIALS }),
    route53: new Route53Client({ region, credentials: TEST_CREDENTIALS }),
  };
}

/** Mocks EC2Client for this test file (reset before each test) and returns a client to call. */
export function useMockedEc2(): { ec2Mock: AwsClientStub<EC2Client>; ec2: EC2Client } {
  const ec2Mock = mockClient(EC2Client);
  beforeEach(() => ec2Mock.reset());
  return { ec2Mock, ec2: testClients().ec2 };
}

/** Mocks SSMClient for this test file (reset before each test) and returns a client to call. */
export function useMockedSsm(): { ssmMock: AwsClientStub<SSMClient>; ssm: SSMClient } {
  const ssmMock = mockClient(SSMClient);
  beforeEach(() => ssmMock.reset());
  return { ssmMock, ssm: testClients().ssm };
}
