// Jest global setup: starts the emulator (moto + the front) for the e2e project.
// Jest loads global hooks through a CommonJS require hook, where this project's ESM and
// `.ts` imports do not resolve, so this file has no local imports and runs
// e2e/harness/start-emulator.ts as its own Node 24 process (native type stripping) instead.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export default function globalSetup(_global: unknown, project: { rootDir: string }): Promise<void> {
  const root = project.rootDir;
  return new Promise((resolve, reject) => {
    const node = join(root, 'node_modules', '.bin', 'node');
    const child = spawn(node, [join(root, 'e2e', 'harness', 'start-emulator.ts')], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(new Error(`e2e/harness/start-emulator.ts failed (exit ${code}):\n${stderr.trim()}`));
    });
  });
}
