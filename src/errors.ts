// One error type the entry point knows how to print: what went wrong, and what to do about it.

export class ActionError extends Error {
  readonly hint?: string;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'ActionError';
    this.hint = hint;
  }
}

/** A bad input: names the input and what it accepts. Raised before any AWS call that mutates. */
export class InputError extends ActionError {
  constructor(input: string, problem: string, accepted: string) {
    super(`Input '${input}': ${problem}. Accepted: ${accepted}.`);
    this.name = 'InputError';
  }
}

interface AwsLikeError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorName(err: unknown): string {
  const e = err as AwsLikeError;
  return e?.Code ?? e?.name ?? '';
}

export function isAwsError(err: unknown, ...names: string[]): boolean {
  return names.includes(errorName(err));
}

const TRANSIENT = new Set([
  'ThrottlingException',
  'RequestLimitExceeded',
  'Throttling',
  'TooManyRequestsException',
  'InternalError',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/**
 * Throttling, a 5xx or a dropped connection that outlasted the SDK's own retries. A long poll
 * loop keeps polling through these until its own deadline rather than failing the run.
 */
export function isTransient(err: unknown): boolean {
  const e = err as AwsLikeError & { code?: string; $retryable?: unknown };
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return (
    TRANSIENT.has(errorName(err)) ||
    TRANSIENT.has(e?.code ?? '') ||
    status >= 500 ||
    Boolean(e?.$retryable)
  );
}

/**
 * The credentials' session ended: STS and JSON services say ExpiredToken(Exception), EC2 says
 * RequestExpired. No retry helps; the run must stop and say why.
 */
const SESSION_EXPIRED = ['ExpiredToken', 'ExpiredTokenException', 'RequestExpired'];

export function isSessionExpired(err: unknown): boolean {
  return isAwsError(err, ...SESSION_EXPIRED);
}

/** What to do when the session expired mid-run (the README's "Long installs" says the same). */
export const SESSION_EXPIRED_HINT =
  "aws-actions/configure-aws-credentials issues one-hour sessions by default, and one run can take up to twice install-timeout plus an hour (its own install, and another run's it may wait for), plus https-wait with HTTPS. Set its 'role-duration-seconds' to (2 x install-timeout + 60) x 60, 7200 for the default install-timeout of 30 (with HTTPS, add https-wait x 60), and raise the role's maximum session duration to at least that. Then run again: it continues from the tagged instance, and deletes the settings parameter this run could not.";

/** Turns an AWS SDK error into an ActionError that says what the user can do. */
export function explainAwsError(err: unknown, doing: string): ActionError {
  if (err instanceof ActionError) return err;
  const name = errorName(err);
  const message = (err as AwsLikeError)?.message ?? String(err);
  const base = `${doing} failed: ${name ? `${name}: ` : ''}${message}`;
  if (SESSION_EXPIRED.includes(name)) {
    return new ActionError(
      `${doing} failed: the AWS session expired during the run (${name}: ${message}).`,
      SESSION_EXPIRED_HINT,
    );
  }
  switch (name) {
    case 'CredentialsProviderError':
      return new ActionError(
        `${doing} failed: no AWS credentials were found.`,
        'Add aws-actions/configure-aws-credentials (OIDC role) before this step. Pull requests from forks get no credentials: see the README for the safe pattern.',
      );
    case 'UnauthorizedOperation':
    case 'AccessDenied':
    case 'AccessDeniedException':
      return new ActionError(
        base,
        'The role this workflow assumed lacks a permission: compare it with the caller policy in the README (docs/iam).',
      );
    case 'InsufficientInstanceCapacity':
      return new ActionError(
        base,
        'AWS has no capacity for this instance type in this Availability Zone right now: try another instance-type or subnet-id, or run again later.',
      );
    case 'AuthFailure.ServiceLinkedRoleCreationNotPermitted':
      return new ActionError(
        base,
        "A Spot launch needs the account's service-linked role AWSServiceRoleForEC2Spot, which EC2 creates only if the caller may: create it once with `aws iam create-service-linked-role --aws-service-name spot.amazonaws.com` (see the README's Spot section), or use 'market-type: on-demand'.",
      );
    case 'InstanceLimitExceeded':
    case 'VcpuLimitExceeded':
      return new ActionError(
        base,
        'The account has reached its EC2 quota: terminate unused instances or request a quota increase (Service Quotas, "Running On-Demand Standard instances").',
      );
    case 'Unsupported':
      return new ActionError(
        base,
        'This instance type is not offered in this Availability Zone: pick another subnet-id or instance-type.',
      );
    case 'InvalidInstanceID.NotFound':
      return new ActionError(
        base,
        'The instance disappeared: someone may have terminated it. Run again to converge.',
      );
    case 'IncorrectInstanceState':
      return new ActionError(
        base,
        'The instance changed state during this run (perhaps another workflow). Run again: the action converges from whatever state it finds.',
      );
    case 'NoSuchEntity':
      return new ActionError(
        base,
        "Check the 'iam-instance-profile' input: it must name an existing instance profile (not a role) of this account.",
      );
    default:
      if (/iamInstanceProfile|instance profile/i.test(message)) {
        return new ActionError(
          base,
          "Check the 'iam-instance-profile' input: it must name an existing instance profile (not a role) of this account.",
        );
      }
      if (/region/i.test(message) && /missing|not configured/i.test(message)) {
        return new ActionError(
          `${doing} failed: no AWS region.`,
          "Set the 'aws-region' input, or AWS_REGION via aws-actions/configure-aws-credentials.",
        );
      }
      if (/Could not load credentials|credential/i.test(message)) {
        return new ActionError(
          `${doing} failed: no usable AWS credentials (${message}).`,
          'Add aws-actions/configure-aws-credentials (OIDC role) before this step.',
        );
      }
      return new ActionError(base);
  }
}

/** The instance a wait was about went away (stopped or terminated by someone else). */
export class InstanceGoneError extends ActionError {
  readonly state: string;
  constructor(instanceId: string, state: string) {
    super(
      `Instance ${instanceId} is ${state}: someone stopped or terminated it while this run was waiting on it.`,
      'Run again: the action converges from the state it finds (a concurrent workflow run for the same hub is the usual cause: see the concurrency group in the README).',
    );
    this.name = 'InstanceGoneError';
    this.state = state;
  }
}
