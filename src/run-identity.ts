// Who is acting, from the workflow's environment (pure): the key of one step's launch (its
// ClientToken) and the owner of an install lease. Outside a workflow run both are random.
import { createHash, randomUUID } from 'node:crypto';

type Env = Record<string, string | undefined>;

const hash = (text: string, length: number) =>
  createHash('sha256').update(text).digest('hex').slice(0, length);

/**
 * One step of one job of one run attempt: repository, run id, attempt, job (GITHUB_JOB) and
 * step (GITHUB_ACTION). Two jobs of a run, or a terminate and a create in two steps of one job,
 * never share it; undefined outside a workflow run.
 */
export function runKey(env: Env): string | undefined {
  const { GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, GITHUB_JOB, GITHUB_ACTION } = env;
  if (!GITHUB_RUN_ID) return undefined;
  return [
    GITHUB_REPOSITORY ?? '',
    GITHUB_RUN_ID,
    GITHUB_RUN_ATTEMPT ?? '1',
    GITHUB_JOB ?? '',
    GITHUB_ACTION ?? '',
  ].join('/');
}

/**
 * The install lease's owner: repository, run id and job, the same in every attempt (a re-run
 * attempt takes over its own job's lease) but another for each job of the run.
 */
export function runOwner(env: Env): string {
  const { GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_JOB } = env;
  const key = GITHUB_RUN_ID
    ? `${GITHUB_REPOSITORY ?? ''}/${GITHUB_RUN_ID}/${GITHUB_JOB ?? ''}`
    : randomUUID();
  return hash(key, 16);
}

/**
 * The launch's ClientToken: the same hub, region and run key give the same token, so a retried
 * RunInstances cannot launch twice; without a run key, a random one.
 */
export function launchClientToken(
  hubName: string,
  region: string,
  key: string | undefined,
): string {
  return `tljh-${hash(`${region}/${hubName}/${key ?? randomUUID()}`, 48)}`;
}
