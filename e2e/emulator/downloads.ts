// A loopback stand-in for raw.githubusercontent.com, the one download host the install script
// uses: /__downloads/jupyterhub/the-littlest-jupyterhub/<ref>/<path> answers the file at that
// ref of the TLJH checkout scripts/setup.sh made (from TLJH_GIT), and 404 for a ref or path
// it does not have, as GitHub does.
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendText } from './http-util.ts';
import { tljhCheckout } from './real-instance.ts';

export const DOWNLOADS_PREFIX = '/__downloads/';
const REPO = 'jupyterhub/the-littlest-jupyterhub/';

export function handleDownload(req: IncomingMessage, res: ServerResponse): void {
  const rest = decodeURIComponent((req.url ?? '').slice(DOWNLOADS_PREFIX.length).split('?')[0]!);
  const match = rest.startsWith(REPO)
    ? /^([\w.-]+)\/([\w./-]+)$/.exec(rest.slice(REPO.length))
    : null;
  if (!match || match[2]!.includes('..') || match[1]!.startsWith('-')) {
    return sendText(res, 404, '404: Not Found', 'text/plain; charset=utf-8');
  }
  execFile(
    'git',
    ['-C', tljhCheckout(), 'show', `${match[1]}:${match[2]}`],
    { maxBuffer: 8 * 1024 * 1024 },
    (err, stdout) => {
      if (err) return sendText(res, 404, '404: Not Found', 'text/plain; charset=utf-8');
      sendText(res, 200, stdout, 'text/plain; charset=utf-8');
    },
  );
}
