// The pull request comment's text (pure): what it says must be true of the hub.
import { commentMarker, renderComment, type CommentFacts } from '../src/github/comment-body.ts';

const BASE: CommentFacts = {
  hubName: 'pr-7',
  phase: 'ready',
  hubUrl: 'http://203.0.113.7/',
  adminUser: 'naomi',
  updatedAt: new Date('2026-05-01T10:00:00.000Z'),
};

describe('how the admin logs in', () => {
  test('never says the first login sets the password: by default one is generated or given', () => {
    for (const phase of ['creating', 'ready', 'failed', 'stopped', 'terminated'] as const) {
      const body = renderComment({ ...BASE, phase });
      expect(body).not.toMatch(/first login|sets (that|the) admin'?s? password/i);
    }
  });

  test('a ready hub shows the login note it is given (summary.ts loginNote)', () => {
    const note = '<code>naomi</code> logs in with the <code>admin-password</code> you passed.';
    const body = renderComment({ ...BASE, loginNote: note });
    expect(body).toContain(note);
    expect(renderComment({ ...BASE, phase: 'failed', loginNote: note })).not.toContain(note);
  });
});

test('the marker comes first, the failure in a code block that cannot be closed early', () => {
  const body = renderComment({ ...BASE, phase: 'failed', error: 'boom ```\n# injected' });
  expect(body.startsWith(commentMarker('pr-7'))).toBe(true);
  expect(body).toContain("```text\nboom '''\n# injected\n```");
});

test('a hub still waiting for its certificate is "being created", with what it waits for, and no URL', () => {
  const body = renderComment({
    hubName: 'pr-7',
    phase: 'creating',
    hubUrl: 'https://pr-7.example.org/',
    note: 'https://pr-7.example.org/ is not ready: no valid certificate yet',
    updatedAt: new Date('2026-12-02T10:00:00Z'),
  });
  expect(body).toContain('JupyterHub is being created');
  expect(body).toContain('no valid certificate yet');
  expect(body).not.toMatch(/\| URL \|/);
});

describe('each phase', () => {
  const FULL: CommentFacts = {
    ...BASE,
    instanceId: 'i-0123456789abcdef0',
    instanceType: 't3.small',
    expiresAt: new Date('2026-05-03T10:00:00.000Z'),
    runUrl: 'https://github.com/octo/hubs/actions/runs/123',
    loginNote: 'the login note',
    error: 'the error',
    note: 'the note',
  };
  const INSTANCE = 'Instance: `i-0123456789abcdef0` (t3.small)';
  const EXPIRES = 'Expires: 2026-05-03T10:00:00Z';
  const RUN = 'Run: [workflow run](https://github.com/octo/hubs/actions/runs/123)';
  /** The table's rows, as `key: value`. */
  const rows = (body: string) =>
    body
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| |') && !l.startsWith('| ---'))
      .map((l) => l.slice(2, -2).replace(' | ', ': '));

  test.each([
    ['creating', ':hourglass_flowing_sand: JupyterHub is being created'],
    ['ready', ':white_check_mark: JupyterHub is ready'],
    ['failed', ':x: JupyterHub failed'],
    ['stopped', ':pause_button: JupyterHub is stopped'],
    ['terminated', ':wastebasket: JupyterHub was terminated'],
  ] as const)('%s: its headline names the hub, under the marker', (phase, headline) => {
    const lines = renderComment({ ...FULL, phase }).split('\n');
    expect(lines[0]).toBe(commentMarker('pr-7'));
    expect(lines[1]).toBe(`### ${headline}: \`pr-7\``);
    expect(lines.at(-1)).toBe('<sub>Updated 2026-05-01T10:00:00Z by tljh-ec2-action.</sub>');
  });

  test('ready: the URL, the admin, the instance, the expiry, the run, and the login note', () => {
    const body = renderComment({ ...FULL, phase: 'ready' });
    expect(rows(body)).toEqual([
      'URL: http://203.0.113.7/',
      'Admin user: `naomi`',
      INSTANCE,
      EXPIRES,
      RUN,
    ]);
    expect(body).toContain('the login note');
    expect(body).not.toContain('the error');
    expect(body).not.toContain('the note\n');
  });

  test('creating: no URL yet (it may not answer), the admin, and what it waits for', () => {
    const body = renderComment({ ...FULL, phase: 'creating' });
    expect(rows(body)).toEqual(['Admin user: `naomi`', INSTANCE, EXPIRES, RUN]);
    expect(body).toContain('the note');
    expect(body).not.toContain('the login note');
  });

  test("creating a new hub: its address links to the install's progress page", () => {
    const body = renderComment({ ...FULL, phase: 'creating', progressUrl: 'http://203.0.113.7/' });
    expect(rows(body)).toEqual([
      "URL: http://203.0.113.7/ (the install's progress page until the hub is up)",
      'Admin user: `naomi`',
      INSTANCE,
      EXPIRES,
      RUN,
    ]);
    // Only while creating: a ready hub shows its own URL, the others none.
    expect(renderComment({ ...FULL, phase: 'ready', progressUrl: 'http://x/' })).not.toContain(
      'http://x/',
    );
    expect(renderComment({ ...FULL, phase: 'failed', progressUrl: 'http://x/' })).not.toContain(
      'http://x/',
    );
  });

  test('failed: no URL, no admin, the error in a code block (cut at 3000 characters)', () => {
    const body = renderComment({ ...FULL, phase: 'failed', error: 'x'.repeat(5000) });
    expect(rows(body)).toEqual([INSTANCE, EXPIRES, RUN]);
    expect(body).toContain(`\`\`\`text\n${'x'.repeat(3000)}\n\`\`\``);
    expect(body).not.toContain('x'.repeat(3001));
    expect(renderComment({ ...BASE, phase: 'failed' })).not.toContain('```');
  });

  test('stopped: the instance and its expiry, no URL, no admin', () => {
    const body = renderComment({ ...FULL, phase: 'stopped' });
    expect(rows(body)).toEqual([INSTANCE, EXPIRES, RUN]);
    expect(body).not.toContain('the login note');
  });

  test('terminated: no expiry any more', () => {
    const body = renderComment({ ...FULL, phase: 'terminated' });
    expect(rows(body)).toEqual([INSTANCE, RUN]);
  });

  test('with nothing to show, no empty table', () => {
    const body = renderComment({ hubName: 'pr-7', phase: 'terminated', updatedAt: BASE.updatedAt });
    expect(body).not.toContain('| --- |');
    expect(renderComment({ ...BASE, phase: 'stopped', instanceId: 'i-1' })).toContain(
      '| Instance | `i-1` |',
    );
  });

  test('each hub has its own marker', () => {
    expect(commentMarker('pr-7')).toBe('<!-- tljh-ec2-action hub=pr-7 -->');
    expect(commentMarker('pr-8')).not.toBe(commentMarker('pr-7'));
  });
});
