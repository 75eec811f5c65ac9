// The clock's pure parts: how durations read in log lines, and the poll interval from the env.
import { formatDuration, pollIntervalMs } from '../src/clock.ts';

test.each([
  [0, '0s'],
  [499, '0s'],
  [500, '1s'],
  [59_499, '59s'],
  [59_500, '1m00s'],
  [60_000, '1m00s'],
  [65_000, '1m05s'],
  [5 * 60_000, '5m00s'],
  [90 * 60_000 + 9_000, '90m09s'],
])('formatDuration(%d) is %s', (ms, text) => {
  expect(formatDuration(ms)).toBe(text);
});

describe('pollIntervalMs', () => {
  test('5 seconds unless TLJH_POLL_INTERVAL_MS says otherwise', () => {
    expect(pollIntervalMs({})).toBe(5000);
    expect(pollIntervalMs({ TLJH_POLL_INTERVAL_MS: '50' })).toBe(50);
  });

  test.each(['', '0', '-5', 'fast', 'Infinity'])('an unusable value (%p) is the default', (v) => {
    expect(pollIntervalMs({ TLJH_POLL_INTERVAL_MS: v })).toBe(5000);
  });
});
