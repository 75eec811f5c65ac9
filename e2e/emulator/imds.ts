// The instance metadata service (IMDSv2 only, as the action's launch requires), reached by the
// scripts of one instance at /__imds/<instance-id>/ on the front: a session token, then the
// instance role's temporary credentials, which the helper uses to read its SecureString.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { sendJson, sendText } from './http-util.ts';

export const ROLE = 'tljh-ssm';
const tokens = new Set<string>();
/**
 * Every instance gets the same keys but a session token of its own: on AWS a role session
 * issued to an instance carries that instance (ec2:SourceInstanceARN) into every request it
 * signs, and instance-role.ts reads it back from here to evaluate the instance role's policy.
 */
const SESSION_PREFIX = 'emulator-instance-session:';

/** The instance whose metadata service issued this session token, if any. */
export function instanceOfSession(token: string | undefined): string | undefined {
  return token?.startsWith(SESSION_PREFIX) ? token.slice(SESSION_PREFIX.length) : undefined;
}

export function imdsEndpoint(frontUrl: string, instanceId: string): string {
  return `${frontUrl}/__imds/${instanceId}`;
}

export function handleImds(req: IncomingMessage, res: ServerResponse): void {
  const instanceId = /^\/__imds\/([^/]+)/.exec(req.url ?? '')?.[1] ?? '';
  const path = (req.url ?? '').replace(/^\/__imds\/[^/]+/, '');
  if (req.method === 'PUT' && path === '/latest/api/token') {
    if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds'])
      return sendText(res, 400, 'missing ttl\n', 'text/plain');
    const token = randomUUID();
    tokens.add(token);
    return sendText(res, 200, token, 'text/plain');
  }
  const token = req.headers['x-aws-ec2-metadata-token'];
  if (typeof token !== 'string' || !tokens.has(token)) {
    return sendText(res, 401, 'IMDSv2 token required\n', 'text/plain'); // HttpTokens: required
  }
  if (path === '/latest/meta-data/iam/security-credentials/')
    return sendText(res, 200, ROLE, 'text/plain');
  if (path === `/latest/meta-data/iam/security-credentials/${ROLE}`) {
    return sendJson(res, 200, {
      Code: 'Success',
      Type: 'AWS-HMAC',
      AccessKeyId: 'ASIAEMULATORINSTANCE',
      SecretAccessKey: 'emulator-instance-secret',
      Token: `${SESSION_PREFIX}${instanceId}`,
      Expiration: new Date(Date.now() + 3_600_000).toISOString(),
    });
  }
  return sendText(res, 404, 'not found\n', 'text/plain');
}
