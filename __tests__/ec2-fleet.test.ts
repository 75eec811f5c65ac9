// Bulk state changes: one call per batch, one by one after a failed batch, and an expired
// session (defect 9) ends the run rather than being filed against every hub in turn.
import {
  CancelSpotInstanceRequestsCommand,
  DescribeInstancesCommand,
  EC2Client,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import {
  BATCH,
  cancelSpotRequests,
  chunks,
  listHubs,
  stopMany,
  terminateMany,
} from '../src/aws/ec2-fleet.ts';
import { isSessionExpired } from '../src/errors.ts';
import { awsError } from './helpers/fakes.ts';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'eu-west-1' });
const ids = (n: number) => Array.from({ length: n }, (_, i) => `i-${String(i).padStart(4, '0')}`);

beforeEach(() => ec2Mock.reset());

test('chunks splits into batches of BATCH', () => {
  expect(chunks(ids(2 * BATCH + 1)).map((c) => c.length)).toEqual([BATCH, BATCH, 1]);
});

test('one call per batch when every batch succeeds', async () => {
  ec2Mock.on(StopInstancesCommand).resolves({});
  const result = await stopMany(ec2, ids(BATCH + 5));
  expect(result).toEqual({ ok: ids(BATCH + 5), failed: [] });
  expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(2);
});

test('a failed batch is retried one by one: one bad hub does not fail the others', async () => {
  ec2Mock
    .on(TerminateInstancesCommand)
    .rejects(awsError('IncorrectInstanceState'))
    .on(TerminateInstancesCommand, { InstanceIds: ['i-0000'] })
    .resolves({})
    .on(TerminateInstancesCommand, { InstanceIds: ['i-0002'] })
    .resolves({});
  const result = await terminateMany(ec2, ids(3));
  expect(result.ok).toEqual(['i-0000', 'i-0002']);
  expect(result.failed).toEqual([
    { instanceId: 'i-0001', error: 'IncorrectInstanceState: IncorrectInstanceState (test)' },
  ]);
});

test.each(['ExpiredToken', 'RequestExpired'])(
  'an expired session (%s) on a batch is rethrown at once, with no per-hub retries',
  async (name) => {
    ec2Mock.on(StopInstancesCommand).rejects(awsError(name));
    const err = await stopMany(ec2, ids(250)).catch((e: unknown) => e);
    expect(isSessionExpired(err)).toBe(true);
    // The first batch only: neither its hubs one by one nor the later batches were tried.
    expect(ec2Mock.commandCalls(StopInstancesCommand)).toHaveLength(1);
  },
);

test('an expired session met during the one-by-one retries is rethrown too', async () => {
  ec2Mock
    .on(StopInstancesCommand)
    .rejects(awsError('IncorrectInstanceState'))
    .on(StopInstancesCommand, { InstanceIds: ['i-0001'] })
    .rejects(awsError('ExpiredTokenException'));
  const err = await stopMany(ec2, ids(3)).catch((e: unknown) => e);
  expect(isSessionExpired(err)).toBe(true);
  // The batch, i-0000 (failed for itself), then i-0001 (expired): i-0002 was not tried.
  expect(
    ec2Mock.commandCalls(StopInstancesCommand).map((c) => c.args[0].input.InstanceIds),
  ).toEqual([ids(3), ['i-0000'], ['i-0001']]);
});

describe('Spot requests', () => {
  const requests = (n: number) =>
    Array.from({ length: n }, (_, i) => `sir-${String(i).padStart(4, '0')}`);

  test('cancelled in batches of BATCH', async () => {
    ec2Mock.on(CancelSpotInstanceRequestsCommand).resolves({});
    const result = await cancelSpotRequests(ec2, requests(BATCH + 1));
    expect(result).toEqual({ ok: requests(BATCH + 1), failed: [] });
    expect(
      ec2Mock
        .commandCalls(CancelSpotInstanceRequestsCommand)
        .map((c) => c.args[0].input.SpotInstanceRequestIds!.length),
    ).toEqual([BATCH, 1]);
  });

  test('a request EC2 no longer knows is as good as cancelled; another error is a failure', async () => {
    ec2Mock
      .on(CancelSpotInstanceRequestsCommand)
      .rejects(awsError('InvalidSpotInstanceRequestID.NotFound'))
      .on(CancelSpotInstanceRequestsCommand, { SpotInstanceRequestIds: ['sir-0001'] })
      .rejects(awsError('UnauthorizedOperation'))
      .on(CancelSpotInstanceRequestsCommand, { SpotInstanceRequestIds: ['sir-0002'] })
      .resolves({});
    const result = await cancelSpotRequests(ec2, requests(3));
    expect(result.ok).toEqual(['sir-0000', 'sir-0002']);
    expect(result.failed).toEqual([
      { instanceId: 'sir-0001', error: 'UnauthorizedOperation: UnauthorizedOperation (test)' },
    ]);
  });

  test("the listing carries a Spot hub's request", async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0001',
              State: { Name: 'running' },
              SpotInstanceRequestId: 'sir-0001',
              Tags: [{ Key: 'tljh:hub', Value: 'pr-1' }],
            },
            {
              InstanceId: 'i-0002',
              State: { Name: 'running' },
              Tags: [{ Key: 'tljh:hub', Value: 'pr-2' }],
            },
          ],
        },
      ],
    });
    expect(await listHubs(ec2, 'pr-*')).toEqual([
      {
        hubName: 'pr-1',
        instanceId: 'i-0001',
        state: 'running',
        expiresAt: undefined,
        spotRequestId: 'sir-0001',
      },
      { hubName: 'pr-2', instanceId: 'i-0002', state: 'running', expiresAt: undefined },
    ]);
  });
});
