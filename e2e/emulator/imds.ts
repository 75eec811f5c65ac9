// The instance metadata service (IMDSv2 only, as the action's launch requires), reached by the
// scripts of one instance at /__imds/<instance-id>/ on the front: a session token, then the
// instance role's temporary credentials, which the helper uses to read its SecureString.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { sendJson, sendText } from './http-util.ts';

const ROLE = 'tljh-ssm';
const tokens = new Set<string>();

export function imdsEndpoint(frontUrl: string, instanceId: string): string {
  return `${frontUrl}/__imds/${instanceId}`;
}

export function handleImds(req: IncomingMessage, res: ServerResponse): void {
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
      Token: 'emulator-instance-session-token',
      Expiration: new Date(Date.now() + 3_600_000).toISOString(),
    });
  }
  return sendText(res, 404, 'not found\n', 'text/plain');
}
