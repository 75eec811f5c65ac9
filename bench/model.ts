// The durations the benchmark models AWS with, each from a cited source, and how a phase the
// emulator measured becomes a modelled AWS duration. The emulator runs the phases EC2 and SSM
// make a run wait on (the boot, the agent's registration) with the cited durations scaled by
// FACTOR; a phase so delayed is modelled as measured / FACTOR. The TLJH install is TLJH's own
// installer here (from a local wheelhouse, on this machine): no delay is added and the cited
// figure models it. Work the action does on the instance (TLJH's set-up functions on a warm
// hub, the verification) is modelled as measured, unscaled: no source gives it on AWS.
import { pollIntervalMs } from '../src/clock.ts';
import { IMAGE_AVAILABLE_MS } from '../src/image-builder.ts';

/** The emulator's delays are the cited durations times this; its figures are divided by it. */
export const FACTOR = 1 / 20;

export interface Source {
  /** What the figure is. */
  what: string;
  /** The modelled duration, seconds. */
  seconds: number;
  /** Where it comes from. */
  url: string;
  /** What the source says (quoted, or a close paraphrase in brackets). */
  says: string;
}

export const SOURCES = {
  runInstances: {
    what: 'RunInstances call until it returns (launch)',
    seconds: 4.8,
    url: 'https://github.com/brevdev/ec2-coldboot-research/blob/main/docs/cold-baseline-results.md',
    says: '"T0→T1 | API call | 4797ms | RunInstances returns" (m7i.large, Amazon Linux 2023, 3 runs)',
  },
  pendingToRunning: {
    what: 'pending to running (EC2 boot as the API shows it)',
    seconds: 17.8,
    url: 'https://github.com/brevdev/ec2-coldboot-research/blob/main/docs/cold-baseline-results.md',
    says: '"T1→T2 | Pending→Running | 17811ms | Hypervisor/scheduler"; 16.4 s for a start of a stopped instance (start-stopped-results.md)',
  },
  agentOnline: {
    what: 'SSM agent Online after the instance runs',
    seconds: 30,
    url: 'https://github.com/DataDog/stratus-red-team/issues/108',
    says: '"Seems it can take randomly from 30s to several minutes" (the low end is modelled; Ubuntu 24.04\'s snap agent: "tens of seconds to minutes", aws-samples/sample-one-click-generative-ai-solutions#93; "occasionally exceeds 120s", CIROH-UA/ngen-datastream#361)',
  },
  ebsBoot: {
    what: 'boot of an instance from an EBS-backed AMI (cross-check)',
    seconds: 60,
    url: 'http://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ComponentsAMIs.html',
    says: '"Boot time for an instance: Usually less than 1 minute" (EBS-backed; "usually less than 5 minutes" from instance store)',
  },
  prebakedReady: {
    what: 'launch to ready, pre-baked runner image (cross-check, 45-60 s)',
    seconds: 60,
    url: 'https://github.com/github-aws-runners/terraform-aws-github-runner/issues/4637',
    says: '"I\'m seeing 45 - 60 seconds after optimizing the AMI"; maintainer: "we have similar times for our ubuntu runners"',
  },
  tljhInstall: {
    what: "TLJH install on AWS, TLJH's own guide (t3.small)",
    seconds: 600,
    url: 'https://tljh.jupyter.org/en/latest/install/amazon.html',
    says: '"It takes around 10 minutes for this installation to complete." (from the launch: boot included)',
  },
  seedInstall: {
    what: 'TLJH install, the seed (workshop) guide this action automates',
    seconds: 300,
    url: 'seed guide "Single-machine Jupyter deployment [AWS]" (/work/shared/seed/single-machine-jupyter-aws.md)',
    says: '"It takes around 5 minutes for the JupyterHub software to download and install"',
  },
  imageWait: {
    what: "the baking run's wait for its image (upper bound)",
    seconds: IMAGE_AVAILABLE_MS / 1000,
    url: 'https://repost.aws/knowledge-center/ebs-snapshot-ec2-ami-creation-slow',
    says: '"creation times for the snapshots might vary widely"; the action waits at most IMAGE_AVAILABLE_MS (src/image-builder.ts), then leaves the image to the next run',
  },
} satisfies Record<string, Source>;

/** The emulator's scenario knobs for a modelled run: the cited delays times FACTOR. */
export const MODEL_SCENARIO = {
  bootDelayMs: Math.round(SOURCES.pendingToRunning.seconds * 1000 * FACTOR),
  agentDelayMs: Math.round(SOURCES.agentOnline.seconds * 1000 * FACTOR),
};

/** The action's poll interval scaled like the delays (the default, 5 s, on AWS). */
export const MODEL_POLL_MS = Math.round(pollIntervalMs({}) * FACTOR);

export type Basis = 'scaled' | 'cited' | 'measured' | 'measured + image wait';

/** A phase of the job summary, as the emulator measured it and as AWS is modelled. */
export interface ModelledPhase {
  phase: string;
  emulatorSeconds: number;
  awsSeconds: number;
  basis: Basis;
  note: string;
}

/** How one phase the emulator measured is modelled on AWS (`cold`: a run that installs). */
export function modelPhase(phase: string, emulatorSeconds: number, cold: boolean): ModelledPhase {
  const scaled = (note: string): ModelledPhase => ({
    phase,
    emulatorSeconds,
    awsSeconds: round(emulatorSeconds / FACTOR),
    basis: 'scaled',
    note,
  });
  const cited = (source: Source): ModelledPhase => ({
    phase,
    emulatorSeconds,
    awsSeconds: source.seconds,
    basis: 'cited',
    note: source.what,
  });
  const measured = (note: string): ModelledPhase => ({
    phase,
    emulatorSeconds,
    awsSeconds: emulatorSeconds,
    basis: 'measured',
    note,
  });
  switch (phase) {
    case 'launch':
      return cited(SOURCES.runInstances);
    case 'running':
    case 'start':
      return scaled(`boot delay ${MODEL_SCENARIO.bootDelayMs} ms`);
    case 'agent online':
      return scaled(`agent delay ${MODEL_SCENARIO.agentDelayMs} ms`);
    case 'install':
      return cold
        ? cited(SOURCES.tljhInstall)
        : measured("TLJH's set-up functions from the image, no installer");
    case 'image bake':
      return {
        phase,
        emulatorSeconds,
        awsSeconds: round(emulatorSeconds + SOURCES.imageWait.seconds),
        basis: 'measured + image wait',
        note: 'upper bound; stop and terminate of the builder not modelled',
      };
    default:
      return measured('work on the instance or the runner, unscaled');
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
