// A Reporter (the log every step of a run is given) that records what it is told, for tests to
// assert on. Not a test file.
import type { Reporter } from '../../src/context.ts';

export class RecordingLog implements Reporter {
  readonly infos: string[] = [];
  readonly warnings: string[] = [];
  /** The name of every group opened, in order. */
  readonly groups: string[] = [];
  /** Every secret registered with mask(), in order. */
  readonly masked: string[] = [];

  group = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    this.groups.push(name);
    return fn();
  };
  info = (message: string): void => {
    this.infos.push(message);
  };
  warning = (message: string): void => {
    this.warnings.push(message);
  };
  mask = (secret: string): void => {
    this.masked.push(secret);
  };
}
