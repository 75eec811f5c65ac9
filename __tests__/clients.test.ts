import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { HTTP_LIMITS, REQUEST_TIMEOUT_MS, createClients } from '../src/aws/clients.ts';

// An endpoint that takes requests and never answers them (a connection dropped without a reset).
let server: Server;
let requests = 0;
let endpoint = '';
beforeAll(async () => {
  server = createServer(() => {
    requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' };

test('the action’s clients give up on an answer that never comes, after 30 s', async () => {
  const { ec2, ssm } = createClients('us-east-1');
  for (const client of [ec2, ssm]) {
    const handler = client.config.requestHandler as unknown as {
      configProvider: Promise<Record<string, unknown>>;
    };
    expect(await handler.configProvider).toMatchObject({
      requestTimeout: REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    });
    client.destroy();
  }
});

test('a request with no answer fails with TimeoutError and is sent again by the retry mode', async () => {
  requests = 0;
  // The same limits, shorter, on a client with two attempts.
  const ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint,
    credentials,
    maxAttempts: 2,
    retryMode: 'standard',
    requestHandler: { ...HTTP_LIMITS, requestTimeout: 300 },
  });
  await expect(ec2.send(new DescribeInstancesCommand({}))).rejects.toHaveProperty(
    'name',
    'TimeoutError',
  );
  expect(requests).toBe(2);
  ec2.destroy();
});
