// The Spot fields the emulator's front adds to moto's instances answers (e2e/emulator/spot-xml.ts):
// moto 5.2.1 writes instanceLifecycle but no spotInstanceRequestId, and its stateReason is that
// of a user's stop; EC2 says Server.SpotInstanceShutdown for an interrupted Spot Instance.
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SPOT_INTERRUPTED, withSpotFields } from '../e2e/emulator/spot-xml.ts';

// Two instances as moto 5.2.1 writes them (elements trimmed): stateReason before instanceId.
const item = (id: string, state: string) =>
  `<item><architecture>x86_64</architecture><instanceLifecycle>spot</instanceLifecycle>` +
  `<stateReason><code>Client.UserInitiatedShutdown</code><message>Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>` +
  `<instanceId>${id}</instanceId><imageId>ami-1e749f67</imageId>` +
  `<instanceState><code>80</code><name>${state}</name></instanceState></item>`;
const MOTO =
  `<?xml version="1.0" encoding="utf-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><reservationSet>` +
  `<item><reservationId>r-1</reservationId><instancesSet>${item('i-0aaa', 'stopped')}</instancesSet></item>` +
  `<item><reservationId>r-2</reservationId><instancesSet>${item('i-0bbb', 'stopped')}</instancesSet></item>` +
  `</reservationSet><requestId>request-id</requestId></DescribeInstancesResponse>`;

/** How the AWS SDK reads the rewritten answer. */
async function parsed(xml: string) {
  const ec2 = new EC2Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200,
          headers: { 'content-type': 'text/xml' },
          body: new Blob([xml]).stream(),
        } as never,
      }),
    },
  });
  const out = await ec2.send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

test('each Spot Instance gets its request id; only the interrupted one its stateReason', async () => {
  const xml = withSpotFields(MOTO, (id) =>
    id === 'i-0aaa'
      ? { requestId: 'sir-0000000a', interrupted: false }
      : { requestId: 'sir-0000000b', interrupted: true },
  );
  const [a, b] = await parsed(xml);
  expect(a).toMatchObject({
    InstanceId: 'i-0aaa',
    SpotInstanceRequestId: 'sir-0000000a',
    InstanceLifecycle: 'spot',
    StateReason: { Code: 'Client.UserInitiatedShutdown' },
  });
  expect(b).toMatchObject({
    InstanceId: 'i-0bbb',
    SpotInstanceRequestId: 'sir-0000000b',
    StateReason: { Code: SPOT_INTERRUPTED },
  });
});

test('instances the front keeps no request for are left as moto wrote them', () => {
  expect(withSpotFields(MOTO, () => undefined)).toBe(MOTO);
});
