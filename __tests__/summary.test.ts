// The job summary (writeSummary, writeFleetSummary) as main.ts writes it to core.summary: its
// table, what the run did, the checks, the login note, and never a secret.
import { planSteps } from '../src/plan.ts';
import { writeFleetSummary, writeSummary } from '../src/summary.ts';
import { spec } from './helpers/hub-spec.ts';
import { recordSummary } from './helpers/summary-recorder.ts';

type Outcome = Parameters<typeof writeSummary>[2];
type FleetOutcome = Parameters<typeof writeFleetSummary>[2];

const ID = 'i-0123456789abcdef0';
const PASSWORD = 'Gen3rated-Passw0rd-xyzAB';

function outcome(extra: Partial<Outcome> = {}): Outcome {
  return {
    plan: { steps: [{ kind: 'check-health' }], finalState: 'running' },
    state: 'running',
    changed: false,
    done: [],
    checks: [],
    ...extra,
  };
}

const created = outcome({
  plan: planSteps({}, 'running', '2.0.0'),
  changed: true,
  done: [`launched ${ID} (t3a.small, ami-0123456789abcdef0)`, 'installed and verified TLJH 2.0.0'],
  instanceId: ID,
  publicIp: '198.51.100.7',
  hubUrl: 'http://198.51.100.7/',
  hubVersion: '5.3.0',
  generatedPassword: PASSWORD,
  launchedType: 't3a.small',
  checks: ['public URL: JupyterHub 5.3.0 answered'],
});

function write(o: Outcome, inputs: Record<string, string> = {}) {
  const rec = recordSummary();
  const returned = writeSummary(rec.summary, spec(inputs), o);
  expect(returned).toBe(rec.summary); // main.ts chains .write() on it
  return rec;
}

describe('one hub', () => {
  test('create: heading, the table of the hub, what the run did, its checks', () => {
    const rec = write(created);
    expect(rec.items[0]).toBe("h2 JupyterHub 'workshop': running");
    expect(rec.rows).toEqual([
      ['Field', 'Value'],
      ['Hub', 'workshop'],
      ['State', 'running'],
      ['URL', 'http://198.51.100.7/'],
      ['Instance', ID],
      ['Public IP', '198.51.100.7'],
      ['Instance type', 't3a.small'],
      ['Region', 'eu-west-1'],
      ['Admin user', 'naomi'],
      ['JupyterHub', '5.3.0'],
    ]);
    expect(rec.items).toContain('h3 What this run did');
    expect(rec.items).toContain(`list: ${created.done.join(' | ')}`);
    expect(rec.items).toContain('h3 Checks');
    expect(rec.items).toContain('list: public URL: JupyterHub 5.3.0 answered');
  });

  test('with elastic-ip and dns-name: the address kept, and where the name points', () => {
    const endpoint = {
      'elastic-ip': 'true',
      'dns-zone-id': 'Z0123456789ABCDEFGHIJ',
      'dns-name': 'hub.example.org',
    };
    const rec = write(created, endpoint);
    expect(rec.rows).toContainEqual([
      'Public IP',
      '198.51.100.7 (Elastic IP: kept across stop and start)',
    ]);
    expect(rec.rows).toContainEqual([
      'DNS record',
      'hub.example.org → 198.51.100.7 (Route 53 zone Z0123456789ABCDEFGHIJ, in sync)',
    ]);
    const stopped = write(outcome({ state: 'stopped' }), { ...endpoint, 'elastic-ip': 'false' });
    expect(stopped.rows).toContainEqual([
      'DNS record',
      'hub.example.org: no A record while stopped (written again at the next start)',
    ]);
  });

  test('a generated password is pointed to (the masked output), never written', () => {
    const rec = write(created);
    expect(rec.items.at(-1)).toMatch(
      /^raw: A password was generated for <code>naomi<\/code>: it is this step's <code>admin-password<\/code> output/,
    );
    expect(rec.text()).not.toContain(PASSWORD);
  });

  test('a given admin-password is never written, only that it is the one passed', () => {
    const given = 'Given-S3cret-Value';
    const rec = write(outcome({ hubUrl: 'http://198.51.100.7/' }), { 'admin-password': given });
    expect(rec.items).toContain(
      'raw: <code>naomi</code> logs in with the <code>admin-password</code> you passed.',
    );
    expect(rec.text()).not.toContain(given);
  });

  test('an authenticator (auth.type) replaces the password note; a kept password is named as such', () => {
    const auth = write(outcome({ hubUrl: 'http://h/' }), {
      'tljh-config': 'auth.type=oauthenticator.github.GitHubOAuthenticator',
    });
    expect(auth.items.at(-1)).toBe(
      'raw: Users log in through <code>oauthenticator.github.GitHubOAuthenticator</code>; <code>naomi</code> is the admin.',
    );
    const kept = write(outcome({ hubUrl: 'http://h/' }));
    expect(kept.items.at(-1)).toContain('the password set when this hub was first installed');
  });

  test('a re-run that changed nothing says so; no login note without a URL', () => {
    const rec = write(outcome());
    expect(rec.items).toContain('list: nothing: the hub already matched');
    expect(rec.rows).toContainEqual(['URL', '-']);
    expect(rec.rows).toContainEqual(['Instance type', 't3.small']); // the spec's, not launched
    expect(rec.items.some((i) => i.includes('logs in'))).toBe(false);
  });

  test('stop: state stopped, no URL and no public IP', () => {
    const stopped = outcome({
      plan: {
        steps: [{ kind: 'stop' }, { kind: 'wait', until: 'stopped' }],
        finalState: 'stopped',
      },
      state: 'stopped',
      changed: true,
      done: [`stopped ${ID}`],
      instanceId: ID,
    });
    const rec = write(stopped, { state: 'stopped' });
    expect(rec.items[0]).toBe("h2 JupyterHub 'workshop': stopped");
    expect(rec.rows).toContainEqual(['State', 'stopped']);
    expect(rec.rows).toContainEqual(['URL', '-']);
    expect(rec.rows).toContainEqual(['Public IP', '-']);
    expect(rec.items).toContain(`list: stopped ${ID}`);
    expect(rec.items.some((i) => i.startsWith('raw:'))).toBe(false);
  });

  test('terminate: what was deleted is listed', () => {
    const terminated = outcome({
      plan: { steps: [{ kind: 'terminate' }], finalState: 'terminated' },
      state: 'terminated',
      changed: true,
      done: [`terminated ${ID}`, 'deleted security group sg-0123456789abcdef0'],
      instanceId: ID,
    });
    const rec = write(terminated, { state: 'terminated' });
    expect(rec.items[0]).toBe("h2 JupyterHub 'workshop': terminated");
    expect(rec.rows).toContainEqual(['Instance', ID]);
    expect(rec.items).toContain(
      `list: terminated ${ID} | deleted security group sg-0123456789abcdef0`,
    );
  });

  test('an HTTPS hub waiting for its certificate: the URL is marked not ready, and why', () => {
    const pending = 'https://hub.example.org/ is not ready: no valid certificate yet';
    const rec = write(outcome({ hubUrl: 'https://hub.example.org/', httpsPending: pending }));
    expect(rec.rows).toContainEqual([
      'URL',
      'https://hub.example.org/ (not ready: no certificate yet)',
    ]);
    expect(rec.items).toContain(`raw: ⚠️ ${pending}`);
  });

  test('a time to live: when the hub expires', () => {
    const rec = write(outcome({ expiresAt: '2026-01-02T00:00:00Z' }));
    expect(rec.items).toContain('raw: Expires 2026-01-02T00:00:00Z (ttl).');
  });

  test('a dry run: the plan, not applied, and nothing "done"', () => {
    const rec = write({ ...created, state: 'absent', done: [] }, { 'dry-run': 'true' });
    expect(rec.items[0]).toBe("h2 JupyterHub 'workshop': absent (dry run)");
    expect(rec.items).toContain('h3 Plan (not applied)');
    expect(rec.items.find((i) => i.startsWith('list:'))).toMatch(
      /^list: launch a new instance \| /,
    );
    expect(rec.items).not.toContain('h3 What this run did');
  });
});

describe('the spec and the time', () => {
  test('where the time goes: a row per phase that took time, and the total', () => {
    const rec = write({
      ...created,
      phases: [
        ['launch', 1_200],
        ['running', 14_000],
        ['agent online', 0],
        ['install', 300_000],
        ['verification', 42_500],
        ['public probe', 800],
      ],
    });
    expect(rec.items).toContain('h3 Where the time goes');
    const at = rec.rows.findIndex((r) => r[0] === 'Phase');
    expect(rec.rows.slice(at)).toEqual([
      ['Phase', 'Time'],
      ['launch', '1.2 s'],
      ['running', '14.0 s'],
      ['install', '300.0 s'],
      ['verification', '42.5 s'],
      ['public probe', '0.8 s'],
      ['all phases', '358.5 s'],
    ]);
  });

  test('a dry run has no time table; the spec table says what would change', () => {
    const rec = write(
      {
        ...created,
        phases: [['launch', 1_000]],
        changes: [
          {
            group: 'instance-type',
            changed: true,
            detail: 't3.small → t3.medium',
            needsRunning: false,
          },
          { group: 'tags', changed: false, detail: 'unchanged', needsRunning: false },
        ],
      },
      { 'dry-run': 'true' },
    );
    expect(rec.items).not.toContain('h3 Where the time goes');
    expect(rec.items).toContain('h3 Spec: what would change');
    expect(rec.rows).toContainEqual(['instance-type', 'would change', 't3.small → t3.medium']);
    expect(rec.rows).toContainEqual(['tags', 'unchanged', 'unchanged']);
  });

  test('a stop: the changed groups are pending, and said so', () => {
    const rec = write({
      ...created,
      state: 'stopped',
      changes: [
        {
          group: 'tljh-config',
          changed: true,
          detail: '1 key(s): limits.memory',
          needsRunning: true,
        },
      ],
      pending: ['tljh-config'],
    });
    expect(rec.rows).toContainEqual([
      'tljh-config',
      'pending (next running run)',
      '1 key(s): limits.memory',
    ]);
    expect(rec.text()).toContain('Pending until the next run with state running');
  });
});

describe('many hubs', () => {
  const fleet = (rows: FleetOutcome['rows']): FleetOutcome => ({
    rows,
    changed: rows.some((r) => r.ok),
    failed: rows.filter((r) => !r.ok).length,
  });

  test('one row per hub, a failed one marked FAILED', () => {
    const rec = recordSummary();
    writeFleetSummary(
      rec.summary,
      spec({ 'hub-name': 'pr-*', state: 'stopped' }),
      fleet([
        { hubName: 'pr-1', instanceId: 'i-1', before: 'running', result: 'stopped', ok: true },
        {
          hubName: 'pr-2',
          instanceId: 'i-2',
          before: 'pending',
          result: 'IncorrectInstanceState',
          ok: false,
        },
      ]),
    );
    expect(rec.items[0]).toBe("h2 Stop hubs matching 'pr-*'");
    expect(rec.rows).toEqual([
      ['Hub', 'Instance', 'Before', 'Result'],
      ['pr-1', 'i-1', 'running', 'stopped'],
      ['pr-2', 'i-2', 'pending', 'FAILED: IncorrectInstanceState'],
    ]);
  });

  test('the expiry reaper, as a dry run, with no hub matched', () => {
    const rec = recordSummary();
    writeFleetSummary(
      rec.summary,
      spec({ 'hub-name': 'pr-*', state: 'terminated', 'expired-only': 'true', 'dry-run': 'true' }),
      fleet([]),
    );
    expect(rec.items).toEqual([
      "h2 Terminate expired hubs matching 'pr-*' (dry run)",
      'raw: No hub matched.',
    ]);
    expect(rec.rows).toEqual([]);
  });
});
