// Evaluates AWS requests against the documented IAM policies with a real IAM policy evaluator
// (@cloud-copilot/iam-simulate: conditions, policy variables, key policies), not by reading the
// action names in them. Used by the audit of the end-to-end suite and by the policy unit tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { AwsEntry } from './journal.ts';
import { REPO_ROOT } from './paths.ts';
import { recordedRequests, type IamRequest } from './iam-requests.ts';

export type { IamRequest } from './iam-requests.ts';
export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';
export type PolicyDocument = { Version: string; Statement: unknown[] };

/** moto's account, and the region the harness gives the action. */
export const AUDIT_ACCOUNT = '123456789012';
export const AUDIT_REGION = 'us-east-1';

export function loadPolicy(file: string, account = AUDIT_ACCOUNT): PolicyDocument {
  const text = readFileSync(join(REPO_ROOT, 'docs', 'iam', file), 'utf8');
  return JSON.parse(text.replaceAll('<ACCOUNT_ID>', account)) as PolicyDocument;
}

export interface Evaluation {
  /** The caller's ARN (a role session, as configure-aws-credentials or an instance profile gives). */
  principal: string;
  identityPolicies: PolicyDocument[];
  /** A resource policy (a KMS key policy) evaluated with the identity policies. */
  resourcePolicy?: PolicyDocument;
}

/**
 * iam-simulate 0.1.173 checks every context key against the action's documented keys, and its
 * matcher only knows `prefix/${Key}` templates: it drops `kms:EncryptionContext:<key>` (a
 * `prefix:${Key}` template) before evaluating. Requests carrying those keys are evaluated again
 * without that filter, once the checked run has validated the policies, action and resource.
 */
const DROPPED_BY_THE_SIMULATOR = /^kms:EncryptionContext:/i;

function accountOf(arn: string): string | undefined {
  return arn === '*' ? undefined : arn.split(':')[4];
}

function unchecked(simulation: Simulation): Decision {
  // The unchecked engine loads a resource policy without a name unless it comes pre-validated.
  const resourcePolicy = simulation.resourcePolicy && {
    __validated: true,
    policyDocument: simulation.resourcePolicy,
    metadata: { name: 'resource-policy' },
    errors: [],
  };
  return runUnsafeSimulation({ ...simulation, resourcePolicy }, {});
}

/** Allowed, ImplicitlyDenied or ExplicitlyDenied; throws when the simulator rejects the input. */
export async function evaluate(request: IamRequest, policies: Evaluation): Promise<Decision> {
  // Resources are taken to be in the caller's account (AWS-owned ones too: for those AWS needs
  // no resource policy either), so identity policies decide unless a resource policy is given.
  const principalAccount = policies.principal.split(':')[4] ?? AUDIT_ACCOUNT;
  const simulation: Simulation = {
    request: {
      principal: policies.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: principalAccount },
      contextVariables: request.context ?? {},
    },
    identityPolicies: policies.identityPolicies.map((policy, i) => ({
      name: `policy-${i}`,
      policy,
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(policies.resourcePolicy ? { resourcePolicy: policies.resourcePolicy } : {}),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') {
    // AWS-owned resources (public parameters and images, AWS documents) have no account in
    // their ARN, which the simulator's ARN validation requires; the evaluation itself does not.
    if (result.errors.message === 'no.resource.types' && accountOf(request.resource) === '') {
      return unchecked(simulation);
    }
    throw new Error(
      `iam-simulate rejected ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
    );
  }
  const ignored =
    result.resultType === 'single'
      ? (result.result.ignoredContextKeys ?? [])
      : result.results.flatMap((r) => r.ignoredContextKeys ?? []);
  const unknown = ignored.filter((key) => !DROPPED_BY_THE_SIMULATOR.test(key));
  // A key that does not apply to the action is a mistake in the request, and would make a
  // condition fail (or pass) for the wrong reason.
  if (unknown.length) {
    throw new Error(`context keys ${unknown.join(', ')} do not apply to ${request.action}`);
  }
  return ignored.length ? unchecked(simulation) : result.overallResult;
}

export interface DeniedRequest {
  service: string;
  operation: string;
  /** The IAM action and resource the request was mapped to (empty when it could not be). */
  action: string;
  resource: string;
  decision: Decision | 'Unmapped';
}

export interface AuditOptions {
  account?: string;
  region?: string;
  /**
   * The tags of an existing resource. The journal holds requests, not the resources' state, so
   * by default every instance and security group the action touches is taken to carry
   * `tljh:managed-by=tljh-ec2-action` (the action finds hubs only by that tag filter); an
   * Elastic IP carries the tags moto's DescribeAddresses gave it just before the call (the
   * front records them with the call). This function, when given, overrides both.
   */
  resourceTags?: (arn: string) => Record<string, string>;
}

/**
 * Evaluates each recorded request against docs/iam/caller-policy.json and returns those the
 * policy would deny, plus any operation the mapping does not know (so a new call cannot slip
 * past the audit). Pass the action's own requests (accessKey === ACTION_ACCESS_KEY).
 * What is approximated is listed in iam-requests.ts.
 */
export async function evaluateRecordedRequests(
  journal: AwsEntry[],
  options: AuditOptions = {},
): Promise<DeniedRequest[]> {
  const account = options.account ?? AUDIT_ACCOUNT;
  const evaluation: Evaluation = {
    principal: `arn:aws:sts::${account}:assumed-role/tljh-ec2-action-caller/GitHubActions`,
    identityPolicies: [loadPolicy('caller-policy.json', account)],
  };
  const denied: DeniedRequest[] = [];
  const seen = new Map<string, Decision>();
  for (const entry of journal) {
    const requests = recordedRequests(entry, {
      account,
      region: options.region ?? AUDIT_REGION,
      resourceTags: options.resourceTags,
    });
    if (!requests) {
      denied.push({
        service: entry.service,
        operation: entry.operation,
        action: '',
        resource: '',
        decision: 'Unmapped',
      });
      continue;
    }
    for (const request of requests) {
      const key = JSON.stringify(request);
      let decision = seen.get(key);
      if (!decision) {
        decision = await evaluate(request, evaluation);
        seen.set(key, decision);
      }
      if (decision !== 'Allowed') {
        denied.push({
          service: entry.service,
          operation: entry.operation,
          action: request.action,
          resource: request.resource,
          decision,
        });
      }
    }
  }
  return denied;
}
