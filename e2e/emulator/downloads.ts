// A loopback stand-in for raw.githubusercontent.com, the one download host the install script
// uses: /__downloads/jupyterhub/the-littlest-jupyterhub/<ref>/<path> answers the file at that
// ref of the TLJH checkout scripts/setup.sh made (from TLJH_GIT), and 404 for a ref or path
// it does not have, as GitHub does. Also JupyterHub's favicon, which bootstrap.py
// --show-progress-page downloads (unguarded: a failed download fails the install) to serve it
// on its progress page: a stand-in icon.
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendText } from './http-util.ts';
import { tljhCheckout } from './real-instance.ts';

export const DOWNLOADS_PREFIX = '/__downloads/';
const REPO = 'jupyterhub/the-littlest-jupyterhub/';

/** bootstrap.py's progress_page_favicon_url (TLJH 0.2.0 to 2.0.0), without the host. */
export const FAVICON_PATH = 'jupyterhub/jupyterhub/main/share/jupyterhub/static/favicon.ico';

/** A 1x1 icon (ICONDIR, one ICONDIRENTRY, a 32-bit BMP with its AND mask). */
function standInIcon(): Buffer {
  const header = Buffer.from([0, 0, 1, 0, 1, 0]);
  const entry = Buffer.alloc(16);
  entry.writeUInt8(1, 0); // width
  entry.writeUInt8(1, 1); // height
  entry.writeUInt16LE(1, 4); // planes
  entry.writeUInt16LE(32, 6); // bits per pixel
  entry.writeUInt32LE(48, 8); // image size
  entry.writeUInt32LE(22, 12); // image offset
  const bmp = Buffer.alloc(48);
  bmp.writeUInt32LE(40, 0); // BITMAPINFOHEADER
  bmp.writeInt32LE(1, 4);
  bmp.writeInt32LE(2, 8); // height counts the XOR and AND images
  bmp.writeUInt16LE(1, 12);
  bmp.writeUInt16LE(32, 14);
  bmp.writeUInt32LE(0xfff37726, 40); // one orange pixel (BGRA)
  return Buffer.concat([header, entry, bmp]);
}

export function handleDownload(req: IncomingMessage, res: ServerResponse): void {
  const rest = decodeURIComponent((req.url ?? '').slice(DOWNLOADS_PREFIX.length).split('?')[0]!);
  if (rest === FAVICON_PATH) {
    const icon = standInIcon();
    res.writeHead(200, { 'content-type': 'image/x-icon', 'content-length': icon.length });
    res.end(icon);
    return;
  }
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
