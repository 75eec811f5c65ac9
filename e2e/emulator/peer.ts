// Which emulated instance opened a loopback connection. Every instance's processes share this
// network namespace, so an instance asking its own hub at http://127.0.0.1/ (TLJH's installer
// and tljh-config do) reaches the one web front that stands in for all hubs. The kernel knows
// the socket's owner: /proc/net/tcp maps the client's port to a socket inode, /proc/PID/fd finds
// the process holding it, and the emulator gave every instance process EMU_INSTANCE_ID.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function socketInode(localPort: number): string | undefined {
  const want = `0100007F:${localPort.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === want && f[9] && f[9] !== '0') return f[9];
  }
  return undefined;
}

function instanceOf(pid: string): string | undefined {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.find((e) => e.startsWith('EMU_INSTANCE_ID='))?.slice('EMU_INSTANCE_ID='.length);
  } catch {
    return undefined;
  }
}

/** The instance id of the process that connected from 127.0.0.1:`clientPort`, if any. */
export function instanceAtPeer(clientPort: number | undefined): string | undefined {
  if (!clientPort) return undefined;
  const inode = socketInode(clientPort);
  if (!inode) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || pid === String(process.pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return instanceOf(pid);
      } catch {
        // the fd closed meanwhile
      }
    }
  }
  return undefined;
}
