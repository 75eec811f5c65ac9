import { expiryTag, isExpired, parseTtl } from '../src/ttl.ts';

describe('parseTtl', () => {
  test.each<[string, number | undefined]>([
    ['1m', 60_000],
    ['90m', 5_400_000],
    ['8h', 28_800_000],
    [' 3d ', 259_200_000],
    ['2w', 1_209_600_000],
    ['52w', 52 * 604_800_000],
    ['366d', 366 * 86_400_000],
    ['367d', undefined],
    ['53w', undefined],
    ['0m', undefined],
    ['', undefined],
    ['10', undefined],
    ['10s', undefined],
    ['1d2h', undefined],
    ['12345m', undefined],
  ])('%j -> %s', (raw, ms) => {
    expect(parseTtl(raw)).toBe(ms);
  });
});

test('expiryTag is ISO 8601 UTC without milliseconds', () => {
  expect(expiryTag(new Date('2026-01-01T10:00:00.123Z'), 8 * 3_600_000)).toBe(
    '2026-01-01T18:00:00Z',
  );
});

describe('isExpired', () => {
  const now = new Date('2026-01-02T00:00:00Z');
  test.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['not a date', false],
    ['2026-01-01T23:59:59Z', true],
    ['2026-01-02T00:00:00Z', true],
    ['2026-01-02T00:00:01Z', false],
  ])('%j -> %s', (tag, expired) => {
    expect(isExpired(tag, now)).toBe(expired);
  });
});
