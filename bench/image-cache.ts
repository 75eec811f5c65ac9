// The image cache, cold and warm, on real TLJH: hub A misses the cache (it installs, and a
// builder bakes the image alongside), then hub B of the same key launches from the image. The
// emulator boots instances and registers agents with the cited durations scaled by FACTOR
// (bench/model.ts), and the action polls at its default interval scaled the same way. Each
// phase of the job summary's "Where the time goes" is recorded as the emulator measured it and
// as it is modelled on AWS, with the run's AWS calls. Figures, not tests.
import { getCalls, resetEmulator, setScenario } from '../e2e/harness/emulator.ts';
import { runAction } from '../e2e/harness/run-action.ts';
import { addCallFigures, type Figures } from './calls.ts';
import {
  FACTOR,
  MODEL_POLL_MS,
  MODEL_SCENARIO,
  SOURCES,
  modelPhase,
  type ModelledPhase,
} from './model.ts';

const HUB = {
  'admin-user': 'naomi',
  'iam-instance-profile': 'tljh-ssm',
  'image-cache': 'true',
  state: 'running',
};

const RUNS = [
  { name: 'image cache: cold (miss, bakes)', hub: 'bench-cache-a', cold: true, source: 'ubuntu' },
  { name: 'image cache: warm (hit)', hub: 'bench-cache-b', cold: false, source: 'cache' },
] as const;

export interface ImageCacheRun {
  name: string;
  cold: boolean;
  phases: ModelledPhase[];
}

/** The job summary's "Where the time goes" rows: phase and seconds ("all phases" left out). */
export function parsePhases(summary: string): [string, number][] {
  const section = summary.split('Where the time goes')[1] ?? '';
  const table = section.slice(0, section.indexOf('</table>'));
  return [...table.matchAll(/<tr><td>([^<]+)<\/td><td>([\d.]+) s<\/td><\/tr>/g)]
    .map(([, phase, seconds]): [string, number] => [phase!, Number(seconds)])
    .filter(([phase]) => phase !== 'all phases');
}

function sum(phases: ModelledPhase[], key: 'emulatorSeconds' | 'awsSeconds'): number {
  return Math.round(phases.reduce((total, p) => total + p[key], 0) * 10) / 10;
}

/** Runs hub A (cold) then hub B (warm) and adds their figures. */
export async function measureImageCache(figures: Figures): Promise<ImageCacheRun[]> {
  const runs: ImageCacheRun[] = [];
  await resetEmulator({ aws: true });
  for (const run of RUNS) {
    await resetEmulator();
    await setScenario({ tljh: 'real', ...MODEL_SCENARIO });
    const started = performance.now();
    const result = await runAction(
      { ...HUB, 'hub-name': run.hub },
      { timeoutMs: 900_000, env: { TLJH_POLL_INTERVAL_MS: String(MODEL_POLL_MS) } },
    );
    const ms = performance.now() - started;
    if (result.exitCode !== 0) throw new Error(`${run.name} failed:\n${result.stdout}`);
    // Not a test of speed: the scenario must be the one it is named after.
    if (result.outputs['image-source'] !== run.source) {
      throw new Error(
        `${run.name}: image-source ${result.outputs['image-source']}, expected ${run.source}`,
      );
    }
    addCallFigures(figures, run.name, await getCalls(), true);
    figures[`${run.name}: wall ms`] = Math.round(ms);
    const parsed = parsePhases(result.summary);
    if (!parsed.length) throw new Error(`${run.name}: no phase lines in the job summary`);
    const phases = parsed.map(([phase, s]) => modelPhase(phase, s, run.cold));
    for (const p of phases) {
      figures[`${run.name}: ${p.phase}, emulator s`] = p.emulatorSeconds;
      figures[`${run.name}: ${p.phase}, AWS model s`] = p.awsSeconds;
    }
    figures[`${run.name}: all phases, emulator s`] = sum(phases, 'emulatorSeconds');
    figures[`${run.name}: all phases, AWS model s`] = sum(phases, 'awsSeconds');
    runs.push({ name: run.name, cold: run.cold, phases });
  }
  const [cold, warm] = runs;
  const seedTotal =
    sum(cold!.phases, 'awsSeconds') - SOURCES.tljhInstall.seconds + SOURCES.seedInstall.seconds;
  figures[`${cold!.name}: all phases with the seed guide's install, AWS model s`] =
    Math.round(seedTotal * 10) / 10;
  const toAgent = warm!.phases.filter((p) =>
    ['launch', 'running', 'agent online'].includes(p.phase),
  );
  figures[`${warm!.name}: launch to agent Online, AWS model s`] = sum(toAgent, 'awsSeconds');
  return runs;
}

function pad(text: string | number, width: number, left = false): string {
  const s = String(text);
  return left ? s.padEnd(width) : s.padStart(width);
}

/** Prints the model: the factor, the sources, and each run's phases side by side. */
export function printModel(runs: ImageCacheRun[]): void {
  console.log(
    `\nAWS model: the emulator's boot (${MODEL_SCENARIO.bootDelayMs} ms) and agent registration ` +
      `(${MODEL_SCENARIO.agentDelayMs} ms) are the cited durations x ${FACTOR} (1/${1 / FACTOR}); ` +
      `the action polls every ${MODEL_POLL_MS} ms (5 s on AWS, x the same factor).`,
  );
  console.log('Sources:');
  for (const s of Object.values(SOURCES)) {
    console.log(`  ${pad(s.seconds, 5)} s  ${s.what}\n           ${s.says}\n           ${s.url}`);
  }
  for (const run of runs) {
    console.log(`\n${run.name}`);
    console.log(
      `  ${pad('phase', 14, true)} ${pad('emulator s', 10)} ${pad('AWS model s', 11)}  basis`,
    );
    for (const p of run.phases) {
      console.log(
        `  ${pad(p.phase, 14, true)} ${pad(p.emulatorSeconds.toFixed(1), 10)} ${pad(p.awsSeconds.toFixed(1), 11)}  ${p.basis}: ${p.note}`,
      );
    }
    console.log(
      `  ${pad('all phases', 14, true)} ${pad(sum(run.phases, 'emulatorSeconds').toFixed(1), 10)} ${pad(sum(run.phases, 'awsSeconds').toFixed(1), 11)}`,
    );
    const install = run.phases.find((p) => p.phase === 'install');
    if (run.cold && install) {
      const scaled = SOURCES.tljhInstall.seconds * FACTOR;
      console.log(
        `  (TLJH's installer ran ${install.emulatorSeconds.toFixed(1)} s here, hub and builder at once; ` +
          `the cited install x the factor is ${scaled.toFixed(1)} s: no install delay is added, the cited figure models it)`,
      );
    }
  }
  console.log(
    `\nCross-checks: a pre-baked image is ready 45-60 s after launch (${SOURCES.prebakedReady.url}); ` +
      `an EBS-backed instance boots in usually less than 1 minute (${SOURCES.ebsBoot.url}); ` +
      `issue 11 aims at a warm hub in under 90 s, and a cold one at most about a minute longer than today.`,
  );
}
