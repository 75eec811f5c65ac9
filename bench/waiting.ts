// How hard the action leans on the AWS APIs while it waits (for the SSM agent, then for the
// install), so the waits stay far below the API rate limits.
//
// Method: one create where the agent needs `AGENT_POLLS` polls to come Online and the install
// runs for `INSTALL_MS`, with the action polling every `MEASURED_POLL_MS` (the e2e suite's 50 ms
// would measure the emulator's latency, not the action). The waiting window runs from the
// first DescribeInstanceInformation to the last GetCommandInvocation; every AWS call in it is
// counted (the one-off SendCommand too). Polls are paced by the poll interval, so the calls
// per poll interval carry over to the real default interval (pollIntervalMs() in
// src/clock.ts, 5 s): calls/min at the default = calls per interval * 60 s / default interval.
import { pollIntervalMs } from '../src/clock.ts';
import { getCalls, resetEmulator, setScenario } from '../e2e/harness/emulator.ts';
import { runAction } from '../e2e/harness/run-action.ts';

const MEASURED_POLL_MS = 250;
const AGENT_POLLS = 12;
const INSTALL_MS = 6000;

export interface WaitingFigures {
  callsPerInterval: number;
  callsPerMinuteAtDefault: number;
}

export async function measureWaiting(inputs: Record<string, string>): Promise<WaitingFigures> {
  await resetEmulator();
  await setScenario({ agentDelayPolls: AGENT_POLLS, installDelayMs: INSTALL_MS });
  const result = await runAction(inputs, {
    timeoutMs: 300_000,
    env: { TLJH_POLL_INTERVAL_MS: String(MEASURED_POLL_MS) },
  });
  if (result.exitCode !== 0) throw new Error(`the waiting create failed:\n${result.stdout}`);
  const calls = await getCalls();
  await resetEmulator();
  const first = calls.findIndex((c) => c.operation === 'DescribeInstanceInformation');
  const last = calls.map((c) => c.operation).lastIndexOf('GetCommandInvocation');
  if (first < 0 || last <= first) throw new Error('no agent or command polls were recorded');
  const window = calls.slice(first, last + 1);
  const ms = Date.parse(window.at(-1)!.at) - Date.parse(window[0]!.at);
  const callsPerInterval = window.length / (ms / MEASURED_POLL_MS);
  const defaultMs = pollIntervalMs({});
  return {
    callsPerInterval: Number(callsPerInterval.toFixed(2)),
    callsPerMinuteAtDefault: Number(((callsPerInterval * 60_000) / defaultMs).toFixed(1)),
  };
}
