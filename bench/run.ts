// The benchmark: AWS calls and wall time per operation against the emulator, the bundle's size
// and its cold start under Node 24, printed side by side with bench/baseline.json; then the
// image cache cold and warm, phase by phase, with modelled AWS durations (bench/model.ts).
//   scripts/dev.sh bench                 compare with the baseline
//   npm run bench -- --save-baseline     record this run as the new baseline
// Figures, not tests: nothing here fails because a machine is slow.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  getCalls,
  resetEmulator,
  setScenario,
  useLightInstances,
} from '../e2e/harness/emulator.ts';
import { NODE24, REPO_ROOT } from '../e2e/harness/paths.ts';
import { ACTION_ENTRY, runAction } from '../e2e/harness/run-action.ts';
import { withEmulator } from '../e2e/harness/with-emulator.ts';
import { createHostedZone } from '../e2e/harness/dns.ts';
import { addCallFigures, type Figures } from './calls.ts';
import { measureImageCache, printModel, type ImageCacheRun } from './image-cache.ts';
import { seedHubs } from './seed.ts';
import { measureWaiting } from './waiting.ts';

const BASELINE = join(REPO_ROOT, 'bench', 'baseline.json');
const HUB = { 'hub-name': 'bench', 'admin-user': 'naomi', 'iam-instance-profile': 'tljh-ssm' };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs the action once and records its AWS calls and wall time under `name`. */
async function measure(
  figures: Figures,
  name: string,
  inputs: Record<string, string>,
  realTljh = false,
  extra = false,
): Promise<void> {
  await resetEmulator();
  if (realTljh) await setScenario({ tljh: 'real' });
  const started = performance.now();
  const result = await runAction(inputs, { timeoutMs: 900_000 });
  const ms = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`${name} failed:\n${result.stdout}`);
  addCallFigures(figures, name, await getCalls(), extra);
  figures[`${name}: wall ms`] = Math.round(ms);
}

function coldStartMs(runs = 7): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    // A bad input makes the action exit right after loading: the cost of loading the bundle.
    spawnSync(NODE24, [ACTION_ENTRY], { env: { PATH: process.env.PATH, INPUT_STATE: 'bogus' } });
    times.push(performance.now() - started);
  }
  return Math.round(median(times));
}

const figures: Figures = {};
let imageCache: ImageCacheRun[] = [];
// The action's own figures on light instances (comparable across runs: the stubs' install takes
// a fixed 200 ms), then one create on an instance running TLJH's own installer.
useLightInstances();
await withEmulator(async () => {
  await resetEmulator({ aws: true });
  const poll = { ...HUB };
  await measure(figures, 'create', { ...poll, state: 'running' });
  await measure(figures, 'no-op re-run', { ...poll, state: 'running' });
  await measure(figures, 'stop', { ...poll, state: 'stopped' });
  await measure(figures, 'start', { ...poll, state: 'running' });
  // A changed input on the running hub: one settings command, no installer run; a new type
  // stops, modifies and starts the instance.
  const settings = {
    ...poll,
    state: 'running',
    'tljh-config': 'user_environment.default_app=jupyterlab',
  };
  await measure(figures, 'settings change on a running hub', settings, false, true);
  await measure(
    figures,
    'instance-type change',
    { ...settings, 'instance-type': 't3.medium' },
    false,
    true,
  );
  await measure(figures, 'terminate', { ...poll, state: 'terminated' });
  // The same hub with an Elastic IP, a Route 53 record and HTTPS (issue 12): the calls they add.
  const endpoint = {
    ...HUB,
    'hub-name': 'bench-eip',
    'elastic-ip': 'true',
    'dns-zone-id': await createHostedZone('bench.example.org'),
    'dns-name': 'hub.bench.example.org',
    'https-email': 'ops@example.org',
  };
  await measure(figures, 'create, Elastic IP + record + HTTPS', { ...endpoint, state: 'running' });
  await measure(figures, 'no-op re-run, Elastic IP + record', { ...endpoint, state: 'running' });
  await measure(figures, 'stop, Elastic IP + record', { ...endpoint, state: 'stopped' });
  await measure(figures, 'start, Elastic IP + record', { ...endpoint, state: 'running' });
  await measure(figures, 'terminate, Elastic IP + record', { ...endpoint, state: 'terminated' });
  // AWS calls per minute while waiting on the agent and the install (method: bench/waiting.ts).
  const waiting = await measureWaiting({ ...HUB, 'hub-name': 'bench-wait', state: 'running' });
  figures['create, waiting: AWS calls per poll interval'] = waiting.callsPerInterval;
  figures['create, waiting: AWS calls/min at the default poll interval'] =
    waiting.callsPerMinuteAtDefault;
  await resetEmulator({ aws: true });
  await measure(figures, 'create, real TLJH install', { ...HUB, state: 'running' }, true);
  // Cold and warm with image-cache, phase by phase, with modelled AWS durations (bench/model.ts).
  imageCache = await measureImageCache(figures);
  for (const count of [50, 200]) {
    await resetEmulator({ aws: true });
    await seedHubs(count);
    await measure(figures, `stop ${count} hubs`, { 'hub-name': 'fleet-*', state: 'stopped' });
  }
});
figures['bundle bytes'] = statSync(ACTION_ENTRY).size;
figures['cold start ms (Node 24, median of 7)'] = coldStartMs();

const baseline: Figures = existsSync(BASELINE)
  ? (JSON.parse(readFileSync(BASELINE, 'utf8')) as Figures)
  : {};
const width = Math.max(...Object.keys(figures).map((k) => k.length));
console.log(
  `\n${'figure'.padEnd(width)}  ${'baseline'.padStart(10)}  ${'now'.padStart(10)}  change`,
);
for (const [name, value] of Object.entries(figures)) {
  const before = baseline[name];
  const change =
    before === undefined
      ? 'new'
      : before === 0
        ? value === 0
          ? '='
          : '+inf'
        : `${(((value - before) / before) * 100).toFixed(0)}%`;
  console.log(
    `${name.padEnd(width)}  ${String(before ?? '-').padStart(10)}  ${String(value).padStart(10)}  ${change}`,
  );
}
printModel(imageCache);
if (process.argv.includes('--save-baseline')) {
  writeFileSync(BASELINE, JSON.stringify(figures, null, 2) + '\n');
  console.log(`\nSaved as the baseline (${BASELINE}).`);
}
