// Where a run's time goes: the phase log's own arithmetic, on the virtual clock.
import { PhaseLog, formatSeconds, timed } from '../src/phases.ts';
import { FakeClock } from './helpers/fakes.ts';

let clock: FakeClock;
let log: PhaseLog;
beforeEach(() => {
  clock = new FakeClock();
  log = new PhaseLog(clock);
});

test('a phase inside another is taken out of it: the figures add up to the wall time', async () => {
  const started = clock.now();
  await log.time('install', async () => {
    await clock.sleep(60_000);
    await log.time('public probe', () => clock.sleep(5_000));
    await clock.sleep(1_000);
  });
  expect(log.entries()).toEqual([
    ['public probe', 5_000],
    ['install', 61_000],
  ]);
  const sum = log.entries().reduce((s, [, ms]) => s + ms, 0);
  expect(sum).toBe(clock.now() - started);
});

test("a duration from the instance's clock is taken out of the open phase", async () => {
  await log.time('install', async () => {
    await clock.sleep(100_000);
    log.addWithin('verification', 30_000);
  });
  expect(log.entries()).toEqual([
    ['verification', 30_000],
    ['install', 70_000],
  ]);
});

test('an instance clock reporting more than the phase took never makes it negative', async () => {
  await log.time('settings', async () => {
    await clock.sleep(1_000);
    log.addWithin('verification', 5_000);
  });
  expect(Object.fromEntries(log.entries())).toEqual({ verification: 5_000, settings: 0 });
});

test('a phase that fails is still counted, and repeated phases add up', async () => {
  await expect(
    log.time('running', async () => {
      await clock.sleep(2_000);
      throw new Error('gone');
    }),
  ).rejects.toThrow('gone');
  await log.time('running', () => clock.sleep(3_000));
  expect(log.entries()).toEqual([['running', 5_000]]);
});

test('timed without a log just runs the function', async () => {
  await expect(timed(undefined, 'launch', () => Promise.resolve(7))).resolves.toBe(7);
  await expect(timed(log, 'launch', () => Promise.resolve(8))).resolves.toBe(8);
  expect(log.entries()).toEqual([['launch', 0]]);
});

test('formatSeconds: one decimal', () => {
  expect(formatSeconds(42_549)).toBe('42.5 s');
  expect(formatSeconds(0)).toBe('0.0 s');
});
