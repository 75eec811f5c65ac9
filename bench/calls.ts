// The AWS-call figures of one measured run, the same for every operation the benchmark times.
import type { RecordedCall } from '../e2e/harness/emulator.ts';

export type Figures = Record<string, number>;

/** Adds `name: AWS calls` and `name: mutating calls` (and, with `extra`, SSM commands and installer runs). */
export function addCallFigures(
  figures: Figures,
  name: string,
  calls: RecordedCall[],
  extra = false,
): void {
  figures[`${name}: AWS calls`] = calls.length;
  figures[`${name}: mutating calls`] = calls.filter((c) =>
    /^(Run|Start|Stop|Terminate|Create|Delete|Authorize|Revoke|Modify|Send|Put|Allocate|Associate|Disassociate|Release|Change)/.test(
      c.operation,
    ),
  ).length;
  if (extra) {
    const sends = calls.filter((c) => c.operation === 'SendCommand');
    figures[`${name}: SSM commands`] = sends.length;
    figures[`${name}: installer runs`] = sends.filter((c) =>
      JSON.stringify(c.params).includes('bootstrap.py'),
    ).length;
  }
}
