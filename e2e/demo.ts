// The README's demo: one hub created, verified, re-run, stopped and terminated by dist/index.js
// against the local emulator (run it as `scripts/dev.sh demo`, inside a loopback-only namespace).
import { hubApiUrl } from './harness/emulator.ts';
import { runAction } from './harness/run-action.ts';
import { withEmulator } from './harness/with-emulator.ts';

const hub = { 'hub-name': 'workshop', 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm' };

const steps: [string, Record<string, string>][] = [
  ['Create the hub', { ...hub, state: 'running' }],
  ['Run again (a cheap health check, nothing changes)', { ...hub, state: 'running' }],
  ['Stop it (nightly)', { ...hub, state: 'stopped' }],
  ['Start it again (new public IP)', { ...hub, state: 'running' }],
  ['Terminate it', { ...hub, state: 'terminated' }],
];

await withEmulator(async () => {
  for (const [title, inputs] of steps) {
    console.log(`\n=== ${title}: state=${inputs.state} ===`);
    const started = Date.now();
    const result = await runAction(inputs);
    // The action's own log, as the runner would show it (without the workflow-command markers).
    for (const line of result.stdout.split('\n')) {
      if (line && !line.startsWith('::endgroup::'))
        console.log(`  | ${line.replace(/^::group::/, '> ')}`);
    }
    console.log(`  exit code ${result.exitCode} in ${Date.now() - started} ms; outputs:`);
    for (const [name, value] of Object.entries(result.outputs)) {
      // A secret output: the runner masks it in logs, so the demo does too.
      const shown = name === 'admin-password' && value ? '*** (generated; masked)' : value;
      console.log(`    ${name} = ${shown}`);
    }
    if (result.exitCode !== 0) process.exit(result.exitCode);
    const ip = result.outputs['public-ip'];
    if (ip && result.outputs.state === 'running') {
      const res = await fetch(hubApiUrl(ip));
      console.log(`  GET ${hubApiUrl(ip)} -> ${res.status} ${await res.text()}`);
    }
  }
  console.log('\nDone: the hub was created, verified, stopped, started and terminated.');
});
