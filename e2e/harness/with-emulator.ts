// Runs a function with the emulator up, and always stops it: for the demo and the benchmark
// (jest's global setup does the same for the test suite).
import { spawnSync } from 'node:child_process';
import { NODE24, REPO_ROOT } from './paths.ts';

function runScript(script: string): void {
  const result = spawnSync(NODE24, [script], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${script} failed (exit ${result.status})`);
}

export async function withEmulator<T>(fn: () => Promise<T>): Promise<T> {
  runScript('e2e/harness/start-emulator.ts');
  try {
    return await fn();
  } finally {
    runScript('e2e/harness/stop-emulator.ts');
  }
}
