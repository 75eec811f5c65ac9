// The end-to-end suite must run where no packet can leave the machine: a network namespace
// holding only loopback (e2e/netns.sh). The hub simulator listens on 0.0.0.0:80, and moto's
// addresses are only safe to probe there.
import { readFileSync } from 'node:fs';

/** Interfaces of this process's network namespace (/proc/self/net/dev follows the namespace). */
export function networkInterfaces(): string[] {
  const lines = readFileSync('/proc/self/net/dev', 'utf8').split('\n').slice(2);
  return lines.map((l) => l.split(':')[0]!.trim()).filter((name) => name !== '');
}

export function assertLoopbackOnly(): void {
  const names = networkInterfaces();
  if (names.length !== 1 || names[0] !== 'lo') {
    throw new Error(
      `The end-to-end suite must run in a loopback-only network namespace, but this one has ` +
        `interfaces [${names.join(', ')}]. Run it through e2e/netns.sh, e.g.\n` +
        `  e2e/netns.sh env NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects e2e --runInBand\n` +
        `or: npm run test:e2e`,
    );
  }
}
