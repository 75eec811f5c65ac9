import {
  LEASE_WITHOUT_COMMAND_MS,
  RELEASED,
  formatLease,
  leaseLapsed,
  parseLease,
} from '../src/lease.ts';

const AT = Date.parse('2026-03-01T12:00:00Z');
const INSTALL_TIMEOUT_MS = 30 * 60_000;

describe('formatLease / parseLease', () => {
  test('without a command id: owner and second-resolution ISO time, round trip', () => {
    const tag = formatLease({ owner: 'abc123', at: AT });
    expect(tag).toBe('abc123|2026-03-01T12:00:00Z');
    expect(parseLease(tag)).toEqual({ owner: 'abc123', at: AT, commandId: undefined });
  });

  test('with a command id, round trip', () => {
    const tag = formatLease({ owner: 'abc123', at: AT, commandId: 'cmd-0f1e2d' });
    expect(tag).toBe('abc123|2026-03-01T12:00:00Z|cmd-0f1e2d');
    expect(parseLease(tag)).toEqual({ owner: 'abc123', at: AT, commandId: 'cmd-0f1e2d' });
  });

  test('milliseconds are dropped (EC2 tags carry seconds)', () => {
    const lease = parseLease(formatLease({ owner: 'o', at: AT + 999 }));
    expect(lease?.at).toBe(AT);
  });

  test.each([
    [undefined],
    [''],
    ['garbage'],
    ['owner|not-a-time'],
    ['|2026-03-01T12:00:00Z'],
    ['owner|'],
  ])('%j is no lease', (tag) => {
    expect(parseLease(tag)).toBeUndefined();
  });

  test('a released lease (the install failed) round-trips with RELEASED in place of a command', () => {
    const tag = formatLease({ owner: 'abc123', at: AT, commandId: RELEASED });
    expect(tag).toBe(`abc123|2026-03-01T12:00:00Z|${RELEASED}`);
    expect(parseLease(tag)).toEqual({ owner: 'abc123', at: AT, commandId: RELEASED });
  });

  test('an empty command id field is no command', () => {
    expect(parseLease('o|2026-03-01T12:00:00Z|')).toEqual({ owner: 'o', at: AT });
  });
});

describe('leaseLapsed', () => {
  const noCommand = { owner: 'o', at: AT };
  const withCommand = { owner: 'o', at: AT, commandId: 'cmd-1' };

  test('without a command: holds for LEASE_WITHOUT_COMMAND_MS, then lapses', () => {
    expect(leaseLapsed(noCommand, AT, INSTALL_TIMEOUT_MS)).toBe(false);
    expect(leaseLapsed(noCommand, AT + LEASE_WITHOUT_COMMAND_MS, INSTALL_TIMEOUT_MS)).toBe(false);
    expect(leaseLapsed(noCommand, AT + LEASE_WITHOUT_COMMAND_MS + 1, INSTALL_TIMEOUT_MS)).toBe(
      true,
    );
  });

  test('with a command: holds through the install timeout plus LEASE_WITHOUT_COMMAND_MS', () => {
    const end = AT + INSTALL_TIMEOUT_MS + LEASE_WITHOUT_COMMAND_MS;
    expect(leaseLapsed(withCommand, AT + LEASE_WITHOUT_COMMAND_MS + 1, INSTALL_TIMEOUT_MS)).toBe(
      false,
    );
    expect(leaseLapsed(withCommand, end, INSTALL_TIMEOUT_MS)).toBe(false);
    expect(leaseLapsed(withCommand, end + 1, INSTALL_TIMEOUT_MS)).toBe(true);
  });

  test('a longer install timeout holds a lease with a command longer', () => {
    const now = AT + 60 * 60_000;
    expect(leaseLapsed(withCommand, now, 30 * 60_000)).toBe(true);
    expect(leaseLapsed(withCommand, now, 60 * 60_000)).toBe(false);
  });
});
