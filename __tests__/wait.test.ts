// The one wait: deadline, interval, progress cadence, transient errors, presence check.
import { ActionError } from '../src/errors.ts';
import {
  PROGRESS_EVERY_MS,
  WaitTimedOut,
  waitFor,
  type Look,
  type WaitOptions,
} from '../src/wait.ts';
import { FakeClock, awsError } from './helpers/fakes.ts';

function looks<T>(answers: (Look<T> | Error)[]): () => Promise<Look<T>> {
  let i = 0;
  return async () => {
    const a = answers[Math.min(i++, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return a;
  };
}

/** waitFor for 'x' on `clock`: a look every second for up to a minute, unless `opts` says otherwise. */
function waitForX<T>(
  clock: FakeClock,
  opts: Partial<WaitOptions<T>> & Pick<WaitOptions<T>, 'look'>,
): Promise<T> {
  return waitFor<T>({ clock, intervalMs: 1000, timeoutMs: 60_000, what: 'x', ...opts });
}

test('returns the value of the first look that is done, sleeping the interval between looks', async () => {
  const clock = new FakeClock();
  const value = await waitForX(clock, {
    intervalMs: 5000,
    look: looks<string>([
      { done: false, detail: 'a' },
      { done: false, detail: 'b' },
      { done: true, value: 'ok' },
    ]),
  });
  expect(value).toBe('ok');
  expect(clock.sleeps).toEqual([5000, 5000]);
});

test('at the deadline: WaitTimedOut naming what and the last detail, never later than the deadline', async () => {
  const clock = new FakeClock();
  const start = clock.now();
  const err = await waitFor({
    clock,
    intervalMs: 7000,
    timeoutMs: 30_000,
    what: 'the SSM agent on i-1',
    look: looks<undefined>([{ done: false, detail: 'agent ConnectionLost' }]),
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WaitTimedOut);
  expect((err as Error).message).toBe(
    'Gave up waiting for the SSM agent on i-1 after 30s (last: agent ConnectionLost).',
  );
  expect(clock.now() - start).toBe(30_000);
});

test('timeout 0 looks once', async () => {
  const clock = new FakeClock();
  let n = 0;
  await expect(
    waitForX(clock, {
      intervalMs: 5000,
      timeoutMs: 0,
      look: async () => {
        n++;
        return { done: false, detail: 'no' };
      },
    }),
  ).rejects.toBeInstanceOf(WaitTimedOut);
  expect(n).toBe(1);
});

test('a custom time-out error replaces the default', async () => {
  const clock = new FakeClock();
  await expect(
    waitForX(clock, {
      timeoutMs: 2000,
      look: looks<undefined>([{ done: false, detail: 'still' }]),
      timedOut: (ms, last) => new ActionError(`custom ${ms} ${last}`),
    }),
  ).rejects.toThrow('custom 2000 still');
});

test('transient errors are looked through; others end the wait at once', async () => {
  const clock = new FakeClock();
  await expect(
    waitForX(clock, {
      look: looks<number>([awsError('ThrottlingException'), { done: true, value: 1 }]),
    }),
  ).resolves.toBe(1);
  const denied = awsError('AccessDeniedException');
  await expect(
    waitForX(clock, {
      look: looks<number>([denied, { done: true, value: 1 }]),
    }),
  ).rejects.toBe(denied);
});

test('a transient error until the deadline is reported as the last detail', async () => {
  const clock = new FakeClock();
  await expect(
    waitForX(clock, {
      timeoutMs: 3000,
      look: looks<number>([awsError('ThrottlingException', 'Rate exceeded')]),
    }),
  ).rejects.toThrow('(last: ThrottlingException: Rate exceeded)');
});

test('one progress line about once a minute, with the time waited and the detail', async () => {
  const clock = new FakeClock();
  const lines: string[] = [];
  await waitFor({
    clock,
    intervalMs: 5000,
    timeoutMs: 10 * 60_000,
    what: 'the hub',
    look: async () =>
      clock.now() - 1_000_000 >= 150_000
        ? { done: true, value: undefined }
        : { done: false, detail: 'HTTP 503' },
    progress: (l) => lines.push(l),
  });
  expect(lines).toEqual([
    'Still waiting for the hub (1m00s, HTTP 503)',
    'Still waiting for the hub (2m00s, HTTP 503)',
  ]);
  expect(PROGRESS_EVERY_MS).toBe(60_000);
});

test('the presence check runs every few looks and its error ends the wait', async () => {
  const clock = new FakeClock();
  let checks = 0;
  const gone = new ActionError('gone');
  const err = await waitForX(clock, {
    presenceEvery: 3,
    look: looks<undefined>([{ done: false, detail: 'not yet' }]),
    stillThere: async () => {
      if (++checks === 2) throw gone;
    },
  }).catch((e: unknown) => e);
  expect(err).toBe(gone);
  expect(clock.sleeps).toHaveLength(5); // looks 1..6, the check after looks 3 and 6
});

test('sleepFirst sleeps before the first look', async () => {
  const clock = new FakeClock();
  let firstLookAt = 0;
  await waitForX(clock, {
    intervalMs: 4000,
    sleepFirst: true,
    look: async () => {
      firstLookAt = clock.now();
      return { done: true, value: undefined };
    },
  });
  expect(firstLookAt).toBe(1_004_000);
});
