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
