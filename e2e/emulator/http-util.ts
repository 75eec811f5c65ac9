// Small HTTP helpers shared by the front's handlers: bodies, JSON answers, AWS error shapes.
import type { IncomingMessage, ServerResponse } from 'node:http';

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const SSM_CONTENT_TYPE = 'application/x-amz-json-1.1';

/** An answer in the AWS JSON 1.1 protocol, as SSM sends it. */
export function sendSsm(res: ServerResponse, body: unknown): void {
  sendJson(res, 200, body, SSM_CONTENT_TYPE);
}

/** An SSM error: HTTP 400 (or 500 for server faults) with `__type` naming the error, which
 *  the SDK turns into err.name. */
export function sendSsmError(
  res: ServerResponse,
  type: string,
  message: string,
  status = 400,
): void {
  sendJson(res, status, { __type: type, message }, SSM_CONTENT_TYPE);
}

/** The region a SigV4-signed request was signed for (its credential scope), if any. */
export function signedRegion(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? '';
  const match = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
  return match?.[1];
}

/** The access key id a SigV4-signed request was signed with, if any. */
export function signedAccessKey(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? '';
  return /Credential=([^/]+)\//.exec(auth)?.[1];
}

/** The service a SigV4-signed request was signed for, if any. */
export function signedService(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization ?? '';
  const match = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth);
  return match?.[1];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
