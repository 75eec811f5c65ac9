// The instance role's policy, enforced. Every SSM request signed with the credentials the
// metadata service (imds.ts) hands an instance is evaluated against
// docs/iam/instance-role-policy.json by a real IAM policy evaluator (@cloud-copilot/iam-simulate,
// through e2e/harness/iam-audit.ts), with the request context AWS gives it: the instance the
// role session was issued to (ec2:SourceInstanceARN) and the parameter's tags (read from moto).
// So an instance reads a settings parameter only if it is tagged `tljh:instance-id` = its own
// id (statement OwnSettingsParameterOnly); anything else answers AccessDeniedException, as AWS
// does. Not modelled: the KMS decrypt behind a SecureString (the aws/ssm key's own policy lets
// every principal of the account decrypt through SSM, so ssm:GetParameter is the gate there).
import { ListTagsForResourceCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { IncomingMessage } from 'node:http';
import { AUDIT_ACCOUNT, evaluate, loadPolicy, type Evaluation } from '../harness/iam-audit.ts';
import { recordedRequests } from '../harness/iam-requests.ts';
import { INSTANCE_ACCESS_KEY } from '../harness/journal.ts';
import { signedAccessKey } from './http-util.ts';
import { instanceOfSession, ROLE } from './imds.ts';
import type { Moto } from './moto.ts';

export type Signer = { kind: 'other' } | { kind: 'instance'; instanceId?: string };

/** Who signed the request: an instance's role session (and which instance), or anyone else. */
export function signerOf(req: IncomingMessage): Signer {
  if (signedAccessKey(req) !== INSTANCE_ACCESS_KEY) return { kind: 'other' };
  const token = req.headers['x-amz-security-token'];
  return {
    kind: 'instance',
    instanceId: instanceOfSession(Array.isArray(token) ? token[0] : token),
  };
}

/** Why the request is refused, as AWS words it: the error type and message. */
export interface Refusal {
  type: string;
  message: string;
}

const clients = new Map<string, SSMClient>();

function motoSsm(moto: Moto, region: string): SSMClient {
  let client = clients.get(region);
  if (!client) {
    client = new SSMClient({
      region,
      endpoint: moto.url.origin,
      credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
      maxAttempts: 1,
    });
    clients.set(region, client);
  }
  return client;
}

/** The parameter's tags; none for a parameter that does not exist (AWS then denies too). */
async function parameterTags(moto: Moto, region: string, name: string) {
  try {
    const out = await motoSsm(moto, region).send(
      new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name }),
    );
    return Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  } catch (err) {
    if ((err as Error).name === 'InvalidResourceId') return {};
    throw err;
  }
}

let policy: Evaluation['identityPolicies'][number] | undefined;

/**
 * Evaluates an SSM request an instance signed; undefined when the instance role allows it.
 * `instanceId` is the instance the credentials were issued to.
 */
export async function authorizeInstanceCall(
  moto: Moto,
  call: { operation: string; params: Record<string, unknown>; region: string },
  instanceId: string | undefined,
): Promise<Refusal | undefined> {
  if (!instanceId) {
    return {
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  const principal = `arn:aws:sts::${AUDIT_ACCOUNT}:assumed-role/${ROLE}/${instanceId}`;
  const requests = recordedRequests(
    { service: 'ssm', operation: call.operation, params: call.params },
    { account: AUDIT_ACCOUNT, region: call.region },
  );
  if (!requests) {
    return {
      type: 'AccessDeniedException',
      message: `emulator: ssm:${call.operation} by the instance role is not evaluated (see e2e/harness/iam-requests.ts), so it is refused`,
    };
  }
  policy ??= loadPolicy('instance-role-policy.json');
  const evaluation: Evaluation = { principal, identityPolicies: [policy] };
  for (const request of requests) {
    const name = /:parameter(\/.*)$/.exec(request.resource)?.[1];
    const tags = name ? await parameterTags(moto, call.region, name) : {};
    const context = {
      ...request.context,
      'ec2:SourceInstanceARN': `arn:aws:ec2:${call.region}:${AUDIT_ACCOUNT}:instance/${instanceId}`,
      ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v])),
    };
    const decision = await evaluate({ ...request, context }, evaluation);
    if (decision !== 'Allowed') {
      return {
        type: 'AccessDeniedException',
        message: `User: ${principal} is not authorized to perform: ${request.action} on resource: ${request.resource} because no identity-based policy allows the ${request.action} action`,
      };
    }
  }
  return undefined;
}
