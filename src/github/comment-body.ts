// The pull-request comment's text (pure). One comment per hub, found again by its marker.

export type HubPhase = 'creating' | 'ready' | 'failed' | 'stopped' | 'terminated';

export interface CommentFacts {
  hubName: string;
  phase: HubPhase;
  hubUrl?: string;
  /**
   * While creating: the hub's plain-HTTP address, where TLJH's progress page shows the
   * install's log on a new hub (bootstrap.py --show-progress-page) until the hub is up.
   */
  progressUrl?: string;
  adminUser?: string;
  instanceType?: string;
  instanceId?: string;
  expiresAt?: Date;
  /**
   * How the admin logs in (summary.ts loginNote: a given, generated or kept password, or an
   * authenticator). Absent, the comment says nothing about it rather than guess.
   */
  loginNote?: string;
  error?: string;
  /** While creating: what the hub still waits for (an HTTPS certificate, say). */
  note?: string;
  runUrl?: string;
  updatedAt: Date;
}

/** Hidden marker that identifies this hub's comment among all of a PR's comments. */
export function commentMarker(hubName: string): string {
  return `<!-- tljh-ec2-action hub=${hubName} -->`;
}

const HEADLINE: Record<HubPhase, string> = {
  creating: ':hourglass_flowing_sand: JupyterHub is being created',
  ready: ':white_check_mark: JupyterHub is ready',
  failed: ':x: JupyterHub failed',
  stopped: ':pause_button: JupyterHub is stopped',
  terminated: ':wastebasket: JupyterHub was terminated',
};

/** Text from an error or a user, made safe for a Markdown code block. */
function codeBlock(text: string): string {
  return ['```text', text.replace(/`{3,}/g, "'''").slice(0, 3000), '```'].join('\n');
}

export function renderComment(f: CommentFacts): string {
  const lines = [commentMarker(f.hubName), `### ${HEADLINE[f.phase]}: \`${f.hubName}\``, ''];
  const rows: [string, string | undefined][] = [
    [
      'URL',
      f.phase === 'ready'
        ? f.hubUrl
        : f.phase === 'creating' && f.progressUrl
          ? `${f.progressUrl} (the install's progress page until the hub is up)`
          : undefined,
    ],
    [
      'Admin user',
      f.phase === 'ready' || f.phase === 'creating'
        ? f.adminUser && `\`${f.adminUser}\``
        : undefined,
    ],
    [
      'Instance',
      f.instanceId && `\`${f.instanceId}\`${f.instanceType ? ` (${f.instanceType})` : ''}`,
    ],
    [
      'Expires',
      f.expiresAt && f.phase !== 'terminated'
        ? f.expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z')
        : undefined,
    ],
    ['Run', f.runUrl && `[workflow run](${f.runUrl})`],
  ];
  const present = rows.filter((r): r is [string, string] => Boolean(r[1]));
  if (present.length) {
    lines.push('| | |', '| --- | --- |', ...present.map(([k, v]) => `| ${k} | ${v} |`), '');
  }
  if (f.phase === 'ready' && f.loginNote) lines.push(f.loginNote, '');
  if (f.phase === 'failed' && f.error) lines.push(codeBlock(f.error), '');
  if (f.phase === 'creating' && f.note) lines.push(f.note, '');
  lines.push(
    `<sub>Updated ${f.updatedAt.toISOString().replace(/\.\d{3}Z$/, 'Z')} by tljh-ec2-action.</sub>`,
  );
  return lines.join('\n');
}
