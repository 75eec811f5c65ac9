import { EC2ServiceException } from '@aws-sdk/client-ec2';
import {
  ActionError,
  InputError,
  SESSION_EXPIRED_HINT,
  explainAwsError,
  isAwsError,
  isSessionExpired,
} from '../src/errors.ts';
import { awsError } from './helpers/fakes.ts';

const DOING = 'Launching the instance (RunInstances)';

describe('explainAwsError gives a hint for each named error', () => {
  test.each<[string, RegExp]>([
    ['UnauthorizedOperation', /lacks a permission.*README/],
    ['AccessDenied', /lacks a permission/],
    ['AccessDeniedException', /lacks a permission/],
    ['InsufficientInstanceCapacity', /no capacity.*instance-type or subnet-id/],
    ['InstanceLimitExceeded', /quota/],
    ['VcpuLimitExceeded', /quota/],
    ['Unsupported', /not offered in this Availability Zone/],
    ['InvalidInstanceID.NotFound', /terminated it.*Run again/],
    ['IncorrectInstanceState', /changed state.*Run again/],
  ])('%s', (name, hint) => {
    const err = explainAwsError(awsError(name, `AWS says ${name}`), DOING);
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toBe(`${DOING} failed: ${name}: AWS says ${name}`);
    expect(err.hint).toMatch(hint);
  });

  test('a real SDK exception class is recognised by its name', () => {
    const sdkErr = new EC2ServiceException({
      name: 'VcpuLimitExceeded',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message: 'You have requested more vCPU capacity than your current vCPU limit of 16 allows',
    });
    const err = explainAwsError(sdkErr, DOING);
    expect(err.message).toContain('VcpuLimitExceeded: You have requested more vCPU');
    expect(err.hint).toContain('Service Quotas');
  });

  test('a Code property wins over the name (query-protocol errors)', () => {
    const err = explainAwsError(
      Object.assign(new Error('m'), { name: 'Error', Code: 'Unsupported' }),
      DOING,
    );
    expect(err.hint).toContain('not offered');
  });

  test.each([
    awsError('NoSuchEntity', 'Instance profile tljh-ssm cannot be found'),
    awsError(
      'InvalidParameterValue',
      'Value (tljh-ssm) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name',
    ),
  ])('an unknown instance profile points at iam-instance-profile (%#)', (raw) => {
    const err = explainAwsError(raw, DOING);
    expect(err.hint).toContain("'iam-instance-profile'");
    expect(err.hint).toContain('not a role');
  });

  test('CredentialsProviderError', () => {
    const err = explainAwsError(
      awsError('CredentialsProviderError', 'Could not load credentials from any providers'),
      'Looking up the hub',
    );
    expect(err.message).toBe('Looking up the hub failed: no AWS credentials were found.');
    expect(err.hint).toContain('aws-actions/configure-aws-credentials');
    expect(err.hint).toContain('forks');
  });

  test('credentials named only in the message', () => {
    const err = explainAwsError(new Error('Could not load credentials from any providers'), DOING);
    expect(err.message).toContain('no usable AWS credentials');
    expect(err.hint).toContain('configure-aws-credentials');
  });

  test.each(['Region is missing', 'Region not configured'])('missing region: %j', (message) => {
    const err = explainAwsError(new Error(message), DOING);
    expect(err.message).toBe(`${DOING} failed: no AWS region.`);
    expect(err.hint).toContain("'aws-region'");
    expect(err.hint).toContain('AWS_REGION');
  });

  test('anything else keeps its name and message, without a hint', () => {
    const err = explainAwsError(awsError('SomethingNew', 'odd'), DOING);
    expect(err.message).toBe(`${DOING} failed: SomethingNew: odd`);
    expect(err.hint).toBeUndefined();
  });

  test('non-Error values', () => {
    expect(explainAwsError('boom', DOING).message).toBe(`${DOING} failed: boom`);
    expect(explainAwsError(undefined, DOING).message).toBe(`${DOING} failed: undefined`);
  });

  test('an ActionError passes through unchanged', () => {
    const original = new ActionError('already explained', 'do this');
    expect(explainAwsError(original, DOING)).toBe(original);
    const input = new InputError('instance-type', "'x' is bad", 't3.small');
    expect(explainAwsError(input, DOING)).toBe(input);
  });
});

describe('error types', () => {
  test('InputError names the input and what it accepts', () => {
    const err = new InputError('hub-name', "'X' is not valid", 'lower-case letters');
    expect(err).toBeInstanceOf(ActionError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('InputError');
    expect(err.message).toBe("Input 'hub-name': 'X' is not valid. Accepted: lower-case letters.");
  });

  test('isAwsError matches by Code or name', () => {
    expect(isAwsError(awsError('DependencyViolation'), 'X', 'DependencyViolation')).toBe(true);
    expect(isAwsError(awsError('DependencyViolation'), 'InvalidGroup.NotFound')).toBe(false);
    expect(isAwsError(null, 'x')).toBe(false);
  });
});

// Defect 9: configure-aws-credentials issues one-hour sessions by default; install-timeout
// allows three hours.
describe('an expired AWS session', () => {
  test.each([
    ['ExpiredTokenException', 'The security token included in the request is expired'],
    ['ExpiredToken', 'The security token included in the request is expired'],
    ['RequestExpired', 'Request has expired.'],
  ])('%s ends the run saying why and which setting fits', (name, message) => {
    const err = explainAwsError(awsError(name, message), DOING);
    expect(isSessionExpired(awsError(name))).toBe(true);
    expect(err).toBeInstanceOf(ActionError);
    expect(err.message).toBe(
      `${DOING} failed: the AWS session expired during the run (${name}: ${message}).`,
    );
    expect(err.hint).toBe(SESSION_EXPIRED_HINT);
    expect(err.hint).toContain('configure-aws-credentials issues one-hour sessions by default');
    expect(err.hint).toContain("'role-duration-seconds' to (2 x install-timeout + 60) x 60");
    expect(err.hint).toContain('7200 for the default install-timeout of 30');
    expect(err.hint).toContain("role's maximum session duration");
  });

  test('other errors are not an expired session', () => {
    expect(isSessionExpired(awsError('AccessDenied'))).toBe(false);
    expect(isSessionExpired(new Error('ExpiredToken'))).toBe(false);
  });
});
