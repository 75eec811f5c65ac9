// The plan of a bulk stop or terminate (planFleet): for every instance state, each desired state,
// with and without expired-only, what is done to the hub and the note the summary shows.
import { planFleet } from '../src/fleet-plan.ts';
import type { FleetHub } from '../src/model.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const PAST = '2026-06-01T11:59:59Z';
const FUTURE = '2026-06-02T00:00:00Z';

type State = FleetHub['state'];
const hub = (state: State, expiresAt?: string): FleetHub => ({
  hubName: `pr-${state}`,
  instanceId: `i-${state}`,
  state,
  expiresAt,
});

const decide = (h: FleetHub, desired: 'stopped' | 'terminated', expiredOnly = false) => {
  const [decision, ...rest] = planFleet([h], desired, { expiredOnly, now: NOW });
  expect(rest).toEqual([]);
  expect(decision!.hub).toBe(h);
  return { action: decision!.action, note: decision!.note };
};

// [state, action, note]
const STOP: [State, string, string][] = [
  ['pending', 'stop', 'was launching: stopped once running'],
  ['running', 'stop', 'was running'],
  ['stopping', 'wait-stopped', 'was already stopping'],
  ['stopped', 'none', 'already stopped'],
  ['shutting-down', 'none', 'being terminated'],
  ['terminated', 'none', 'being terminated'],
];

const TERMINATE: [State, string, string][] = [
  ['pending', 'terminate', 'was pending'],
  ['running', 'terminate', 'was running'],
  ['stopping', 'terminate', 'was stopping'],
  ['stopped', 'terminate', 'was stopped'],
  ['shutting-down', 'wait-terminated', 'already terminating'],
  ['terminated', 'none', 'already terminated'],
];

describe('stop every matching hub', () => {
  test.each(STOP)('%s -> %s (%s)', (state, action, note) => {
    expect(decide(hub(state), 'stopped')).toEqual({ action, note });
  });
});

describe('terminate every matching hub', () => {
  test.each(TERMINATE)('%s -> %s (%s)', (state, action, note) => {
    expect(decide(hub(state), 'terminated')).toEqual({ action, note });
  });
});

describe('expired-only: an expired hub is treated like any other', () => {
  test.each(STOP)('stop, %s -> %s', (state, action, note) => {
    expect(decide(hub(state, PAST), 'stopped', true)).toEqual({ action, note });
  });

  // A live hub the reaper terminates says when it expired rather than its state.
  test.each(TERMINATE)('terminate, %s -> %s', (state, action, note) => {
    const expected = action === 'terminate' ? `expired ${PAST}` : note;
    expect(decide(hub(state, PAST), 'terminated', true)).toEqual({ action, note: expected });
  });

  test('a hub that expires exactly now is expired', () => {
    const now = NOW.toISOString();
    expect(decide(hub('running', now), 'terminated', true).action).toBe('terminate');
  });
});

describe('expired-only: a hub not expired is left alone, whatever its state', () => {
  const states = STOP.map(([state]) => state);

  test.each(states)('%s, expiring later', (state) => {
    for (const desired of ['stopped', 'terminated'] as const) {
      expect(decide(hub(state, FUTURE), desired, true)).toEqual({
        action: 'none',
        note: `not expired (expires ${FUTURE})`,
      });
    }
  });

  test.each(states)('%s, without an expiry tag', (state) => {
    for (const desired of ['stopped', 'terminated'] as const) {
      expect(decide(hub(state), desired, true)).toEqual({ action: 'none', note: 'no expiry set' });
    }
  });

  test('an unreadable expiry tag never expires', () => {
    expect(decide(hub('running', 'tomorrow'), 'terminated', true)).toEqual({
      action: 'none',
      note: 'not expired (expires tomorrow)',
    });
  });
});

test('without expired-only, an expiry tag changes nothing', () => {
  expect(decide(hub('running', FUTURE), 'terminated')).toEqual({
    action: 'terminate',
    note: 'was running',
  });
});

test('one decision per hub, in the order given', () => {
  const hubs = [hub('stopped'), hub('running', PAST), hub('pending', FUTURE)];
  const plan = planFleet(hubs, 'stopped', { expiredOnly: true, now: NOW });
  expect(plan.map((d) => [d.hub.instanceId, d.action])).toEqual([
    ['i-stopped', 'none'],
    ['i-running', 'stop'],
    ['i-pending', 'none'],
  ]);
  expect(planFleet([], 'terminated', { expiredOnly: false, now: NOW })).toEqual([]);
});
