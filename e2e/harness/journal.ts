// Journals that outlive the emulator's per-test resets, for the audit of the whole suite
// (e2e/audit.test.ts): every AWS request the front saw, every run of the action, and every
// request body the action sent to GitHub.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TMP_DIR } from './paths.ts';

export const JOURNAL_DIR = join(TMP_DIR, 'journal');
export const AWS_JOURNAL = join(JOURNAL_DIR, 'aws.jsonl');
export const RUNS_JOURNAL = join(JOURNAL_DIR, 'runs.jsonl');
/** Every request body the action sent to the emulated GitHub API (e2e/github/api.ts). */
export const GITHUB_JOURNAL = join(JOURNAL_DIR, 'github.jsonl');

/** The credentials runAction gives the action: the audit tells its calls from the tests' own. */
export const ACTION_ACCESS_KEY = 'AKIAACTIONUNDERTEST0';
export const ACTION_SECRET_KEY = 'action-under-test-secret-access-key';
/** The instance role's credentials (the emulator's metadata service hands them out). */
export const INSTANCE_ACCESS_KEY = 'ASIAEMULATORINSTANCE';

export interface AwsEntry {
  service: string;
  operation: string;
  params: Record<string, unknown>;
  accessKey?: string;
  /** The Elastic IP the call named, as it was before the call (e2e/emulator/addresses.ts). */
  address?: { allocationId: string; networkInterfaceId?: string; tags: Record<string, string> };
  /** An AssociateAddress's target instance's primary network interface (the front's look-up). */
  networkInterfaceId?: string;
}

export interface RunEntry {
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  stdout: string;
  stderr: string;
  summary: string;
}

/** A request with a body the action sent to GitHub's API (PR comments). */
export interface GitHubEntry {
  method: string;
  /** Path without the API prefix, e.g. /repos/o/r/issues/7/comments. */
  path: string;
  /** The raw text, as sent. */
  body: string;
}

export function clearJournals(): void {
  rmSync(JOURNAL_DIR, { recursive: true, force: true });
  mkdirSync(JOURNAL_DIR, { recursive: true });
}

export function append(file: string, entry: AwsEntry | RunEntry | GitHubEntry): void {
  mkdirSync(JOURNAL_DIR, { recursive: true });
  appendFileSync(file, JSON.stringify(entry) + '\n');
}

export function readJournal<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);
}
